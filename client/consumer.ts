/**
 * The clustering push consumer: long-polling pulls, queue rebalancing across
 * group members, and offset commits.
 *
 * @module
 */

import { allocateAveragely } from "./allocate.ts";
import { BrokerClient } from "./broker_client.ts";
import { MQClientError } from "./errors.ts";
import { type MessageQueue, ReceivedMessage, validateName } from "./message.ts";
import { fetchTopicRoute, readQueues } from "./topic_route.ts";
import {
  consumerGroupRequestHeader,
  offsetResponseHeader,
  pullMessageRequestHeader,
  pullMessageResponseHeader,
  PullSysFlag,
  queryConsumerOffsetRequestHeader,
  queueRequestHeader,
  searchOffsetRequestHeader,
  unregisterClientRequestHeader,
  updateConsumerOffsetRequestHeader,
} from "./protocol/headers.ts";
import {
  type ConsumeFromWhere,
  encodeJsonBody,
  type HeartbeatData,
  parseConsumerListBody,
  type SubscriptionData,
} from "./protocol/heartbeat.ts";
import { decodeRecords } from "./protocol/message_record.ts";
import { javaStringHashCode } from "./protocol/properties.ts";
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

/** Options of {@linkcode createConsumer}. */
export interface ConsumerOptions {
  /** Broker address, `host:port`. */
  readonly endpoint: string;
  /** Consumer group. */
  readonly group: string;
  /** Subscribed topic. */
  readonly topic: string;
  /** Tag expression: `*` (default) or `TagA || TagB`. */
  readonly subscription?: string;
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
}

/** Options of {@linkcode Consumer.messages}. */
export interface MessagesOptions {
  /** Ends the iteration when aborted. */
  readonly signal?: AbortSignal;
}

/** Pull state of one owned queue. Invariant: `committedOffset <= consumedOffset <= nextPullOffset`. */
interface QueueState {
  readonly queue: MessageQueue;
  readonly key: string;
  readonly controller: AbortController;
  active: boolean;
  nextPullOffset: number;
  consumedOffset: number;
  committedOffset: number;
  buffered: number;
  resume: (() => void) | undefined;
  loop: Promise<void>;
}

interface Batch {
  readonly state: QueueState;
  readonly messages: ReceivedMessage[];
  index: number;
}

function queueKey(queue: MessageQueue): string {
  return `${queue.brokerName}/${queue.queueId}`;
}

function parseTags(expression: string): string[] {
  const trimmed = expression.trim();
  if (trimmed === "" || trimmed === "*") return [];
  return [...new Set(trimmed.split("||").map((t) => t.trim()).filter((t) => t.length > 0))];
}

