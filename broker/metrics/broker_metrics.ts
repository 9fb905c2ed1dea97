/**
 * The broker's `/metrics`: RocketMQ 5's metric names and labels, every value
 * read at scrape time from what the broker and its store already keep.
 *
 * | metric | source |
 * | ------ | ------ |
 * | `rocketmq_messages_in_total`, `rocketmq_throughput_in_total`, `rocketmq_message_size` | {@linkcode RemotingMetrics} (send responses) |
 * | `rocketmq_messages_out_total`, `rocketmq_throughput_out_total` | {@linkcode RemotingMetrics} (pull responses) |
 * | `rocketmq_rpc_latency` | {@linkcode RemotingMetrics} (every answered request) |
 * | `rocketmq_consumer_lag_messages`, `rocketmq_consumer_lag_latency` | committed offsets vs queue max offsets; store time of the first unconsumed message |
 * | `rocketmq_consumer_inflight_messages` | pull offsets (pull responses) vs committed offsets |
 * | `rocketmq_storage_size`, `rocketmq_storage_flush_behind_bytes`, `rocketmq_storage_dispatch_behind_bytes` | `store.stats()` offsets |
 * | `rocketmq_replication_lag_bytes{slave}`, `rocketmq_replication_in_sync_slaves` | the HA master's slave table |
 * | `rocketmq_thread_cpu_seconds_total{thread}` | `store.stats().threadCpuMicros` (workers publish into the control block) |
 * | `rocketmq_timer_enqueue_total`, `rocketmq_timing_messages` | the timer service's stats |
 * | `rocketmq_half_messages` | half queue max offset vs the transaction check's progress |
 * | `rocketmq_producer_connections`, `rocketmq_consumer_connections`, `rocketmq_remoting_connections` | client registry, server |
 *
 * @module
 */

import type { HaStatus } from "../ha/ha_service.ts";
import { decodeRecord } from "../../client/protocol/message_record.ts";
import type { HostAddress, MessageStore } from "../../store/mod.ts";
import type { Channel } from "../api/broker_context.ts";
import type { BrokerConfig } from "../config.ts";
import type { AccessValidator } from "../domain/acl/access_validator.ts";
import type { AclFailureLog } from "../domain/acl/acl_failure_log.ts";
import type { ClientRegistry } from "../domain/client_registry.ts";
import type { TimerServiceStats } from "../domain/timer/timer_service.ts";
import {
  RESERVED_TOPICS,
  RETRY_TOPIC_PREFIX,
  SYSTEM_TOPIC_PREFIX,
} from "../domain/topic_config.ts";
import type { TopicTable } from "../domain/topic_table.ts";
import { HALF_TOPIC, TRANSACTION_GROUP } from "../domain/transaction/half_message.ts";
import { MetricsExposition, type Sample } from "./exposition.ts";
import type { RemotingMetrics } from "./remoting_metrics.ts";

/** Prefix of the broker's own consumer groups (RocketMQ `MixAll.CID_RMQ_SYS_PREFIX`). */
export const SYSTEM_GROUP_PREFIX = "CID_RMQ_SYS_";

/** Most queues whose first unconsumed message is read for `rocketmq_consumer_lag_latency` per scrape. */
export const LAG_LATENCY_READS_MAX = 1000;

/** What the broker's metrics and HTTP API read. */
export interface BrokerMetricsSource {
  readonly config: BrokerConfig;
  readonly store: MessageStore;
  readonly topics: TopicTable;
  readonly clients: ClientRegistry<Channel>;
  readonly remoting: RemotingMetrics;
  /** `ip:port` this broker advertises. */
  readonly address: string;
  /** The advertised address as bytes (message ids). */
  readonly storeHost: HostAddress;
  /** Open client connections. */
  connectionCount(): number;
  /** The timer service's counters. */
  timerStats(): TimerServiceStats;
  /** Epoch ms now. */
  nowMs(): number;
  /**
   * Reset a group's offsets on a topic to a time, telling its live members
   * (the same as INVOKE_BROKER_TO_RESET_OFFSET).
   *
   * @returns The new offset of each queue, by queue id.
   */
  resetOffsetByTime?(
    group: string,
    topic: string,
    timestampMs: number,
  ): Promise<Map<number, number>>;
  /** Popped and unacked messages of a group (and topic), from the pop service. */
  popInFlight?(group: string, topic?: string): number;
  /** Replication state (master: each slave's acked offset and lag), when HA runs. */
  haStatus?(): HaStatus;
  /** Access control, when `--acl-file` is set (the gRPC front calls `validator.checkGrpc`). */
  readonly acl?: { readonly validator: AccessValidator; readonly failures: AclFailureLog };
}

