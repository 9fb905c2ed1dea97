/**
 * Consumer send-back: a failed message goes to the group's retry topic with
 * a growing delay, or to its dead-letter topic after too many attempts
 * (RocketMQ `consumerSendMsgBack`, spec §7.4).
 *
 * @module
 */

import { decodeRecord, MessageSysFlag } from "../../../client/protocol/message_record.ts";
import {
  decodeProperties,
  encodeProperties,
  MessageConst,
} from "../../../client/protocol/properties.ts";
import type { MessageStore, MessageToPut, PutMessageResult } from "../../../store/mod.ts";
import { transformTimerMessage } from "../timer/timer_transform.ts";
import {
  createTopicConfig,
  DLQ_TOPIC_PREFIX,
  PERM_READ_WRITE,
  RETRY_TOPIC_PREFIX,
  type TopicConfig,
} from "../topic_config.ts";

/** Default attempts before a message goes to the dead-letter topic (`retryMaxTimes`). */
export const RETRY_MAX_TIMES_DEFAULT = 16;
/** Queues of an auto-created `%RETRY%<group>` topic (`retryQueueNums`). */
export const RETRY_QUEUE_NUMS = 1;
/** Queues of an auto-created `%DLQ%<group>` topic. */
export const DLQ_QUEUE_NUMS = 1;
/** The broker's first retry delay level: level = this + reconsumeTimes (3 = 10 s). */
export const RETRY_DELAY_LEVEL_BASE = 3;
/** Highest delay level (2 h); higher levels are clamped. */
export const DELAY_LEVEL_MAX = 18;

/**
 * The retry topic of a consumer group.
 *
 * @param group Consumer group.
 * @returns `%RETRY%<group>`.
 */
export function retryTopicOf(group: string): string {
  return RETRY_TOPIC_PREFIX + group;
}

/**
 * The dead-letter topic of a consumer group.
 *
 * @param group Consumer group.
 * @returns `%DLQ%<group>`.
 */
export function dlqTopicOf(group: string): string {
  return DLQ_TOPIC_PREFIX + group;
}

/** Stores one message; the composition root decides whether delays are honoured. */
export type PutPort = (message: MessageToPut) => Promise<PutMessageResult>;

/** The part of the topic table send-back needs (the broker's `TopicTable` satisfies it). */
export interface RetryTopicTable {
  /** A topic's config, undefined when absent. */
  get(topic: string): TopicConfig | undefined;
  /** Create or replace a topic and persist the table. */
  put(config: TopicConfig): Promise<void>;
}

/** One CONSUMER_SEND_MSG_BACK request, decoded. */
export interface SendBackRequest {
  /** CommitLog offset of the failed message. */
  readonly commitLogOffset: number;
  /** Consumer group. */
  readonly group: string;
  /** 0 = broker decides (3 + reconsumeTimes), > 0 = this level, < 0 = straight to the DLQ. */
  readonly delayLevel: number;
  /** The original message id the client saw (used when the stored message has none). */
  readonly originMsgId?: string;
  /** Attempts allowed for this message; overrides the group setting when given and >= 0. */
  readonly maxReconsumeTimes?: number;
}

/** Outcome of {@linkcode SendBackService.sendBack}. */
export type SendBackResult =
  | {
    readonly status: "PUT_OK";
    /** Where the message went. */
    readonly target: "RETRY" | "DLQ";
    /** The topic written (`%RETRY%g` or `%DLQ%g`). */
    readonly topic: string;
    /** Delay level applied (0 for the DLQ). */
    readonly delayLevel: number;
    /** The new message's reconsume times. */
    readonly reconsumeTimes: number;
    /** CommitLog offset of the stored copy (of the timer record when delayed). */
    readonly commitLogOffset: number;
  }
  | { readonly status: "MESSAGE_NOT_FOUND"; readonly remark: string }
  | { readonly status: "PUT_FAILED"; readonly remark: string };

