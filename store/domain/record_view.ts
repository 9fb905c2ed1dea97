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

/**
 * Decodes topic bytes, remembering the last topic seen: consecutive records
 * usually share a topic, so a byte comparison replaces a `TextDecoder` call.
 *
 * One instance per thread and role (the CommitLog writer, a Dispatcher); not
 * shared.
 */
export class TopicDecoder {
  #bytes: Uint8Array = new Uint8Array(0);
  #topic = "";

  /**
   * The topic whose UTF-8 bytes are `bytes[start, start + length)`.
   *
   * @param bytes Buffer holding the topic bytes.
   * @param start First byte.
   * @param length Byte count.
   * @returns The decoded topic (the cached string when the bytes match the last one).
   */
  decode(bytes: Uint8Array, start: number, length: number): string {
    const last = this.#bytes;
    if (last.length === length) {
      let i = 0;
      while (i < length && bytes[start + i] === last[i]) i++;
      if (i === length) return this.#topic;
    }
    this.#bytes = bytes.slice(start, start + length);
    this.#topic = decoder.decode(this.#bytes);
    return this.#topic;
  }

  /**
   * The topic of the record at `at` (see `recordTopic`).
   *
   * @param view A DataView over the whole of `bytes`.
   * @param bytes Buffer holding a checked record.
   * @param at Record start.
   * @returns The topic.
   */
  recordTopic(view: DataView, bytes: Uint8Array, at: number): string {
    const sysFlag = view.getInt32(at + RecordPos.SYS_FLAG);
    let p = at + bodyLengthPos(sysFlag);
    p += 4 + view.getInt32(p);
    const v2 = view.getInt32(at + RecordPos.MAGIC) === MAGIC_V2;
    const length = v2 ? view.getUint16(p) : view.getUint8(p);
    return this.decode(bytes, p + (v2 ? 2 : 1), length);
  }
}
