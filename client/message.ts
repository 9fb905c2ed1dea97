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
import {
  checkRecord,
  getInt64,
  MAGIC_V1,
  MAGIC_V2,
  type MessageRecord,
  MessageSysFlag,
  type RecordHost,
  recordSize,
  storeTimestampPos,
} from "./protocol/message_record.ts";
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
  /** UTF-8 length of `properties`, bytes, when known (set by {@linkcode encodeMessage}). */
  readonly propertiesBytes?: number;
}

/**
 * UTF-8 length of a string, bytes, without encoding it.
 *
 * @param text Any string (lone surrogates count as 3 bytes, as TextEncoder writes U+FFFD).
 * @returns The number of bytes `TextEncoder` would produce.
 */
export function utf8ByteLength(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        // A surrogate pair: 2 code units, 4 bytes.
        bytes += 2;
        i++;
        continue;
      }
      bytes += 2;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

function appendSystemProperty(out: string, name: string, value: string | undefined): string {
  if (value === undefined || value === "") return out;
  if (value.includes(NAME_VALUE) || value.includes(PAIR_END)) {
    throw new TypeError(
      `Cannot encode properties: property "${name}" contains a reserved separator (\\x01 or \\x02)`,
    );
  }
  return out + name + NAME_VALUE + value + PAIR_END;
}

const NAME_VALUE = "\u0001";
const PAIR_END = "\u0002";

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
  // System properties in a fixed order: UNIQ_KEY, KEYS, TAGS, then the type properties.
  const keys = typeof message.keys === "string" ? message.keys : message.keys?.join(" ");
  properties = appendSystemProperty(
    properties,
    MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
    uniqueId,
  );
  properties = appendSystemProperty(properties, MessageConst.KEYS, keys);
  properties = appendSystemProperty(properties, MessageConst.TAGS, message.tags);
  if (
    message.deliverAt !== undefined || message.delayMs !== undefined ||
    message.delayLevel !== undefined || message.messageGroup !== undefined
  ) {
    properties += encodeProperties(messageTypeProperties(message, Date.now()));
  }
  const propertiesBytes = utf8ByteLength(properties);
  if (propertiesBytes > PROPERTIES_BYTES_MAX) {
    throw new RangeError(
      `Cannot send message: properties are ${propertiesBytes} bytes, limit is ${PROPERTIES_BYTES_MAX}`,
    );
  }
  return { topic: message.topic, body, properties, uniqueId, propertiesBytes };
}

/** Fixed bytes of one batch mini record around its body and properties. */
const MINI_RECORD_OVERHEAD_BYTES = 4 + 4 + 4 + 4 + 4 + 2;

/**
 * Encode a SEND_BATCH_MESSAGE body (spec §2.11): per message TOTALSIZE,
 * MAGICCODE (0), BODYCRC (0), FLAG, BODYLEN, BODY, PROPLEN (i16), PROPERTIES.
 *
 * The properties are written straight into the body (`encodeInto`), never
 * through an intermediate byte array.
 *
 * @param messages Encoded messages.
 * @returns The body.
 * @throws {RangeError} If a message's properties exceed 32767 bytes.
 */
