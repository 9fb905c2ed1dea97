/**
 * Cheap reads of single fields of an encoded CommitLog record, without a full
 * decode (the layout table lives in `client/protocol/message_record.ts`).
 *
 * @module
 */

import {
  getInt64,
  MAGIC_V2,
  MessageSysFlag,
  RecordPos,
  storeTimestampPos,
} from "../../client/protocol/message_record.ts";

const decoder = new TextDecoder();

/** Position of the BODYLENGTH field for a sysflag. */
function bodyLengthPos(sysFlag: number): number {
  const born = (sysFlag & MessageSysFlag.BORNHOST_V6) !== 0 ? 16 : 4;
  const store = (sysFlag & MessageSysFlag.STOREHOST_V6) !== 0 ? 16 : 4;
  return RecordPos.BORN_HOST + born + 4 + 8 + store + 4 + 4 + 8;
}

/**
 * The topic of the record at `at`.
 *
 * @param bytes Buffer holding a checked record.
 * @param at Record start.
 * @returns The topic.
 */
export function recordTopic(bytes: Uint8Array, at = 0): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sysFlag = view.getInt32(at + RecordPos.SYS_FLAG);
  let p = at + bodyLengthPos(sysFlag);
  p += 4 + view.getInt32(p);
  const v2 = view.getInt32(at + RecordPos.MAGIC) === MAGIC_V2;
  const length = v2 ? view.getUint16(p) : view.getUint8(p);
  p += v2 ? 2 : 1;
  return decoder.decode(bytes.subarray(p, p + length));
}

/**
 * The QUEUEID of the record at `at`.
 *
 * @param bytes Buffer.
 * @param at Record start.
 * @returns Queue id.
 */
export function recordQueueId(bytes: Uint8Array, at = 0): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getInt32(
    at + RecordPos.QUEUE_ID,
  );
}

/**
 * The SYSFLAG of the record at `at`.
 *
 * @param bytes Buffer.
 * @param at Record start.
 * @returns Sysflag.
 */
export function recordSysFlag(bytes: Uint8Array, at = 0): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getInt32(
    at + RecordPos.SYS_FLAG,
  );
}

/**
 * The STORETIMESTAMP of the record at `at`.
 *
 * @param bytes Buffer.
 * @param at Record start.
 * @returns Epoch ms.
 */
export function recordStoreTimestamp(bytes: Uint8Array, at = 0): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return getInt64(view, at + storeTimestampPos(view.getInt32(at + RecordPos.SYS_FLAG)));
}

/**
 * The PHYSICALOFFSET of the record at `at`.
 *
 * @param bytes Buffer.
 * @param at Record start.
 * @returns CommitLog offset as stored.
 */
export function recordPhysicalOffset(bytes: Uint8Array, at = 0): number {
  return getInt64(
    new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    at + RecordPos.PHYSICAL_OFFSET,
  );
}
