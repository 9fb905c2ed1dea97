/**
 * Half messages: how a transactional message is parked in the system half
 * topic until its producer commits or rolls it back (spec §6.1, §6.2).
 *
 * Pure transforms between `MessageToPut` and `MessageRecord`; no I/O.
 *
 * | Step        | Topic / queue                         | sysFlag type | Key properties                                        |
 * |-------------|---------------------------------------|--------------|-------------------------------------------------------|
 * | prepare     | `RMQ_SYS_TRANS_HALF_TOPIC` / 0        | NOT (0x0)    | `REAL_TOPIC`, `REAL_QID`, `__transactionId__`, `PGROUP` |
 * | commit      | `REAL_TOPIC` / `REAL_QID`             | COMMIT (0x8) | `REAL_*` and `TRAN_MSG` removed                       |
 * | op record   | `RMQ_SYS_TRANS_OP_HALF_TOPIC` / 0     | NOT          | `TAGS=d`; body = half queue offsets, each + `,`       |
 * | check copy  | `RMQ_SYS_TRANS_HALF_TOPIC` / 0        | NOT          | `TRANSACTION_CHECK_TIMES` incremented                 |
 * | discard     | `TRANS_CHECK_MAX_TIME_TOPIC` / 0      | NOT          | as the half message                                   |
 *
 * The half message is stored with transaction type NOT so that dispatch gives
 * it a ConsumeQueue unit in the half topic; consumers of the real topic never
 * see it.
 *
 * @module
 */

import {
  decodeProperties,
  encodeProperties,
  getProperty,
  MessageConst,
} from "../../../client/protocol/properties.ts";
import {
  encodeRecord,
  type MessageRecord,
  MessageSysFlag,
  recordSize,
} from "../../../client/protocol/message_record.ts";
import type { HostAddress, MessageToPut } from "../../../store/mod.ts";

/** Topic that holds half (prepared) messages. One queue. */
export const HALF_TOPIC = "RMQ_SYS_TRANS_HALF_TOPIC";
/** Topic that records resolved half messages (commit or rollback). One queue. */
export const OP_TOPIC = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/** Topic that receives half messages checked too many times. */
export const CHECK_MAX_TIME_TOPIC = "TRANS_CHECK_MAX_TIME_TOPIC";
/** Internal group whose consumer offsets track the half and op queues. */
export const TRANSACTION_GROUP = "CID_RMQ_SYS_TRANS";
/** Tag of op records ("delete"). */
export const OP_TAG = "d";
/** The only queue of the half and op topics. */
export const HALF_QUEUE_ID = 0;
/**
 * Op record property carrying the resolution (`COMMIT` / `ROLLBACK`), so a
 * repeated END_TRANSACTION can tell a duplicate from a conflict. Not a
 * RocketMQ property; RocketMQ brokers ignore it.
 */
export const OP_RESOLUTION_PROPERTY = "TRAN_RESOLUTION";

/** How a transaction ended. */
export type TransactionResolution = "COMMIT" | "ROLLBACK";

const TRANSACTION_TYPE_MASK = 0xc;
const HOST_V6_MASK = MessageSysFlag.BORNHOST_V6 | MessageSysFlag.STOREHOST_V6;
const textEncoder = new TextEncoder();
const ASCII_COMMA = 0x2c;
const ASCII_ZERO = 0x30;

/**
 * Whether a message asks for the transactional prepare path: property
 * `TRAN_MSG=true` (spec §2.9 step 4).
 *
 * @param properties The message's encoded properties.
 * @returns True for a half message to be.
 */
export function isTransactionPrepare(properties: string): boolean {
  return getProperty(properties, MessageConst.TRANSACTION_PREPARED) === "true";
}

/**
 * Rewrite a prepared transactional message into a half message for
 * `RMQ_SYS_TRANS_HALF_TOPIC` queue 0.
 *
 * Adds `REAL_TOPIC`, `REAL_QID`, `__transactionId__` (= `UNIQ_KEY`) and, when
 * missing, `PGROUP`; stores it with transaction type NOT so the half topic's
 * ConsumeQueue indexes it.
 *
 * @param message The message as the send path built it (with `UNIQ_KEY`).
 * @param producerGroup The sender's group, used when the message has no `PGROUP`.
 * @returns The half message to put.
 * @throws {TypeError} If the message has no `UNIQ_KEY` or no producer group is known.
 */