/** One consumer group's lag on one topic. */
export interface GroupLag {
  readonly group: string;
  readonly topic: string;
  /** Messages stored and not yet consumed (committed), summed over queues. */
  readonly lagMessages: number;
  /** Age of the oldest unconsumed message, ms (0 when caught up). */
  readonly lagLatencyMs: number;
}

/**
 * Lag of every group that has committed offsets, per topic.
 *
 * @param source The broker's state.
 * @param withLatency Also read the oldest unconsumed message of each lagging
 *   queue (at most {@linkcode LAG_LATENCY_READS_MAX} reads).
 * @returns One row per group and topic.
 */
export async function groupLags(
  source: BrokerMetricsSource,
  withLatency = true,
): Promise<GroupLag[]> {
  const rows = new Map<string, { group: string; topic: string; lag: number; oldest: number }>();
  let reads = 0;
  const now = source.nowMs();
  for (const entry of source.store.listConsumerOffsets()) {
    if (entry.group === TRANSACTION_GROUP) continue;
    const max = source.store.getMaxOffsetInQueue(entry.topic, entry.queueId);
    const lag = Math.max(0, max - entry.offset);
    const key = `${entry.group}\u0001${entry.topic}`;
    let row = rows.get(key);
    if (row === undefined) {
      row = { group: entry.group, topic: entry.topic, lag: 0, oldest: now };
      rows.set(key, row);
    }
    row.lag += lag;
    if (withLatency && lag > 0 && reads < LAG_LATENCY_READS_MAX) {
      reads++;
      const stored = await storeTimestampAt(source.store, entry.topic, entry.queueId, entry.offset);
      if (stored !== undefined && stored < row.oldest) row.oldest = stored;
    }
  }
  return [...rows.values()].map((row) => ({
    group: row.group,
    topic: row.topic,
    lagMessages: row.lag,
    lagLatencyMs: row.lag === 0 ? 0 : Math.max(0, now - row.oldest),
  }));
}

/**
 * Store timestamp of the message at a queue offset.
 *
 * @param store The store.
 * @param topic Topic.
 * @param queueId Queue id.
 * @param queueOffset The offset.
 * @returns Epoch ms, or undefined if no message is there.
 */
export async function storeTimestampAt(
  store: MessageStore,
  topic: string,
  queueId: number,
  queueOffset: number,
): Promise<number | undefined> {
  const min = store.getMinOffsetInQueue(topic, queueId);
  const result = await store.getMessage({
    group: "",
    topic,
    queueId,
    queueOffset: Math.max(queueOffset, min),
    maxCount: 1,
  });
  const first = result.messages[0];
  return first === undefined ? undefined : decodeRecord(first.record).storeTimestamp;
}

function topicLabels(topic: string, group?: string): Record<string, string> {
  const labels: Record<string, string> = { topic };
  if (group !== undefined) labels.consumer_group = group;
  labels.is_retry = String(topic.startsWith(RETRY_TOPIC_PREFIX));
  labels.is_system = String(
    RESERVED_TOPICS.has(topic) || topic.startsWith(SYSTEM_TOPIC_PREFIX) ||
      group?.startsWith(SYSTEM_GROUP_PREFIX) === true,
  );
  return labels;
}

/**
 * Build the broker's metrics exposition.
 *
 * @param source The broker's state, read at every scrape.
 * @returns The exposition (`text()` renders it).
 */
