/**
 * Options of the push consumer, their defaults (RocketMQ's names in the
 * docs) and their validation.
 *
 * @module
 */

import type { MessageQueue } from "../message.ts";
import type { ConsumeFromWhere } from "../protocol/heartbeat.ts";
import type { SessionCredentials } from "../protocol/acl_signature.ts";
import { LOCK_CLIENT_EXPIRY_MS_DEFAULT } from "./consume_orderly.ts";
import type { SubscriptionExpression } from "./subscription.ts";

/** Default time the broker may park a pull, ms (RocketMQ `BROKER_SUSPEND_MAX_TIME_MILLIS`). */
export const SUSPEND_TIMEOUT_MS_DEFAULT = 15_000;
/** Default time the client waits for a parked pull, ms. */
export const PULL_TIMEOUT_MS_DEFAULT = 30_000;
/** Default messages per pull. */
export const PULL_BATCH_SIZE_DEFAULT = 32;
/** Default heartbeat interval, ms. */
export const HEARTBEAT_INTERVAL_MS_DEFAULT = 30_000;
/** Default periodic rebalance interval, ms. */
export const REBALANCE_INTERVAL_MS_DEFAULT = 20_000;
/** Default offset commit interval, ms. */
export const COMMIT_INTERVAL_MS_DEFAULT = 5_000;
/** Default buffered messages per queue above which pulling that queue pauses. */
export const QUEUE_BUFFERED_MESSAGES_MAX_DEFAULT = 1_000;
/** Default look-back of `CONSUME_FROM_TIMESTAMP` without a timestamp, ms (30 minutes). */
export const CONSUME_TIMESTAMP_LOOKBACK_MS = 30 * 60 * 1000;
/** Default attempts before a failed message goes to the dead-letter topic (RocketMQ: 16). */
export const MAX_RECONSUME_TIMES_DEFAULT = 16;
/** Default interval of an orderly consumer's lock renewal, ms (`rocketmq.client.rebalance.lockInterval`). */
export const LOCK_RENEW_INTERVAL_MS_DEFAULT = 20_000;
/** Default pause before an orderly consumer redelivers a failed message, ms (`suspendCurrentQueueTimeMillis`). */
export const RETRY_SUSPEND_MS_DEFAULT = 1_000;

