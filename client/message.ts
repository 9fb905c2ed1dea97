/**
 * Messages as the client sees them: what a producer sends, what a consumer
 * receives, and the message queue that names where a message lives.
 *
 * @module
 */

import {
  decodeProperties,
  encodeProperties,
  getProperty,
  MessageConst,
} from "./protocol/properties.ts";
import type { MessageRecord } from "./protocol/message_record.ts";
import { createOffsetMessageId } from "./protocol/message_id.ts";

/** Largest message body, bytes (RocketMQ `maxMessageSize`, 4 MiB). */
export const MESSAGE_BODY_BYTES_MAX = 4 * 1024 * 1024;
/** Longest topic name, characters. */
export const TOPIC_CHARS_MAX = 127;
/** Longest group name, characters. */
export const GROUP_CHARS_MAX = 120;
/** Longest encoded properties string, bytes (stored as a signed 16-bit length). */
export const PROPERTIES_BYTES_MAX = 32_767;

const NAME_PATTERN = /^[A-Za-z0-9_%|-]+$/;
const SYSTEM_PROPERTY_NAMES: ReadonlySet<string> = new Set(Object.values(MessageConst));

/** A message queue: one queue of a topic on one broker. */
export interface MessageQueue {
  /** Topic name. */
  readonly topic: string;
  /** Broker name. */
  readonly brokerName: string;
  /** Queue id within the topic on that broker. */
  readonly queueId: number;
}

/** A message to send. */
export interface Message {
  /** Topic name: `[A-Za-z0-9_%|-]`, at most 127 characters. */
  readonly topic: string;
  /** Body bytes, or a string sent as UTF-8. At most 4 MiB. */
  readonly body: Uint8Array | string;
  /** One tag, used for broker-side filtering. */
  readonly tags?: string;
  /** Business keys, indexed by the broker (an array, or one space-separated string). */
  readonly keys?: readonly string[] | string;
  /** User properties; names must not be RocketMQ system property names. */
  readonly properties?: Readonly<Record<string, string>>;
  /**
   * Deliver at this time (a `Date` or epoch ms; property `TIMER_DELIVER_MS`).
   * Must not be in the past. At most one of `deliverAt`, `delayMs`, `delayLevel`.
   */
  readonly deliverAt?: Date | number;
  /** Deliver this many ms after the broker stores it (property `TIMER_DELAY_MS`); a positive integer. */
  readonly delayMs?: number;
  /** RocketMQ 4 delay level 1..18 (1 s ... 2 h; property `DELAY`). */
  readonly delayLevel?: number;
  /**
   * FIFO message group (property `__SHARDINGKEY`): messages of one group go to
   * one queue, in send order. Cannot be combined with a delivery time.
   */
  readonly messageGroup?: string;
}

/** Highest RocketMQ 4 delay level (2 h). */
export const DELAY_LEVEL_MAX = 18;
/** Longest message group, characters. */
export const MESSAGE_GROUP_CHARS_MAX = 128;

/** Prefix of a consumer group's retry topic. */
export const RETRY_TOPIC_PREFIX = "%RETRY%";
/** Prefix of a consumer group's dead-letter topic. */
export const DLQ_TOPIC_PREFIX = "%DLQ%";

/**
 * The system properties a message's type options (`deliverAt`, `delayMs`,
 * `delayLevel`, `messageGroup`) translate to.
 *
 * @param message The message.
 * @param nowMs Epoch ms now, to reject past delivery times.
 * @returns Property names to values (empty for a normal message).
 * @throws {TypeError} If more than one delivery option is set, or a group is combined with one.
 * @throws {RangeError} On a past, NaN or out-of-range time, delay, level or group.
 */
export function messageTypeProperties(message: Message, nowMs: number): Record<string, string> {
  const out: Record<string, string> = {};
  const set = ["deliverAt", "delayMs", "delayLevel"].filter((k) =>
    (message as unknown as Record<string, unknown>)[k] !== undefined
  );
  if (set.length > 1) {
    throw new TypeError(`Cannot send message: set only one of ${set.join(", ")}`);
  }
  if (message.deliverAt !== undefined) {
    const at = message.deliverAt instanceof Date ? message.deliverAt.getTime() : message.deliverAt;
    if (typeof at !== "number" || !Number.isSafeInteger(at)) {
      throw new RangeError(`Cannot send message: deliverAt is not a valid time, got ${String(at)}`);
    }
    if (at < nowMs) {
      throw new RangeError(
        `Cannot send message: deliverAt ${new Date(at).toISOString()} is in the past`,
      );
    }
    out[MessageConst.TIMER_DELIVER_MS] = String(at);
  }
  if (message.delayMs !== undefined) {
    const delay = message.delayMs;
    if (typeof delay !== "number" || !Number.isSafeInteger(delay) || delay <= 0) {
      throw new RangeError(
        `Cannot send message: delayMs must be a positive integer, got ${String(delay)}`,
      );
    }
    out[MessageConst.TIMER_DELAY_MS] = String(delay);
  }
  if (message.delayLevel !== undefined) {
    const level = message.delayLevel;
    if (!Number.isInteger(level) || level < 1 || level > DELAY_LEVEL_MAX) {
      throw new RangeError(
        `Cannot send message: delayLevel must be an integer from 1 to ${DELAY_LEVEL_MAX}, got ${level}`,
      );
    }
    out[MessageConst.DELAY_TIME_LEVEL] = String(level);
  }
  if (message.messageGroup !== undefined) {
    const group = message.messageGroup;
    if (typeof group !== "string" || group.length === 0) {
      throw new TypeError("Cannot send message: messageGroup is empty");
    }
    if (group.length > MESSAGE_GROUP_CHARS_MAX) {
      throw new RangeError(
        `Cannot send message: messageGroup is ${group.length} characters, limit is ${MESSAGE_GROUP_CHARS_MAX}`,
      );
    }
    if (set.length > 0) {
      throw new TypeError(
        `Cannot send message: messageGroup cannot be combined with ${
          set[0]
        } (a delayed message would break the group's order)`,
      );
    }
    out[MessageConst.SHARDING_KEY] = group;
  }
  return out;
}

