/**
 * The producer: sends messages to the queues of one broker (`endpoint`) or of
 * every broker of a topic (`nameServer`), with retries.
 *
 * @module
 */

import type { BrokerClient } from "./broker_client.ts";
import type { SessionCredentials } from "./protocol/acl_signature.ts";
import { sendProducerHeartbeat, unregisterAndClose } from "./client_registration.ts";
import { MQClientError, MQConnectionClosedError } from "./errors.ts";
import {
  encodeBatchBody,
  type EncodedMessage,
  encodeMessage,
  type Message,
  MESSAGE_BODY_BYTES_MAX,
  type MessageQueue,
  utf8ByteLength,
  validateName,
} from "./message.ts";
import { selectFifoQueue, SendRouter } from "./send_router.ts";
import {
  DEFAULT_TOPIC,
  DEFAULT_TOPIC_QUEUE_NUMS,
  sendMessageRequestHeaderV2,
  sendMessageResponseHeader,
} from "./protocol/headers.ts";
import { UniqueIdGenerator } from "./protocol/message_id.ts";
import { RequestCode } from "./protocol/request_code.ts";
import { ResponseCode } from "./protocol/response_code.ts";
import type { RemotingCommand } from "./protocol/remoting_command.ts";
import { javaStringHashCode } from "./protocol/properties.ts";

/** Default producer group. */
export const PRODUCER_GROUP_DEFAULT = "DEFAULT_PRODUCER";
/** Default total time budget of one send, retries included, ms. */
export const SEND_TIMEOUT_MS_DEFAULT = 3_000;
/** Default extra attempts after a retriable failure. */
export const RETRY_TIMES_DEFAULT = 2;
/** Default route cache lifetime, ms. */
export const ROUTE_TTL_MS_DEFAULT = 30_000;
/** Most messages in one batch. */
export const BATCH_MESSAGES_MAX = 10_000;
/** Default most sends coalesced into one SEND_BATCH_MESSAGE (option `batchMessagesMax`). */
export const COALESCE_MESSAGES_MAX_DEFAULT = 256;
/** Default most batch body bytes of one coalesced SEND_BATCH_MESSAGE (option `batchBytesMax`). */
export const COALESCE_BYTES_MAX_DEFAULT = 1024 * 1024;
/**
 * Upper bound of `batchMessagesMax`: the broker's default batch limit
 * (`StoreLimits.batchMessagesMax`), so a coalesced batch is never refused for its count.
 */
export const COALESCE_MESSAGES_MAX_LIMIT = 1024;
/**
 * Most microtask rounds a pending coalesced batch waits for more sends before
 * it is flushed. Each round lets the continuations resumed by the previous
 * responses issue their next send; a round that adds nothing flushes at once.
 */
const COALESCE_SETTLE_ROUNDS_MAX = 8;
/**
 * Fewest messages in each part when a coalesced non-FIFO burst is spread over
 * a topic's queues (see `Producer.send`): a burst of `n` goes to
 * `min(queues, floor(n / 8))` queues.
 */
const COALESCE_SPREAD_MESSAGES_MIN = 8;
/** Fixed bytes of one batch mini record around its body and properties (spec §2.11). */
const MINI_RECORD_OVERHEAD_BYTES = 4 + 4 + 4 + 4 + 4 + 2;

/**
 * Response codes after which a send is retried on the next queue
 * (RocketMQ `DefaultMQProducer.retryResponseCodes`).
 */
export const RETRIABLE_SEND_CODES: readonly number[] = Object.freeze([
  ResponseCode.TOPIC_NOT_EXIST,
  ResponseCode.SERVICE_NOT_AVAILABLE,
  ResponseCode.SYSTEM_ERROR,
  ResponseCode.SYSTEM_BUSY,
  ResponseCode.NO_PERMISSION,
  ResponseCode.NO_BUYER_ID,
  ResponseCode.NOT_IN_CURRENT_UNIT,
  ResponseCode.GO_AWAY,
]);