export function toHalfMessage(message: MessageToPut, producerGroup?: string): MessageToPut {
  const properties = decodeProperties(message.properties);
  const uniqKey = properties.get(MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX);
  if (uniqKey === undefined || uniqKey === "") {
    throw new TypeError("Cannot prepare transactional message: it has no UNIQ_KEY");
  }
  if (!properties.has(MessageConst.PRODUCER_GROUP)) {
    if (producerGroup === undefined || producerGroup === "") {
      throw new TypeError("Cannot prepare transactional message: it has no producer group");
    }
    properties.set(MessageConst.PRODUCER_GROUP, producerGroup);
  }
  properties.set(MessageConst.REAL_TOPIC, message.topic);
  properties.set(MessageConst.REAL_QUEUE_ID, String(message.queueId));
  properties.set(MessageConst.TRANSACTION_ID, uniqKey);
  return {
    ...message,
    topic: HALF_TOPIC,
    queueId: HALF_QUEUE_ID,
    properties: encodeProperties(properties),
    // The sent bytes no longer match the rewritten properties.
    propertiesBytes: undefined,
    sysFlag: withTransactionType(message.sysFlag, MessageSysFlag.TRANSACTION_NOT_TYPE),
    preparedTransactionOffset: 0,
  };
}

/** What a half record says about its transaction. */
export interface HalfMessageInfo {
  /** Topic the message was sent to. */
  readonly realTopic: string;
  /** Queue the message was sent to. */
  readonly realQueueId: number;
  /** The producer group (`PGROUP`). */
  readonly producerGroup: string;
  /** `__transactionId__`, falling back to `UNIQ_KEY`. */
  readonly transactionId: string;
  /** `UNIQ_KEY`. */
  readonly uniqKey: string;
  /** `TRANSACTION_CHECK_TIMES`, 0 when absent. */
  readonly checkTimes: number;
  /** `CHECK_IMMUNITY_TIME_IN_SECONDS` in ms, or undefined. */
  readonly checkImmunityMs: number | undefined;
}

/**
 * Read the transaction properties of a half record.
 *
 * @param record A record from the half topic.
 * @returns The info, or a reason when the record is not a usable half message.
 */
export function readHalfMessage(
  record: MessageRecord,
): { ok: true; info: HalfMessageInfo } | { ok: false; reason: string } {
  if (record.topic !== HALF_TOPIC) {
    return { ok: false, reason: `record is in topic ${record.topic}, not ${HALF_TOPIC}` };
  }
  const p = decodeProperties(record.properties);
  const realTopic = p.get(MessageConst.REAL_TOPIC);
  const realQid = Number(p.get(MessageConst.REAL_QUEUE_ID));
  const producerGroup = p.get(MessageConst.PRODUCER_GROUP);
  const uniqKey = p.get(MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX) ?? "";
  if (realTopic === undefined || realTopic === "") {
    return { ok: false, reason: "half message has no REAL_TOPIC" };
  }
  if (!Number.isInteger(realQid) || realQid < 0) {
    return { ok: false, reason: "half message has no valid REAL_QID" };
  }
  if (producerGroup === undefined) return { ok: false, reason: "half message has no PGROUP" };
  const checkTimes = Number(p.get(MessageConst.TRANSACTION_CHECK_TIMES) ?? "0");
  const immunitySeconds = Number(p.get(MessageConst.CHECK_IMMUNITY_TIME_IN_SECONDS));
  return {
    ok: true,
    info: {
      realTopic,
      realQueueId: realQid,
      producerGroup,
      transactionId: p.get(MessageConst.TRANSACTION_ID) ?? uniqKey,
      uniqKey,
      checkTimes: Number.isInteger(checkTimes) && checkTimes > 0 ? checkTimes : 0,
      checkImmunityMs: Number.isFinite(immunitySeconds) && immunitySeconds > 0
        ? immunitySeconds * 1000
        : undefined,
    },
  };
}

/**
 * Build the committed message for the real topic from a half record.
 *
 * Properties are copied without `REAL_TOPIC`, `REAL_QID` and `TRAN_MSG`; the
 * sysflag's transaction type becomes COMMIT; `preparedTransactionOffset` is
 * the half message's CommitLog offset.
 *
 * @param record The half record (from `lookMessageByOffset`).
 * @param info Its transaction properties (`readHalfMessage`).
 * @returns The message to put.
 */
export function toCommittedMessage(record: MessageRecord, info: HalfMessageInfo): MessageToPut {
  const properties = decodeProperties(record.properties);
  properties.delete(MessageConst.REAL_TOPIC);
  properties.delete(MessageConst.REAL_QUEUE_ID);
  properties.delete(MessageConst.TRANSACTION_PREPARED);
  return {
    ...copyOf(record),
    topic: info.realTopic,
    queueId: info.realQueueId,
    properties: encodeProperties(properties),
    sysFlag: withTransactionType(record.sysFlag, MessageSysFlag.TRANSACTION_COMMIT_TYPE),
    preparedTransactionOffset: record.commitLogOffset,
  };
}

/**
 * Build the op record that marks a half message resolved.
 *
 * @param halfQueueOffset The half message's QueueOffset in the half queue.
 * @param transactionId The half message's transaction id (kept as a property).
 * @param resolution How it ended.
 * @param bornHost The broker's address.
 * @param nowMs Broker clock.
 * @returns The op message to put in `RMQ_SYS_TRANS_OP_HALF_TOPIC` queue 0.
 */
