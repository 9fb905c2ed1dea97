/**
 * The send-time timer transform and its reverse.
 *
 * On send, a message carrying a delivery time (`TIMER_DELIVER_MS`, absolute
 * epoch ms; `TIMER_DELAY_MS` or `TIMER_DELAY_SEC`, relative) or a RocketMQ 4
 * delay level (`DELAY`, 1..18) that is not yet due is rewritten to the timer
 * topic `rmq_sys_wheel_timer`, queue 0, with its real destination in
 * `REAL_TOPIC`/`REAL_QID` and its exact due time in `TIMER_OUT_MS` (no
 * rounding: the wheel's precision only decides when a tick is looked at, and
 * a tick is processed once its last millisecond has come, so nothing goes
 * out early). The timer service later rebuilds the real message from the
 * stored timer record bytes with `restoreTimerRecord` (`restoreTimerMessage`
 * does the same from a decoded record).
 *
 * Precedence, as RocketMQ: a `DELAY` level > 0 wins (timer properties are
 * dropped); otherwise `TIMER_DELAY_SEC`, then `TIMER_DELAY_MS`, then
 * `TIMER_DELIVER_MS`. Prepared and rollback transactional messages are never
 * transformed (the transaction path owns them; a commit is transformed).
 *
 * @module
 */

import { DELAY_LEVEL_MS } from "../../../client/protocol/delay_levels.ts";
import {
  getInt64,
  MAGIC_V2,
  type MessageRecord,
  MessageSysFlag,
  transactionType,
} from "../../../client/protocol/message_record.ts";
import {
  decodeProperties,
  encodeProperties,
  getProperty,
  MessageConst,
} from "../../../client/protocol/properties.ts";
import type { MessageToPut } from "../../../store/mod.ts";

/** The system topic holding timer messages until they are due. */
export const TIMER_TOPIC = "rmq_sys_wheel_timer";
/** The timer topic's only queue. */
export const TIMER_QUEUE_ID = 0;

/** RocketMQ 4's delay levels 1..18, ms (re-exported from the shared protocol kernel). */
export { DELAY_LEVEL_MS };

/** Options of the send-time transform. */
export interface TimerTransformOptions {
  /** Refuse delivery times further ahead than this, ms. Default: no limit. */
  readonly maxDelayMs?: number;
}

/** Outcome of `transformTimerMessage`. */
export type TimerTransform =
  | { readonly kind: "normal" }
  | { readonly kind: "scheduled"; readonly message: MessageToPut; readonly deliverMs: number }
  | { readonly kind: "illegal"; readonly remark: string };

/**
 * The due time a delay level means.
 *
 * @param level The `DELAY` property value; levels above 18 count as 18.
 * @returns The delay in ms, or 0 for a level ≤ 0 (not delayed).
 */
export function delayLevelMs(level: number): number {
  if (level <= 0) return 0;
  return DELAY_LEVEL_MS[Math.min(level, DELAY_LEVEL_MS.length) - 1];
}

