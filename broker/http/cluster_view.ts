/**
 * The dashboard's cluster page: every broker the name servers know (GET_BROKER_CLUSTER_INFO),
 * each asked for its runtime info (GET_BROKER_RUNTIME_INFO), with this broker read locally.
 * Without `--namesrv-addr` the cluster is this broker alone.
 *
 * Put TPS of other brokers comes from the difference of their put counters between two calls
 * (the page refreshes every 5 s); the first call shows none. A broker that does not answer is
 * listed with its error. Owns its outbound connections and closes them in `close()`.
 *
 * @module
 */

import { BrokerClient } from "../../client/broker_client.ts";
import { NameServerClient } from "../../client/name_server_client.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import type { BrokerMetricsSource } from "../metrics/broker_metrics.ts";
import { BROKER_VERSION } from "../version.ts";

/** Time each remote broker and name server has to answer, ms. */
export const CLUSTER_REQUEST_TIMEOUT_MS = 2_000;
/** Most brokers asked per call. */
export const CLUSTER_BROKERS_MAX = 256;

/** One broker as the cluster page shows it. */
export interface ClusterBroker {
  readonly clusterName: string;
  readonly brokerName: string;
  /** 0 = master. */
  readonly brokerId: number;
  /** `MASTER` or `SLAVE` (by broker id, as RocketMQ). */
  readonly role: string;
  readonly address: string;
  /** True for the broker serving this page. */
  readonly self: boolean;
  /** `UP`, or `UNREACHABLE` with `error`. */
  readonly status: "UP" | "UNREACHABLE";
  readonly error?: string;
  readonly version?: string;
  /** Messages put per second; null until a second sample exists. */
  readonly tpsIn?: number | null;
  readonly diskUsedRatio?: number;
  readonly commitLogBytes?: number;
  readonly dispatchBehindBytes?: number;
}

/** The brokers of the cluster(s) this broker's name servers know. */
export class ClusterView {
  readonly #source: BrokerMetricsSource;
  readonly #selfTpsIn: () => number;
  readonly #clients = new Map<string, BrokerClient>();
  readonly #lastPuts = new Map<string, { timeMs: number; puts: number }>();
  #namesrv: NameServerClient | undefined;

  /**
   * @param source This broker's state.
   * @param selfTpsIn This broker's current put rate.
   */
  constructor(source: BrokerMetricsSource, selfTpsIn: () => number) {
    this.#source = source;
    this.#selfTpsIn = selfTpsIn;
  }

  /**
   * Every known broker, this one first.
   *
   * @returns The name-server list and the brokers.
   */
  async brokers(): Promise<{ namesrvAddr: string; brokers: ClusterBroker[] }> {
    const { config } = this.#source;
    const self = this.#self();
    if (config.namesrvAddr === "") return { namesrvAddr: "", brokers: [self] };
    this.#namesrv ??= new NameServerClient(config.namesrvAddr, CLUSTER_REQUEST_TIMEOUT_MS);
    let info;
    try {
      info = await this.#namesrv.clusterInfo();
    } catch (error) {
      return {
        namesrvAddr: config.namesrvAddr,
        brokers: [self, {
          ...self,
          self: false,
          brokerName: "(name servers)",
          address: config.namesrvAddr,
          status: "UNREACHABLE",
          error: (error as Error).message,
        }],
      };
    }
    const clusterOf = new Map<string, string>();
    for (const [cluster, names] of Object.entries(info.clusterAddrTable)) {
      for (const name of names) clusterOf.set(name, cluster);
    }
    const others: Promise<ClusterBroker>[] = [];
    for (const [brokerName, data] of Object.entries(info.brokerAddrTable)) {
      for (const [id, address] of Object.entries(data.brokerAddrs)) {
        if (address === this.#source.address || others.length >= CLUSTER_BROKERS_MAX) continue;
        others.push(this.#remote({
          clusterName: clusterOf.get(brokerName) ?? data.cluster,
          brokerName,
          brokerId: Number(id),
          address,
        }));
      }
    }
    const remote = (await Promise.all(others)).sort((a, b) =>
      a.clusterName.localeCompare(b.clusterName) || a.brokerName.localeCompare(b.brokerName) ||
      a.brokerId - b.brokerId
    );
    return { namesrvAddr: config.namesrvAddr, brokers: [self, ...remote] };
  }

  /** Close the outbound connections. */
  async close(): Promise<void> {
    await this.#namesrv?.close();
    await Promise.all([...this.#clients.values()].map((c) => c.close()));
  }

  #self(): ClusterBroker {
    const { config, store, address } = this.#source;
    const stats = store.stats();
    return {
      clusterName: config.clusterName,
      brokerName: config.brokerName,
      brokerId: config.brokerId,
      role: config.brokerId === 0 ? "MASTER" : "SLAVE",
      address,
      self: true,
      status: "UP",
      version: BROKER_VERSION,
      tpsIn: this.#selfTpsIn(),
      diskUsedRatio: stats.diskUsedRatio,
      commitLogBytes: stats.commitLogMaxOffset - stats.commitLogMinOffset,
      dispatchBehindBytes: Math.max(0, stats.commitLogMaxOffset - stats.dispatchedOffset),
    };
  }

  async #remote(
    id: { clusterName: string; brokerName: string; brokerId: number; address: string },
  ): Promise<ClusterBroker> {
    const base = { ...id, role: id.brokerId === 0 ? "MASTER" : "SLAVE", self: false };
    let client = this.#clients.get(id.address);
    if (client === undefined) {
      client = new BrokerClient({
        endpoint: id.address,
        requestTimeoutMs: CLUSTER_REQUEST_TIMEOUT_MS,
        connectTimeoutMs: CLUSTER_REQUEST_TIMEOUT_MS,
      });
      this.#clients.set(id.address, client);
    }
    let table: Record<string, string>;
    try {
      const response = await client.invoke(RequestCode.GET_BROKER_RUNTIME_INFO);
      table = JSON.parse(new TextDecoder().decode(response.body)).table ?? {};
    } catch (error) {
      return { ...base, status: "UNREACHABLE", error: (error as Error).message };
    }
    const num = (key: string) => Number(table[key] ?? NaN);
    const now = this.#source.nowMs();
    const puts = num("putMessageCount");
    const last = this.#lastPuts.get(id.address);
    this.#lastPuts.set(id.address, { timeMs: now, puts });
    const seconds = last === undefined ? 0 : (now - last.timeMs) / 1000;
    return {
      ...base,
      status: "UP",
      version: table.brokerVersion,
      tpsIn: seconds > 0 && puts >= last!.puts ? (puts - last!.puts) / seconds : null,
      diskUsedRatio: num("diskUsedRatio"),
      commitLogBytes: num("commitLogMaxOffset") - num("commitLogMinOffset"),
      dispatchBehindBytes: num("dispatchBehindBytes"),
    };
  }
}
