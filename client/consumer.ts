/**
 * The clustering push consumer: long-polling pulls, queue rebalancing across
 * group members, offset commits, retries through the group's retry topic,
 * and orderly (FIFO) consumption under broker queue locks.
 *
 * @module
 */

import { allocateAveragely } from "./allocate.ts";
import { BrokerClient } from "./broker_client.ts";
import type { SessionCredentials } from "./protocol/acl_signature.ts";
import { unregisterAndClose } from "./client_registration.ts";
import { MQBrokerError, MQClientError } from "./errors.ts";
import {
  decodeReceivedMessages,
  DELAY_LEVEL_MAX,
  type MessageQueue,
  type ReceivedMessage,
  RETRY_TOPIC_PREFIX,
  validateName,
} from "./message.ts";
import { fetchTopicRoute, readQueues } from "./topic_route.ts";
import {
  consumerGroupRequestHeader,
  consumerSendMsgBackRequestHeader,
  DEFAULT_TOPIC,
  DEFAULT_TOPIC_QUEUE_NUMS,
  offsetResponseHeader,
  pullMessageRequestHeader,
  pullMessageResponseHeader,
  PullSysFlag,
  queryConsumerOffsetRequestHeader,
  queueRequestHeader,
  searchOffsetRequestHeader,
  sendMessageRequestHeaderV2,
  updateConsumerOffsetRequestHeader,
} from "./protocol/headers.ts";
import {
  type ConsumeFromWhere,
  encodeJsonBody,
  type HeartbeatData,
  parseConsumerListBody,
  parseLockBatchResponseBody,
  type SubscriptionData,
} from "./protocol/heartbeat.ts";
import { encodeProperties, javaStringHashCode, MessageConst } from "./protocol/properties.ts";
import type { RemotingCommand } from "./protocol/remoting_command.ts";
import { RequestCode } from "./protocol/request_code.ts";
import { ResponseCode } from "./protocol/response_code.ts";

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
/** Delay before re-pulling after an error, ms. */
export const PULL_ERROR_BACKOFF_MS = 1_000;
/** Default look-back of `CONSUME_FROM_TIMESTAMP` without a timestamp, ms (30 minutes). */
export const CONSUME_TIMESTAMP_LOOKBACK_MS = 30 * 60 * 1000;
/** Default attempts before a failed message goes to the dead-letter topic (RocketMQ: 16). */
export const MAX_RECONSUME_TIMES_DEFAULT = 16;
/** Default interval of an orderly consumer's lock renewal, ms (`rocketmq.client.rebalance.lockInterval`). */
export const LOCK_RENEW_INTERVAL_MS_DEFAULT = 20_000;
/** An orderly consumer stops delivering a queue whose lock it could not renew for this long, ms. */
export const LOCK_CLIENT_EXPIRY_MS_DEFAULT = 30_000;
/** Default pause before an orderly consumer redelivers a failed message, ms (`suspendCurrentQueueTimeMillis`). */
export const RETRY_SUSPEND_MS_DEFAULT = 1_000;
/** How soon an orderly consumer retries locking assigned queues it could not lock, ms. */
export const LOCK_RETRY_INTERVAL_MS = 1_000;
/** Longest a rebalance or close waits for the message being processed before releasing its queue, ms. */
export const IN_FLIGHT_WAIT_MS = 1_000;
/** Producer group of messages the consumer re-sends itself (RocketMQ `CLIENT_INNER_PRODUCER`). */
export const CLIENT_INNER_PRODUCER_GROUP = "CLIENT_INNER_PRODUCER";
/** The broker's first retry delay level (level = this + reconsumeTimes). */
const RETRY_DELAY_LEVEL_BASE = 3;

/** A filter expression and its kind. */
export interface SubscriptionExpression {
  /** `TAG` (`*` or `TagA || TagB`) or `SQL92` (evaluated by the broker on properties). */
  readonly type: "TAG" | "SQL92";
  /** The expression text. */
  readonly expression: string;
}