/** Options of a {@linkcode SendBackService}. */
export interface SendBackServiceOptions {
  /** Reads the failed message by CommitLog offset. */
  readonly store: Pick<MessageStore, "lookMessageByOffset">;
  /** Stores the new message. Use {@linkcode createTimerAwarePut} so `DELAY` is honoured. */
  readonly put: PutPort;
  /** The broker's topic table (retry and DLQ topics are created in it on demand). */
  readonly topics: RetryTopicTable;
  /** Per-group attempts before the DLQ (`retryMaxTimes`), undefined = the default. */
  readonly groupRetryMaxTimes?: (group: string) => number | undefined;
  /** Attempts before the DLQ when the group has no setting. Default {@linkcode RETRY_MAX_TIMES_DEFAULT}. */
  readonly retryMaxTimesDefault?: number;
}

/**
 * Builds a put that applies the timer transform first (so a `DELAY` level
 * schedules the message through the timer topic instead of storing it
 * visible at once).
 *
 * @param put The store's put.
 * @param nowMs Broker clock, epoch ms.
 * @returns The delay-aware put.
 */
export function createTimerAwarePut(
  put: PutPort,
  nowMs: () => number,
): PutPort {
  return (message) => {
    const transformed = transformTimerMessage(message, nowMs());
    switch (transformed.kind) {
      case "normal":
        return put(message);
      case "scheduled":
        return put(transformed.message);
      case "illegal":
        return Promise.resolve({ status: "MESSAGE_ILLEGAL", remark: transformed.remark });
    }
  };
}

/** Properties of the old message that must not travel with the new one. */
const STALE_PROPERTIES: readonly string[] = [
  MessageConst.DELAY_TIME_LEVEL,
  MessageConst.TIMER_DELIVER_MS,
  MessageConst.TIMER_DELAY_MS,
  MessageConst.TIMER_DELAY_SEC,
  MessageConst.TIMER_OUT_MS,
  MessageConst.TIMER_ROLL_TIMES,
  MessageConst.REAL_TOPIC,
  MessageConst.REAL_QUEUE_ID,
];

/**
 * Handles a consumer's "this message failed": loads the message by its
 * CommitLog offset and stores a copy in `%RETRY%<group>` (1 queue, created on
 * demand) with `RETRY_TOPIC` = the original topic, `ORIGIN_MESSAGE_ID` kept,
 * reconsume times + 1 and `DELAY` = the requested level or 3 + reconsume
 * times (10 s, 30 s, 1 min, ... 2 h). When the message has already been
 * consumed `maxReconsumeTimes` times, or the level is negative, the copy goes
 * to `%DLQ%<group>` instead (created on demand, no delay) with
 * `DLQ_ORIGIN_TOPIC` and `DLQ_ORIGIN_MESSAGE_ID`. Body, flag, tags, keys,
 * UNIQ_KEY and born time/host are kept, so the consumer sees the same msgId.
 *
 * Lives on the broker's main thread; depends on the store (read), a put port
 * and the topic table.
 */
export class SendBackService {
  readonly #store: Pick<MessageStore, "lookMessageByOffset">;
  readonly #put: PutPort;
  readonly #topics: RetryTopicTable;
  readonly #groupRetryMaxTimes: (group: string) => number | undefined;
  readonly #retryMaxTimesDefault: number;
  readonly #creating = new Map<string, Promise<void>>();