export function encodeBatchBody(messages: readonly EncodedMessage[]): Uint8Array {
  let size = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    size += MINI_RECORD_OVERHEAD_BYTES + m.body.length +
      (m.propertiesBytes ?? utf8ByteLength(m.properties));
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (let i = 0; i < messages.length; i++) {
    const { body, properties } = messages[i];
    // MAGICCODE, BODYCRC and FLAG stay 0 (the buffer is zeroed).
    view.setInt32(at + 16, body.length);
    out.set(body, at + 20);
    const propertiesAt = at + 22 + body.length;
    const written = properties.length === 0
      ? 0
      : textEncoder.encodeInto(properties, out.subarray(propertiesAt)).written;
    if (written > PROPERTIES_BYTES_MAX) {
      throw new RangeError(
        `Cannot encode batch: properties are ${written} bytes, limit is ${PROPERTIES_BYTES_MAX}`,
      );
    }
    view.setInt16(propertiesAt - 2, written);
    const total = MINI_RECORD_OVERHEAD_BYTES + body.length + written;
    view.setInt32(at, total);
    at += total;
  }
  if (at !== size) throw new Error(`encodeBatchBody wrote ${at} bytes, expected ${size}`);
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
 * was read from. Fields are read from the record on access and properties are
 * decoded on first access, so a message built by
 * {@linkcode decodeReceivedMessages} costs little until it is looked at.
 */
export class ReceivedMessage {
  /** Broker name the message was read from. */
  readonly brokerName: string;
  readonly #record: MessageRecord;
  readonly #reconsumeTimes: number | undefined;
  #topic: string | undefined;
  #properties: Map<string, string> | undefined;

  /**
   * Wrap a decoded record.
   *
   * @param record The decoded record (fields are read on access).
   * @param brokerName The broker it came from.
   * @param options Overrides (reconsume times).
   */
  constructor(record: MessageRecord, brokerName: string, options?: ReceivedMessageOptions) {
    this.#record = record;
    this.brokerName = brokerName;
    this.#reconsumeTimes = options?.reconsumeTimes;
  }

  /** Topic: the original topic for a message redelivered through a retry topic. */
  get topic(): string {
    if (this.#topic === undefined) {
      const stored = this.#record.topic;
      this.#topic = stored.startsWith(RETRY_TOPIC_PREFIX)
        ? getProperty(this.#record.properties, MessageConst.RETRY_TOPIC) ?? stored
        : stored;
    }
    return this.#topic;
  }

  /** The topic the message was read from (`%RETRY%<group>` for a redelivery). */
  get storeTopic(): string {
    return this.#record.topic;
  }

  /** Body bytes (a view; copy to keep beyond the message's life if needed). */
  get body(): Uint8Array {
    return this.#record.body;
  }

  /** Queue id. */
  get queueId(): number {
    return this.#record.queueId;
  }

  /** Queue offset within the queue. */
  get queueOffset(): number {
    return this.#record.queueOffset;
  }

  /** CommitLog offset (bytes). */
  get commitLogOffset(): number {
    return this.#record.commitLogOffset;
  }

  /** Epoch ms when the producer created the message. */
  get bornTimestamp(): number {
    return this.#record.bornTimestamp;
  }

  /** Epoch ms when the broker stored the message. */
  get storeTimestamp(): number {
    return this.#record.storeTimestamp;
  }

  /** Times the message was consumed and given back before this delivery (0 on the first). */
  get reconsumeTimes(): number {
    return this.#reconsumeTimes ?? this.#record.reconsumeTimes;
  }

  /** The message's opaque int flag. */
  get flag(): number {
    return this.#record.flag;
  }

  /**
   * The same message with another reconsume count (an orderly consumer's
   * local retry delivers it again in place).
   *
   * @param reconsumeTimes The new count.
   * @returns A new message over the same record.
   */
  withReconsumeTimes(reconsumeTimes: number): ReceivedMessage {
    return new ReceivedMessage(this.#record, this.brokerName, { reconsumeTimes });
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
    return textDecoder.decode(this.body);
  }
}

const textDecoder = new TextDecoder();
/** Smallest record (IPv4 hosts, empty body, topic and properties), bytes. */
const RECORD_BYTES_MIN = recordSize(0, 0, 0);

/**
 * A record read in place from a pull body: the fixed fields are read from
 * the bytes on access, body and properties are sliced or decoded once on
 * first access. The bytes must not change while the view is in use (pull
 * bodies are private copies).
 */
class RecordView implements MessageRecord {
  readonly topic: string;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #at: number;
  /** Position of BODYLENGTH. */
  readonly #bodyLengthAt: number;
  #body: Uint8Array | undefined;
  #properties: string | undefined;

  constructor(bytes: Uint8Array, view: DataView, at: number, bodyLengthAt: number, topic: string) {
    this.#bytes = bytes;
    this.#view = view;
    this.#at = at;
    this.#bodyLengthAt = bodyLengthAt;
    this.topic = topic;
  }

  get totalSize(): number {
    return this.#view.getInt32(this.#at);
  }
  get magic(): number {
    return this.#view.getInt32(this.#at + 4);
  }
  get bodyCrc(): number {
    return this.#view.getInt32(this.#at + 8);
  }
  get queueId(): number {
    return this.#view.getInt32(this.#at + 12);
  }
  get flag(): number {
    return this.#view.getInt32(this.#at + 16);
  }
  get queueOffset(): number {
    return getInt64(this.#view, this.#at + 20);
  }
  get commitLogOffset(): number {
    return getInt64(this.#view, this.#at + 28);
  }
  get sysFlag(): number {
    return this.#view.getInt32(this.#at + 36);
  }
  get bornTimestamp(): number {
    return getInt64(this.#view, this.#at + 40);
  }
  get bornHost(): RecordHost {
    const ipBytes = (this.sysFlag & MessageSysFlag.BORNHOST_V6) !== 0 ? 16 : 4;
    const p = this.#at + 48;
    return { ip: this.#bytes.slice(p, p + ipBytes), port: this.#view.getInt32(p + ipBytes) };
  }
  get storeTimestamp(): number {
    return getInt64(this.#view, this.#at + storeTimestampPos(this.sysFlag));
  }
  get storeHost(): RecordHost {
    const sysFlag = this.sysFlag;
    const ipBytes = (sysFlag & MessageSysFlag.STOREHOST_V6) !== 0 ? 16 : 4;
    const p = this.#at + storeTimestampPos(sysFlag) + 8;
    return { ip: this.#bytes.slice(p, p + ipBytes), port: this.#view.getInt32(p + ipBytes) };
  }
  get reconsumeTimes(): number {
    return this.#view.getInt32(this.#bodyLengthAt - 12);
  }
  get preparedTransactionOffset(): number {
    return getInt64(this.#view, this.#bodyLengthAt - 8);
  }
  get body(): Uint8Array {
    if (this.#body === undefined) {
      const start = this.#bodyLengthAt + 4;
      this.#body = this.#bytes.subarray(start, start + this.#view.getInt32(this.#bodyLengthAt));
    }
    return this.#body;
  }
  get properties(): string {
    if (this.#properties === undefined) {
      const at = this.#at;
      // The properties are the record's tail: PROPERTIESLENGTH (i16) + bytes, ending at TOTALSIZE.
      const end = at + this.#view.getInt32(at);
      const bodyEnd = this.#bodyLengthAt + 4 + this.#view.getInt32(this.#bodyLengthAt);
      const topicLengthBytes = this.#view.getInt32(at + 4) === MAGIC_V2 ? 2 : 1;
      const topicLength = topicLengthBytes === 2
        ? this.#view.getUint16(bodyEnd)
        : this.#view.getUint8(bodyEnd);
      const start = bodyEnd + topicLengthBytes + topicLength + 2;
      this.#properties = start < end ? textDecoder.decode(this.#bytes.subarray(start, end)) : "";
    }
    return this.#properties;
  }
}

/**
 * Decode a pull, query or view response body (records concatenated, spec
 * §2.12) into received messages without decoding every field: each record is
 * checked (sizes and lengths, no CRC), then wrapped in place; fields are read
 * when accessed. Consecutive records of the same topic share one topic string.
 *
 * @param bytes The body; it must stay unchanged while the messages are used.
 * @param brokerName The broker it came from.
 * @returns The messages in order.
 * @throws {RangeError} If a record is malformed or truncated.
 */
export function decodeReceivedMessages(bytes: Uint8Array, brokerName: string): ReceivedMessage[] {
  const out: ReceivedMessage[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let topic = "";
  let lastTopicAt = -1;
  let lastTopicLength = -1;
  let at = 0;
  const end = bytes.length;
  while (at < end) {
    // The checks of `checkRecord` (sizes and lengths, no CRC) on the shared view; the
    // full checker runs only to word the error.
    const size = end - at >= 8 ? view.getInt32(at) : -1;
    const magic = end - at >= 8 ? view.getInt32(at + 4) : 0;
    let topicStart = -1;
    let topicLength = 0;
    let bodyLengthAt = -1;
    if (
      (magic === MAGIC_V1 || magic === MAGIC_V2) && size >= RECORD_BYTES_MIN && size <= end - at
    ) {
      const sysFlag = view.getInt32(at + 36);
      const storeIpBytes = (sysFlag & MessageSysFlag.STOREHOST_V6) !== 0 ? 16 : 4;
      const recordEnd = at + size;
      const lengthAt = at + storeTimestampPos(sysFlag) + 8 + storeIpBytes + 4 + 12;
      const bodyLength = lengthAt + 4 <= recordEnd ? view.getInt32(lengthAt) : -1;
      const bodyEnd = lengthAt + 4 + bodyLength;
      const topicLengthBytes = magic === MAGIC_V2 ? 2 : 1;
      if (bodyLength >= 0 && bodyEnd + topicLengthBytes <= recordEnd) {
        const length = topicLengthBytes === 2 ? view.getUint16(bodyEnd) : view.getUint8(bodyEnd);
        const propertiesLengthAt = bodyEnd + topicLengthBytes + length;
        if (
          propertiesLengthAt + 2 <= recordEnd &&
          propertiesLengthAt + 2 + view.getInt16(propertiesLengthAt) === recordEnd
        ) {
          bodyLengthAt = lengthAt;
          topicStart = bodyEnd + topicLengthBytes;
          topicLength = length;
        }
      }
    }
    if (bodyLengthAt < 0) {
      const check = checkRecord(bytes, at, end, false);
      throw new RangeError(
        `Malformed record at byte ${at} of ${end}: ${
          check.status === "BLANK"
            ? "blank marker"
            : check.status === "OK"
            ? "inconsistent lengths"
            : check.reason
        }`,
      );
    }
    if (!sameBytes(bytes, topicStart, lastTopicAt, topicLength, lastTopicLength)) {
      topic = textDecoder.decode(bytes.subarray(topicStart, topicStart + topicLength));
      lastTopicAt = topicStart;
      lastTopicLength = topicLength;
    }
    out.push(
      new ReceivedMessage(new RecordView(bytes, view, at, bodyLengthAt, topic), brokerName),
    );
    at += size;
  }
  return out;
}

function sameBytes(
  bytes: Uint8Array,
  a: number,
  b: number,
  aLength: number,
  bLength: number,
): boolean {
  if (aLength !== bLength || b < 0) return false;
  for (let i = 0; i < aLength; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}