function parseInteger(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^-?[0-9]+$/.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * Decide whether a message sent now is a timer message and, if so, rewrite it.
 *
 * @param message The message as the send path built it.
 * @param nowMs Broker clock, epoch ms.
 * @param options Optional maximum delay.
 * @returns `normal` (store as is), `scheduled` (store `message` instead), or
 *   `illegal` with a remark for the MESSAGE_ILLEGAL response.
 */
export function transformTimerMessage(
  message: MessageToPut,
  nowMs: number,
  options: TimerTransformOptions = {},
): TimerTransform {
  const text = message.properties;
  // A cheap test first: nearly every message has none of these properties.
  if (!text.includes("DELAY") && !text.includes("TIMER_")) return { kind: "normal" };
  const type = transactionType(message.sysFlag);
  if (
    type === MessageSysFlag.TRANSACTION_PREPARED_TYPE ||
    type === MessageSysFlag.TRANSACTION_ROLLBACK_TYPE
  ) {
    return { kind: "normal" };
  }
  if (message.topic === TIMER_TOPIC) return { kind: "normal" };
  const properties = decodeProperties(text);
  let deliverMs: number | undefined;
  const levelText = properties.get(MessageConst.DELAY_TIME_LEVEL);
  if (levelText !== undefined) {
    const level = parseInteger(levelText);
    if (level === undefined) {
      return {
        kind: "illegal",
        remark: `Cannot send message: delay level "${levelText}" is not an integer`,
      };
    }
    if (level > 0) {
      deliverMs = nowMs + delayLevelMs(level);
      properties.delete(MessageConst.TIMER_DELAY_SEC);
      properties.delete(MessageConst.TIMER_DELAY_MS);
      properties.delete(MessageConst.TIMER_DELIVER_MS);
    }
  }
  if (deliverMs === undefined) {
    const timer = timerDeliverMs(properties, nowMs);
    if (timer.kind === "illegal") return timer;
    deliverMs = timer.deliverMs;
  }
  if (deliverMs === undefined || deliverMs <= nowMs) return { kind: "normal" };
  if (options.maxDelayMs !== undefined && deliverMs - nowMs > options.maxDelayMs) {
    return {
      kind: "illegal",
      remark: `Cannot send message: delivery is ${
        deliverMs - nowMs
      } ms ahead, limit is ${options.maxDelayMs}`,
    };
  }
  properties.set(MessageConst.REAL_TOPIC, message.topic);
  properties.set(MessageConst.REAL_QUEUE_ID, String(message.queueId));
  properties.set(MessageConst.TIMER_OUT_MS, String(deliverMs));
  return {
    kind: "scheduled",
    deliverMs,
    message: {
      ...message,
      topic: TIMER_TOPIC,
      queueId: TIMER_QUEUE_ID,
      properties: encodeProperties(properties),
      // The sent bytes no longer match the rewritten properties.
      propertiesBytes: undefined,
    },
  };
}

function timerDeliverMs(
  properties: Map<string, string>,
  nowMs: number,
): { kind: "ok"; deliverMs: number | undefined } | { kind: "illegal"; remark: string } {
  const choices: [string, (n: number) => number][] = [
    [MessageConst.TIMER_DELAY_SEC, (n) => nowMs + n * 1000],
    [MessageConst.TIMER_DELAY_MS, (n) => nowMs + n],
    [MessageConst.TIMER_DELIVER_MS, (n) => n],
  ];
  for (const [name, toDeliverMs] of choices) {
    const value = properties.get(name);
    if (value === undefined) continue;
    const n = parseInteger(value);
    const deliverMs = n === undefined ? undefined : toDeliverMs(n);
    if (deliverMs === undefined || !Number.isSafeInteger(deliverMs)) {
      return {
        kind: "illegal",
        remark: `Cannot send message: ${name} "${value}" is not an integer`,
      };
    }
    return { kind: "ok", deliverMs };
  }
  return { kind: "ok", deliverMs: undefined };
}

/**
 * The transform for a batch (one topic and queue): all normal, or all
 * scheduled (then stored together in the timer queue), else illegal.
 *
 * @param messages The batch.
 * @param nowMs Broker clock, epoch ms.
 * @param options Optional maximum delay.
 * @returns `normal`, `scheduled` with the rewritten batch, or `illegal`.
 */
export function transformTimerBatch(
  messages: readonly MessageToPut[],
  nowMs: number,
  options: TimerTransformOptions = {},
):
  | { readonly kind: "normal" }
  | { readonly kind: "scheduled"; readonly messages: MessageToPut[] }
  | { readonly kind: "illegal"; readonly remark: string } {
  const scheduled: MessageToPut[] = [];
  for (const message of messages) {
    const result = transformTimerMessage(message, nowMs, options);
    if (result.kind === "illegal") return result;
    if (result.kind === "scheduled") scheduled.push(result.message);
  }
  if (scheduled.length === 0) return { kind: "normal" };
  if (scheduled.length !== messages.length) {
    return {
      kind: "illegal",
      remark:
        "Cannot send batch: some messages are scheduled and some are not; send them separately",
    };
  }
  return { kind: "scheduled", messages: scheduled };
}

/**
 * The due time stored in a timer record (`TIMER_OUT_MS`).
 *
 * @param properties The record's encoded properties.
 * @returns Epoch ms, or undefined if absent or not an integer.
 */
export function timerOutMs(properties: string): number | undefined {
  const value = getProperty(properties, MessageConst.TIMER_OUT_MS);
  return value === undefined ? undefined : parseInteger(value);
}

const utf8 = new TextDecoder();

/**
 * The encoded properties of a stored record, without decoding the rest (the
 * enqueue path needs only `TIMER_OUT_MS`).
 *
 * @param record One whole record in the CommitLog layout.
 * @returns The properties string.
 * @throws {RangeError} If the record is shorter than its fields say.
 */
export function recordProperties(record: Uint8Array): string {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const sysFlag = view.getInt32(36);
  const bornIpBytes = (sysFlag & MessageSysFlag.BORNHOST_V6) !== 0 ? 16 : 4;
  const storeIpBytes = (sysFlag & MessageSysFlag.STOREHOST_V6) !== 0 ? 16 : 4;
  // BORNHOST at 48, then STORETIMESTAMP 8, STOREHOST, RECONSUMETIMES 4, PREPARED OFFSET 8.
  let p = 48 + bornIpBytes + 4 + 8 + storeIpBytes + 4 + 4 + 8;
  p += 4 + view.getInt32(p);
  p += view.getInt32(4) === MAGIC_V2 ? 2 + view.getUint16(p) : 1 + view.getUint8(p);
  const length = view.getInt16(p);
  if (length <= 0) return "";
  if (p + 2 + length > record.length) throw new RangeError("Record properties overrun the buffer");
  return utf8.decode(record.subarray(p + 2, p + 2 + length));
}

/**
 * Rebuild the message to deliver from a stored timer record: real topic and
 * queue restored; `TIMER_OUT_MS`, `REAL_TOPIC`, `REAL_QID`, `DELAY` and
 * `TIMER_ROLL_TIMES` removed; `TIMER_ENQUEUE_MS` (the timer record's store
 * time) and `TIMER_DEQUEUE_MS` (now) added. Body, flag, sysflag, born fields,
 * reconsume times and every other property (UNIQ_KEY, TAGS, KEYS) are kept.
 *
 * @param record The decoded timer record.
 * @param nowMs Broker clock, epoch ms.
 * @returns The message to put, or undefined when the record names no real topic.
 */
export function restoreTimerMessage(
  record: MessageRecord,
  nowMs: number,
): MessageToPut | undefined {
  const properties = decodeProperties(record.properties);
  const topic = properties.get(MessageConst.REAL_TOPIC);
  const queueId = parseInteger(properties.get(MessageConst.REAL_QUEUE_ID) ?? "");
  if (topic === undefined || topic === "" || queueId === undefined || queueId < 0) return undefined;
  properties.delete(MessageConst.REAL_TOPIC);
  properties.delete(MessageConst.REAL_QUEUE_ID);
  properties.delete(MessageConst.TIMER_OUT_MS);
  properties.delete(MessageConst.DELAY_TIME_LEVEL);
  properties.delete(MessageConst.TIMER_ROLL_TIMES);
  properties.set(MessageConst.TIMER_ENQUEUE_MS, String(record.storeTimestamp));
  properties.set(MessageConst.TIMER_DEQUEUE_MS, String(nowMs));
  return { ...recordToPut(record), topic, queueId, properties: encodeProperties(properties) };
}

/**
 * Rebuild a timer record for putting it back into the timer queue (a ROLL:
 * its due time lies beyond the wheel's window), with `TIMER_ROLL_TIMES`
 * incremented. Re-putting keeps the message inside CommitLog retention
 * however far ahead it is due.
 *
 * @param record The decoded timer record.
 * @returns The timer message to put.
 */
export function rollTimerMessage(record: MessageRecord): MessageToPut {
  const properties = decodeProperties(record.properties);
  const times = parseInteger(properties.get(MessageConst.TIMER_ROLL_TIMES) ?? "0") ?? 0;
  properties.set(MessageConst.TIMER_ROLL_TIMES, String(times + 1));
  return {
    ...recordToPut(record),
    topic: TIMER_TOPIC,
    queueId: TIMER_QUEUE_ID,
    properties: encodeProperties(properties),
  };
}

function recordToPut(
  record: MessageRecord,
): Omit<MessageToPut, "topic" | "queueId" | "properties"> {
  return {
    flag: record.flag,
    body: record.body.slice(),
    sysFlag: record.sysFlag & ~(MessageSysFlag.BORNHOST_V6 | MessageSysFlag.STOREHOST_V6),
    bornTimestamp: record.bornTimestamp,
    bornHost: { ip: record.bornHost.ip.slice(), port: record.bornHost.port },
    reconsumeTimes: record.reconsumeTimes,
    preparedTransactionOffset: record.preparedTransactionOffset,
  };
}

/** Properties the delivered message loses (`TIMER_ENQUEUE_MS`/`TIMER_DEQUEUE_MS` are rewritten). */
const RESTORE_DROPPED: ReadonlySet<string> = new Set([
  MessageConst.REAL_TOPIC,
  MessageConst.REAL_QUEUE_ID,
  MessageConst.TIMER_OUT_MS,
  MessageConst.DELAY_TIME_LEVEL,
  MessageConst.TIMER_ROLL_TIMES,
  MessageConst.TIMER_ENQUEUE_MS,
  MessageConst.TIMER_DEQUEUE_MS,
]);

/** What one pass over a timer record's properties found. */
interface PropertyEdit {
  /** The kept properties, re-encoded (every kept pair ends with `\x02`). */
  kept: string;
  realTopic: string | undefined;
  realQueueId: string | undefined;
  rollTimes: string | undefined;
}

/**
 * One pass over encoded properties: copy every well-formed pair whose name
 * is not in `dropped`, and pick out the values the timer needs. Pairs that
 * `decodeProperties` would ignore (empty name or value) are dropped too.
 */
function editProperties(text: string, dropped: ReadonlySet<string>): PropertyEdit {
  const edit: PropertyEdit = {
    kept: "",
    realTopic: undefined,
    realQueueId: undefined,
    rollTimes: undefined,
  };
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\u0002", start);
    if (end === -1) end = text.length;
    const sep = text.indexOf("\u0001", start);
    if (sep > start && sep < end - 1) {
      const name = text.slice(start, sep);
      if (name === MessageConst.REAL_TOPIC) edit.realTopic = text.slice(sep + 1, end);
      else if (name === MessageConst.REAL_QUEUE_ID) edit.realQueueId = text.slice(sep + 1, end);
      else if (name === MessageConst.TIMER_ROLL_TIMES) edit.rollTimes = text.slice(sep + 1, end);
      if (!dropped.has(name)) edit.kept += text.slice(start, end) + "\u0002";
    }
    start = end + 1;
  }
  return edit;
}

