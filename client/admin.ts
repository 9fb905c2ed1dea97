/**
 * The admin client: topics, queue offsets, group progress, message lookup.
 *
 * @module
 */

import { BrokerClient } from "./broker_client.ts";
import type { SessionCredentials } from "./protocol/acl_signature.ts";
import {
  type ConsumerConnection,
  consumerConnection,
  type ConsumeStats,
  consumeStats,
  resetOffsetByTime,
} from "./admin_consumer.ts";
import type { SubscriptionExpression } from "./consumer.ts";
import { MQBrokerError, MQClientError } from "./errors.ts";
import {
  DLQ_TOPIC_PREFIX,
  type MessageQueue,
  ReceivedMessage,
  RETRY_TOPIC_PREFIX,
  validateName,
} from "./message.ts";
import { fetchTopicRoute, readQueues } from "./topic_route.ts";
import {
  consumerGroupRequestHeader,
  createTopicRequestHeader,
  DEFAULT_TOPIC,
  DEFAULT_TOPIC_QUEUE_NUMS,
  offsetResponseHeader,
  PermName,
  pullMessageRequestHeader,
  pullMessageResponseHeader,
  PullSysFlag,
  queryConsumerOffsetRequestHeader,
  queryMessageRequestHeader,
  queueRequestHeader,
  sendMessageRequestHeaderV2,
  sendMessageResponseHeader,
  topicRequestHeader,
  viewMessageRequestHeader,
} from "./protocol/headers.ts";
import {
  parseConsumerListBody,
  parseConsumerOffsetTable,
  parseTopicConfigTable,
  type TopicConfig,
} from "./protocol/heartbeat.ts";
import { decodeOffsetMessageId } from "./protocol/message_id.ts";
import { decodeRecords } from "./protocol/message_record.ts";
import { encodeProperties, MessageConst } from "./protocol/properties.ts";
import { RequestCode } from "./protocol/request_code.ts";
import { ResponseCode } from "./protocol/response_code.ts";

/** Default queue count of a topic created by {@linkcode Admin.createTopic}. */
export const TOPIC_QUEUE_NUMS_DEFAULT = 4;
/** Most queues a topic may have here. */
export const TOPIC_QUEUE_NUMS_MAX = 1024;

/** Most messages {@linkcode Admin.listDlqMessages} returns by default. */
export const DLQ_LIST_MAX_DEFAULT = 32;
/** Consumer group named in the admin's own pulls (they never commit an offset). */
export const TOOLS_CONSUMER_GROUP = "TOOLS_CONSUMER";
/** Producer group of messages the admin re-sends. */
export const TOOLS_PRODUCER_GROUP = "TOOLS_PRODUCER";

/** Options of {@linkcode Admin.queryMessages}. */
export interface QueryMessagesOptions {
  /** Most messages to return (the broker caps it). Default 32. */
  readonly maxCount?: number;
  /** Store-time window start, epoch ms. Default 0. */
  readonly beginTimestampMs?: number;
  /** Store-time window end, epoch ms. Default: now. */
  readonly endTimestampMs?: number;
  /** The key is a unique message id (`UNIQ_KEY`) rather than a `KEYS` element. */
  readonly uniqueKey?: boolean;
}

/** Options of {@linkcode Admin.peekMessages}. */
export interface PeekMessagesOptions {
  /** First queue offset to read. Default: the queue's min offset. */
  readonly fromOffset?: number;
  /** Most messages to return. Default 32. */
  readonly max?: number;
  /** A broker-side filter: tags (`a || b`) or SQL92 over properties. */
  readonly filter?: SubscriptionExpression;
}

/** Options of {@linkcode Admin.listDlqMessages}. */
export interface ListDlqOptions {
  /** Most messages to return. Default {@linkcode DLQ_LIST_MAX_DEFAULT}. */
  readonly max?: number;
  /** First queue offset to read. Default: the queue's min offset. */
  readonly fromOffset?: number;
}