/** Options of {@linkcode createProducer}. Give `endpoint` or `nameServer`. */
export interface ProducerOptions {
  /** A standalone broker's address, `host:port`, e.g. `127.0.0.1:10911`. */
  readonly endpoint?: string;
  /**
   * Name servers, `host:port;host:port` (e.g. `127.0.0.1:9876`): routes come
   * from them and sends spread over every broker of the topic.
   */
  readonly nameServer?: string;
  /** How long a broker whose send failed is avoided, ms. Default 10,000. */
  readonly faultIsolationMs?: number;
  /** ACL credentials (`accessKey`, `secretKey`); every request is signed with them. */
  readonly credentials?: SessionCredentials;
  /** Producer group. Default {@linkcode PRODUCER_GROUP_DEFAULT}. */
  readonly group?: string;
  /** Time budget of one send including retries, ms. Default {@linkcode SEND_TIMEOUT_MS_DEFAULT}. */
  readonly sendTimeoutMs?: number;
  /** Extra attempts after a retriable failure. Default {@linkcode RETRY_TIMES_DEFAULT}. */
  readonly retryTimes?: number;
  /** Largest body accepted, bytes. Default 4 MiB. */
  readonly bodyBytesMax?: number;
  /** Route cache lifetime, ms. Default {@linkcode ROUTE_TTL_MS_DEFAULT}. */
  readonly routeTtlMs?: number;
  /** Client id sent in heartbeats. Default: random per producer. */
  readonly clientId?: string;
  /**
   * Chooses the queue of a message that has a `messageGroup` (FIFO). Default
   * {@linkcode selectQueueByGroup}. Must return one of `queues`.
   */
  readonly queueSelector?: QueueSelector;
  /**
   * Coalesce concurrent sends into batches. Default `true`.
   *
   * Every request costs a frame on each side (header codec, a socket write,
   * a store call, a response); at about 30 µs of CPU per frame that, not the
   * bytes, bounds a producer's throughput. With coalescing on, plain sends of
   * one topic issued in the same tick (for example by many concurrent
   * `send()` calls, or by the continuations that one batch's acknowledgement
   * resumes) travel as one SEND_BATCH_MESSAGE to one queue (round-robin per
   * batch), flushed after the current burst of microtasks or as soon as the
   * batch reaches `batchMessagesMax` or `batchBytesMax`. Each `send()` still
   * resolves with its own {@linkcode SendResult} (own msgId, offsetMsgId and
   * consecutive queueOffset); a failed batch rejects every member with the
   * error, after the usual retries of the whole batch. A lone send takes the
   * single-message path (SEND_MESSAGE_V2) as before, so coalescing adds no
   * latency when there is no concurrency.
   *
   * Never coalesced (always sent alone): delayed or timed messages
   * (`deliverAt`, `delayMs`, `delayLevel`), one-way sends, sends with an
   * abort `signal`, and FIFO messages when a custom `queueSelector` is set.
   * FIFO messages with the default selector coalesce only with messages of
   * the same `messageGroup` (one queue, send order kept). Set `false` to send
   * every message as its own request.
   */
  readonly coalesce?: boolean;
  /**
   * Most sends coalesced into one batch. Default
   * {@linkcode COALESCE_MESSAGES_MAX_DEFAULT}; at most
   * {@linkcode COALESCE_MESSAGES_MAX_LIMIT}.
   */
  readonly batchMessagesMax?: number;
  /**
   * Most batch body bytes (mini records: 22 bytes + body + properties per
   * message) of one coalesced batch. Default
   * {@linkcode COALESCE_BYTES_MAX_DEFAULT}; at most `bodyBytesMax`. A message
   * bigger than this is sent alone.
   */
  readonly batchBytesMax?: number;
}

/** Chooses a queue for a FIFO message from the topic's writable queues (sorted by broker, then id). */
export type QueueSelector = (queues: readonly MessageQueue[], message: Message) => MessageQueue;