/**
 * Check a topic or group name at a boundary.
 *
 * @param kind `topic` or `group`, for the message.
 * @param name The name.
 * @param action What the caller was doing, e.g. `send message`.
 * @throws {TypeError} If the name is empty or has characters outside `[A-Za-z0-9_%|-]`.
 * @throws {RangeError} If the name is too long.
 */
export function validateName(kind: "topic" | "group", name: string, action: string): void {
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError(`Cannot ${action}: ${kind} name is empty`);
  }
  const max = kind === "topic" ? TOPIC_CHARS_MAX : GROUP_CHARS_MAX;
  if (name.length > max) {
    throw new RangeError(
      `Cannot ${action}: ${kind} name is ${name.length} characters, limit is ${max}`,
    );
  }
  if (!NAME_PATTERN.test(name)) {
    throw new TypeError(
      `Cannot ${action}: ${kind} name "${name}" has characters outside [A-Za-z0-9_%|-]`,
    );
  }
}

const textEncoder = new TextEncoder();

/** A message validated and encoded for the wire. */
export interface EncodedMessage {
  /** Topic. */
  readonly topic: string;
  /** Body bytes. */
  readonly body: Uint8Array;
  /** Encoded properties string, including UNIQ_KEY. */
  readonly properties: string;
  /** The UNIQ_KEY assigned. */
  readonly uniqueId: string;
}

/**
 * Validate a message and encode its properties.
 *
 * @param message The message.
 * @param uniqueId The UNIQ_KEY to set.
 * @param bodyBytesMax Body size limit, bytes.
 * @returns The encoded message.
 * @throws {TypeError} On a bad topic, an empty body, a reserved or malformed
 *   property, or conflicting delivery options.
 * @throws {RangeError} On an oversize body, topic or properties, or a bad
 *   delivery time, delay, level or message group.
 */
export function encodeMessage(
  message: Message,
  uniqueId: string,
  bodyBytesMax: number = MESSAGE_BODY_BYTES_MAX,
): EncodedMessage {
  if (typeof message !== "object" || message === null) {
    throw new TypeError("Cannot send message: message is not an object");
  }
  validateName("topic", message.topic, "send message");
  const body = typeof message.body === "string" ? textEncoder.encode(message.body) : message.body;
  if (!(body instanceof Uint8Array)) {
    throw new TypeError("Cannot send message: body is not a Uint8Array or string");
  }
  if (body.length === 0) throw new TypeError("Cannot send message: body is empty");
  if (body.length > bodyBytesMax) {
    throw new RangeError(
      `Cannot send message: body is ${body.length} bytes, limit is ${bodyBytesMax}`,
    );
  }
  let properties = "";
  if (message.properties !== undefined) {
    for (const name of Object.keys(message.properties)) {
      if (SYSTEM_PROPERTY_NAMES.has(name)) {
        throw new TypeError(
          `Cannot send message: property "${name}" is reserved for the system`,
        );
      }
    }
    properties = encodeProperties(message.properties);
  }
  const keys = typeof message.keys === "string" ? message.keys : message.keys?.join(" ");
  const system: Record<string, string | undefined> = {
    [MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX]: uniqueId,
    [MessageConst.KEYS]: keys === "" ? undefined : keys,
    [MessageConst.TAGS]: message.tags === "" ? undefined : message.tags,
    ...messageTypeProperties(message, Date.now()),
  };
  properties += encodeProperties(system);
  const propertiesBytes = textEncoder.encode(properties).length;
  if (propertiesBytes > PROPERTIES_BYTES_MAX) {
    throw new RangeError(
      `Cannot send message: properties are ${propertiesBytes} bytes, limit is ${PROPERTIES_BYTES_MAX}`,
    );
  }
  return { topic: message.topic, body, properties, uniqueId };
}