/** Options of `createConsumer`. Give `endpoint` or `nameServer`. */
export interface ConsumerOptions {
  /** A standalone broker's address, `host:port`. */
  readonly endpoint?: string;
  /** ACL credentials (`accessKey`, `secretKey`); every request is signed with them. */
  readonly credentials?: SessionCredentials;
  /**
   * Name servers, `host:port;host:port`: the consumer rebalances over the
   * read queues of every broker of the topic, heartbeats to each of them and
   * commits each queue's offset to the broker that owns it.
   */
  readonly nameServer?: string;
  /** Consumer group. */
  readonly group: string;
  /** Subscribed topic. */
  readonly topic: string;
  /**
   * Filter: a tag expression (`*`, the default, or `TagA || TagB`) or
   * `{ type: "SQL92", expression }`. An SQL92 expression is checked by the
   * broker at start; a bad one makes `createConsumer` reject.
   */
  readonly subscription?: string | SubscriptionExpression;
  /** Start point for a group with no stored offset. Default `CONSUME_FROM_LAST_OFFSET`. */
  readonly consumeFromWhere?:
    | "CONSUME_FROM_LAST_OFFSET"
    | "CONSUME_FROM_FIRST_OFFSET"
    | "CONSUME_FROM_TIMESTAMP";
  /** Epoch ms for `CONSUME_FROM_TIMESTAMP`. Default: 30 minutes ago. */
  readonly consumeTimestamp?: number;
  /** Client id, unique within the group. Default: random. */
  readonly clientId?: string;
  /** Messages per pull. Default {@linkcode PULL_BATCH_SIZE_DEFAULT}. */
  readonly pullBatchSize?: number;
  /** How long the broker may park a pull, ms. Default {@linkcode SUSPEND_TIMEOUT_MS_DEFAULT}. */
  readonly suspendTimeoutMs?: number;
  /** How long the client waits for a pull, ms. Default {@linkcode PULL_TIMEOUT_MS_DEFAULT}. */
  readonly pullTimeoutMs?: number;
  /** Heartbeat interval, ms. Default {@linkcode HEARTBEAT_INTERVAL_MS_DEFAULT}. */
  readonly heartbeatIntervalMs?: number;
  /** Periodic rebalance interval, ms. Default {@linkcode REBALANCE_INTERVAL_MS_DEFAULT}. */
  readonly rebalanceIntervalMs?: number;
  /** Offset commit interval, ms. Default {@linkcode COMMIT_INTERVAL_MS_DEFAULT}. */
  readonly commitIntervalMs?: number;
  /** Buffered messages per queue above which its pulls pause. Default 1000. */
  readonly queueBufferedMessagesMax?: number;
  /** Called after each rebalance with the queues this consumer now owns. */
  readonly onRebalance?: (queues: readonly MessageQueue[]) => void;
  /**
   * How members split queues: `AVG` (contiguous blocks, the default),
   * `AVG_BY_CIRCLE` (round-robin) or `CONSISTENT_HASH` (MD5 ring: a member
   * joining or leaving moves few queues).
   */
  readonly allocateStrategy?: "AVG" | "AVG_BY_CIRCLE" | "CONSISTENT_HASH";
  /**
   * `pull` (default): the client rebalances queues and pulls them. `pop`:
   * the broker hands out messages (POP_MESSAGE); no rebalance, no queue
   * locks, no offsets to commit; advancing acks a message, `reconsumeLater`
   * keeps it invisible for the retry back-off. With `orderly`, FIFO pop.
   */
  readonly mode?: "pull" | "pop";
  /**
   * `CLUSTERING` (default): members split the queues and offsets live on the
   * broker. `BROADCASTING`: every member gets every message; offsets live in
   * a local file (`offsetStoreDir`), survive a restart and are never
   * committed to the broker; a failed message is not retried (no retry topic).
   */
  readonly messageModel?: "CLUSTERING" | "BROADCASTING";
  /**
   * Broadcasting: directory of this member's offset file
   * (`<dir>/<group>/offsets.json`). Members on one machine need their own
   * directories. Default `.rocketmq_offsets`.
   */
  readonly offsetStoreDir?: string;
  /**
   * Orderly (FIFO) consumption: each queue is consumed by one member at a time
   * under a broker lock, strictly in queue order; a failed message is retried
   * in place. Default false (concurrent).
   */
  readonly orderly?: boolean;
  /**
   * Attempts after which a failed message goes to the group's dead-letter
   * topic `%DLQ%<group>`. Default {@linkcode MAX_RECONSUME_TIMES_DEFAULT}.
   */
  readonly maxReconsumeTimes?: number;
  /** Orderly: lock renewal interval, ms. Default {@linkcode LOCK_RENEW_INTERVAL_MS_DEFAULT}. */
  readonly lockRenewIntervalMs?: number;
  /** Orderly: pause before a failed message is delivered again, ms. Default {@linkcode RETRY_SUSPEND_MS_DEFAULT}. */
  readonly retrySuspendMs?: number;
}

/** Options with every default applied and checked. */
export interface ResolvedConsumerOptions {
  /** CLUSTERING or BROADCASTING. */
  readonly messageModel: "CLUSTERING" | "BROADCASTING";
  /** pull or pop. */
  readonly mode: "pull" | "pop";
  /** Start policy. */
  readonly consumeFromWhere: ConsumeFromWhere;
  /** Epoch ms for `CONSUME_FROM_TIMESTAMP`. */
  readonly consumeTimestamp: number;
  /** Messages per pull. */
  readonly pullBatchSize: number;
  /** Broker park time, ms. */
  readonly suspendTimeoutMs: number;
  /** Client wait per pull, ms. */
  readonly pullTimeoutMs: number;
  /** Heartbeat interval, ms. */
  readonly heartbeatIntervalMs: number;
  /** Rebalance interval, ms. */
  readonly rebalanceIntervalMs: number;
  /** Commit interval, ms. */
  readonly commitIntervalMs: number;
  /** Per-queue buffer limit. */
  readonly bufferedMax: number;
  /** Attempts before the DLQ. */
  readonly maxReconsumeTimes: number;
  /** Lock renewal interval, ms. */
  readonly lockRenewIntervalMs: number;
  /** Local retry pause, ms. */
  readonly retrySuspendMs: number;
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  const out = value ?? fallback;
  if (!Number.isInteger(out) || out <= 0) {
    throw new RangeError(`Cannot create consumer: ${name} must be a positive integer, got ${out}`);
  }
  return out;
}

/**
 * Apply defaults and check ranges.
 *
 * @param options The caller's options.
 * @returns Every tuning value resolved.
 * @throws {TypeError} On an unknown `consumeFromWhere`.
 * @throws {RangeError} On an out-of-range value.
 */