/** Options of {@linkcode Admin.resendDlqMessage}. */
export interface ResendDlqOptions {
  /**
   * `origin` (default): send to the message's original topic, for every group
   * subscribed to it; `retry`: send to `%RETRY%<group>` (created with one
   * queue if missing), for this group only, with reconsume times reset to 0.
   */
  readonly target?: "origin" | "retry";
}

/** Where a re-sent dead letter was stored. */
export interface ResendResult {
  /** The topic it was sent to. */
  readonly topic: string;
  /** Queue id. */
  readonly queueId: number;
  /** Queue offset. */
  readonly queueOffset: number;
  /** The message's unique id (unchanged). */
  readonly msgId: string;
  /** The new copy's offset message id. */
  readonly offsetMsgId: string;
}

/** Options of {@linkcode createAdmin}. */
export interface AdminOptions {
  /** Broker address, `host:port`. */
  readonly endpoint: string;
  /** Per-request timeout, ms. Default 3000. */
  readonly requestTimeoutMs?: number;
  /** ACL credentials (`accessKey`, `secretKey`); every request is signed with them. */
  readonly credentials?: SessionCredentials;
}

/** Options of {@linkcode Admin.createTopic}. */
export interface CreateTopicOptions {
  /** Readable queues. Default 4. */
  readonly readQueueNums?: number;
  /** Writable queues. Default 4. */
  readonly writeQueueNums?: number;
  /** Permission bits: 2 write, 4 read, 6 both (default). */
  readonly perm?: number;
  /** Ordered topic flag. Default false. */
  readonly order?: boolean;
}

/** One queue's offsets. */
export interface QueueStatus {
  /** The queue. */
  readonly queue: MessageQueue;
  /** Oldest retained queue offset. */
  readonly minOffset: number;
  /** Next queue offset to be written. */
  readonly maxOffset: number;
}

/** One queue's progress for a consumer group. */
export interface QueueProgress {
  /** Topic. */
  readonly topic: string;
  /** Queue id. */
  readonly queueId: number;
  /** Broker's max offset (next to be written). */
  readonly brokerOffset: number;
  /** Group's committed offset (next to consume); -1 if none. */
  readonly consumerOffset: number;
  /** Messages not yet consumed. */
  readonly lag: number;
}

/** A consumer group's progress. */
export interface ConsumerProgress {
  /** Consumer group. */
  readonly group: string;
  /** Per-queue progress, sorted by topic then queue id. */
  readonly queues: readonly QueueProgress[];
  /** Sum of the per-queue lags. */
  readonly totalLag: number;
}

/**
 * Administers one broker.
 *
 * @example
 * ```ts ignore
 * import { createAdmin } from "./admin.ts";
 * await using admin = await createAdmin({ endpoint: "127.0.0.1:10911" });
 * await admin.createTopic("Orders", { readQueueNums: 8, writeQueueNums: 8 });
 * console.log((await admin.listTopics()).map((t) => t.topicName));
 * ```
 */
export class Admin implements AsyncDisposable {
  readonly #client: BrokerClient;