/**
 * The default FIFO queue choice: Java `String.hashCode` of the message group
 * (UTF-16 code units, `h = 31 * h + c` in 32-bit arithmetic), taken modulo the
 * queue count as a non-negative remainder, over the writable queues sorted by
 * broker name then queue id. Stable as long as the topic's queue count does
 * not change.
 *
 * @param queues The topic's writable queues, sorted.
 * @param message A message with a `messageGroup`.
 * @returns The queue for the message's group.
 * @throws {TypeError} If there are no queues or the message has no group.
 *
 * @example
 * ```ts
 * import { selectQueueByGroup } from "./producer.ts";
 * const queues = [0, 1, 2, 3].map((queueId) => ({ topic: "T", brokerName: "b", queueId }));
 * const a = selectQueueByGroup(queues, { topic: "T", body: "x", messageGroup: "order-42" });
 * const b = selectQueueByGroup(queues, { topic: "T", body: "y", messageGroup: "order-42" });
 * console.assert(a === b);
 * ```
 */
export function selectQueueByGroup(
  queues: readonly MessageQueue[],
  message: Message,
): MessageQueue {
  if (queues.length === 0) throw new TypeError("Cannot select a queue: the topic has no queues");
  if (message.messageGroup === undefined) {
    throw new TypeError("Cannot select a queue: the message has no messageGroup");
  }
  const n = queues.length;
  return queues[((javaStringHashCode(message.messageGroup) % n) + n) % n];
}

/** Per-send options. */
export interface SendOptions {
  /** Abandons the send; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Overrides the producer's `sendTimeoutMs`. */
  readonly timeoutMs?: number;
}

/**
 * How a stored message fared: `SEND_OK`, or stored but not yet durable or
 * replicated as configured.
 */
export type SendStatus =
  | "SEND_OK"
  | "FLUSH_DISK_TIMEOUT"
  | "FLUSH_SLAVE_TIMEOUT"
  | "SLAVE_NOT_AVAILABLE";

/** The broker's acknowledgement of one message. */
export interface SendResult {
  /** Send status. */
  readonly status: SendStatus;
  /** The unique id (UNIQ_KEY) the producer assigned. */
  readonly msgId: string;
  /** The offset message id (store host + CommitLog offset). */
  readonly offsetMsgId: string;
  /** The queue the message went to. */
  readonly queue: MessageQueue;
  /** The message's queue offset. */
  readonly queueOffset: number;
}

/** The broker's acknowledgement of a batch. */
export interface SendBatchResult {
  /** Send status. */
  readonly status: SendStatus;
  /** Unique ids, in message order. */
  readonly msgIds: readonly string[];
  /** Offset message ids, in message order. */
  readonly offsetMsgIds: readonly string[];
  /** The queue the batch went to. */
  readonly queue: MessageQueue;
  /** Queue offset of the first message; the others follow consecutively. */
  readonly queueOffset: number;
}

const STORED_STATUS: ReadonlyMap<number, SendStatus> = new Map<number, SendStatus>([
  [ResponseCode.SUCCESS, "SEND_OK"],
  [ResponseCode.FLUSH_DISK_TIMEOUT, "FLUSH_DISK_TIMEOUT"],
  [ResponseCode.FLUSH_SLAVE_TIMEOUT, "FLUSH_SLAVE_TIMEOUT"],
  [ResponseCode.SLAVE_NOT_AVAILABLE, "SLAVE_NOT_AVAILABLE"],
]);

/** One `send()` waiting in a coalesced batch. */
interface PendingSend {
  readonly encoded: EncodedMessage;
  readonly message: Message;
  readonly resolve: (result: SendResult) => void;
  readonly reject: (error: unknown) => void;
}

/** Sends of one topic (and FIFO group, and timeout) waiting to be flushed as one batch. */
interface PendingBatch {
  readonly topic: string;
  /** A member's message when the batch is FIFO (all members share its group). */
  readonly fifo: Message | undefined;
  readonly timeoutMs: number | undefined;
  readonly members: PendingSend[];
  /** Batch body bytes so far. */
  bytes: number;
}

