/**
 * Validation and encoding of `MessageToPut` into CommitLog records, shared
 * by every MessageStore implementation (the caller encodes; the CommitLog
 * writer patches offsets and store time).
 *
 * @module
 */

import { encodeRecord, recordSize } from "../../client/protocol/message_record.ts";
import type { HostAddress, MessageToPut, PutMessageResult, StoreLimits } from "../message_store.ts";

const encoder = new TextEncoder();

/** A put refusal: a non-OK `PutMessageResult`. */
export type PutRefusal = Extract<PutMessageResult, { remark: string }>;

/** A message that passed validation, with its encoded byte parts. */
export interface PreparedMessage {
  /** The message as given. */
  readonly message: MessageToPut;
  /** UTF-8 topic. */
  readonly topicBytes: Uint8Array;
  /** UTF-8 properties string. */
  readonly propertiesBytes: Uint8Array;
  /** TOTALSIZE of its record. */
  readonly size: number;
}

function illegal(remark: string): PutRefusal {
  return { status: "MESSAGE_ILLEGAL", remark };
}

function isRetryOrDlq(topic: string): boolean {
  return topic.startsWith("%RETRY%") || topic.startsWith("%DLQ%");
}

/**
 * Check one message against the limits and size its record.
 *
 * @param message The message.
 * @param limits Store limits.
 * @param storeHost Store address (its length sizes the record).
 * @param recordBytesMax Largest record the CommitLog accepts.
 * @returns The prepared message, or a refusal (MESSAGE_ILLEGAL / PROPERTIES_SIZE_EXCEEDED).
 */
export function prepareMessage(
  message: MessageToPut,
  limits: StoreLimits,
  storeHost: HostAddress,
  recordBytesMax: number,
): PreparedMessage | PutRefusal {
  if (typeof message.topic !== "string" || message.topic.length === 0) {
    return illegal("topic is empty");
  }
  return prepareWithTopic(
    message,
    encoder.encode(message.topic),
    limits,
    storeHost,
    recordBytesMax,
  );
}

/**
 * The UTF-8 bytes of a message's properties: the caller's `propertiesBytes`
 * when their length can be the encoding's (UTF-8 takes 1..3 bytes per UTF-16
 * code unit), else a fresh encoding. The length test is a cheap guard
 * against stale bytes, not proof of equality: the contract is the caller's.
 */
function propertiesBytesOf(message: MessageToPut): Uint8Array {
  const properties = message.properties ?? "";
  const given = message.propertiesBytes;
  if (
    given instanceof Uint8Array && given.length >= properties.length &&
    given.length <= properties.length * 3
  ) {
    return given;
  }
  return encoder.encode(properties);
}

function prepareWithTopic(
  message: MessageToPut,
  topicBytes: Uint8Array,
  limits: StoreLimits,
  storeHost: HostAddress,
  recordBytesMax: number,
): PreparedMessage | PutRefusal {
  const topicMax = isRetryOrDlq(message.topic) ? limits.retryTopicBytesMax : limits.topicBytesMax;
  if (topicBytes.length > topicMax) {
    return illegal(`topic is ${topicBytes.length} bytes, limit is ${topicMax}`);
  }
  if (!Number.isInteger(message.queueId) || message.queueId < 0 || message.queueId > 0x7fffffff) {
    return illegal(`queueId ${message.queueId} is not an integer >= 0`);
  }
  if (!(message.body instanceof Uint8Array)) return illegal("body is not a Uint8Array");
  if (message.body.length > limits.messageBytesMax) {
    return illegal(`body is ${message.body.length} bytes, limit is ${limits.messageBytesMax}`);
  }
  const propertiesBytes = propertiesBytesOf(message);
  if (propertiesBytes.length > limits.propertiesBytesMax) {
    return {
      status: "PROPERTIES_SIZE_EXCEEDED",
      remark:
        `properties are ${propertiesBytes.length} bytes, limit is ${limits.propertiesBytesMax}`,
    };
  }
  const bornIp = message.bornHost?.ip;
  if (!(bornIp instanceof Uint8Array) || (bornIp.length !== 4 && bornIp.length !== 16)) {
    return illegal("bornHost ip must be 4 or 16 bytes");
  }
  const size = recordSize(
    message.body.length,
    topicBytes.length,
    propertiesBytes.length,
    bornIp.length,
    storeHost.ip.length,
  );
  if (size > recordBytesMax) {
    return illegal(`record is ${size} bytes, limit is ${recordBytesMax}`);
  }
  return { message, topicBytes, propertiesBytes, size };
}