/**
 * Encode a SEND_BATCH_MESSAGE body: per message TOTALSIZE, MAGICCODE (0),
 * BODYCRC (0), FLAG, BODYLEN, BODY, PROPLEN (i16), PROPERTIES.
 *
 * @param messages Encoded messages.
 * @returns The body.
 */
export function encodeBatchBody(messages: readonly EncodedMessage[]): Uint8Array {
  const props = messages.map((m) => textEncoder.encode(m.properties));
  let size = 0;
  for (let i = 0; i < messages.length; i++) {
    size += 20 + messages[i].body.length + 2 + props[i].length;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (let i = 0; i < messages.length; i++) {
    const body = messages[i].body;
    const total = 20 + body.length + 2 + props[i].length;
    view.setInt32(at, total);
    view.setInt32(at + 4, 0);
    view.setInt32(at + 8, 0);
    view.setInt32(at + 12, 0);
    view.setInt32(at + 16, body.length);
    out.set(body, at + 20);
    view.setInt16(at + 20 + body.length, props[i].length);
    out.set(props[i], at + 22 + body.length);
    at += total;
  }
  return out;
}

/** Options of the {@linkcode ReceivedMessage} constructor. */
export interface ReceivedMessageOptions {
  /** Override the record's reconsume times (local retries of an orderly consumer). */
  readonly reconsumeTimes?: number;
}

/**
 * A message received by a consumer or read by id.
 *
 * A message read from a retry topic (`%RETRY%<group>`) reports its original
 * topic (property `RETRY_TOPIC`) as `topic`; `storeTopic` names the topic it
 * was read from. Properties are decoded on first access.
 */
export class ReceivedMessage {
  /** Topic: the original topic for a message redelivered through a retry topic. */
  readonly topic: string;
  /** The topic the message was read from (`%RETRY%<group>` for a redelivery). */
  readonly storeTopic: string;
  /** Body bytes (a view; copy to keep beyond the message's life if needed). */
  readonly body: Uint8Array;
  /** Broker name the message was read from. */
  readonly brokerName: string;
  /** Queue id. */
  readonly queueId: number;
  /** Queue offset within the queue. */
  readonly queueOffset: number;
  /** CommitLog offset (bytes). */
  readonly commitLogOffset: number;
  /** Epoch ms when the producer created the message. */
  readonly bornTimestamp: number;
  /** Epoch ms when the broker stored the message. */
  readonly storeTimestamp: number;
  /** Times the message was consumed and given back before this delivery (0 on the first). */
  readonly reconsumeTimes: number;
  /** The message's opaque int flag. */
  readonly flag: number;
  readonly #record: MessageRecord;
  #properties: Map<string, string> | undefined;

  /**
   * Wrap a decoded record.
   *
   * @param record The decoded record.
   * @param brokerName The broker it came from.
   * @param options Overrides (reconsume times).
   */
  constructor(record: MessageRecord, brokerName: string, options?: ReceivedMessageOptions) {
    this.#record = record;
    this.storeTopic = record.topic;
    this.topic = record.topic.startsWith(RETRY_TOPIC_PREFIX)
      ? getProperty(record.properties, MessageConst.RETRY_TOPIC) ?? record.topic
      : record.topic;
    this.body = record.body;
    this.brokerName = brokerName;
    this.queueId = record.queueId;
    this.queueOffset = record.queueOffset;
    this.commitLogOffset = record.commitLogOffset;
    this.bornTimestamp = record.bornTimestamp;
    this.storeTimestamp = record.storeTimestamp;
    this.reconsumeTimes = options?.reconsumeTimes ?? record.reconsumeTimes;
    this.flag = record.flag;
  }

  /** The FIFO message group (`__SHARDINGKEY`), if any. */
  get messageGroup(): string | undefined {
    return this.#props().get(MessageConst.SHARDING_KEY);
  }

  #props(): Map<string, string> {
    return this.#properties ??= decodeProperties(this.#record.properties);
  }

  /** The unique message id (UNIQ_KEY), or the offset id when the message has none. */
  get msgId(): string {
    return this.#props().get(MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX) ?? this.offsetMsgId;
  }

  /** The offset message id (store host + CommitLog offset). */
  get offsetMsgId(): string {
    return createOffsetMessageId(this.#record.storeHost, this.#record.commitLogOffset);
  }

  /** The tag, if any. */
  get tags(): string | undefined {
    return this.#props().get(MessageConst.TAGS);
  }

  /** The business keys. */
  get keys(): string[] {
    const keys = this.#props().get(MessageConst.KEYS);
    return keys === undefined ? [] : keys.split(" ").filter((k) => k.length > 0);
  }

  /** All properties, system ones included. */
  get properties(): Record<string, string> {
    return Object.fromEntries(this.#props());
  }

  /** The body decoded as UTF-8. */
  text(): string {
    return new TextDecoder().decode(this.body);
  }
}