/** The fixed fields of a record the delivered message keeps, read in place. */
function recordFields(
  record: Uint8Array,
): {
  fields: Omit<MessageToPut, "topic" | "queueId" | "properties">;
  properties: string;
  storeTimestamp: number;
} {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const sysFlag = view.getInt32(36);
  const bornIpBytes = (sysFlag & MessageSysFlag.BORNHOST_V6) !== 0 ? 16 : 4;
  const storeIpBytes = (sysFlag & MessageSysFlag.STOREHOST_V6) !== 0 ? 16 : 4;
  const bornHost = {
    ip: record.subarray(48, 48 + bornIpBytes),
    port: view.getInt32(48 + bornIpBytes),
  };
  // BORNHOST, then STORETIMESTAMP 8, STOREHOST, RECONSUMETIMES 4, PREPARED OFFSET 8.
  const storeTimestamp = getInt64(view, 48 + bornIpBytes + 4);
  let p = 48 + bornIpBytes + 4 + 8 + storeIpBytes + 4;
  const reconsumeTimes = view.getInt32(p);
  const preparedTransactionOffset = getInt64(view, p + 4);
  p += 12;
  const bodyLength = view.getInt32(p);
  p += 4;
  const body = record.subarray(p, p + bodyLength);
  p += bodyLength;
  p += view.getInt32(4) === MAGIC_V2 ? 2 + view.getUint16(p) : 1 + view.getUint8(p);
  const propertiesLength = view.getInt16(p);
  const properties = propertiesLength > 0
    ? utf8.decode(record.subarray(p + 2, p + 2 + propertiesLength))
    : "";
  return {
    fields: {
      flag: view.getInt32(16),
      body,
      sysFlag: sysFlag & ~(MessageSysFlag.BORNHOST_V6 | MessageSysFlag.STOREHOST_V6),
      bornTimestamp: getInt64(view, 40),
      bornHost,
      reconsumeTimes,
      preparedTransactionOffset,
    },
    properties,
    storeTimestamp,
  };
}