/** Options of {@linkcode createConsumer}. */
export interface ConsumerOptions {
  /** Broker address, `host:port`. */
  readonly endpoint: string;
  /** ACL credentials (`accessKey`, `secretKey`); every request is signed with them. */
  readonly credentials?: SessionCredentials;
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

/** Options of {@linkcode Consumer.messages}. */
export interface MessagesOptions {
  /** Ends the iteration when aborted. */
  readonly signal?: AbortSignal;
}

/** Options of {@linkcode Consumer.reconsumeLater}. */
export interface ReconsumeOptions {
  /**
   * Concurrent mode: delay level of the redelivery, 1..18 (1 s ... 2 h).
   * Default 0: the broker picks 3 + reconsumeTimes (10 s, 30 s, 1 min, ...).
   * Ignored in orderly mode, where the message is retried in place after
   * `retrySuspendMs`.
   */
  readonly delayLevel?: number;
}

/** One subscribed topic with its filter. */
interface Subscription {
  readonly topic: string;
  readonly type: "TAG" | "SQL92";
  readonly expression: string;
  /** Tags of a TAG expression; empty = all. */
  readonly tags: readonly string[];
}

interface PendingRetry {
  readonly message: ReceivedMessage;
  readonly dueMs: number;
}

/**
 * Pull state of one owned queue. Invariant: `committedOffset <= consumedOffset
 * <= nextPullOffset`; `consumedOffset` = the smallest held offset if any, else
 * `maxDone` (one past the highest processed offset).
 */
interface QueueState {
  readonly queue: MessageQueue;
  readonly key: string;
  readonly subscription: Subscription;
  readonly controller: AbortController;
  active: boolean;
  nextPullOffset: number;
  consumedOffset: number;
  committedOffset: number;
  maxDone: number;
  /** Offsets of messages waiting for local redelivery. */
  readonly holds: Set<number>;
  /** Messages to deliver again before (orderly) or besides (concurrent) the buffer. */
  readonly retries: PendingRetry[];
  buffered: number;
  /** A message of this queue is out with the caller. */
  inFlight: boolean;
  idleWaiters: (() => void)[];
  /** Orderly: when the broker last confirmed our lock (performance.now() ms). */
  lockedAtMs: number;
  resume: (() => void) | undefined;
  loop: Promise<void>;
}

interface Batch {
  readonly state: QueueState;
  readonly messages: ReceivedMessage[];
  index: number;
}

interface Current {
  readonly state: QueueState;
  readonly message: ReceivedMessage;
  /** Set by reconsumeLater when the message will be delivered again locally. */
  heldForRetry: boolean;
  /** Set by reconsumeLater once the broker took the message back (retry topic or DLQ). */
  handedBack: boolean;
}

function queueKey(queue: MessageQueue): string {
  return `${queue.topic}/${queue.brokerName}/${queue.queueId}`;
}

function parseTags(expression: string): string[] {
  const trimmed = expression.trim();
  if (trimmed === "" || trimmed === "*") return [];
  return [...new Set(trimmed.split("||").map((t) => t.trim()).filter((t) => t.length > 0))];
}

function parseSubscription(topic: string, option: ConsumerOptions["subscription"]): Subscription {
  if (option === undefined || typeof option === "string") {
    const expression = option?.trim() || "*";
    return { topic, type: "TAG", expression, tags: parseTags(expression) };
  }
  if (typeof option !== "object" || option === null) {
    throw new TypeError("Cannot create consumer: subscription must be a string or an object");
  }
  if (option.type !== "TAG" && option.type !== "SQL92") {
    throw new TypeError(
      `Cannot create consumer: subscription type must be TAG or SQL92, got ${String(option.type)}`,
    );
  }
  const expression = typeof option.expression === "string" ? option.expression.trim() : "";
  if (option.type === "SQL92") {
    if (expression === "") {
      throw new TypeError("Cannot create consumer: SQL92 subscription expression is empty");
    }
    return { topic, type: "SQL92", expression, tags: [] };
  }
  const tagExpression = expression || "*";
  return { topic, type: "TAG", expression: tagExpression, tags: parseTags(tagExpression) };
}

/**
 * A clustering consumer of one topic (and its group's retry topic).
 *
 * Members of a group split the topic's queues with average allocation
 * (contiguous blocks over sorted queues and sorted client ids). A rebalance
 * runs at start, every `rebalanceIntervalMs`, and at once when the broker
 * sends NOTIFY_CONSUMER_IDS_CHANGED. Each owned queue has a long-polling pull
 * loop; pulled messages wait in a buffer until {@linkcode Consumer.messages}
 * yields them. A message counts as processed when the iterator advances past
 * it, unless {@linkcode Consumer.reconsumeLater} was called for it; the
 * processed offset is committed to the broker every `commitIntervalMs`, on
 * each pull, when the queue is handed to another member, and on close.
 * Delivery is at least once: a message being processed when the iteration
 * stops, or during a rebalance, may be delivered again.
 *
 * Retries (concurrent mode): `reconsumeLater(message)` sends the message back
 * (CONSUMER_SEND_MSG_BACK); the broker stores it in `%RETRY%<group>` with a
 * growing delay, or in `%DLQ%<group>` after `maxReconsumeTimes` attempts. The
 * consumer also consumes `%RETRY%<group>`; such messages report the original
 * `topic` and a `reconsumeTimes` one higher per attempt.
 *
 * Orderly mode (`orderly: true`): before pulling a queue the consumer locks
 * it on the broker (LOCK_BATCH_MQ), renews its locks every
 * `lockRenewIntervalMs`, and unlocks queues it gives up (after committing
 * their offset) and on close, so no two members consume one queue at once.
 * Messages of a queue are delivered strictly in queue order; after
 * `reconsumeLater(message)` the same message is delivered again after
 * `retrySuspendMs` before anything later of its queue, with `reconsumeTimes`
 * one higher, until `maxReconsumeTimes`; then it goes to the DLQ. An orderly
 * consumer does not subscribe to the retry topic.
 *
 * @example
 * ```ts ignore
 * import { createConsumer } from "./consumer.ts";
 * await using consumer = await createConsumer({
 *   endpoint: "127.0.0.1:10911",
 *   group: "billing",
 *   topic: "Orders",
 *   consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
 * });
 * for await (const message of consumer.messages()) {
 *   try {
 *     console.log(message.queueId, message.queueOffset, message.text());
 *   } catch {
 *     await consumer.reconsumeLater(message); // redelivered later, reconsumeTimes + 1
 *   }
 * }
 * ```
 */
export class Consumer implements AsyncDisposable {
  /** Consumer group. */
  readonly group: string;
  /** Subscribed topic. */
  readonly topic: string;
  /** Client id. */
  readonly clientId: string;
  /** True for an orderly consumer. */
  readonly orderly: boolean;
  readonly #client: BrokerClient;
  readonly #subscription: Subscription;
  readonly #subscriptions: readonly Subscription[];
  readonly #subVersion = Date.now();
  readonly #consumeFromWhere: ConsumeFromWhere;
  readonly #consumeTimestamp: number;
  readonly #pullBatchSize: number;
  readonly #suspendTimeoutMs: number;
  readonly #pullTimeoutMs: number;
  readonly #heartbeatIntervalMs: number;
  readonly #rebalanceIntervalMs: number;
  readonly #commitIntervalMs: number;
  readonly #bufferedMax: number;
  readonly #maxReconsumeTimes: number;
  readonly #lockRenewIntervalMs: number;
  readonly #retrySuspendMs: number;
  readonly #onRebalance: ((queues: readonly MessageQueue[]) => void) | undefined;
  readonly #states = new Map<string, QueueState>();
  readonly #timers: Array<ReturnType<typeof setInterval>> = [];
  #lockRetryTimer: ReturnType<typeof setTimeout> | undefined;
  #batches: Batch[] = [];
  #current: Current | undefined;
  #wake: (() => void) | undefined;
  #rebalancing: Promise<void> | undefined;
  #rebalanceAgain = false;
  #retryTopicSeen = false;
  #iterating = false;
  #closed = false;
  #closing: Promise<void> | undefined;

