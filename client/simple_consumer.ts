/**
 * The simple consumer (RocketMQ 5's `SimpleConsumer` over the remoting
 * protocol): the broker owns queue assignment; `receive` pops a batch that
 * stays invisible to every other member for `invisibleDurationMs`; `ack`
 * removes a message for good; `changeInvisibleDuration` extends (or
 * shortens) its invisible time. A message not acked in time is delivered
 * again, to any member, with `reconsumeTimes` one higher.
 *
 * @module
 */

import type { BrokerClient } from "./broker_client.ts";
import { BrokerPool } from "./broker_pool.ts";
import { type BrokerAccess, channelOf, routeOf } from "./consumer/brokers.ts";
import { unregisterAndClose } from "./client_registration.ts";
import { MQClientError } from "./errors.ts";
import type { SessionCredentials } from "./protocol/acl_signature.ts";
import { decodeReceivedMessages, type ReceivedMessage, validateName } from "./message.ts";
import {
  ackMessageRequestHeader,
  changeInvisibleTimeRequestHeader,
  changeInvisibleTimeResponseHeader,
  encodeBitSet,
  encodeReceiptHandle,
  parseQueueInfo,
  POP_BATCH_MESSAGES_MAX,
  POP_INIT_MODE_MAX,
  POP_INIT_MODE_MIN,
  popMessageRequestHeader,
  popMessageResponseHeader,
  type ReceiptHandle,
} from "./protocol/pop_headers.ts";
import { RequestCode } from "./protocol/request_code.ts";
import { ResponseCode } from "./protocol/response_code.ts";
import { sendConsumerHeartbeat } from "./consumer/heartbeat.ts";
import {
  parseSubscription,
  type Subscription,
  type SubscriptionExpression,
} from "./consumer/subscription.ts";

/** Default long-polling wait of `receive`, ms (RocketMQ 5: 30 s). */
export const AWAIT_DURATION_MS_DEFAULT = 30_000;
/** Default invisible time of received messages, ms. */
export const INVISIBLE_DURATION_MS_DEFAULT = 30_000;
/** Extra client wait beyond the broker's poll time, ms. */
export const RECEIVE_TIMEOUT_MARGIN_MS = 5_000;
/** Heartbeat interval of a simple consumer, ms. */
export const SIMPLE_HEARTBEAT_INTERVAL_MS = 30_000;

/** Options of {@linkcode createSimpleConsumer}. Give `endpoint` or `nameServer`. */
export interface SimpleConsumerOptions {
  /** A standalone broker's address, `host:port`. */
  readonly endpoint?: string;
  /**
   * Name servers, `host:port;host:port`: `receive` takes turns over every
   * broker of each subscribed topic, acks go to the broker a message came
   * from, and every broker gets the heartbeats.
   */
  readonly nameServer?: string;
  /** Consumer group. */
  readonly group: string;
  /** Topic to filter expression (`*`, `TagA || TagB`, or `{ type: "SQL92", expression }`). */
  readonly subscriptions: Readonly<Record<string, string | SubscriptionExpression>>;
  /** How long `receive` waits on the broker for messages, ms. Default 30 000. */
  readonly awaitDuration?: number;
  /** Where a group with no offset starts: the first message or the latest. Default `LAST`. */
  readonly consumeFrom?: "FIRST" | "LAST";
  /** FIFO: receive each queue's messages in order, one batch per queue at a time. */
  readonly fifo?: boolean;
  /** Client id. Default: random. */
  readonly clientId?: string;
  /** ACL credentials (`accessKey`, `secretKey`); every request, name servers' included, is signed. */
  readonly credentials?: SessionCredentials;
}

/** Options of {@linkcode SimpleConsumer.receive}. */
export interface ReceiveOptions {
  /** Abandons the wait; `receive` then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

interface Handle {
  fields: ReceiptHandle;
  readonly topic: string;
}

/**
 * A pop-based consumer. Any number of members of a group may receive from
 * the same queues; the broker keeps each message invisible while one of them
 * works on it.
 *
 * @example
 * ```ts ignore
 * import { createSimpleConsumer } from "./simple_consumer.ts";
 * await using consumer = await createSimpleConsumer({
 *   endpoint: "127.0.0.1:10911",
 *   group: "billing",
 *   subscriptions: { Orders: "*" },
 * });
 * for (const message of await consumer.receive(16, 30_000)) {
 *   console.log(message.text());
 *   await consumer.ack(message);
 * }
 * ```
 */
export class SimpleConsumer implements AsyncDisposable {
  /** Consumer group. */
  readonly group: string;
  /** Client id. */
  readonly clientId: string;
  readonly #pool: BrokerPool;
  /** The standalone broker's channel, or the pool of brokers. */
  readonly #client: BrokerAccess;
  readonly #subscriptions: Subscription[];
  readonly #awaitDurationMs: number;
  readonly #initMode: number;
  readonly #fifo: boolean;
  readonly #handles = new WeakMap<ReceivedMessage, Handle>();
  /** What `receive` takes turns over: each subscription on each broker hosting its topic. */
  #targets: { subscription: Subscription; brokerName: string }[] = [];
  readonly #subVersion = Date.now();
  #next = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | undefined;