/**
 * Sends messages to a standalone broker (`endpoint`) or to the brokers the
 * name servers route a topic to (`nameServer`).
 *
 * Queue choice is round-robin over the topic's writable queues on every
 * broker (from GET_ROUTEINFO_BY_TOPIC, cached for `routeTtlMs`). A send that
 * fails with a retriable response code ({@linkcode RETRIABLE_SEND_CODES}) is
 * retried on another broker when there is one (a failed broker is avoided
 * for `faultIsolationMs`), up to `retryTimes` more times; a broken or refused
 * connection moves to another broker, or reconnects with back-off, until
 * `sendTimeoutMs` runs out (see `SendRouter`). The producer sets each
 * message's UNIQ_KEY. Sends may be issued concurrently; they are pipelined
 * on one connection per broker,
 * and by default plain sends of one topic issued in the same tick are
 * coalesced into SEND_BATCH_MESSAGE batches (see `ProducerOptions.coalesce`),
 * each `send()` still resolving with its own result.
 *
 * @example
 * ```ts ignore
 * import { createProducer } from "./producer.ts";
 * await using producer = await createProducer({ endpoint: "127.0.0.1:10911", group: "pg" });
 * const result = await producer.send({ topic: "Orders", body: "hello", tags: "created" });
 * console.log(result.msgId, result.queue.queueId, result.queueOffset);
 * ```
 */
export class Producer implements AsyncDisposable {
  /** Producer group. */
  readonly group: string;
  /** Client id used in heartbeats. */
  readonly clientId: string;
  readonly #router: SendRouter;
  readonly #ids = new UniqueIdGenerator();
  readonly #sendTimeoutMs: number;
  readonly #retryTimes: number;
  readonly #bodyBytesMax: number;
  readonly #routeTtlMs: number;
  readonly #queueSelector: QueueSelector;
  readonly #coalesce: boolean;
  readonly #batchMessagesMax: number;
  readonly #batchBytesMax: number;
  /** Coalesced batches being filled, by topic, FIFO group and timeout. */
  readonly #pending = new Map<string, PendingBatch>();
  /** Sends enqueued so far; the settle loop flushes once a round adds none. */
  #enqueued = 0;
  #settleScheduled = false;
  #closed = false;

  /**
   * Use {@linkcode createProducer}.
   *
   * @param options Producer options.
   */
  constructor(options: ProducerOptions) {
    this.group = options.group ?? PRODUCER_GROUP_DEFAULT;
    validateName("group", this.group, "create producer");
    this.#sendTimeoutMs = positive(options.sendTimeoutMs, SEND_TIMEOUT_MS_DEFAULT, "sendTimeoutMs");
    this.#retryTimes = options.retryTimes ?? RETRY_TIMES_DEFAULT;
    if (!Number.isInteger(this.#retryTimes) || this.#retryTimes < 0) {
      throw new RangeError(
        `Cannot create producer: retryTimes must be a non-negative integer, got ${this.#retryTimes}`,
      );
    }
    this.#bodyBytesMax = positive(options.bodyBytesMax, MESSAGE_BODY_BYTES_MAX, "bodyBytesMax");
    this.#routeTtlMs = positive(options.routeTtlMs, ROUTE_TTL_MS_DEFAULT, "routeTtlMs");
    this.#queueSelector = options.queueSelector ?? selectQueueByGroup;
    this.#coalesce = options.coalesce ?? true;
    if (typeof this.#coalesce !== "boolean") {
      throw new TypeError(
        `Cannot create producer: coalesce must be a boolean, got ${String(this.#coalesce)}`,
      );
    }
    this.#batchMessagesMax = options.batchMessagesMax ?? COALESCE_MESSAGES_MAX_DEFAULT;
    if (
      !Number.isInteger(this.#batchMessagesMax) || this.#batchMessagesMax < 1 ||
      this.#batchMessagesMax > COALESCE_MESSAGES_MAX_LIMIT
    ) {
      throw new RangeError(
        `Cannot create producer: batchMessagesMax must be an integer from 1 to ${COALESCE_MESSAGES_MAX_LIMIT}, got ${this.#batchMessagesMax}`,
      );
    }
    this.#batchBytesMax = positive(
      options.batchBytesMax,
      Math.min(COALESCE_BYTES_MAX_DEFAULT, this.#bodyBytesMax),
      "batchBytesMax",
    );
    if (this.#batchBytesMax > this.#bodyBytesMax) {
      throw new RangeError(
        `Cannot create producer: batchBytesMax is ${this.#batchBytesMax}, limit is bodyBytesMax ${this.#bodyBytesMax}`,
      );
    }
    this.clientId = options.clientId ?? `producer@${Deno.pid}@${crypto.randomUUID().slice(0, 8)}`;
    this.#router = new SendRouter({
      endpoint: options.endpoint,
      nameServer: options.nameServer,
      requestTimeoutMs: this.#sendTimeoutMs,
      retryTimes: this.#retryTimes,
      retriableCodes: RETRIABLE_SEND_CODES,
      routeTtlMs: this.#routeTtlMs,
      faultIsolationMs: options.faultIsolationMs,
      onBrokerConnect: (client) => this.#heartbeat(client),
      credentials: options.credentials,
    });
  }