export function createOpMessage(
  halfQueueOffset: number,
  transactionId: string,
  resolution: TransactionResolution,
  bornHost: HostAddress,
  nowMs: number,
): MessageToPut {
  return {
    topic: OP_TOPIC,
    queueId: HALF_QUEUE_ID,
    flag: 0,
    body: textEncoder.encode(`${halfQueueOffset},`),
    properties: encodeProperties({
      [MessageConst.TAGS]: OP_TAG,
      [MessageConst.TRANSACTION_ID]: transactionId,
      [OP_RESOLUTION_PROPERTY]: resolution,
    }),
    sysFlag: MessageSysFlag.TRANSACTION_NOT_TYPE,
    bornTimestamp: nowMs,
    bornHost,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  };
}

/**
 * Parse an op record body: ASCII decimal half queue offsets, each followed by `,`.
 *
 * @param body The op record's body.
 * @returns The offsets; malformed pieces are skipped.
 */
export function parseOpBody(body: Uint8Array): number[] {
  const out: number[] = [];
  let value = 0;
  let digits = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === ASCII_COMMA) {
      if (digits > 0 && digits <= 16) out.push(value);
      value = 0;
      digits = 0;
    } else if (c >= ASCII_ZERO && c <= ASCII_ZERO + 9) {
      value = value * 10 + (c - ASCII_ZERO);
      digits++;
    } else {
      digits = 17; // Poison the current piece.
    }
  }
  return out;
}

/**
 * A copy of a half record to re-append to the half queue before a check,
 * with `TRANSACTION_CHECK_TIMES` incremented. The born timestamp is kept, so
 * the copy is as old as the original.
 *
 * @param record The half record.
 * @param info Its transaction properties.
 * @returns The copy to put.
 */
export function toCheckCopy(record: MessageRecord, info: HalfMessageInfo): MessageToPut {
  const properties = decodeProperties(record.properties);
  properties.set(MessageConst.TRANSACTION_CHECK_TIMES, String(info.checkTimes + 1));
  return {
    ...copyOf(record),
    topic: HALF_TOPIC,
    queueId: HALF_QUEUE_ID,
    properties: encodeProperties(properties),
    sysFlag: withTransactionType(record.sysFlag, MessageSysFlag.TRANSACTION_NOT_TYPE),
    preparedTransactionOffset: 0,
  };
}

/**
 * The message written to `TRANS_CHECK_MAX_TIME_TOPIC` when a half message
 * has been checked too often.
 *
 * @param record The half record.
 * @returns The message to put.
 */
export function toDiscardedMessage(record: MessageRecord): MessageToPut {
  return {
    ...copyOf(record),
    topic: CHECK_MAX_TIME_TOPIC,
    queueId: 0,
    properties: record.properties,
    sysFlag: withTransactionType(record.sysFlag, MessageSysFlag.TRANSACTION_NOT_TYPE),
    preparedTransactionOffset: 0,
  };
}

/**
 * Encode the body of CHECK_TRANSACTION_STATE: the half record with its topic
 * and queue id restored to the real ones (spec §6.3), offsets unchanged.
 *
 * @param record The half record.
 * @param info Its transaction properties.
 * @returns The record bytes (§3.3 layout).
 */
export function encodeCheckBody(record: MessageRecord, info: HalfMessageInfo): Uint8Array {
  const topicBytes = textEncoder.encode(info.realTopic);
  const propertiesBytes = textEncoder.encode(record.properties);
  const out = new Uint8Array(recordSize(
    record.body.length,
    topicBytes.length,
    propertiesBytes.length,
    record.bornHost.ip.length,
    record.storeHost.ip.length,
  ));
  encodeRecord({
    queueId: info.realQueueId,
    flag: record.flag,
    queueOffset: record.queueOffset,
    commitLogOffset: record.commitLogOffset,
    sysFlag: record.sysFlag,
    bornTimestamp: record.bornTimestamp,
    bornHost: record.bornHost,
    storeTimestamp: record.storeTimestamp,
    storeHost: record.storeHost,
    reconsumeTimes: record.reconsumeTimes,
    preparedTransactionOffset: record.preparedTransactionOffset,
    body: record.body,
    topicBytes,
    propertiesBytes,
    bodyCrc: record.bodyCrc,
  }, out);
  return out;
}

function withTransactionType(sysFlag: number, type: number): number {
  return (sysFlag & ~TRANSACTION_TYPE_MASK & ~HOST_V6_MASK) | type;
}

/** The fields every derived message keeps from its record (body copied: records view buffers). */
function copyOf(record: MessageRecord): Omit<MessageToPut, "topic" | "queueId" | "properties"> {
  return {
    flag: record.flag,
    body: record.body.slice(),
    sysFlag: record.sysFlag,
    bornTimestamp: record.bornTimestamp,
    bornHost: record.bornHost,
    reconsumeTimes: record.reconsumeTimes,
    preparedTransactionOffset: record.preparedTransactionOffset,
  };
}