  /**
   * Use {@linkcode createSimpleConsumer}.
   *
   * @param options Endpoint, group, subscriptions.
   */
  constructor(options: SimpleConsumerOptions) {
    validateName("group", options.group, "create simple consumer");
    this.group = options.group;
    this.clientId = options.clientId ?? `simple@${Deno.pid}@${crypto.randomUUID().slice(0, 8)}`;
    const entries = Object.entries(options.subscriptions ?? {});
    if (entries.length === 0) {
      throw new TypeError("Cannot create simple consumer: subscriptions is empty");
    }
    this.#subscriptions = entries.map(([topic, filter]) => {
      validateName("topic", topic, "create simple consumer");
      return parseSubscription(topic, filter);
    });
    this.#awaitDurationMs = options.awaitDuration ?? AWAIT_DURATION_MS_DEFAULT;
    if (!Number.isInteger(this.#awaitDurationMs) || this.#awaitDurationMs < 0) {
      throw new RangeError(
        `Cannot create simple consumer: awaitDuration must be a non-negative integer, got ${this.#awaitDurationMs}`,
      );
    }
    this.#initMode = options.consumeFrom === "FIRST" ? POP_INIT_MODE_MIN : POP_INIT_MODE_MAX;
    this.#fifo = options.fifo ?? false;
    this.#pool = new BrokerPool({
      endpoint: options.endpoint,
      nameServer: options.nameServer,
      onBrokerConnect: (client) => this.#heartbeatTo(client),
      credentials: options.credentials,
    });
    this.#client = this.#pool.standalone ?? this.#pool;
  }

  /** Learn the brokers of each topic and register with each of them. */
  async start(): Promise<void> {
    await this.#refreshTargets();
    await this.#heartbeat();
    this.#timer = setInterval(
      () => void this.#refreshTargets().then(() => this.#heartbeat()).catch(() => {}),
      SIMPLE_HEARTBEAT_INTERVAL_MS,
    );
  }

  /** Each subscription's brokers, from the routes (opening their channels). */
  async #refreshTargets(): Promise<void> {
    const targets: { subscription: Subscription; brokerName: string }[] = [];
    for (const subscription of this.#subscriptions) {
      const route = await routeOf(this.#client, subscription.topic);
      const names = [...new Set(route.queueDatas.map((q) => q.brokerName))].sort();
      for (const brokerName of names) {
        channelOf(this.#client, brokerName);
        targets.push({ subscription, brokerName });
      }
    }
    this.#targets = targets;
  }

  /**
   * Pop up to `maxMessages` messages of the next subscribed topic, waiting
   * up to `awaitDuration` for some to arrive.
   *
   * @param maxMessages 1..32. Default 16.
   * @param invisibleDurationMs How long they stay invisible to others, ms.
   * @param options Abort signal.
   * @returns The messages (empty when none arrived in time).
   * @throws {RangeError} On an out-of-range argument.
   * @throws {MQBrokerError} If the broker refuses the pop.
   */
  async receive(
    maxMessages = 16,
    invisibleDurationMs = INVISIBLE_DURATION_MS_DEFAULT,
    options?: ReceiveOptions,
  ): Promise<ReceivedMessage[]> {
    if (!Number.isInteger(maxMessages) || maxMessages < 1 || maxMessages > POP_BATCH_MESSAGES_MAX) {
      throw new RangeError(
        `Cannot receive: maxMessages must be an integer from 1 to ${POP_BATCH_MESSAGES_MAX}, got ${maxMessages}`,
      );
    }
    if (!Number.isInteger(invisibleDurationMs) || invisibleDurationMs <= 0) {
      throw new RangeError(
        `Cannot receive: invisibleDurationMs must be a positive integer, got ${invisibleDurationMs}`,
      );
    }
    const target = this.#targets[this.#next++ % Math.max(1, this.#targets.length)];
    if (target === undefined) return [];
    const { subscription, brokerName } = target;
    const response = await channelOf(this.#client, brokerName).invoke(
      RequestCode.POP_MESSAGE,
      popMessageRequestHeader.encode({
        consumerGroup: this.group,
        topic: subscription.topic,
        queueId: -1,
        maxMsgNums: maxMessages,
        invisibleTime: invisibleDurationMs,
        pollTime: this.#awaitDurationMs,
        bornTime: Date.now(),
        initMode: this.#initMode,
        expType: subscription.type,
        exp: subscription.expression,
        order: this.#fifo,
      }),
      undefined,
      {
        timeoutMs: this.#awaitDurationMs + RECEIVE_TIMEOUT_MARGIN_MS,
        signal: options?.signal,
        acceptCodes: [
          ResponseCode.PULL_NOT_FOUND,
          ResponseCode.POLLING_TIMEOUT,
          ResponseCode.POLLING_FULL,
        ],
      },
    );
    if (response.code !== ResponseCode.SUCCESS) return [];
    const header = popMessageResponseHeader.decode(response.extFields);
    if (!header.ok) throw new MQClientError(`Bad pop response: ${header.error}`);
    const h = header.header;
    const starts = new Map(
      parseQueueInfo(h.startOffsetInfo).map((e) => [`${e.topicType} ${e.queueId}`, e.value[0]]),
    );
    const counts = new Map(
      parseQueueInfo(h.orderCountInfo).map((e) => [`${e.topicType} ${e.queueId}`, e.value[0]]),
    );
    const out: ReceivedMessage[] = [];
    for (let message of decodeReceivedMessages(response.body ?? new Uint8Array(), brokerName)) {
      const topicType = message.storeTopic.startsWith("%RETRY%") ? 1 : 0;
      const key = `${topicType} ${message.queueId}`;
      const count = counts.get(key);
      if (count !== undefined && count > message.reconsumeTimes) {
        message = message.withReconsumeTimes(count);
      }
      this.#handles.set(message, {
        topic: subscription.topic,
        fields: {
          ckStartOffset: starts.get(key) ?? message.queueOffset,
          popTime: h.popTime,
          invisibleTime: h.invisibleTime,
          reviveQid: h.reviveQid,
          topicType,
          brokerName,
          queueId: message.queueId,
          queueOffset: message.queueOffset,
        },
      });
      out.push(message);
    }
    return out;
  }

  /**
   * The receipt handle (`extraInfo`) of a received message.
   *
   * @param message A message this consumer received.
   * @returns The handle text.
   * @throws {TypeError} If the message was not received by this consumer.
   */
  receiptHandle(message: ReceivedMessage): string {
    return encodeReceiptHandle(this.#handle(message, "read receipt handle").fields);
  }

  /**
   * Acknowledge a message: it is never delivered again.
   *
   * @param message A message this consumer received.
   * @throws {TypeError} If the message was not received by this consumer.
   * @throws {MQBrokerError} If the handle is stale (its invisible time ended
   *   and it was delivered again) or the broker refuses.
   */
  async ack(message: ReceivedMessage): Promise<void> {
    const handle = this.#handle(message, "ack");
    await channelOf(this.#client, handle.fields.brokerName).invoke(
      RequestCode.ACK_MESSAGE,
      ackMessageRequestHeader.encode({
        consumerGroup: this.group,
        topic: handle.topic,
        queueId: handle.fields.queueId,
        extraInfo: encodeReceiptHandle(handle.fields),
        offset: handle.fields.queueOffset,
      }),
    );
  }

  /**
   * Acknowledge several messages in one request per broker
   * (BATCH_ACK_MESSAGE, grouped by popped batch).
   *
   * @param messages Messages this consumer received.
   * @throws {TypeError} If a message was not received by this consumer.
   * @throws {MQBrokerError} If a handle is stale (then none is acked).
   */
  async ackBatch(messages: readonly ReceivedMessage[]): Promise<void> {
    const groups = new Map<string, { handle: Handle; indexes: number[] }>();
    for (const message of messages) {
      const handle = this.#handle(message, "ack");
      const f = handle.fields;
      const key = `${handle.topic} ${f.topicType} ${f.queueId} ${f.ckStartOffset} ${f.popTime}`;
      let group = groups.get(key);
      if (group === undefined) groups.set(key, group = { handle, indexes: [] });
      group.indexes.push(f.queueOffset - f.ckStartOffset);
    }
    if (groups.size === 0) return;
    // One BATCH_ACK_MESSAGE per broker: each broker acks only its own queues.
    const byBroker = new Map<string, unknown[]>();
    for (const { handle: { topic, fields: f }, indexes } of groups.values()) {
      let acks = byBroker.get(f.brokerName);
      if (acks === undefined) byBroker.set(f.brokerName, acks = []);
      acks.push({
        c: this.group,
        t: topic,
        r: f.topicType === 0 ? "0" : "1",
        so: f.ckStartOffset,
        q: f.queueId,
        rq: f.reviveQid,
        pt: f.popTime,
        it: f.invisibleTime,
        b: encodeBitSet(indexes),
      });
    }
    await Promise.all(
      [...byBroker].map(([brokerName, acks]) =>
        channelOf(this.#client, brokerName).invoke(
          RequestCode.BATCH_ACK_MESSAGE,
          {},
          new TextEncoder().encode(JSON.stringify({ brokerName, acks })),
        )
      ),
    );
  }

  /**
   * Make a message invisible for `invisibleDurationMs` from now (longer or
   * shorter than before); its handle is updated, so ack it afterwards as usual.
   *
   * @param message A message this consumer received.
   * @param invisibleDurationMs New invisible time from now, ms.
   * @throws {TypeError} If the message was not received by this consumer.
   * @throws {MQBrokerError} If the handle is stale or the broker refuses.
   */
  async changeInvisibleDuration(
    message: ReceivedMessage,
    invisibleDurationMs: number,
  ): Promise<void> {
    const handle = this.#handle(message, "change invisible duration");
    if (!Number.isInteger(invisibleDurationMs) || invisibleDurationMs < 0) {
      throw new RangeError(
        `Cannot change invisible duration: must be a non-negative integer, got ${invisibleDurationMs}`,
      );
    }
    const response = await channelOf(this.#client, handle.fields.brokerName).invoke(
      RequestCode.CHANGE_MESSAGE_INVISIBLETIME,
      changeInvisibleTimeRequestHeader.encode({
        consumerGroup: this.group,
        topic: handle.topic,
        queueId: handle.fields.queueId,
        extraInfo: encodeReceiptHandle(handle.fields),
        offset: handle.fields.queueOffset,
        invisibleTime: invisibleDurationMs,
      }),
    );
    const decoded = changeInvisibleTimeResponseHeader.decode(response.extFields);
    if (!decoded.ok) throw new MQClientError(`Bad change-invisible response: ${decoded.error}`);
    handle.fields = { ...handle.fields, ...decoded.header };
  }

  /** Unregister and close the connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      await this.#pool.close((client) =>
        unregisterAndClose(client, this.clientId, { consumerGroup: this.group })
      );
    })();
    return this.#closing;
  }

  /** Same as {@linkcode SimpleConsumer.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #handle(message: ReceivedMessage, verb: string): Handle {
    const handle = this.#handles.get(message);
    if (handle === undefined) {
      throw new TypeError(`Cannot ${verb}: the message was not received by this consumer`);
    }
    return handle;
  }

  /** Heartbeat to every broker channel (the standalone broker, or each broker of the routes). */
  async #heartbeat(): Promise<void> {
    const standalone = this.#pool.standalone;
    if (standalone !== undefined) return this.#heartbeatTo(standalone);
    await Promise.all(this.#pool.clients().map((client) => this.#heartbeatTo(client)));
  }

  #heartbeatTo(client: BrokerClient): Promise<void> {
    return sendConsumerHeartbeat(client, {
      clientId: this.clientId,
      group: this.group,
      consumeType: "CONSUME_POP",
      messageModel: "CLUSTERING",
      consumeFromWhere: this.#initMode === POP_INIT_MODE_MIN
        ? "CONSUME_FROM_FIRST_OFFSET"
        : "CONSUME_FROM_LAST_OFFSET",
      subscriptions: this.#subscriptions,
      subVersion: this.#subVersion,
    });
  }
}

/**
 * Create a simple (pop) consumer and register it with the broker.
 *
 * @param options Endpoint, group, subscriptions, await duration.
 * @returns A started consumer; close it with `await using` or `close()`.
 * @throws {TypeError} On an invalid group, topic or empty subscriptions.
 * @throws {MQBrokerError} If the broker refuses the registration or a topic.
 */
export async function createSimpleConsumer(
  options: SimpleConsumerOptions,
): Promise<SimpleConsumer> {
  const consumer = new SimpleConsumer(options);
  try {
    await consumer.start();
  } catch (error) {
    await consumer.close();
    throw error;
  }
  return consumer;
}