  /**
   * Use {@linkcode createAdmin}.
   *
   * @param options Admin options.
   */
  constructor(options: AdminOptions) {
    this.#client = new BrokerClient({
      endpoint: options.endpoint,
      requestTimeoutMs: options.requestTimeoutMs,
      credentials: options.credentials,
    });
  }

  /**
   * Members, subscriptions and model of a consumer group (consumerConnection).
   *
   * @param group Consumer group.
   * @returns The group's registration.
   * @throws {MQBrokerError} CONSUMER_NOT_ONLINE if no member is connected.
   */
  consumerConnection(group: string): Promise<ConsumerConnection> {
    return consumerConnection(this.#client, group);
  }

  /**
   * A group's lag in messages and in time per queue, and its pop in-flight count.
   *
   * @param group Consumer group.
   * @param topic Only this topic (and its pop retry topic).
   * @returns The stats.
   */
  consumeStats(group: string, topic?: string): Promise<ConsumeStats> {
    return consumeStats(this.#client, group, topic);
  }

  /**
   * Move a group to the first message stored at or after a time; live
   * members move too.
   *
   * @param group Consumer group.
   * @param topic Topic.
   * @param timestampMs Epoch ms.
   * @returns The new offset per queue id.
   */
  resetOffsetByTime(
    group: string,
    topic: string,
    timestampMs: number,
  ): Promise<Map<number, number>> {
    return resetOffsetByTime(this.#client, group, topic, timestampMs);
  }

  /**
   * Connect to the broker.
   *
   * @throws {MQConnectionClosedError} If the broker cannot be reached.
   */
  async start(): Promise<void> {
    await this.#client.connection();
  }

  /**
   * Create or update a topic (UPDATE_AND_CREATE_TOPIC).
   *
   * @param topic Topic name.
   * @param options Queue counts, permission and order flag.
   * @throws {TypeError} On an invalid name.
   * @throws {RangeError} On out-of-range queue counts or permission.
   * @throws {MQBrokerError} If the broker refuses.
   */
  async createTopic(topic: string, options: CreateTopicOptions = {}): Promise<void> {
    validateName("topic", topic, "create topic");
    const readQueueNums = options.readQueueNums ?? TOPIC_QUEUE_NUMS_DEFAULT;
    const writeQueueNums = options.writeQueueNums ?? TOPIC_QUEUE_NUMS_DEFAULT;
    for (
      const [name, value] of [["readQueueNums", readQueueNums], [
        "writeQueueNums",
        writeQueueNums,
      ]] as const
    ) {
      if (!Number.isInteger(value) || value < 1 || value > TOPIC_QUEUE_NUMS_MAX) {
        throw new RangeError(
          `Cannot create topic: ${name} is ${value}, expected 1 to ${TOPIC_QUEUE_NUMS_MAX}`,
        );
      }
    }
    const perm = options.perm ?? (PermName.PERM_READ | PermName.PERM_WRITE);
    if (!Number.isInteger(perm) || perm < 0 || perm > 15) {
      throw new RangeError(`Cannot create topic: perm is ${perm}, expected 0 to 15`);
    }
    await this.#client.invoke(
      RequestCode.UPDATE_AND_CREATE_TOPIC,
      createTopicRequestHeader.encode({
        topic,
        defaultTopic: DEFAULT_TOPIC,
        readQueueNums,
        writeQueueNums,
        perm,
        topicFilterType: "SINGLE_TAG",
        topicSysFlag: 0,
        order: options.order ?? false,
      }),
    );
  }

  /**
   * Delete a topic (DELETE_TOPIC_IN_BROKER).
   *
   * @param topic Topic name.
   * @throws {TypeError} On an invalid name.
   * @throws {MQBrokerError} If the broker refuses.
   */
  async deleteTopic(topic: string): Promise<void> {
    validateName("topic", topic, "delete topic");
    await this.#client.invoke(
      RequestCode.DELETE_TOPIC_IN_BROKER,
      topicRequestHeader.encode({ topic }),
    );
  }

  /**
   * List every topic's configuration (GET_ALL_TOPIC_CONFIG).
   *
   * @returns Topic configs sorted by name.
   * @throws {MQBrokerError} If the broker refuses.
   */
  async listTopics(): Promise<TopicConfig[]> {
    const response = await this.#client.invoke(RequestCode.GET_ALL_TOPIC_CONFIG);
    const parsed = parseTopicConfigTable(response.body);
    if (!parsed.ok) throw new MQClientError(`Bad topic list: ${parsed.error}`);
    return Object.values(parsed.value.topicConfigTable).sort((a, b) =>
      a.topicName < b.topicName ? -1 : a.topicName > b.topicName ? 1 : 0
    );
  }

  /**
   * Min and max offsets of each readable queue of a topic.
   *
   * @param topic Topic name.
   * @returns One entry per queue.
   * @throws {MQBrokerError} If the topic does not exist.
   */
  async topicStatus(topic: string): Promise<QueueStatus[]> {
    validateName("topic", topic, "read topic status");
    const queues = readQueues(await fetchTopicRoute(this.#client, topic), topic);
    return await Promise.all(queues.map(async (queue) => {
      const fields = queueRequestHeader.encode({ topic, queueId: queue.queueId });
      const [min, max] = await Promise.all([
        this.#offset(RequestCode.GET_MIN_OFFSET, fields),
        this.#offset(RequestCode.GET_MAX_OFFSET, fields),
      ]);
      return { queue, minOffset: min, maxOffset: max };
    }));
  }

  /**
   * The committed offset of a group on one queue (QUERY_CONSUMER_OFFSET).
   *
   * @param group Consumer group.
   * @param topic Topic.
   * @param queueId Queue id.
   * @returns The offset, or -1 when the group has none stored.
   * @throws {MQBrokerError} If the broker refuses.
   */
  async queryConsumerOffset(group: string, topic: string, queueId: number): Promise<number> {
    const response = await this.#client.invoke(
      RequestCode.QUERY_CONSUMER_OFFSET,
      queryConsumerOffsetRequestHeader.encode({ consumerGroup: group, topic, queueId }),
      undefined,
      { acceptCodes: [ResponseCode.QUERY_NOT_FOUND] },
    );
    if (response.code === ResponseCode.QUERY_NOT_FOUND) return -1;
    const decoded = offsetResponseHeader.decode(response.extFields);
    if (!decoded.ok) throw new MQClientError(`Bad offset response: ${decoded.error}`);
    return decoded.header.offset;
  }

  /**
   * A consumer group's progress and lag per queue.
   *
   * Uses GET_ALL_CONSUMER_OFFSET (narrowed by group and topic) for the
   * committed offsets; with a topic, queues the group never committed are
   * listed too, with consumer offset -1 and the whole queue as lag.
   *
   * @param group Consumer group.
   * @param topic Only this topic, if given.
   * @returns Progress per queue and the total lag.
   * @throws {MQBrokerError} If the broker refuses.
   */
  async consumerProgress(group: string, topic?: string): Promise<ConsumerProgress> {
    validateName("group", group, "read consumer progress");
    if (topic !== undefined) validateName("topic", topic, "read consumer progress");
    const fields: Record<string, string> = { consumerGroup: group };
    if (topic !== undefined) fields.topic = topic;
    const response = await this.#client.invoke(RequestCode.GET_ALL_CONSUMER_OFFSET, fields);
    const table = parseConsumerOffsetTable(response.body);
    if (!table.ok) throw new MQClientError(`Bad consumer offset table: ${table.error}`);
    const committed = new Map<string, number>();
    for (const [key, queues] of Object.entries(table.value.offsetTable)) {
      const at = key.lastIndexOf("@");
      if (key.slice(at + 1) !== group) continue;
      const queueTopic = key.slice(0, at);
      if (topic !== undefined && queueTopic !== topic) continue;
      for (const [queueId, offset] of Object.entries(queues)) {
        committed.set(`${queueTopic}\u0000${queueId}`, offset);
      }
    }
    if (topic !== undefined) {
      const route = await fetchTopicRoute(this.#client, topic);
      for (const queue of readQueues(route, topic)) {
        const key = `${topic}\u0000${queue.queueId}`;
        if (!committed.has(key)) committed.set(key, -1);
      }
    }
    const queues = await Promise.all([...committed].map(async ([key, consumerOffset]) => {
      const [queueTopic, queueIdText] = key.split("\u0000");
      const queueId = Number(queueIdText);
      const brokerOffset = await this.#offset(
        RequestCode.GET_MAX_OFFSET,
        queueRequestHeader.encode({ topic: queueTopic, queueId }),
      );
      const from = consumerOffset < 0 ? 0 : consumerOffset;
      return {
        topic: queueTopic,
        queueId,
        brokerOffset,
        consumerOffset,
        lag: Math.max(0, brokerOffset - from),
      };
    }));
    queues.sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.queueId - b.queueId);
    return { group, queues, totalLag: queues.reduce((sum, q) => sum + q.lag, 0) };
  }

  /**
   * The live members of a consumer group (GET_CONSUMER_LIST_BY_GROUP).
   *
   * @param group Consumer group.
   * @returns Client ids.
   * @throws {MQBrokerError} If the broker refuses.
   */
  async consumerIds(group: string): Promise<string[]> {
    const response = await this.#client.invoke(
      RequestCode.GET_CONSUMER_LIST_BY_GROUP,
      consumerGroupRequestHeader.encode({ consumerGroup: group }),
    );
    const parsed = parseConsumerListBody(response.body);
    if (!parsed.ok) throw new MQClientError(`Bad consumer list: ${parsed.error}`);
    return [...parsed.value.consumerIdList];
  }

  /**
   * Read one message by its offset message id (VIEW_MESSAGE_BY_ID).
   *
   * @param offsetMsgId The offset message id from a send result.
   * @returns The message.
   * @throws {TypeError} If the id is not an offset message id.
   * @throws {MQBrokerError} If the broker has no such message.
   */
  async viewMessage(offsetMsgId: string): Promise<ReceivedMessage> {
    const { commitLogOffset } = decodeOffsetMessageId(offsetMsgId);
    const response = await this.#client.invoke(
      RequestCode.VIEW_MESSAGE_BY_ID,
      viewMessageRequestHeader.encode({ offset: commitLogOffset }),
    );
    let records;
    try {
      records = decodeRecords(response.body ?? new Uint8Array());
    } catch (error) {
      throw new MQClientError(`Bad message body for ${offsetMsgId}`, { cause: error });
    }
    if (records.length === 0) throw new MQClientError(`No message body for ${offsetMsgId}`);
    return new ReceivedMessage(records[0], "");
  }

  /**
   * Read messages of one queue from an offset without consuming them (no
   * consumer offset changes), optionally through a filter the broker applies:
   * a tag expression or SQL92 over properties.
   *
   * @param topic Topic.
   * @param queueId Queue id.
   * @param options Start offset (default: the queue's min offset), count and filter.
   * @returns Matching messages in queue order.
   * @throws {RangeError} On a bad `max` or `fromOffset`.
   * @throws {MQBrokerError} If the broker refuses, e.g. SUBSCRIPTION_PARSE_FAILED for a bad filter.
   */
  async peekMessages(
    topic: string,
    queueId: number,
    options: PeekMessagesOptions = {},
  ): Promise<ReceivedMessage[]> {
    const max = options.max ?? DLQ_LIST_MAX_DEFAULT;
    if (!Number.isInteger(max) || max <= 0) {
      throw new RangeError(`Cannot peek messages: max must be a positive integer, got ${max}`);
    }
    let offset = options.fromOffset;
    if (offset === undefined) {
      const min = await this.#client.invoke(
        RequestCode.GET_MIN_OFFSET,
        queueRequestHeader.encode({ topic, queueId }),
      );
      const decoded = offsetResponseHeader.decode(min.extFields);
      offset = decoded.ok ? decoded.header.offset : 0;
    } else if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new RangeError(
        `Cannot peek messages: fromOffset must be a non-negative integer, got ${offset}`,
      );
    }
    return await this.#pull(topic, queueId, offset, max, options.filter);
  }

  /**
   * Read messages of a group's dead-letter topic `%DLQ%<group>` (queue 0) by
   * offset, without changing any consumer offset. Each message's `topic` is
   * the DLQ; its original topic and message id are the properties
   * `DLQ_ORIGIN_TOPIC` and `DLQ_ORIGIN_MESSAGE_ID`.
   *
   * @param group Consumer group.
   * @param options How many, and from which offset.
   * @returns The messages in queue order; empty when the group has no DLQ.
   * @throws {TypeError} On an invalid group.
   * @throws {RangeError} On a bad `max` or `fromOffset`.
   * @throws {MQBrokerError} If the broker refuses.
   */
  async listDlqMessages(group: string, options: ListDlqOptions = {}): Promise<ReceivedMessage[]> {
    validateName("group", group, "list dead letters");
    const max = options.max ?? DLQ_LIST_MAX_DEFAULT;
    if (!Number.isInteger(max) || max <= 0) {
      throw new RangeError(`Cannot list dead letters: max must be a positive integer, got ${max}`);
    }
    const topic = DLQ_TOPIC_PREFIX + group;
    let offset: number;
    if (options.fromOffset !== undefined) {
      if (!Number.isSafeInteger(options.fromOffset) || options.fromOffset < 0) {
        throw new RangeError(
          `Cannot list dead letters: fromOffset must be a non-negative integer, got ${options.fromOffset}`,
        );
      }
      offset = options.fromOffset;
    } else {
      const min = await this.#client.request(
        RequestCode.GET_MIN_OFFSET,
        queueRequestHeader.encode({ topic, queueId: 0 }),
      );
      if (min.code === ResponseCode.TOPIC_NOT_EXIST) return [];
      if (min.code !== ResponseCode.SUCCESS) return this.#pull(topic, 0, 0, max);
      const decoded = offsetResponseHeader.decode(min.extFields);
      offset = decoded.ok ? decoded.header.offset : 0;
    }
    return await this.#pull(topic, 0, offset, max);
  }

  /**
   * Send a dead letter back for consumption: to its original topic (default)
   * or to `%RETRY%<group>`. The copy keeps body, tags, keys and msgId; the DLQ
   * entry stays where it is.
   *
   * @param group Consumer group whose DLQ holds the message.
   * @param which The message's queue offset in `%DLQ%<group>`, or its offset message id.
   * @param options Target topic.
   * @returns Where the copy was stored.
   * @throws {TypeError} On an invalid group or id.
   * @throws {MQClientError} If no such dead letter exists.
   * @throws {MQBrokerError} If the broker refuses.
   */
  async resendDlqMessage(
    group: string,
    which: number | string,
    options: ResendDlqOptions = {},
  ): Promise<ResendResult> {
    validateName("group", group, "resend dead letter");
    const dlq = DLQ_TOPIC_PREFIX + group;
    let message: ReceivedMessage | undefined;
    if (typeof which === "number") {
      if (!Number.isSafeInteger(which) || which < 0) {
        throw new RangeError(
          `Cannot resend dead letter: offset must be a non-negative integer, got ${which}`,
        );
      }
      message = (await this.#pull(dlq, 0, which, 1)).find((m) => m.queueOffset === which);
    } else {
      message = await this.viewMessage(which);
      if (message.storeTopic !== dlq) {
        throw new MQClientError(
          `Cannot resend dead letter: ${which} is a message of ${message.storeTopic}, not ${dlq}`,
        );
      }
    }
    if (message === undefined) {
      throw new MQClientError(
        `Cannot resend dead letter: ${dlq} has no message at offset ${which}`,
      );
    }
    const properties = message.properties;
    const origin = properties[MessageConst.DLQ_ORIGIN_TOPIC] ??
      properties[MessageConst.RETRY_TOPIC];
    if (origin === undefined || origin === "") {
      throw new MQClientError(`Cannot resend dead letter: ${which} has no DLQ_ORIGIN_TOPIC`);
    }
    const toRetry = options.target === "retry";
    for (
      const name of [
        MessageConst.DLQ_ORIGIN_TOPIC,
        MessageConst.DLQ_ORIGIN_MESSAGE_ID,
        MessageConst.DELAY_TIME_LEVEL,
        MessageConst.RECONSUME_TIME,
        MessageConst.MAX_RECONSUME_TIMES,
        MessageConst.WAIT_STORE_MSG_OK,
        MessageConst.CLUSTER,
      ]
    ) {
      delete properties[name];
    }
    if (toRetry) properties[MessageConst.RETRY_TOPIC] = origin;
    else delete properties[MessageConst.RETRY_TOPIC];
    const topic = toRetry ? RETRY_TOPIC_PREFIX + group : origin;
    const send = () =>
      this.#client.invoke(
        RequestCode.SEND_MESSAGE_V2,
        sendMessageRequestHeaderV2.encode({
          producerGroup: TOOLS_PRODUCER_GROUP,
          topic,
          defaultTopic: DEFAULT_TOPIC,
          defaultTopicQueueNums: DEFAULT_TOPIC_QUEUE_NUMS,
          queueId: -1,
          sysFlag: 0,
          bornTimestamp: message.bornTimestamp,
          flag: message.flag,
          properties: encodeProperties(properties),
          reconsumeTimes: 0,
          unitMode: false,
          batch: false,
        }),
        message.body,
      );
    let response;
    try {
      response = await send();
    } catch (error) {
      // The retry topic exists only after the group's first retry: create it as the broker would.
      if (
        !toRetry || !(error instanceof MQBrokerError) || error.code !== ResponseCode.TOPIC_NOT_EXIST
      ) {
        throw error;
      }
      await this.createTopic(topic, { readQueueNums: 1, writeQueueNums: 1 });
      response = await send();
    }
    const header = sendMessageResponseHeader.decode(response.extFields);
    if (!header.ok) throw new MQClientError(`Bad send response: ${header.error}`);
    return {
      topic,
      queueId: header.header.queueId,
      queueOffset: header.header.queueOffset,
      msgId: message.msgId,
      offsetMsgId: header.header.msgId,
    };
  }

  async #pull(
    topic: string,
    queueId: number,
    fromOffset: number,
    max: number,
    subscription?: SubscriptionExpression,
  ): Promise<ReceivedMessage[]> {
    const out: ReceivedMessage[] = [];
    let offset = fromOffset;
    while (out.length < max) {
      const response = await this.#client.request(
        RequestCode.PULL_MESSAGE,
        pullMessageRequestHeader.encode({
          consumerGroup: TOOLS_CONSUMER_GROUP,
          topic,
          queueId,
          queueOffset: offset,
          maxMsgNums: Math.min(max - out.length, 32),
          sysFlag: subscription === undefined ? 0 : PullSysFlag.SUBSCRIPTION,
          commitOffset: 0,
          suspendTimeoutMillis: 0,
          subscription: subscription?.expression,
          expressionType: subscription?.type,
          subVersion: 0,
        }),
      );
      if (response.code === ResponseCode.TOPIC_NOT_EXIST) return out;
      if (response.code !== ResponseCode.SUCCESS) {
        const moved = pullMessageResponseHeader.decode(response.extFields);
        // Offset below the queue's minimum, or a window the filter matched nothing in:
        // continue from where the broker says to.
        if (
          (response.code === ResponseCode.PULL_OFFSET_MOVED ||
            response.code === ResponseCode.PULL_RETRY_IMMEDIATELY) &&
          moved.ok && moved.header.nextBeginOffset > offset
        ) {
          offset = moved.header.nextBeginOffset;
          continue;
        }
        if (
          response.code === ResponseCode.PULL_NOT_FOUND ||
          response.code === ResponseCode.PULL_OFFSET_MOVED ||
          response.code === ResponseCode.PULL_RETRY_IMMEDIATELY
        ) {
          return out;
        }
        throw new MQBrokerError(response.code, response.remark, RequestCode.PULL_MESSAGE);
      }
      const header = pullMessageResponseHeader.decode(response.extFields);
      if (!header.ok) throw new MQClientError(`Bad pull response: ${header.error}`);
      let records;
      try {
        records = decodeRecords(response.body ?? new Uint8Array());
      } catch (error) {
        throw new MQClientError(`Bad pull body from ${topic}`, { cause: error });
      }
      for (const record of records) {
        if (out.length < max) out.push(new ReceivedMessage(record, ""));
      }
      if (header.header.nextBeginOffset <= offset || records.length === 0) return out;
      offset = header.header.nextBeginOffset;
    }
    return out;
  }

  /**
   * Messages of a topic whose key (a `KEYS` element) or unique id equals
   * `key`, newest first, found through the broker's index (QUERY_MESSAGE).
   *
   * @param topic Topic to search.
   * @param key The key, or the unique message id with `uniqueKey: true`.
   * @param options Window, count and key kind.
   * @returns The messages found; empty when none match.
   * @throws {MQBrokerError} If the broker refuses the query.
   */
  async queryMessages(
    topic: string,
    key: string,
    options: QueryMessagesOptions = {},
  ): Promise<ReceivedMessage[]> {
    let response;
    try {
      response = await this.#client.invoke(
        RequestCode.QUERY_MESSAGE,
        queryMessageRequestHeader.encode({
          topic,
          key,
          maxNum: options.maxCount ?? 32,
          beginTimestamp: options.beginTimestampMs ?? 0,
          endTimestamp: options.endTimestampMs ?? Date.now(),
          uniqueKeyQuery: options.uniqueKey === true ? true : undefined,
        }),
      );
    } catch (error) {
      if (error instanceof MQBrokerError && error.code === ResponseCode.QUERY_NOT_FOUND) return [];
      throw error;
    }
    let records;
    try {
      records = decodeRecords(response.body ?? new Uint8Array());
    } catch (error) {
      throw new MQClientError(`Bad message body for query ${topic}#${key}`, { cause: error });
    }
    return records.map((record) => new ReceivedMessage(record, ""));
  }

  /**
   * "Where is my message?": find messages by offset message id, unique
   * message id or key, in one topic or (when `topic` is omitted) in every
   * topic of the broker.
   *
   * @param idOrKey An offset message id, a unique message id (`msgId`) or a key.
   * @param topic Limit the search to this topic.
   * @returns Every match, deduplicated by CommitLog offset.
   * @throws {MQBrokerError} If the broker refuses a query.
   */
  async findMessages(idOrKey: string, topic?: string): Promise<ReceivedMessage[]> {
    const found = new Map<number, ReceivedMessage>();
    if (/^[0-9A-F]{32}$|^[0-9A-F]{56}$/.test(idOrKey)) {
      // It may be an offset message id: store host + CommitLog offset.
      try {
        const message = await this.viewMessage(idOrKey);
        if (topic === undefined || message.topic === topic) {
          found.set(message.commitLogOffset, message);
        }
      } catch {
        // Not an offset id of this broker (it may be a unique id); the queries below decide.
      }
    }
    const topics = topic !== undefined
      ? [topic]
      : (await this.listTopics()).map((t) => t.topicName).filter((name) => !isSystemTopic(name));
    for (const name of topics) {
      for (const uniqueKey of [true, false]) {
        for (const message of await this.queryMessages(name, idOrKey, { uniqueKey })) {
          found.set(message.commitLogOffset, message);
        }
      }
    }
    return [...found.values()].sort((a, b) => b.storeTimestamp - a.storeTimestamp);
  }

  /** Close the connection. Idempotent. */
  async close(): Promise<void> {
    await this.#client.close();
  }

  /** Same as {@linkcode Admin.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #offset(code: number, fields: Record<string, string>): Promise<number> {
    const response = await this.#client.invoke(code, fields);
    const decoded = offsetResponseHeader.decode(response.extFields);
    if (!decoded.ok) throw new MQClientError(`Bad offset response: ${decoded.error}`);
    return decoded.header.offset;
  }
}

/**
 * Create an admin client connected to a broker.
 *
 * @param options Endpoint and timeout.
 * @returns A connected admin client; close it with `await using` or `close()`.
 * @throws {TypeError} On an invalid endpoint.
 * @throws {MQConnectionClosedError} If the broker cannot be reached.
 */
export async function createAdmin(options: AdminOptions): Promise<Admin> {
  const admin = new Admin(options);
  try {
    await admin.start();
  } catch (error) {
    await admin.close();
    throw error;
  }
  return admin;
}

/** Topics the broker keeps for itself (timers, transactions, routing helpers). */
function isSystemTopic(name: string): boolean {
  return name.startsWith("rmq_sys_") || name.startsWith("RMQ_SYS_") || name === "TBW102" ||
    name === "SCHEDULE_TOPIC_XXXX" || name === "TRANS_CHECK_MAX_TIME_TOPIC";
}