/**
 * A clustering consumer of one topic.
 *
 * Members of a group split the topic's queues with average allocation
 * (contiguous blocks over sorted queues and sorted client ids). A rebalance
 * runs at start, every `rebalanceIntervalMs`, and at once when the broker
 * sends NOTIFY_CONSUMER_IDS_CHANGED. Each owned queue has a long-polling pull
 * loop; pulled messages wait in a buffer until {@linkcode Consumer.messages}
 * yields them. A message counts as processed when the iterator advances past
 * it; its offset + 1 is then committed to the broker every
 * `commitIntervalMs`, on each pull, when the queue is handed to another
 * member, and on close. Delivery is at least once: a message being processed
 * when the iteration stops, or during a rebalance, may be delivered again.
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
 *   console.log(message.queueId, message.queueOffset, message.text());
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
  readonly #client: BrokerClient;
  readonly #subscription: string;
  readonly #tags: readonly string[];
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
  readonly #onRebalance: ((queues: readonly MessageQueue[]) => void) | undefined;
  readonly #states = new Map<string, QueueState>();
  readonly #timers: Array<ReturnType<typeof setInterval>> = [];
  #batches: Batch[] = [];
  #wake: (() => void) | undefined;
  #rebalancing: Promise<void> | undefined;
  #rebalanceAgain = false;
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
    this.clientId = options.clientId ?? `consumer@${Deno.pid}@${crypto.randomUUID().slice(0, 8)}`;
    this.#subscription = options.subscription?.trim() || "*";
    this.#tags = parseTags(this.#subscription);
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
    this.#onRebalance = options.onRebalance;
    this.#client = new BrokerClient({
      endpoint: options.endpoint,
      onRequest: (request) => this.#onBrokerRequest(request),
      onReconnect: () => void this.#heartbeat().then(() => this.#rebalance()).catch(() => {}),
    });
  }

  /** The queues this consumer owns now. */
  get assignment(): MessageQueue[] {
    return [...this.#states.values()].map((s) => s.queue);
  }

  /**
   * Connect, register with a heartbeat, take a share of the queues, and start pulling.
   *
   * @throws {MQConnectionClosedError} If the broker cannot be reached.
   * @throws {MQBrokerError} If the broker refuses the heartbeat or the route.
   */
  async start(): Promise<void> {
    await this.#heartbeat();
    await this.#rebalance();
    this.#timers.push(
      setInterval(() => void this.#heartbeat().catch(() => {}), this.#heartbeatIntervalMs),
      setInterval(() => void this.#rebalance().catch(() => {}), this.#rebalanceIntervalMs),
      setInterval(() => void this.#commitAll().catch(() => {}), this.#commitIntervalMs),
    );
  }

  /**
   * Iterate over received messages. Advancing the iterator marks the previous
   * message processed. Only one iteration may be active at a time; it ends
   * when the consumer closes or the signal aborts.
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

  async *#iterate(signal: AbortSignal | undefined): AsyncGenerator<ReceivedMessage> {
    let onAbort: (() => void) | undefined;
    if (signal !== undefined) {
      onAbort = () => this.#wake?.();
      signal.addEventListener("abort", onAbort, { once: true });
    }
    try {
      while (!this.#closed && !signal?.aborted) {
        const batch = this.#batches[0];
        if (batch === undefined) {
          await new Promise<void>((resolve) => (this.#wake = resolve));
          this.#wake = undefined;
          continue;
        }
        if (!batch.state.active || batch.index >= batch.messages.length) {
          this.#batches.shift();
          continue;
        }
        const message = batch.messages[batch.index++];
        const state = batch.state;
        state.buffered--;
        if (state.resume !== undefined && state.buffered < this.#bufferedMax) state.resume();
        yield message;
        // The caller asked for the next message, so this one is processed.
        if (state.active && message.queueOffset + 1 > state.consumedOffset) {
          state.consumedOffset = message.queueOffset + 1;
        }
      }
    } finally {
      if (onAbort !== undefined) signal!.removeEventListener("abort", onAbort);
      this.#iterating = false;
    }
  }

  /**
   * Stop pulling, commit offsets, unregister from the group, and close the
   * connection. Idempotent.
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
    this.#wake?.();
    await this.#rebalancing?.catch(() => {});
    const states = [...this.#states.values()];
    for (const state of states) this.#deactivate(state);
    await Promise.all(states.map((s) => s.loop));
    await Promise.all(states.map((s) => this.#commit(s).catch(() => {})));
    this.#states.clear();
    this.#batches = [];
    try {
      await this.#client.request(
        RequestCode.UNREGISTER_CLIENT,
        unregisterClientRequestHeader.encode({
          clientID: this.clientId,
          consumerGroup: this.group,
        }),
        undefined,
        { timeoutMs: 1_000 },
      );
    } catch {
      // Best effort: the broker also drops the channel when it closes.
    }
    await this.#client.close();
  }

  #onBrokerRequest(request: RemotingCommand): undefined {
    if (request.code === RequestCode.NOTIFY_CONSUMER_IDS_CHANGED && !this.#closed) {
      void this.#rebalance().catch(() => {});
    }
    return undefined;
  }

  #subscriptionData(): SubscriptionData {
    return {
      classFilterMode: false,
      topic: this.topic,
      subString: this.#subscription,
      tagsSet: this.#tags,
      codeSet: this.#tags.map(javaStringHashCode),
      subVersion: this.#subVersion,
      expressionType: "TAG",
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
        subscriptionDataSet: [this.#subscriptionData()],
        unitMode: false,
      }],
    };
    await this.#client.invoke(RequestCode.HEART_BEAT, {}, encodeJsonBody(data));
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

  async #rebalanceOnce(): Promise<void> {
    const route = await fetchTopicRoute(this.#client, this.topic);
    const queues = readQueues(route, this.topic);
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
    const mine = allocateAveragely(this.clientId, queues, ids);
    const wanted = new Map(mine.map((q) => [queueKey(q), q]));
    const dropped: QueueState[] = [];
    for (const [key, state] of this.#states) {
      if (wanted.has(key)) continue;
      this.#deactivate(state);
      this.#states.delete(key);
      dropped.push(state);
    }
    await Promise.all(dropped.map(async (state) => {
      await state.loop;
      await this.#commit(state).catch(() => {});
    }));
    for (const [key, queue] of wanted) {
      if (this.#states.has(key) || this.#closed) continue;
      const offset = await this.#startOffset(queue);
      if (this.#closed || this.#states.has(key)) continue;
      const state: QueueState = {
        queue,
        key,
        controller: new AbortController(),
        active: true,
        nextPullOffset: offset,
        consumedOffset: offset,
        committedOffset: -1,
        buffered: 0,
        resume: undefined,
        loop: Promise.resolve(),
      };
      this.#states.set(key, state);
      state.loop = this.#pullLoop(state);
    }
    this.#onRebalance?.(this.assignment);
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
    const response = this.#consumeFromWhere === "CONSUME_FROM_TIMESTAMP"
      ? await this.#client.invoke(
        RequestCode.SEARCH_OFFSET_BY_TIMESTAMP,
        searchOffsetRequestHeader.encode({ ...fields, timestamp: this.#consumeTimestamp }),
      )
      : await this.#client.invoke(
        this.#consumeFromWhere === "CONSUME_FROM_FIRST_OFFSET"
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
    while (state.active && !this.#closed) {
      if (state.buffered >= this.#bufferedMax) {
        await new Promise<void>((resolve) => (state.resume = resolve));
        state.resume = undefined;
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
            subscription: this.#subscription,
            subVersion: this.#subVersion,
            expressionType: "TAG",
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
            if (state.buffered === 0) state.consumedOffset = state.nextPullOffset;
            await this.#commit(state).catch(() => {});
          }
          break;
        default:
          await pause(PULL_ERROR_BACKOFF_MS, signal);
      }
    }
  }

  #accept(state: QueueState, body: Uint8Array | undefined, nextBeginOffset: number): void {
    let records;
    try {
      records = body === undefined ? [] : decodeRecords(body);
    } catch {
      // A body we cannot decode: skip nothing, pull the same range again after the backoff.
      return;
    }
    const messages: ReceivedMessage[] = [];
    for (const record of records) {
      const message = new ReceivedMessage(record, state.queue.brokerName);
      if (this.#tags.length > 0 && !this.#tags.includes(message.tags ?? "")) continue;
      messages.push(message);
    }
    state.nextPullOffset = nextBeginOffset;
    if (messages.length === 0) {
      if (state.buffered === 0) {
        state.consumedOffset = Math.max(state.consumedOffset, nextBeginOffset);
      }
      return;
    }
    state.buffered += messages.length;
    this.#batches.push({ state, messages, index: 0 });
    this.#wake?.();
  }

  async #commit(state: QueueState): Promise<void> {
    const offset = state.consumedOffset;
    if (offset <= state.committedOffset || offset < 0) return;
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
 * @param options Endpoint, group, topic, subscription and tuning.
 * @returns A started consumer; iterate `messages()`, close with `await using` or `close()`.
 * @throws {TypeError} On an invalid group, topic or option.
 * @throws {RangeError} On an out-of-range option.
 * @throws {MQConnectionClosedError} If the broker cannot be reached.
 * @throws {MQBrokerError} If the broker refuses the group or the topic.
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