  /**
   * Connect and register the producer group with a heartbeat.
   *
   * @param signal Aborts the connect.
   * @throws {MQConnectionClosedError} If the broker cannot be reached.
   */
  async start(signal?: AbortSignal): Promise<void> {
    // With name servers, each broker gets the heartbeat when it is first used.
    const standalone = this.#router.pool.standalone;
    if (standalone === undefined) return;
    await standalone.connection(signal);
    await this.#heartbeat(standalone, signal);
  }

  /**
   * Send one message and wait for the broker's acknowledgement.
   *
   * @param message The message.
   * @param options Abort signal and timeout.
   * @returns Where the message was stored.
   * @throws {TypeError} On an invalid topic, body or property.
   * @throws {RangeError} On an oversize body or properties.
   * @throws {MQBrokerError} If the broker refuses it (after retries for retriable codes).
   * @throws {MQTimeoutError} If the budget runs out.
   * @throws {MQClientError} If a FIFO message's topic has no writable queues.
   *
   * A message with a `messageGroup` is a FIFO message: it goes to the queue the
   * `queueSelector` picks (by default {@linkcode selectQueueByGroup}), and a
   * failed attempt is retried on that same queue only, never on another (that
   * would break the group's order); after `retryTimes` it fails.
   */
  send(message: Message, options?: SendOptions): Promise<SendResult> {
    let encoded: EncodedMessage;
    try {
      encoded = encodeMessage(message, this.#ids.next(), this.#bodyBytesMax);
      if (this.#coalesce && this.#coalescible(message, options)) {
        this.#checkOpen();
        return this.#enqueue(encoded, message, options?.timeoutMs);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#sendSingle(encoded, message, options);
  }

  async #sendSingle(
    encoded: EncodedMessage,
    message: Message,
    options: SendOptions | undefined,
  ): Promise<SendResult> {
    const { response, queue } = await this.#sendWithRetry(
      RequestCode.SEND_MESSAGE_V2,
      encoded.topic,
      encoded.properties,
      encoded.body,
      false,
      options,
      message.messageGroup === undefined ? undefined : message,
    );
    const header = this.#decodeResponse(response);
    return {
      status: STORED_STATUS.get(response.code)!,
      msgId: encoded.uniqueId,
      offsetMsgId: header.msgId,
      queue: { ...queue, queueId: header.queueId },
      queueOffset: header.queueOffset,
    };
  }

  /** Whether a send may join a coalesced batch (see `ProducerOptions.coalesce`). */
  #coalescible(message: Message, options: SendOptions | undefined): boolean {
    if (options?.signal !== undefined) return false;
    if (
      message.deliverAt !== undefined || message.delayMs !== undefined ||
      message.delayLevel !== undefined
    ) {
      return false;
    }
    return message.messageGroup === undefined || this.#queueSelector === selectQueueByGroup;
  }