export function createBrokerMetrics(source: BrokerMetricsSource): MetricsExposition {
  const { config, store, remoting } = source;
  const metrics = new MetricsExposition({
    cluster: config.clusterName,
    node_type: "broker",
    node_id: config.brokerName,
  });
  const fifo = (topic: string) => source.topics.get(topic)?.attributes["message.type"] === "FIFO";
  // Sends to a FIFO topic count as FIFO messages, as RocketMQ 5 labels them.
  const inLabels = (row: { readonly topic: string; readonly messageType: string }) => ({
    ...topicLabels(row.topic),
    message_type: row.messageType === "Normal" && fifo(row.topic) ? "FIFO" : row.messageType,
  });
  metrics.add({
    name: "rocketmq_messages_in_total",
    help: "Messages received by producers' send requests.",
    type: "counter",
    collect: () =>
      remoting.inFlows().map((row) => ({
        labels: inLabels(row),
        value: row.messages,
      })),
  });
  metrics.add({
    name: "rocketmq_throughput_in_total",
    help: "Body bytes received by producers' send requests.",
    type: "counter",
    collect: () =>
      remoting.inFlows().map((row) => ({
        labels: inLabels(row),
        value: row.bytes,
      })),
  });
  metrics.add({
    name: "rocketmq_messages_out_total",
    help: "Messages delivered to consumers by pull requests.",
    type: "counter",
    collect: () =>
      remoting.outFlows().map((row) => ({
        labels: topicLabels(row.topic, row.group),
        value: row.messages,
      })),
  });
  metrics.add({
    name: "rocketmq_throughput_out_total",
    help: "Record bytes delivered to consumers by pull requests.",
    type: "counter",
    collect: () =>
      remoting.outFlows().map((row) => ({
        labels: topicLabels(row.topic, row.group),
        value: row.bytes,
      })),
  });
  metrics.add({
    name: "rocketmq_message_size",
    help: "Size of received messages, bytes (a batch counts its average per message).",
    type: "histogram",
    collect: () => remoting.messageSize.samples(),
  });
  metrics.add({
    name: "rocketmq_rpc_latency",
    help: "Time from request decoded to response ready, ms, by request and response code.",
    type: "histogram",
    collect: () => remoting.rpcLatencySamples(),
  });
  let lagScrape: Promise<GroupLag[]> | undefined;
  // Both lag metrics come from one pass over the offsets per scrape.
  const lags = (): Promise<GroupLag[]> => {
    lagScrape ??= groupLags(source).finally(() => queueMicrotask(() => lagScrape = undefined));
    return lagScrape;
  };
  metrics.add({
    name: "rocketmq_consumer_lag_messages",
    help: "Messages stored and not yet consumed, per group and topic.",
    type: "gauge",
    collect: async () =>
      (await lags()).map((row) => ({
        labels: topicLabels(row.topic, row.group),
        value: row.lagMessages,
      })),
  });
  metrics.add({
    name: "rocketmq_consumer_lag_latency",
    help: "Age of the oldest unconsumed message, ms, per group and topic.",
    type: "gauge",
    collect: async () =>
      (await lags()).map((row) => ({
        labels: topicLabels(row.topic, row.group),
        value: row.lagLatencyMs,
      })),
  });
  metrics.add({
    name: "rocketmq_consumer_inflight_messages",
    help:
      "Messages pulled and not yet committed (pull offset minus committed offset), per group and topic.",
    type: "gauge",
    collect: () => {
      const sums = new Map<string, { topic: string; group: string; value: number }>();
      // Pop consumers: popped and not yet acked, per subscribed topic of each live group.
      if (source.popInFlight !== undefined) {
        for (const group of source.clients.consumerGroups()) {
          const info = source.clients.consumerGroupInfo(group);
          if (info?.consumeType !== "CONSUME_POP") continue;
          for (const sub of info.subscriptions) {
            const value = source.popInFlight(group, sub.topic);
            if (value > 0) {
              sums.set(`${sub.topic}\u0001${group}`, { topic: sub.topic, group, value });
            }
          }
        }
      }
      for (const row of remoting.pullOffsets()) {
        const committed = store.queryConsumerOffset(row.group, row.topic, row.queueId);
        if (committed === undefined) continue;
        const key = `${row.topic}\u0001${row.group}`;
        const sum = sums.get(key) ?? { topic: row.topic, group: row.group, value: 0 };
        sum.value += Math.max(0, row.offset - committed);
        sums.set(key, sum);
      }
      return [...sums.values()].map((s) => ({
        labels: topicLabels(s.topic, s.group),
        value: s.value,
      }));
    },
  });
  const stats = () => store.stats();
  metrics.add({
    name: "rocketmq_storage_size",
    help: "Bytes of CommitLog retained on disk.",
    type: "gauge",
    collect: () => {
      const s = stats();
      return [{ value: s.commitLogMaxOffset - s.commitLogMinOffset }];
    },
  });
  metrics.add({
    name: "rocketmq_storage_flush_behind_bytes",
    help: "CommitLog bytes appended and not yet flushed.",
    type: "gauge",
    collect: () => {
      const s = stats();
      return [{ value: Math.max(0, s.commitLogMaxOffset - s.commitLogFlushedOffset) }];
    },
  });
  metrics.add({
    name: "rocketmq_storage_dispatch_behind_bytes",
    help: "CommitLog bytes appended and not yet dispatched to ConsumeQueues and the index.",
    type: "gauge",
    collect: () => {
      const s = stats();
      return [{ value: Math.max(0, s.commitLogMaxOffset - s.dispatchedOffset) }];
    },
  });
  metrics.add({
    name: "rocketmq_storage_disk_used_ratio",
    help: "Fraction of the data disk in use, 0..1.",
    type: "gauge",
    collect: () => [{ value: stats().diskUsedRatio }],
  });
  metrics.add({
    name: "rocketmq_thread_cpu_seconds_total",
    help: "CPU time (user + system) of each store thread: main, store worker, dispatch worker.",
    type: "counter",
    collect: () => {
      const cpu = stats().threadCpuMicros;
      if (cpu === undefined) return [];
      return [
        { labels: { thread: "main" }, value: cpu.main / 1e6 },
        { labels: { thread: "store_worker" }, value: cpu.storeWorker / 1e6 },
        { labels: { thread: "dispatch_worker" }, value: cpu.dispatchWorker / 1e6 },
      ];
    },
  });
  metrics.add({
    name: "rocketmq_replication_lag_bytes",
    help: "Master: CommitLog bytes each slave has not acknowledged yet.",
    type: "gauge",
    collect: () => {
      const ha = source.haStatus?.();
      if (ha === undefined || ha.role === "SLAVE") return [];
      return ha.slaves.map((slave) => ({ labels: { slave: slave.addr }, value: slave.lagBytes }));
    },
  });
  metrics.add({
    name: "rocketmq_replication_in_sync_slaves",
    help: "Master: slaves within --ha-max-gap-bytes of it.",
    type: "gauge",
    collect: () => {
      const ha = source.haStatus?.();
      if (ha === undefined || ha.role === "SLAVE") return [];
      return [{ value: ha.slaves.filter((slave) => slave.inSync).length }];
    },
  });
  metrics.add({
    name: "rocketmq_timer_enqueue_total",
    help: "Timer (delay) messages linked into the timer wheel.",
    type: "counter",
    collect: () => [{ value: source.timerStats().enqueued }],
  });
  metrics.add({
    name: "rocketmq_timing_messages",
    help: "Timer (delay) messages waiting for their time.",
    type: "gauge",
    collect: () => [{ value: source.timerStats().pending }],
  });
  metrics.add({
    name: "rocketmq_half_messages",
    help: "Transactional half messages not yet passed by the transaction check.",
    type: "gauge",
    collect: () => {
      const max = store.getMaxOffsetInQueue(HALF_TOPIC, 0);
      const checked = store.queryConsumerOffset(TRANSACTION_GROUP, HALF_TOPIC, 0) ?? 0;
      return [{ value: Math.max(0, max - checked) }];
    },
  });
  metrics.add({
    name: "rocketmq_producer_connections",
    help: "Producer connections, per producer group.",
    type: "gauge",
    collect: () =>
      source.clients.producerGroups().map((group): Sample => ({
        labels: { producer_group: group },
        value: source.clients.producerChannels(group).length,
      })),
  });
  metrics.add({
    name: "rocketmq_consumer_connections",
    help: "Consumer connections, per consumer group.",
    type: "gauge",
    collect: () =>
      source.clients.consumerGroups().map((group): Sample => ({
        labels: { consumer_group: group },
        value: source.clients.consumerChannels(group).length,
      })),
  });
  if (source.acl !== undefined) {
    const failures = source.acl.failures;
    metrics.add({
      name: "rocketmq_acl_denied_total",
      help: "Requests denied by access control.",
      type: "counter",
      collect: () => [{ value: failures.total }],
    });
  }
  metrics.add({
    name: "rocketmq_topic_number",
    help: "Topics on this broker.",
    type: "gauge",
    collect: () => [{ value: source.topics.list().length }],
  });
  metrics.add({
    name: "rocketmq_consumer_group_number",
    help: "Consumer groups with members online or committed offsets (the broker's own excluded).",
    type: "gauge",
    collect: () => {
      const groups = new Set(source.clients.consumerGroups());
      for (const entry of store.listConsumerOffsets()) groups.add(entry.group);
      // RocketMQ's own groups (transaction check, pop revive) are not users' groups.
      return [{ value: [...groups].filter((g) => !g.startsWith(SYSTEM_GROUP_PREFIX)).length }];
    },
  });
  metrics.add({
    name: "rocketmq_remoting_connections",
    help: "Open remoting (TCP) connections.",
    type: "gauge",
    collect: () => [{ value: source.connectionCount() }],
  });
  return metrics;
}