export function resolveConsumerOptions(options: ConsumerOptions): ResolvedConsumerOptions {
  const messageModel = options.messageModel ?? "CLUSTERING";
  if (messageModel !== "CLUSTERING" && messageModel !== "BROADCASTING") {
    throw new TypeError(
      `Cannot create consumer: messageModel must be CLUSTERING or BROADCASTING, got ${
        String(messageModel)
      }`,
    );
  }
  const mode = options.mode ?? "pull";
  if (mode !== "pull" && mode !== "pop") {
    throw new TypeError(`Cannot create consumer: mode must be pull or pop, got ${String(mode)}`);
  }
  if (messageModel === "BROADCASTING" && (options.orderly || mode === "pop")) {
    throw new TypeError(
      "Cannot create consumer: broadcasting is for pull consumers that are not orderly",
    );
  }
  const where = options.consumeFromWhere ?? "CONSUME_FROM_LAST_OFFSET";
  if (
    where !== "CONSUME_FROM_LAST_OFFSET" && where !== "CONSUME_FROM_FIRST_OFFSET" &&
    where !== "CONSUME_FROM_TIMESTAMP"
  ) {
    throw new TypeError(`Cannot create consumer: unknown consumeFromWhere "${where}"`);
  }
  const pullBatchSize = positiveInt(
    options.pullBatchSize,
    PULL_BATCH_SIZE_DEFAULT,
    "pullBatchSize",
  );
  const suspendTimeoutMs = positiveInt(
    options.suspendTimeoutMs,
    SUSPEND_TIMEOUT_MS_DEFAULT,
    "suspendTimeoutMs",
  );
  const pullTimeoutMs = positiveInt(
    options.pullTimeoutMs,
    PULL_TIMEOUT_MS_DEFAULT,
    "pullTimeoutMs",
  );
  if (pullTimeoutMs <= suspendTimeoutMs) {
    throw new RangeError(
      `Cannot create consumer: pullTimeoutMs (${pullTimeoutMs}) must exceed suspendTimeoutMs (${suspendTimeoutMs})`,
    );
  }
  const heartbeatIntervalMs = positiveInt(
    options.heartbeatIntervalMs,
    HEARTBEAT_INTERVAL_MS_DEFAULT,
    "heartbeatIntervalMs",
  );
  const rebalanceIntervalMs = positiveInt(
    options.rebalanceIntervalMs,
    REBALANCE_INTERVAL_MS_DEFAULT,
    "rebalanceIntervalMs",
  );
  const commitIntervalMs = positiveInt(
    options.commitIntervalMs,
    COMMIT_INTERVAL_MS_DEFAULT,
    "commitIntervalMs",
  );
  const bufferedMax = positiveInt(
    options.queueBufferedMessagesMax,
    QUEUE_BUFFERED_MESSAGES_MAX_DEFAULT,
    "queueBufferedMessagesMax",
  );
  const maxReconsumeTimes = options.maxReconsumeTimes ?? MAX_RECONSUME_TIMES_DEFAULT;
  if (!Number.isInteger(maxReconsumeTimes) || maxReconsumeTimes < 0) {
    throw new RangeError(
      `Cannot create consumer: maxReconsumeTimes must be a non-negative integer, got ${maxReconsumeTimes}`,
    );
  }
  const lockRenewIntervalMs = positiveInt(
    options.lockRenewIntervalMs,
    LOCK_RENEW_INTERVAL_MS_DEFAULT,
    "lockRenewIntervalMs",
  );
  if (lockRenewIntervalMs >= LOCK_CLIENT_EXPIRY_MS_DEFAULT) {
    throw new RangeError(
      `Cannot create consumer: lockRenewIntervalMs (${lockRenewIntervalMs}) must be below ${LOCK_CLIENT_EXPIRY_MS_DEFAULT}`,
    );
  }
  const retrySuspendMs = positiveInt(
    options.retrySuspendMs,
    RETRY_SUSPEND_MS_DEFAULT,
    "retrySuspendMs",
  );
  return {
    messageModel,
    mode,
    consumeFromWhere: where,
    consumeTimestamp: options.consumeTimestamp ?? Date.now() - CONSUME_TIMESTAMP_LOOKBACK_MS,
    pullBatchSize,
    suspendTimeoutMs,
    pullTimeoutMs,
    heartbeatIntervalMs,
    rebalanceIntervalMs,
    commitIntervalMs,
    bufferedMax,
    maxReconsumeTimes,
    lockRenewIntervalMs,
    retrySuspendMs,
  };
}
