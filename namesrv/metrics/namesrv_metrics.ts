/**
 * The name server's `/metrics`: every value is read at scrape time from the
 * route tables, the {@linkcode NamesrvStats} counters, the remoting server and
 * the broker's per-request latency wrapper (`RemotingMetrics`), rendered by
 * the broker's `MetricsExposition` (which imports nothing else from the broker).
 *
 * Labels follow RocketMQ 5: every sample carries `node_type="namesrv"` and
 * `node_id` (the name server's `host:port`).
 *
 * | Metric | Type | Labels | Source |
 * | --- | --- | --- | --- |
 * | `rocketmq_namesrv_live_brokers` | gauge | `cluster` | live table |
 * | `rocketmq_namesrv_clusters` | gauge | | cluster table |
 * | `rocketmq_namesrv_topics` | gauge | | topic queue table |
 * | `rocketmq_namesrv_broker_registrations_total` | counter | | REGISTER_BROKER answered SUCCESS |
 * | `rocketmq_namesrv_broker_unregistrations_total` | counter | | UNREGISTER_BROKER answered SUCCESS |
 * | `rocketmq_namesrv_route_queries_total` | counter | `result` (`found`, `not_found`) | GET_ROUTEINFO_BY_TOPIC |
 * | `rocketmq_namesrv_broker_removals_total` | counter | `reason` (`expired`, `connection_closed`) | liveness scan, closed connections |
 * | `rocketmq_rpc_latency` | histogram | `protocol_type`, `request_code`, `response_code` | every answered request, ms |
 * | `rocketmq_remoting_connections` | gauge | | remoting server |
 *
 * @module
 */

import { MetricsExposition, type Sample } from "../../broker/metrics/exposition.ts";
import type { RemotingMetrics } from "../../broker/metrics/remoting_metrics.ts";
import type { RouteInfoManager } from "../domain/route_info_manager.ts";
import type { NamesrvStats } from "./namesrv_stats.ts";

/** What the name server's metrics read (`NameServer.operations`). */
export interface NamesrvMetricsSource {
  /** `host:port` of the remoting listener (the `node_id` label). */
  readonly nodeId: string;
  /** Route tables. */
  readonly routes: RouteInfoManager;
  /** Registration, query and removal counters. */
  readonly stats: NamesrvStats;
  /** RPC latency by request and response code. */
  readonly remoting: RemotingMetrics;
  /** Open remoting connections. */
  connectionCount(): number;
}

/**
 * Build the name server's metric registry.
 *
 * @param source The name server's state.
 * @returns The exposition to render on each scrape.
 */
export function createNamesrvMetrics(source: NamesrvMetricsSource): MetricsExposition {
  const metrics = new MetricsExposition({ node_type: "namesrv", node_id: source.nodeId });
  const { routes, stats } = source;
  metrics.add({
    name: "rocketmq_namesrv_live_brokers",
    help: "Registered broker addresses, per cluster.",
    type: "gauge",
    collect: () => {
      const byCluster = new Map<string, number>();
      for (const live of routes.liveBrokers()) {
        byCluster.set(live.clusterName, (byCluster.get(live.clusterName) ?? 0) + 1);
      }
      return [...byCluster].map(([cluster, value]): Sample => ({ labels: { cluster }, value }));
    },
  });
  metrics.add({
    name: "rocketmq_namesrv_clusters",
    help: "Clusters with at least one registered broker name.",
    type: "gauge",
    collect: () => [{ value: Object.keys(routes.clusterInfo().clusterAddrTable).length }],
  });
  metrics.add({
    name: "rocketmq_namesrv_topics",
    help: "Topics with at least one queue on a registered broker.",
    type: "gauge",
    collect: () => [{ value: routes.topicCount }],
  });
  metrics.add({
    name: "rocketmq_namesrv_broker_registrations_total",
    help: "Broker registrations accepted (REGISTER_BROKER answered SUCCESS).",
    type: "counter",
    collect: () => [{ value: stats.registrations }],
  });
  metrics.add({
    name: "rocketmq_namesrv_broker_unregistrations_total",
    help: "Broker unregistrations accepted (UNREGISTER_BROKER answered SUCCESS).",
    type: "counter",
    collect: () => [{ value: stats.unregistrations }],
  });
  metrics.add({
    name: "rocketmq_namesrv_route_queries_total",
    help: "Topic route queries answered, by whether the topic had a route.",
    type: "counter",
    collect: () => [
      { labels: { result: "found" }, value: stats.routeQueriesFound },
      { labels: { result: "not_found" }, value: stats.routeQueriesNotFound },
    ],
  });
  metrics.add({
    name: "rocketmq_namesrv_broker_removals_total",
    help: "Broker addresses removed without unregistering, by reason.",
    type: "counter",
    collect: () => [
      { labels: { reason: "expired" }, value: stats.expiredBrokers },
      { labels: { reason: "connection_closed" }, value: stats.connectionClosedBrokers },
    ],
  });
  metrics.add({
    name: "rocketmq_rpc_latency",
    help: "Time from request decoded to response ready, ms, by request and response code.",
    type: "histogram",
    collect: () => source.remoting.rpcLatencySamples(),
  });
  metrics.add({
    name: "rocketmq_remoting_connections",
    help: "Open remoting (TCP) connections.",
    type: "gauge",
    collect: () => [{ value: source.connectionCount() }],
  });
  return metrics;
}