  /** Add a send to its pending batch; flush the batch when full. */
  #enqueue(
    encoded: EncodedMessage,
    message: Message,
    timeoutMs: number | undefined,
  ): Promise<SendResult> {
    const group = message.messageGroup;
    const key = timeoutMs === undefined && group === undefined
      ? encoded.topic
      : `${encoded.topic}\u0001${group ?? ""}\u0001${timeoutMs ?? ""}`;
    const bytes = MINI_RECORD_OVERHEAD_BYTES + encoded.body.length +
      (encoded.propertiesBytes ?? utf8ByteLength(encoded.properties));
    let batch = this.#pending.get(key);
    if (
      batch !== undefined &&
      (batch.members.length >= this.#batchMessagesMax || batch.bytes + bytes > this.#batchBytesMax)
    ) {
      this.#pending.delete(key);
      void this.#flush(batch);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = {
        topic: encoded.topic,
        fifo: group === undefined ? undefined : message,
        timeoutMs,
        members: [],
        bytes: 0,
      };
      this.#pending.set(key, batch);
    }
    const { promise, resolve, reject } = Promise.withResolvers<SendResult>();
    batch.members.push({ encoded, message, resolve, reject });
    batch.bytes += bytes;
    this.#enqueued++;
    if (batch.members.length >= this.#batchMessagesMax || batch.bytes >= this.#batchBytesMax) {
      // Full (or one message over the byte limit, which then goes alone): flush now.
      this.#pending.delete(key);
      void this.#flush(batch);
    } else if (!this.#settleScheduled) {
      this.#settleScheduled = true;
      const seen = this.#enqueued;
      queueMicrotask(() => this.#settle(seen, 1));
    }
    return promise;
  }

  /**
   * Flush the pending batches once a microtask round adds no send (bounded by
   * {@linkcode COALESCE_SETTLE_ROUNDS_MAX}), so one burst of continuations
   * that a response resumed ends up in one batch.
   */
  #settle(seen: number, round: number): void {
    if (this.#enqueued !== seen && round < COALESCE_SETTLE_ROUNDS_MAX) {
      const now = this.#enqueued;
      queueMicrotask(() => this.#settle(now, round + 1));
      return;
    }
    this.#settleScheduled = false;
    this.#flushPending();
  }

  #flushPending(): void {
    if (this.#pending.size === 0) return;
    const batches = [...this.#pending.values()];
    this.#pending.clear();
    for (const batch of batches) void this.#flush(batch);
  }

  /**
   * Send a coalesced batch and settle each member's promise. Never rejects.
   *
   * A non-FIFO burst large enough is split into consecutive parts of at
   * least {@linkcode COALESCE_SPREAD_MESSAGES_MIN} messages, up to one per
   * writable queue, each part a batch to the next queue in round-robin: a
   * burst then spreads over the topic's queues (and so over a consumer
   * group's members) as single sends would. A part of one message takes the
   * single-message path.
   */
  async #flush(batch: PendingBatch): Promise<void> {
    const members = batch.members;
    const options = batch.timeoutMs === undefined ? undefined : { timeoutMs: batch.timeoutMs };
    let parts = 1;
    if (batch.fifo === undefined && members.length >= 2 * COALESCE_SPREAD_MESSAGES_MIN) {
      let route = this.#router.routes.fresh(batch.topic);
      if (route === undefined) {
        try {
          route = await this.#router.routes.get(batch.topic);
        } catch (error) {
          for (const member of members) member.reject(error);
          return;
        }
      }
      parts = Math.max(
        1,
        Math.min(route.queues.length, Math.floor(members.length / COALESCE_SPREAD_MESSAGES_MIN)),
      );
    }
    if (parts === 1) return this.#sendPart(batch.topic, batch.fifo, members, options);
    const size = Math.ceil(members.length / parts);
    const sends: Promise<void>[] = [];
    for (let from = 0; from < members.length; from += size) {
      sends.push(
        this.#sendPart(batch.topic, undefined, members.slice(from, from + size), options),
      );
    }
    await Promise.all(sends);
  }

  /** Send one part of a coalesced batch (one request) and settle its members. Never rejects. */
  async #sendPart(
    topic: string,
    fifo: Message | undefined,
    members: readonly PendingSend[],
    options: SendOptions | undefined,
  ): Promise<void> {
    if (members.length === 1) {
      const only = members[0];
      try {
        only.resolve(await this.#sendSingle(only.encoded, only.message, options));
      } catch (error) {
        only.reject(error);
      }
      return;
    }
    try {
      const body = encodeBatchBody(members.map((m) => m.encoded));
      const { response, queue } = await this.#sendWithRetry(
        RequestCode.SEND_BATCH_MESSAGE,
        topic,
        "",
        body,
        true,
        options,
        fifo,
      );
      const header = this.#decodeResponse(response);
      const offsetMsgIds = header.msgId.split(",");
      if (offsetMsgIds.length !== members.length) {
        throw new MQClientError(
          `Bad send response: ${offsetMsgIds.length} message ids for a batch of ${members.length}`,
        );
      }
      const status = STORED_STATUS.get(response.code)!;
      const stored: MessageQueue = { ...queue, queueId: header.queueId };
      for (let i = 0; i < members.length; i++) {
        members[i].resolve({
          status,
          msgId: members[i].encoded.uniqueId,
          offsetMsgId: offsetMsgIds[i],
          queue: stored,
          queueOffset: header.queueOffset + i,
        });
      }
    } catch (error) {
      for (const member of members) member.reject(error);
    }
  }

  /**
   * Send one message without waiting for an acknowledgement (fire and forget).
   * Resolves once the message is queued on the connection.
   *
   * @param message The message.
   * @returns The unique id assigned.
   * @throws {TypeError} On an invalid message.
   * @throws {RangeError} On an oversize message.
   * @throws {MQConnectionClosedError} If the broker cannot be reached.
   */
  async sendOneway(message: Message): Promise<string> {
    const encoded = encodeMessage(message, this.#ids.next(), this.#bodyBytesMax);
    this.#checkOpen();
    const route = await this.#router.routes.get(encoded.topic);
    const queue = message.messageGroup === undefined
      ? this.#router.pick(route, encoded.topic)
      : selectFifoQueue(route, encoded.topic, message, this.#queueSelector);
    await this.#router.clientFor(queue).oneway(
      RequestCode.SEND_MESSAGE_V2,
      this.#header(encoded.topic, queue.queueId, encoded.properties, false),
      encoded.body,
    );
    return encoded.uniqueId;
  }

  /**
   * Send messages of one topic as one batch (one request, consecutive queue offsets).
   *
   * @param messages The messages (same topic, at least one).
   * @param options Abort signal and timeout.
   * @returns Ids and the first queue offset.
   * @throws {TypeError} If the batch is empty, mixes topics, or holds an invalid message.
   * @throws {RangeError} If the batch body exceeds the size limit.
   * @throws {MQBrokerError} If the broker refuses it.
   */
  async sendBatch(messages: readonly Message[], options?: SendOptions): Promise<SendBatchResult> {
    if (!Array.isArray(messages) || messages.length === 0) {
      throw new TypeError("Cannot send batch: it has no messages");
    }
    if (messages.length > BATCH_MESSAGES_MAX) {
      throw new RangeError(
        `Cannot send batch: it has ${messages.length} messages, limit is ${BATCH_MESSAGES_MAX}`,
      );
    }
    const encoded: EncodedMessage[] = messages.map((m) =>
      encodeMessage(m, this.#ids.next(), this.#bodyBytesMax)
    );
    const topic = encoded[0].topic;
    if (encoded.some((m) => m.topic !== topic)) {
      throw new TypeError("Cannot send batch: all messages must have the same topic");
    }
    const group = messages[0].messageGroup;
    if (messages.some((m) => m.messageGroup !== group)) {
      throw new TypeError("Cannot send batch: all messages must have the same messageGroup");
    }
    const body = encodeBatchBody(encoded);
    if (body.length > this.#bodyBytesMax) {
      throw new RangeError(
        `Cannot send batch: body is ${body.length} bytes, limit is ${this.#bodyBytesMax}`,
      );
    }
    const { response, queue } = await this.#sendWithRetry(
      RequestCode.SEND_BATCH_MESSAGE,
      topic,
      "",
      body,
      true,
      options,
      group === undefined ? undefined : messages[0],
    );
    const header = this.#decodeResponse(response);
    return {
      status: STORED_STATUS.get(response.code)!,
      msgIds: encoded.map((m) => m.uniqueId),
      offsetMsgIds: header.msgId.split(","),
      queue: { ...queue, queueId: header.queueId },
      queueOffset: header.queueOffset,
    };
  }

  /** Unregister from the broker and close the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    // Sends accepted before close() still go out (their flush checks `#closed` later).
    this.#flushPending();
    this.#closed = true;
    await this.#router.close((client) =>
      unregisterAndClose(client, this.clientId, { producerGroup: this.group })
    );
  }

  /** Same as {@linkcode Producer.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new MQConnectionClosedError("Cannot send: producer is closed");
  }

  #heartbeat(client: BrokerClient, signal?: AbortSignal): Promise<void> {
    return sendProducerHeartbeat(client, this.clientId, this.group, signal);
  }

  #header(
    topic: string,
    queueId: number,
    properties: string,
    batch: boolean,
  ): Record<string, string> {
    return sendMessageRequestHeaderV2.encode({
      producerGroup: this.group,
      topic,
      defaultTopic: DEFAULT_TOPIC,
      defaultTopicQueueNums: DEFAULT_TOPIC_QUEUE_NUMS,
      queueId,
      sysFlag: 0,
      bornTimestamp: Date.now(),
      flag: 0,
      properties,
      reconsumeTimes: 0,
      unitMode: false,
      batch,
    });
  }

  #decodeResponse(
    response: RemotingCommand,
  ): { msgId: string; queueId: number; queueOffset: number } {
    const decoded = sendMessageResponseHeader.decode(response.extFields);
    if (!decoded.ok) throw new MQClientError(`Bad send response: ${decoded.error}`);
    return decoded.header;
  }

  #sendWithRetry(
    code: number,
    topic: string,
    properties: string,
    body: Uint8Array,
    batch: boolean,
    options: SendOptions | undefined,
    fifo?: Message,
  ): Promise<{ response: RemotingCommand; queue: MessageQueue }> {
    this.#checkOpen();
    options?.signal?.throwIfAborted();
    return this.#router.send({
      code,
      topic,
      body,
      header: (queue) => this.#header(topic, queue.queueId, properties, batch),
      fifo: fifo === undefined ? undefined : { message: fifo, selector: this.#queueSelector },
      timeoutMs: options?.timeoutMs ?? this.#sendTimeoutMs,
      signal: options?.signal,
    });
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const out = value ?? fallback;
  if (!Number.isFinite(out) || out <= 0) {
    throw new RangeError(`Cannot create producer: ${name} must be positive, got ${out}`);
  }
  return out;
}

/**
 * Create a producer and connect it to the broker.
 *
 * @param options Endpoint, group, timeouts and retries.
 * @returns A started producer; close it with `await using` or `close()`.
 * @throws {TypeError} On an invalid group or endpoint.
 * @throws {RangeError} On an out-of-range option.
 * @throws {MQConnectionClosedError} If the broker cannot be reached.
 *
 * @example
 * ```ts ignore
 * import { createProducer } from "./producer.ts";
 * await using producer = await createProducer({ endpoint: "127.0.0.1:10911" });
 * await producer.send({ topic: "T", body: new Uint8Array([1, 2, 3]) });
 * ```
 */
export async function createProducer(options: ProducerOptions): Promise<Producer> {
  const producer = new Producer(options);
  try {
    await producer.start();
  } catch (error) {
    await producer.close();
    throw error;
  }
  return producer;
}