/**
 * Validate a batch: 1..`batchMessagesMax` messages of one topic and queue
 * whose records fit together in one segment.
 *
 * @param messages The batch.
 * @param limits Store limits.
 * @param storeHost Store address.
 * @param recordBytesMax Largest contiguous append the CommitLog accepts.
 * @returns Prepared messages, or a refusal.
 */
export function prepareBatch(
  messages: readonly MessageToPut[],
  limits: StoreLimits,
  storeHost: HostAddress,
  recordBytesMax: number,
): PreparedMessage[] | PutRefusal {
  if (messages.length === 0) return illegal("batch is empty");
  if (messages.length > limits.batchMessagesMax) {
    return illegal(`batch has ${messages.length} messages, limit is ${limits.batchMessagesMax}`);
  }
  const first = messages[0];
  if (typeof first.topic !== "string" || first.topic.length === 0) {
    return illegal("topic is empty");
  }
  // One topic per batch: encode it once.
  const topicBytes = encoder.encode(first.topic);
  const out: PreparedMessage[] = [];
  let total = 0;
  for (const message of messages) {
    if (message.topic !== first.topic || message.queueId !== first.queueId) {
      return illegal("batch mixes topics or queues");
    }
    const prepared = prepareWithTopic(message, topicBytes, limits, storeHost, recordBytesMax);
    if ("status" in prepared) return prepared;
    total += prepared.size;
    out.push(prepared);
  }
  if (total > recordBytesMax) return illegal(`batch is ${total} bytes, limit is ${recordBytesMax}`);
  return out;
}

/**
 * Encode prepared messages back to back into `target` (QUEUEOFFSET,
 * PHYSICALOFFSET and STORETIMESTAMP are placeholders for the CommitLog to patch).
 *
 * @param prepared Validated messages.
 * @param storeHost STOREHOST to write.
 * @param target Destination with room for the sum of `prepared[i].size`.
 * @param at Start position in `target`.
 * @returns The position after the last record.
 */
export function encodeMessagesInto(
  prepared: readonly PreparedMessage[],
  storeHost: HostAddress,
  target: Uint8Array,
  at: number,
): number {
  for (let i = 0; i < prepared.length; i++) {
    const p = prepared[i];
    const m = p.message;
    at += encodeRecord(
      {
        queueId: m.queueId,
        flag: m.flag | 0,
        queueOffset: 0,
        commitLogOffset: 0,
        sysFlag: m.sysFlag | 0,
        bornTimestamp: m.bornTimestamp,
        bornHost: m.bornHost,
        storeTimestamp: 0,
        storeHost,
        reconsumeTimes: m.reconsumeTimes | 0,
        preparedTransactionOffset: m.preparedTransactionOffset,
        body: m.body,
        topicBytes: p.topicBytes,
        propertiesBytes: p.propertiesBytes,
      },
      target,
      at,
    );
  }
  return at;
}

/**
 * Encode prepared messages back to back into a new buffer.
 *
 * @param prepared Validated messages.
 * @param storeHost STOREHOST to write.
 * @returns The records, concatenated.
 */
export function encodeMessages(
  prepared: readonly PreparedMessage[],
  storeHost: HostAddress,
): Uint8Array {
  let total = 0;
  for (const p of prepared) total += p.size;
  const out = new Uint8Array(total);
  encodeMessagesInto(prepared, storeHost, out, 0);
  return out;
}