/**
 * `restoreTimerMessage` straight from the record bytes: no full decode, one
 * pass over the properties. The result's body and born host view `record`
 * (the store copies them when it encodes), so `record` must not be reused
 * until the put is done.
 *
 * @param record One whole, checked record (`checkRecord` OK) in the CommitLog layout.
 * @param nowMs Broker clock, epoch ms (`TIMER_DEQUEUE_MS`).
 * @returns The message to put, or undefined when the record names no real topic.
 */
export function restoreTimerRecord(record: Uint8Array, nowMs: number): MessageToPut | undefined {
  const { fields, properties, storeTimestamp } = recordFields(record);
  const edit = editProperties(properties, RESTORE_DROPPED);
  const topic = edit.realTopic;
  const queueId = parseInteger(edit.realQueueId ?? "");
  if (topic === undefined || topic === "" || queueId === undefined || queueId < 0) return undefined;
  return {
    ...fields,
    topic,
    queueId,
    properties: edit.kept + MessageConst.TIMER_ENQUEUE_MS + "\u0001" + storeTimestamp +
      "\u0002" + MessageConst.TIMER_DEQUEUE_MS + "\u0001" + nowMs + "\u0002",
  };
}

const ROLL_DROPPED: ReadonlySet<string> = new Set([MessageConst.TIMER_ROLL_TIMES]);

/**
 * `rollTimerMessage` straight from the record bytes (see `restoreTimerRecord`).
 *
 * @param record One whole, checked record in the CommitLog layout.
 * @returns The timer message to put back into the timer queue.
 */
export function rollTimerRecord(record: Uint8Array): MessageToPut {
  const { fields, properties } = recordFields(record);
  const edit = editProperties(properties, ROLL_DROPPED);
  const times = parseInteger(edit.rollTimes ?? "0") ?? 0;
  return {
    ...fields,
    topic: TIMER_TOPIC,
    queueId: TIMER_QUEUE_ID,
    properties: edit.kept + MessageConst.TIMER_ROLL_TIMES + "\u0001" + (times + 1) + "\u0002",
  };
}
