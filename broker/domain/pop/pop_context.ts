/**
 * What the pop, ack and revive services share: the store, the topic table,
 * the timer-aware put, the clock, this broker's names, and the pop tables.
 * Built once by the composition root.
 *
 * @module
 */

import type { HostAddress, MessageStore, PutMessageResult } from "../../../store/mod.ts";
import type { Clock } from "../clock.ts";
import type { PutPort, RetryTopicTable } from "../retry/send_back.ts";
import type { ConfigDocuments } from "../topic_table.ts";
import type { CheckpointBuffer } from "./checkpoint_buffer.ts";
import { InFlightIndex } from "./in_flight.ts";
import { OrderInfoTable } from "./order_info.ts";
import { PopLongPollingService } from "./pop_long_polling.ts";
import { keyOf, PopOffsetTable } from "./pop_offsets.ts";
import { type ReviveRecordTarget, reviveTopicOf } from "./revive_record.ts";

/** Default revive queues (`reviveQueueNum`). */
export const REVIVE_QUEUE_NUMS_DEFAULT = 8;

/** The shared pop state. */
export interface PopContext {
  /** The message store. */
  readonly store: MessageStore;
  /** Topic table (the pop retry topics are created in it). */
  readonly topics: RetryTopicTable;
  /** Timer-aware put: revive records wait in the timer until due. */
  readonly put: PutPort;
  /** Wall time and timers. */
  readonly clock: Clock;
  /** This broker's name (receipt handles). */
  readonly brokerName: string;
  /** `rmq_sys_REVIVE_LOG_<cluster>`. */
  readonly reviveTopic: string;
  /** Revive queues. */
  readonly reviveQueueNums: number;
  /** Attempts before a popped message goes to the DLQ (`retryMaxTimes + 1`). */
  readonly maxAttempts: number;
  /** Outstanding checkpoints of this process. */
  readonly inFlight: InFlightIndex;
  /** FIFO pop state. */
  readonly orderInfos: OrderInfoTable;
  /** Durable pop offsets. */
  readonly popOffsets: PopOffsetTable;
  /** Parked pops. */
  readonly polling: PopLongPollingService;
  /** When this broker process started serving pops (epoch ms). */
  readonly startedAtMs: number;
  /** Sync flush: an ack is answered only once the pop offset past it is durable. */
  readonly durableAcks: boolean;
  /** Checkpoints held in memory and merged with acks (async flush only); undefined = off. */
  buffer?: CheckpointBuffer;
  /** Where revive records of a revive queue go. */
  reviveTarget(reviveQid: number): ReviveRecordTarget;
}

/**
 * Commit a queue's consumer offset up to its pop offset, but not past the
 * start of a checkpoint held in memory (forward only).
 *
 * @param ctx Pop state.
 */
export function commitPopped(
  ctx: Pick<PopContext, "store" | "popOffsets" | "buffer">,
  group: string,
  topic: string,
  queueId: number,
): void {
  const next = ctx.popOffsets.get(group, topic, queueId);
  if (next === undefined) return;
  const bound = ctx.buffer?.safeOffset(keyOf(group, topic, queueId)) ?? next;
  const offset = Math.min(next, bound);
  if (offset > (ctx.store.queryConsumerOffset(group, topic, queueId) ?? -1)) {
    ctx.store.commitConsumerOffset(group, topic, queueId, offset);
  }
}

/** Options of {@linkcode createPopContext}. */
export interface PopContextOptions {
  /** The message store (its config documents hold the pop tables). */
  readonly store: MessageStore;
  /** Topic table. */
  readonly topics: RetryTopicTable;
  /** Timer-aware put. */
  readonly put: PutPort;
  /** Clock. */
  readonly clock: Clock;
  /** Broker name. */
  readonly brokerName: string;
  /** Cluster name (names the revive topic). */
  readonly clusterName: string;
  /** This broker's address. */
  readonly storeHost: HostAddress;
  /** Revive queues. Default {@linkcode REVIVE_QUEUE_NUMS_DEFAULT}. */
  readonly reviveQueueNums?: number;
  /** Attempts before the DLQ. */
  readonly maxAttempts: number;
  /** Parked pops per key. */
  readonly pollingPerKeyMax?: number;
  /** Parked pops overall. */
  readonly pollingTotalMax?: number;
  /** Make answered acks survive a crash (sync flush). */
  readonly durableAcks: boolean;
}

/**
 * Build the pop state and load its persisted tables.
 *
 * @param options Store, tables, names and limits.
 * @returns The context.
 */
export async function createPopContext(options: PopContextOptions): Promise<PopContext> {
  const documents: ConfigDocuments = options.store;
  const orderInfos = new OrderInfoTable(documents);
  for (const [topic, group, queueId, offset] of await orderInfos.load()) {
    const stored = options.store.queryConsumerOffset(group, topic, queueId) ?? -1;
    if (offset > stored) options.store.commitConsumerOffset(group, topic, queueId, offset);
  }
  const popOffsets = new PopOffsetTable(documents);
  await popOffsets.load();
  const reviveTopic = reviveTopicOf(options.clusterName);
  const now = options.clock.nowMs();
  return {
    store: options.store,
    topics: options.topics,
    put: options.put,
    clock: options.clock,
    brokerName: options.brokerName,
    reviveTopic,
    reviveQueueNums: options.reviveQueueNums ?? REVIVE_QUEUE_NUMS_DEFAULT,
    maxAttempts: options.maxAttempts,
    inFlight: new InFlightIndex(),
    orderInfos,
    popOffsets,
    polling: new PopLongPollingService(
      options.clock,
      options.pollingPerKeyMax,
      options.pollingTotalMax,
    ),
    startedAtMs: now,
    durableAcks: options.durableAcks,
    reviveTarget: (reviveQid) => ({
      reviveTopic,
      reviveQid,
      storeHost: options.storeHost,
      nowMs: options.clock.nowMs(),
    }),
  };
}

/**
 * True if the store kept the message (a flush timeout still wrote it).
 *
 * @param result A put result.
 */
export function isPutOk(result: PutMessageResult): boolean {
  return result.status === "PUT_OK" || result.status === "FLUSH_DISK_TIMEOUT";
}