  /**
   * Use {@linkcode createConsumer}.
   *
   * @param options Consumer options.
   */
  constructor(options: ConsumerOptions) {
    validateName("group", options.group, "create consumer");
    validateName("topic", options.topic, "create consumer");
    this.group = options.group;
    this.topic = options.topic;
    this.orderly = options.orderly ?? false;
    this.clientId = options.clientId ?? `consumer@${Deno.pid}@${crypto.randomUUID().slice(0, 8)}`;
    this.#subscription = parseSubscription(this.topic, options.subscription);
    this.#subscriptions = this.orderly ? [this.#subscription] : [
      this.#subscription,
      { topic: RETRY_TOPIC_PREFIX + this.group, type: "TAG", expression: "*", tags: [] },
    ];
    const where = options.consumeFromWhere ?? "CONSUME_FROM_LAST_OFFSET";
    if (
      where !== "CONSUME_FROM_LAST_OFFSET" && where !== "CONSUME_FROM_FIRST_OFFSET" &&
      where !== "CONSUME_FROM_TIMESTAMP"
    ) {
      throw new TypeError(`Cannot create consumer: unknown consumeFromWhere "${where}"`);
    }
    this.#consumeFromWhere = where;
    this.#consumeTimestamp = options.consumeTimestamp ??
      Date.now() - CONSUME_TIMESTAMP_LOOKBACK_MS;
    this.#pullBatchSize = positiveInt(
      options.pullBatchSize,
      PULL_BATCH_SIZE_DEFAULT,
      "pullBatchSize",
    );
    this.#suspendTimeoutMs = positiveInt(
      options.suspendTimeoutMs,
      SUSPEND_TIMEOUT_MS_DEFAULT,
      "suspendTimeoutMs",
    );
    this.#pullTimeoutMs = positiveInt(
      options.pullTimeoutMs,
      PULL_TIMEOUT_MS_DEFAULT,
      "pullTimeoutMs",
    );
    if (this.#pullTimeoutMs <= this.#suspendTimeoutMs) {
      throw new RangeError(
        `Cannot create consumer: pullTimeoutMs (${this.#pullTimeoutMs}) must exceed suspendTimeoutMs (${this.#suspendTimeoutMs})`,
      );
    }
    this.#heartbeatIntervalMs = positiveInt(
      options.heartbeatIntervalMs,
      HEARTBEAT_INTERVAL_MS_DEFAULT,
      "heartbeatIntervalMs",
    );
    this.#rebalanceIntervalMs = positiveInt(
      options.rebalanceIntervalMs,
      REBALANCE_INTERVAL_MS_DEFAULT,
      "rebalanceIntervalMs",
    );
    this.#commitIntervalMs = positiveInt(
      options.commitIntervalMs,
      COMMIT_INTERVAL_MS_DEFAULT,
      "commitIntervalMs",
    );
    this.#bufferedMax = positiveInt(
      options.queueBufferedMessagesMax,
      QUEUE_BUFFERED_MESSAGES_MAX_DEFAULT,
      "queueBufferedMessagesMax",
    );
    this.#maxReconsumeTimes = options.maxReconsumeTimes ?? MAX_RECONSUME_TIMES_DEFAULT;
    if (!Number.isInteger(this.#maxReconsumeTimes) || this.#maxReconsumeTimes < 0) {
      throw new RangeError(
        `Cannot create consumer: maxReconsumeTimes must be a non-negative integer, got ${this.#maxReconsumeTimes}`,
      );
    }
    this.#lockRenewIntervalMs = positiveInt(
      options.lockRenewIntervalMs,
      LOCK_RENEW_INTERVAL_MS_DEFAULT,
      "lockRenewIntervalMs",
    );
    if (this.#lockRenewIntervalMs >= LOCK_CLIENT_EXPIRY_MS_DEFAULT) {
      throw new RangeError(
        `Cannot create consumer: lockRenewIntervalMs (${this.#lockRenewIntervalMs}) must be below ${LOCK_CLIENT_EXPIRY_MS_DEFAULT}`,
      );
    }
    this.#retrySuspendMs = positiveInt(
      options.retrySuspendMs,
      RETRY_SUSPEND_MS_DEFAULT,
      "retrySuspendMs",
    );
    this.#onRebalance = options.onRebalance;
    this.#client = new BrokerClient({
      endpoint: options.endpoint,
      credentials: options.credentials,
      onRequest: (request) => this.#onBrokerRequest(request),
      onReconnect: () =>
        void this.#heartbeat()
          .then(() => this.orderly ? this.#renewLocks() : undefined)
          .then(() => this.#rebalance())
          .catch(() => {}),
    });
  }

  /** The queues this consumer owns now (topic queues and retry-topic queues). */
  get assignment(): MessageQueue[] {
    return [...this.#states.values()].map((s) => s.queue);
  }

  /** The group's retry topic this consumer also consumes, or undefined in orderly mode. */
  get retryTopic(): string | undefined {
    return this.orderly ? undefined : RETRY_TOPIC_PREFIX + this.group;
  }

  /**
   * Connect, register with a heartbeat, check an SQL92 subscription, take a
   * share of the queues (locking them in orderly mode), and start pulling.
   *
   * @throws {MQConnectionClosedError} If the broker cannot be reached.
   * @throws {MQBrokerError} If the broker refuses the heartbeat, the route,
   *   the subscription (SUBSCRIPTION_PARSE_FAILED) or, in orderly mode, the locks.
   */
  async start(): Promise<void> {
    await this.#heartbeat();
    if (this.#subscription.type === "SQL92") await this.#checkSubscription();
    await this.#rebalance();
    this.#timers.push(
      setInterval(() => void this.#heartbeat().catch(() => {}), this.#heartbeatIntervalMs),
      setInterval(() => void this.#rebalance().catch(() => {}), this.#rebalanceIntervalMs),
      setInterval(() => void this.#commitAll().catch(() => {}), this.#commitIntervalMs),
    );
    if (this.orderly) {
      this.#timers.push(
        setInterval(() => void this.#renewLocks().catch(() => {}), this.#lockRenewIntervalMs),
      );
    }
  }

  /**
   * Iterate over received messages. Advancing the iterator marks the previous
   * message processed (unless it was given to {@linkcode Consumer.reconsumeLater}).
   * Only one iteration may be active at a time; it ends when the consumer
   * closes or the signal aborts. A message the iteration stopped on is
   * delivered again by the next iteration.
   *
   * @param options Abort signal.
   * @returns An async iterator of messages.
   * @throws {TypeError} If another iteration is active.
   */
  messages(options?: MessagesOptions): AsyncIterableIterator<ReceivedMessage> {
    if (this.#iterating) {
      throw new TypeError("Cannot iterate messages: another iteration is active");
    }
    this.#iterating = true;
    return this.#iterate(options?.signal);
  }

  /**
   * Say a message failed and should be consumed again later.
   *
   * Concurrent mode: the message is sent back to the broker
   * (CONSUMER_SEND_MSG_BACK with its CommitLog offset, `delayLevel`, its
   * msgId and topic, and `maxReconsumeTimes`), which redelivers it through
   * `%RETRY%<group>` after the delay, or dead-letters it in `%DLQ%<group>`
   * once it was consumed `maxReconsumeTimes` times. If the broker refuses,
   * the consumer re-sends the message to `%RETRY%<group>` itself (with
   * `RECONSUME_TIME` + 1); if that fails too and `message` is the one being
   * processed, it is delivered again locally after `retrySuspendMs`.
   *
   * Orderly mode: only the message being processed may be given back. It is
   * delivered again after `retrySuspendMs`, before any later message of its
   * queue, with `reconsumeTimes` + 1; once `reconsumeTimes` reached
   * `maxReconsumeTimes` it is sent to the DLQ instead (send-back with a
   * negative level) and counts as processed. A message is never skipped: if
   * the DLQ send fails it is retried in place again.
   *
   * @param message A message this consumer delivered.
   * @param options Delay level (concurrent mode).
   * @throws {TypeError} In orderly mode, if `message` is not the one being processed.
   * @throws {RangeError} On a delay level outside 0..18.
   * @throws {MQClientError} Concurrent mode, if the message could not be given
   *   back and is not the one being processed.
   */
  async reconsumeLater(message: ReceivedMessage, options?: ReconsumeOptions): Promise<void> {
    const delayLevel = options?.delayLevel ?? 0;
    if (!Number.isInteger(delayLevel) || delayLevel < 0 || delayLevel > DELAY_LEVEL_MAX) {
      throw new RangeError(
        `Cannot reconsume message: delayLevel must be an integer from 0 to ${DELAY_LEVEL_MAX}, got ${delayLevel}`,
      );
    }
    const current = this.#current?.message === message ? this.#current : undefined;
    if (this.orderly) {
      if (current === undefined) {
        throw new TypeError(
          "Cannot reconsume message: an orderly consumer can only reconsume the message being processed",
        );
      }
      if (message.reconsumeTimes >= this.#maxReconsumeTimes) {
        try {
          await this.#sendBack(message, -1);
          current.handedBack = true; // Dead-lettered: the message counts as processed.
          return;
        } catch {
          // Keep it in place (never skip) and try the DLQ again on the next failure.
          this.#holdForRetry(current, message.reconsumeTimes);
          return;
        }
      }
      this.#holdForRetry(current, message.reconsumeTimes + 1);
      return;
    }
    let failure: unknown;
    try {
      await this.#sendBack(message, delayLevel);
      if (current !== undefined) current.handedBack = true;
      this.#noteRetryTopicUsed();
      return;
    } catch (error) {
      failure = error;
    }
    try {
      await this.#resendToRetryTopic(message, delayLevel);
      if (current !== undefined) current.handedBack = true;
      this.#noteRetryTopicUsed();
      return;
    } catch (error) {
      if (current !== undefined) {
        this.#holdForRetry(current, message.reconsumeTimes + 1);
        return;
      }
      throw new MQClientError(
        `Cannot reconsume message ${message.msgId}: send-back failed (${
          (failure as Error)?.message
        }) and re-sending to ${RETRY_TOPIC_PREFIX + this.group} failed`,
        { cause: error },
      );
    }
  }

  async *#iterate(signal: AbortSignal | undefined): AsyncGenerator<ReceivedMessage> {
    let onAbort: (() => void) | undefined;
    if (signal !== undefined) {
      onAbort = () => this.#wake?.();
      signal.addEventListener("abort", onAbort, { once: true });
    }
    try {
      while (!this.#closed && !signal?.aborted) {
        const next = this.#takeNext();
        if ("waitMs" in next) {
          await this.#sleep(next.waitMs);
          continue;
        }
        const current: Current = {
          state: next.state,
          message: next.message,
          heldForRetry: false,
          handedBack: false,
        };
        this.#current = current;
        next.state.inFlight = true;
        try {
          yield next.message;
        } catch (error) {
          // The caller threw into the iterator: the message is not processed.
          this.#requeue(current);
          throw error;
        }
        // The caller asked for the next message, so this one is processed.
        this.#finish(current);
      }
    } finally {
      // Stopped on a message (break, return, close): hand it to the next iteration.
      const current = this.#current;
      if (current !== undefined) this.#requeue(current);
      if (onAbort !== undefined) signal!.removeEventListener("abort", onAbort);
      this.#iterating = false;
    }
  }

  /** The next deliverable message, or how long to wait for one (undefined = until woken). */
  #takeNext():
    | { state: QueueState; message: ReceivedMessage }
    | { waitMs: number | undefined } {
    // The clock is read only when a retry or an orderly lock needs it (not per plain message).
    let now = -1;
    let waitMs: number | undefined;
    for (const state of this.#states.values()) {
      if (!state.active || state.retries.length === 0) continue;
      if (now < 0) now = performance.now();
      if (!this.#deliverable(state, now)) continue;
      const retry = state.retries[0];
      if (retry.dueMs <= now) {
        state.retries.shift();
        return { state, message: retry.message };
      }
      waitMs = Math.min(waitMs ?? Infinity, retry.dueMs - now);
    }
    for (let i = 0; i < this.#batches.length;) {
      const batch = this.#batches[i];
      const state = batch.state;
      if (!state.active || batch.index >= batch.messages.length) {
        this.#batches.splice(i, 1);
        continue;
      }
      // Orderly: nothing later of a queue goes out while one of its messages waits for a retry.
      if (
        this.orderly &&
        (state.retries.length > 0 ||
          !this.#deliverable(state, now < 0 ? (now = performance.now()) : now))
      ) {
        i++;
        continue;
      }
      const message = batch.messages[batch.index++];
      state.buffered--;
      if (state.resume !== undefined && state.buffered < this.#bufferedMax) state.resume();
      return { state, message };
    }
    return { waitMs };
  }

  #deliverable(state: QueueState, now: number): boolean {
    return !this.orderly || now - state.lockedAtMs < LOCK_CLIENT_EXPIRY_MS_DEFAULT;
  }

  #sleep(waitMs: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      if (waitMs !== undefined) timer = setTimeout(() => this.#wake?.(), Math.ceil(waitMs));
    });
  }

  #finish(current: Current): void {
    const { state, message } = current;
    this.#current = undefined;
    if (!current.heldForRetry) {
      const queueOffset = message.queueOffset;
      if (state.holds.size > 0) state.holds.delete(queueOffset);
      this.#markDone(state, queueOffset + 1);
    }
    this.#idle(state);
  }

  /** Put a message the caller did not finish back at the head of its queue, unchanged. */
  #requeue(current: Current): void {
    // A message already given back to the broker is done with here, finished or not.
    if (current.handedBack) return this.#finish(current);
    this.#current = undefined;
    const { state, message } = current;
    if (!current.heldForRetry && state.active) {
      state.holds.add(message.queueOffset);
      state.retries.unshift({ message, dueMs: 0 });
      this.#updateConsumed(state);
    }
    this.#idle(state);
  }

  #holdForRetry(current: Current, reconsumeTimes: number): void {
    if (current.heldForRetry) return;
    current.heldForRetry = true;
    const { state, message } = current;
    if (!state.active) return;
    state.holds.add(message.queueOffset);
    this.#updateConsumed(state);
    state.retries.push({
      message: this.#again(message, reconsumeTimes),
      dueMs: performance.now() + this.#retrySuspendMs,
    });
  }

  #again(message: ReceivedMessage, reconsumeTimes: number): ReceivedMessage {
    return message.withReconsumeTimes(reconsumeTimes);
  }

  #idle(state: QueueState): void {
    state.inFlight = false;
    if (state.idleWaiters.length === 0) return;
    const waiters = state.idleWaiters;
    state.idleWaiters = [];
    for (const waiter of waiters) waiter();
  }

  #markDone(state: QueueState, offset: number): void {
    if (offset > state.maxDone) state.maxDone = offset;
    this.#updateConsumed(state);
  }

  #updateConsumed(state: QueueState): void {
    if (state.holds.size === 0) {
      state.consumedOffset = state.maxDone;
      return;
    }
    let held = Infinity;
    for (const offset of state.holds) if (offset < held) held = offset;
    state.consumedOffset = held === Infinity ? state.maxDone : Math.min(held, state.maxDone);
  }

  /**
   * Stop pulling, commit offsets, release queue locks (orderly), unregister
   * from the group, and close the connection. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Same as {@linkcode Consumer.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    clearTimeout(this.#lockRetryTimer);
    this.#wake?.();
    await this.#rebalancing?.catch(() => {});
    const states = [...this.#states.values()];
    await this.#release(states);
    this.#states.clear();
    this.#batches = [];
    await unregisterAndClose(this.#client, this.clientId, { consumerGroup: this.group });
  }

  /**
   * Give up queues: stop their pulls, wait (bounded) for a message out with
   * the caller, commit, and unlock the ones no message is still out for.
   */
  async #release(states: readonly QueueState[]): Promise<void> {
    for (const state of states) this.#deactivate(state);
    const idle = await Promise.all(states.map((s) => this.#waitIdle(s)));
    await Promise.all(states.map((s) => s.loop));
    await Promise.all(states.map((s) => this.#commit(s, true).catch(() => {})));
    if (this.orderly) {
      // A queue whose message is still being processed keeps its broker lock until it expires,
      // so no other member starts on the queue's next message meanwhile.
      const unlock = states.filter((_, i) => idle[i]).map((s) => s.queue);
      if (unlock.length > 0) {
        await this.#client.invoke(
          RequestCode.UNLOCK_BATCH_MQ,
          {},
          encodeJsonBody({
            consumerGroup: this.group,
            clientId: this.clientId,
            onlyThisBroker: true,
            mqSet: unlock,
          }),
          { timeoutMs: 3_000 },
        ).catch(() => {});
      }
    }
  }

  #waitIdle(state: QueueState): Promise<boolean> {
    if (!state.inFlight) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), IN_FLIGHT_WAIT_MS);
      state.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  #onBrokerRequest(request: RemotingCommand): undefined {
    if (request.code === RequestCode.NOTIFY_CONSUMER_IDS_CHANGED && !this.#closed) {
      void this.#rebalance().catch(() => {});
    }
    return undefined;
  }

  #subscriptionData(subscription: Subscription): SubscriptionData {
    return {
      classFilterMode: false,
      topic: subscription.topic,
      subString: subscription.expression,
      tagsSet: subscription.tags,
      codeSet: subscription.tags.map(javaStringHashCode),
      subVersion: this.#subVersion,
      expressionType: subscription.type,
    };
  }

  async #heartbeat(): Promise<void> {
    const data: HeartbeatData = {
      clientID: this.clientId,
      producerDataSet: [],
      consumerDataSet: [{
        groupName: this.group,
        consumeType: "CONSUME_PASSIVELY",
        messageModel: "CLUSTERING",
        consumeFromWhere: this.#consumeFromWhere,
        subscriptionDataSet: this.#subscriptions.map((s) => this.#subscriptionData(s)),
        unitMode: false,
      }],
    };
    const response = await this.#client.request(
      RequestCode.HEART_BEAT,
      {},
      encodeJsonBody(data),
    );
    if (response.code === ResponseCode.SUBSCRIPTION_PARSE_FAILED) {
      throw this.#badSubscription(response, RequestCode.HEART_BEAT);
    }
    if (response.code !== ResponseCode.SUCCESS) {
      throw new MQBrokerError(response.code, response.remark, RequestCode.HEART_BEAT);
    }
  }

  /**
   * Have the broker compile the SQL92 expression: a pull of one message that
   * neither waits nor commits; SUBSCRIPTION_PARSE_FAILED means the expression is bad.
   */
  async #checkSubscription(): Promise<void> {
    const queues = readQueues(await fetchTopicRoute(this.#client, this.topic), this.topic);
    if (queues.length === 0) return;
    const response = await this.#client.request(
      RequestCode.PULL_MESSAGE,
      pullMessageRequestHeader.encode({
        consumerGroup: this.group,
        topic: this.topic,
        queueId: queues[0].queueId,
        queueOffset: 0,
        maxMsgNums: 1,
        sysFlag: PullSysFlag.SUBSCRIPTION,
        commitOffset: 0,
        suspendTimeoutMillis: 0,
        subscription: this.#subscription.expression,
        subVersion: this.#subVersion,
        expressionType: this.#subscription.type,
      }),
    );
    if (response.code === ResponseCode.SUBSCRIPTION_PARSE_FAILED) {
      throw this.#badSubscription(response, RequestCode.PULL_MESSAGE);
    }
  }

  #badSubscription(response: RemotingCommand, requestCode: number): MQBrokerError {
    return new MQBrokerError(
      response.code,
      `${this.#subscription.type} subscription ${
        JSON.stringify(this.#subscription.expression)
      } is invalid: ${response.remark ?? "parse failed"}`,
      requestCode,
    );
  }

  /** Run a rebalance; calls made while one runs coalesce into one more run. */
  #rebalance(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#rebalancing !== undefined) {
      this.#rebalanceAgain = true;
      return this.#rebalancing;
    }
    this.#rebalancing = (async () => {
      try {
        do {
          this.#rebalanceAgain = false;
          await this.#rebalanceOnce();
        } while (this.#rebalanceAgain && !this.#closed);
      } finally {
        this.#rebalancing = undefined;
      }
    })();
    return this.#rebalancing;
  }

  async #queuesOf(subscription: Subscription): Promise<MessageQueue[]> {
    try {
      return readQueues(
        await fetchTopicRoute(this.#client, subscription.topic),
        subscription.topic,
      );
    } catch (error) {
      // The retry topic exists only after the group's first send-back.
      if (
        subscription !== this.#subscription && error instanceof MQBrokerError &&
        error.code === ResponseCode.TOPIC_NOT_EXIST
      ) {
        return [];
      }
      throw error;
    }
  }

  async #rebalanceOnce(): Promise<void> {
    const perTopic = await Promise.all(this.#subscriptions.map((s) => this.#queuesOf(s)));
    const response = await this.#client.invoke(
      RequestCode.GET_CONSUMER_LIST_BY_GROUP,
      consumerGroupRequestHeader.encode({ consumerGroup: this.group }),
    );
    const list = parseConsumerListBody(response.body);
    if (!list.ok) throw new MQClientError(`Bad consumer list: ${list.error}`);
    const ids = list.value.consumerIdList.includes(this.clientId)
      ? list.value.consumerIdList
      : [...list.value.consumerIdList, this.clientId];
    if (this.#closed) return;
    if (perTopic.length > 1 && perTopic[1].length > 0) this.#retryTopicSeen = true;
    const wanted = new Map<string, { queue: MessageQueue; subscription: Subscription }>();
    for (const [i, queues] of perTopic.entries()) {
      for (const queue of allocateAveragely(this.clientId, queues, ids)) {
        wanted.set(queueKey(queue), { queue, subscription: this.#subscriptions[i] });
      }
    }
    const dropped: QueueState[] = [];
    for (const [key, state] of this.#states) {
      if (wanted.has(key)) continue;
      this.#states.delete(key);
      dropped.push(state);
    }
    await this.#release(dropped);
    let added = [...wanted].filter(([key]) => !this.#states.has(key)).map(([, v]) => v);
    if (this.orderly && added.length > 0 && !this.#closed) {
      const locked = new Set((await this.#lock(added.map((a) => a.queue))).map(queueKey));
      if (locked.size < added.length) this.#scheduleLockRetry();
      added = added.filter((a) => locked.has(queueKey(a.queue)));
    }
    for (const { queue, subscription } of added) {
      const key = queueKey(queue);
      if (this.#states.has(key) || this.#closed) continue;
      const offset = await this.#startOffset(queue);
      if (this.#closed || this.#states.has(key)) continue;
      const state: QueueState = {
        queue,
        key,
        subscription,
        controller: new AbortController(),
        active: true,
        nextPullOffset: offset,
        consumedOffset: offset,
        committedOffset: -1,
        maxDone: offset,
        holds: new Set(),
        retries: [],
        buffered: 0,
        inFlight: false,
        idleWaiters: [],
        lockedAtMs: performance.now(),
        resume: undefined,
        loop: Promise.resolve(),
      };
      this.#states.set(key, state);
      state.loop = this.#pullLoop(state);
    }
    this.#onRebalance?.(this.assignment);
  }

  /** LOCK_BATCH_MQ: lock (or renew) queues; returns the ones the broker granted. */
  async #lock(queues: readonly MessageQueue[]): Promise<MessageQueue[]> {
    const response = await this.#client.invoke(
      RequestCode.LOCK_BATCH_MQ,
      {},
      encodeJsonBody({
        consumerGroup: this.group,
        clientId: this.clientId,
        onlyThisBroker: true,
        mqSet: queues,
      }),
    );
    const parsed = parseLockBatchResponseBody(response.body);
    if (!parsed.ok) throw new MQClientError(`Bad lock response: ${parsed.error}`);
    return parsed.value.lockOKMQSet.map((q) => ({
      topic: q.topic,
      brokerName: q.brokerName,
      queueId: q.queueId,
    }));
  }

  /** Renew every owned queue's lock; a queue the broker no longer grants is given up. */
  async #renewLocks(): Promise<void> {
    if (this.#closed || this.#states.size === 0) return;
    const states = [...this.#states.values()];
    const before = performance.now();
    const granted = new Set((await this.#lock(states.map((s) => s.queue))).map(queueKey));
    let lost = false;
    for (const state of states) {
      if (granted.has(state.key)) {
        state.lockedAtMs = before;
        continue;
      }
      // Another member holds it now: stop at once, without committing over its progress.
      if (this.#states.get(state.key) === state) this.#states.delete(state.key);
      this.#deactivate(state);
      lost = true;
    }
    this.#wake?.();
    if (lost) void this.#rebalance().catch(() => {});
  }

  #scheduleLockRetry(): void {
    if (this.#lockRetryTimer !== undefined || this.#closed) return;
    this.#lockRetryTimer = setTimeout(() => {
      this.#lockRetryTimer = undefined;
      void this.#rebalance().catch(() => {});
    }, LOCK_RETRY_INTERVAL_MS);
  }

  #noteRetryTopicUsed(): void {
    // The first send-back creates the retry topic; pick up its queue without waiting for the timer.
    if (!this.#retryTopicSeen) void this.#rebalance().catch(() => {});
  }

  async #startOffset(queue: MessageQueue): Promise<number> {
    const stored = await this.#client.invoke(
      RequestCode.QUERY_CONSUMER_OFFSET,
      queryConsumerOffsetRequestHeader.encode({
        consumerGroup: this.group,
        topic: queue.topic,
        queueId: queue.queueId,
      }),
      undefined,
      { acceptCodes: [ResponseCode.QUERY_NOT_FOUND] },
    );
    if (stored.code === ResponseCode.SUCCESS) {
      const decoded = offsetResponseHeader.decode(stored.extFields);
      if (decoded.ok && decoded.header.offset >= 0) return decoded.header.offset;
    }
    const fields = { topic: queue.topic, queueId: queue.queueId };
    // A retry topic is always read from its start: everything in it was sent back by this group.
    const where = queue.topic.startsWith(RETRY_TOPIC_PREFIX)
      ? "CONSUME_FROM_FIRST_OFFSET"
      : this.#consumeFromWhere;
    const response = where === "CONSUME_FROM_TIMESTAMP"
      ? await this.#client.invoke(
        RequestCode.SEARCH_OFFSET_BY_TIMESTAMP,
        searchOffsetRequestHeader.encode({ ...fields, timestamp: this.#consumeTimestamp }),
      )
      : await this.#client.invoke(
        where === "CONSUME_FROM_FIRST_OFFSET"
          ? RequestCode.GET_MIN_OFFSET
          : RequestCode.GET_MAX_OFFSET,
        queueRequestHeader.encode(fields),
      );
    const decoded = offsetResponseHeader.decode(response.extFields);
    if (!decoded.ok) throw new MQClientError(`Bad offset response: ${decoded.error}`);
    return decoded.header.offset;
  }

  #deactivate(state: QueueState): void {
    state.active = false;
    state.controller.abort(new MQClientError(`Queue ${state.key} released`));
    state.resume?.();
  }

  async #pullLoop(state: QueueState): Promise<void> {
    const signal = state.controller.signal;
    const subscription = state.subscription;
    while (state.active && !this.#closed) {
      if (state.buffered >= this.#bufferedMax) {
        await new Promise<void>((resolve) => (state.resume = resolve));
        state.resume = undefined;
        continue;
      }
      if (!this.#deliverable(state, performance.now())) {
        // Orderly: pull only queues whose lock is current.
        await pause(PULL_ERROR_BACKOFF_MS, signal);
        continue;
      }
      let response: RemotingCommand;
      const commitOffset = state.consumedOffset;
      try {
        response = await this.#client.request(
          RequestCode.PULL_MESSAGE,
          pullMessageRequestHeader.encode({
            consumerGroup: this.group,
            topic: state.queue.topic,
            queueId: state.queue.queueId,
            queueOffset: state.nextPullOffset,
            maxMsgNums: this.#pullBatchSize,
            sysFlag: PullSysFlag.SUSPEND | PullSysFlag.SUBSCRIPTION | PullSysFlag.COMMIT_OFFSET,
            commitOffset,
            suspendTimeoutMillis: this.#suspendTimeoutMs,
            subscription: subscription.expression,
            subVersion: this.#subVersion,
            expressionType: subscription.type,
          }),
          undefined,
          { timeoutMs: this.#pullTimeoutMs, signal },
        );
      } catch {
        if (!state.active || this.#closed) return;
        await pause(PULL_ERROR_BACKOFF_MS, signal);
        continue;
      }
      if (!state.active) return;
      const header = pullMessageResponseHeader.decode(response.extFields);
      switch (response.code) {
        case ResponseCode.SUCCESS: {
          if (!header.ok) {
            await pause(PULL_ERROR_BACKOFF_MS, signal);
            continue;
          }
          // The broker stored commitOffset with this pull.
          if (commitOffset > state.committedOffset) state.committedOffset = commitOffset;
          this.#accept(state, response.body, header.header.nextBeginOffset);
          break;
        }
        case ResponseCode.PULL_NOT_FOUND:
        case ResponseCode.PULL_RETRY_IMMEDIATELY:
          if (header.ok) state.nextPullOffset = header.header.nextBeginOffset;
          break;
        case ResponseCode.PULL_OFFSET_MOVED:
          if (header.ok) {
            state.nextPullOffset = header.header.nextBeginOffset;
            if (state.buffered === 0 && state.retries.length === 0 && !state.inFlight) {
              state.maxDone = state.nextPullOffset;
              this.#updateConsumed(state);
            }
            await this.#commit(state).catch(() => {});
          }
          break;
        default:
          await pause(PULL_ERROR_BACKOFF_MS, signal);
      }
    }
  }

  #accept(state: QueueState, body: Uint8Array | undefined, nextBeginOffset: number): void {
    let messages: ReceivedMessage[];
    try {
      // Lazy: a message's fields are read from the pulled bytes only when accessed.
      messages = body === undefined ? [] : decodeReceivedMessages(body, state.queue.brokerName);
    } catch {
      // A body we cannot decode: skip nothing, pull the same range again after the backoff.
      return;
    }
    const tags = state.subscription.tags;
    if (tags.length > 0) {
      // The broker filters by tag hash code; re-check the tag text (collisions).
      messages = messages.filter((message) => tags.includes(message.tags ?? ""));
    }
    state.nextPullOffset = nextBeginOffset;
    if (messages.length === 0) {
      if (state.buffered === 0 && state.retries.length === 0 && !state.inFlight) {
        this.#markDone(state, nextBeginOffset);
      }
      return;
    }
    state.buffered += messages.length;
    this.#batches.push({ state, messages, index: 0 });
    this.#wake?.();
  }

  async #commit(state: QueueState, releasing = false): Promise<void> {
    const offset = state.consumedOffset;
    if (offset <= state.committedOffset || offset < 0) return;
    if (!releasing && !state.active) return;
    await this.#client.invoke(
      RequestCode.UPDATE_CONSUMER_OFFSET,
      updateConsumerOffsetRequestHeader.encode({
        consumerGroup: this.group,
        topic: state.queue.topic,
        queueId: state.queue.queueId,
        commitOffset: offset,
      }),
      undefined,
      { timeoutMs: 3_000 },
    );
    if (offset > state.committedOffset) state.committedOffset = offset;
  }

  async #commitAll(): Promise<void> {
    await Promise.all([...this.#states.values()].map((s) => this.#commit(s)));
  }

  /** CONSUMER_SEND_MSG_BACK for a delivered message. */
  async #sendBack(message: ReceivedMessage, delayLevel: number): Promise<void> {
    await this.#client.invoke(
      RequestCode.CONSUMER_SEND_MSG_BACK,
      consumerSendMsgBackRequestHeader.encode({
        offset: message.commitLogOffset,
        group: this.group,
        delayLevel,
        originMsgId: message.msgId,
        originTopic: message.topic,
        unitMode: false,
        maxReconsumeTimes: this.#maxReconsumeTimes,
      }),
      undefined,
      { timeoutMs: 3_000 },
    );
  }

  /** The client's fallback: store the retry copy in `%RETRY%<group>` with a plain send. */
  async #resendToRetryTopic(message: ReceivedMessage, delayLevel: number): Promise<void> {
    const reconsumeTimes = message.reconsumeTimes + 1;
    const properties: Record<string, string> = message.properties;
    for (
      const stale of [
        MessageConst.TIMER_DELIVER_MS,
        MessageConst.TIMER_DELAY_MS,
        MessageConst.TIMER_DELAY_SEC,
        MessageConst.TIMER_OUT_MS,
        MessageConst.REAL_TOPIC,
        MessageConst.REAL_QUEUE_ID,
      ]
    ) {
      delete properties[stale];
    }
    properties[MessageConst.RETRY_TOPIC] ??= message.topic;
    properties[MessageConst.ORIGIN_MESSAGE_ID] ??= message.msgId;
    properties[MessageConst.RECONSUME_TIME] = String(reconsumeTimes);
    properties[MessageConst.MAX_RECONSUME_TIMES] = String(this.#maxReconsumeTimes);
    properties[MessageConst.DELAY_TIME_LEVEL] = String(
      Math.min(
        delayLevel > 0 ? delayLevel : RETRY_DELAY_LEVEL_BASE + message.reconsumeTimes,
        DELAY_LEVEL_MAX,
      ),
    );
    await this.#client.invoke(
      RequestCode.SEND_MESSAGE_V2,
      sendMessageRequestHeaderV2.encode({
        producerGroup: CLIENT_INNER_PRODUCER_GROUP,
        topic: RETRY_TOPIC_PREFIX + this.group,
        defaultTopic: DEFAULT_TOPIC,
        defaultTopicQueueNums: DEFAULT_TOPIC_QUEUE_NUMS,
        queueId: -1,
        sysFlag: 0,
        bornTimestamp: message.bornTimestamp,
        flag: message.flag,
        properties: encodeProperties(properties),
        reconsumeTimes,
        unitMode: false,
        batch: false,
        maxReconsumeTimes: this.#maxReconsumeTimes,
      }),
      message.body,
      { timeoutMs: 3_000 },
    );
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  const out = value ?? fallback;
  if (!Number.isInteger(out) || out <= 0) {
    throw new RangeError(`Cannot create consumer: ${name} must be a positive integer, got ${out}`);
  }
  return out;
}

/**
 * Create a clustering consumer, join its group, and start pulling.
 *
 * @param options Endpoint, group, topic, subscription, mode and tuning.
 * @returns A started consumer; iterate `messages()`, close with `await using` or `close()`.
 * @throws {TypeError} On an invalid group, topic or option.
 * @throws {RangeError} On an out-of-range option.
 * @throws {MQConnectionClosedError} If the broker cannot be reached.
 * @throws {MQBrokerError} If the broker refuses the group, the topic, the
 *   subscription (code SUBSCRIPTION_PARSE_FAILED, 23) or, for an orderly
 *   consumer, the queue locks.
 *
 * @example
 * ```ts ignore
 * import { createConsumer } from "./consumer.ts";
 * await using consumer = await createConsumer({ endpoint: "127.0.0.1:10911", group: "g", topic: "T" });
 * for await (const message of consumer.messages()) console.log(message.msgId);
 * ```
 */
export async function createConsumer(options: ConsumerOptions): Promise<Consumer> {
  const consumer = new Consumer(options);
  try {
    await consumer.start();
  } catch (error) {
    await consumer.close();
    throw error;
  }
  return consumer;
}