  /**
   * @param options Store, put port, topic table and retry limits.
   * @throws {RangeError} If `retryMaxTimesDefault` is negative or not an integer.
   */
  constructor(options: SendBackServiceOptions) {
    this.#store = options.store;
    this.#put = options.put;
    this.#topics = options.topics;
    this.#groupRetryMaxTimes = options.groupRetryMaxTimes ?? (() => undefined);
    this.#retryMaxTimesDefault = options.retryMaxTimesDefault ?? RETRY_MAX_TIMES_DEFAULT;
    if (!Number.isInteger(this.#retryMaxTimesDefault) || this.#retryMaxTimesDefault < 0) {
      throw new RangeError(
        `Cannot create send-back service: retryMaxTimesDefault must be a non-negative integer, got ${this.#retryMaxTimesDefault}`,
      );
    }
  }

  /**
   * Send a failed message back for retry or to the dead-letter topic.
   *
   * @param request The decoded request.
   * @returns Where the copy went, or why it could not be stored.
   */
  async sendBack(request: SendBackRequest): Promise<SendBackResult> {
    const stored = await this.#store.lookMessageByOffset(request.commitLogOffset);
    if (stored === undefined) {
      return {
        status: "MESSAGE_NOT_FOUND",
        remark:
          `Cannot send message back: no message at CommitLog offset ${request.commitLogOffset}`,
      };
    }
    const record = decodeRecord(stored.record);
    const properties = decodeProperties(record.properties);
    const originTopic = properties.get(MessageConst.RETRY_TOPIC) ?? record.topic;
    const originMsgId = properties.get(MessageConst.ORIGIN_MESSAGE_ID) ??
      properties.get(MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX) ?? request.originMsgId ?? "";
    const maxReconsumeTimes = request.maxReconsumeTimes !== undefined &&
        request.maxReconsumeTimes >= 0
      ? request.maxReconsumeTimes
      : this.#groupRetryMaxTimes(request.group) ?? this.#retryMaxTimesDefault;
    const toDlq = request.delayLevel < 0 || record.reconsumeTimes >= maxReconsumeTimes;
    for (const name of STALE_PROPERTIES) properties.delete(name);
    if (!properties.has(MessageConst.RETRY_TOPIC)) {
      properties.set(MessageConst.RETRY_TOPIC, originTopic);
    }
    if (originMsgId !== "") properties.set(MessageConst.ORIGIN_MESSAGE_ID, originMsgId);
    properties.set(MessageConst.WAIT_STORE_MSG_OK, "false");
    let topic: string;
    let delayLevel = 0;
    if (toDlq) {
      topic = dlqTopicOf(request.group);
      properties.set(MessageConst.DLQ_ORIGIN_TOPIC, originTopic);
      if (originMsgId !== "") properties.set(MessageConst.DLQ_ORIGIN_MESSAGE_ID, originMsgId);
    } else {
      topic = retryTopicOf(request.group);
      delayLevel = Math.min(
        request.delayLevel === 0
          ? RETRY_DELAY_LEVEL_BASE + record.reconsumeTimes
          : request.delayLevel,
        DELAY_LEVEL_MAX,
      );
      properties.set(MessageConst.DELAY_TIME_LEVEL, String(delayLevel));
    }
    await this.#ensureTopic(topic, toDlq ? DLQ_QUEUE_NUMS : RETRY_QUEUE_NUMS);
    const config = this.#topics.get(topic);
    const queueNums = Math.max(1, config?.writeQueueNums ?? 1);
    const reconsumeTimes = record.reconsumeTimes + 1;
    const message: MessageToPut = {
      topic,
      queueId: Math.floor(Math.random() * queueNums),
      flag: record.flag,
      body: record.body.slice(),
      properties: encodeProperties(properties),
      sysFlag: record.sysFlag & ~(MessageSysFlag.BORNHOST_V6 | MessageSysFlag.STOREHOST_V6),
      bornTimestamp: record.bornTimestamp,
      bornHost: { ip: record.bornHost.ip.slice(), port: record.bornHost.port },
      reconsumeTimes,
      preparedTransactionOffset: 0,
    };
    const result = await this.#put(message);
    if ("remark" in result) {
      return {
        status: "PUT_FAILED",
        remark: `Cannot send message back to ${topic}: ${result.status}: ${result.remark}`,
      };
    }
    return {
      status: "PUT_OK",
      target: toDlq ? "DLQ" : "RETRY",
      topic,
      delayLevel,
      reconsumeTimes,
      commitLogOffset: result.commitLogOffset,
    };
  }

  /** Create a retry or DLQ topic (R+W) once; concurrent callers share the creation. */
  async #ensureTopic(topic: string, queueNums: number): Promise<void> {
    if (this.#topics.get(topic) !== undefined) return;
    let creating = this.#creating.get(topic);
    if (creating === undefined) {
      creating = this.#topics.put(createTopicConfig(topic, {
        readQueueNums: queueNums,
        writeQueueNums: queueNums,
        perm: PERM_READ_WRITE,
      })).finally(() => this.#creating.delete(topic));
      this.#creating.set(topic, creating);
    }
    await creating;
  }
}
