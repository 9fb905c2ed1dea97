/**
 * The message record: RocketMQ's CommitLog layout, which is also the body
 * format of pull, query and view responses (records concatenated).
 *
 * Layout (big-endian; offsets for IPv4 born and store hosts):
 *
 * | #  | Field                       | Size          | Offset |
 * |----|-----------------------------|---------------|--------|
 * | 1  | TOTALSIZE                   | 4             | 0      |
 * | 2  | MAGICCODE                   | 4             | 4      |
 * | 3  | BODYCRC (crc32 & 0x7fffffff)| 4             | 8      |
 * | 4  | QUEUEID                     | 4             | 12     |
 * | 5  | FLAG                        | 4             | 16     |
 * | 6  | QUEUEOFFSET                 | 8             | 20     |
 * | 7  | PHYSICALOFFSET              | 8             | 28     |
 * | 8  | SYSFLAG                     | 4             | 36     |
 * | 9  | BORNTIMESTAMP               | 8             | 40     |
 * | 10 | BORNHOST (ip + port:i32)    | 8 / 20 (IPv6) | 48     |
 * | 11 | STORETIMESTAMP              | 8             | 56     |
 * | 12 | STOREHOST (ip + port:i32)   | 8 / 20 (IPv6) | 64     |
 * | 13 | RECONSUMETIMES              | 4             | 72     |
 * | 14 | PREPARED_TRANSACTION_OFFSET | 8             | 76     |
 * | 15 | BODYLENGTH:i32 + BODY       | 4 + n         | 84     |
 * | 16 | TOPICLENGTH + TOPIC         | 1 + t (V1) / 2 + t (V2) |  |
 * | 17 | PROPERTIESLENGTH:i16 + PROPS| 2 + p         |        |
 *
 * Magic `0xDAA320A7` (V1, 1-byte topic length) or `0xDAA320AB` (V2, 2-byte
 * topic length, chosen when the topic is longer than 127 bytes). A blank
 * end-of-segment marker is 8 bytes: TOTALSIZE = bytes left in the segment,
 * MAGICCODE = `0xCBD43194`. The fixed overhead with IPv4 hosts and V1 is 91
 * bytes. See `docs/store_format.md`.
 *
 * @module
 */

import { crc32 } from "node:zlib";

/** Magic of a V1 record (1-byte topic length). */
export const MAGIC_V1 = 0xdaa320a7 | 0;
/** Magic of a V2 record (2-byte topic length). */
export const MAGIC_V2 = 0xdaa320ab | 0;
/** Magic of the blank end-of-segment marker. */
export const MAGIC_BLANK = 0xcbd43194 | 0;
/** Size of the blank end-of-segment marker, bytes. */
export const BLANK_MARKER_BYTES = 8;

/** Topics longer than this (bytes) need the V2 record. */
export const TOPIC_V1_BYTES_MAX = 127;

/** Byte positions of the fixed fields (IPv4 born host; later fields shift by 12 per IPv6 host). */
export const RecordPos = Object.freeze(
  {
    TOTAL_SIZE: 0,
    MAGIC: 4,
    BODY_CRC: 8,
    QUEUE_ID: 12,
    FLAG: 16,
    QUEUE_OFFSET: 20,
    PHYSICAL_OFFSET: 28,
    SYS_FLAG: 36,
    BORN_TIMESTAMP: 40,
    BORN_HOST: 48,
  } as const,
);

/** MessageSysFlag bits. */
export const MessageSysFlag = Object.freeze(
  {
    COMPRESSED: 0x1,
    MULTI_TAGS: 0x2,
    TRANSACTION_NOT_TYPE: 0x0,
    TRANSACTION_PREPARED_TYPE: 0x4,
    TRANSACTION_COMMIT_TYPE: 0x8,
    TRANSACTION_ROLLBACK_TYPE: 0xc,
    BORNHOST_V6: 0x10,
    STOREHOST_V6: 0x20,
    NEED_UNWRAP: 0x40,
    INNER_BATCH: 0x80,
    COMPRESSION_LZ4: 0x100,
    COMPRESSION_ZSTD: 0x200,
    COMPRESSION_ZLIB: 0x300,
  } as const,
);

/**
 * The transaction type bits of a sysflag.
 *
 * @param sysFlag The record's sysflag.
 * @returns One of the `TRANSACTION_*_TYPE` values.
 */
export function transactionType(sysFlag: number): number {
  return sysFlag & 0xc;
}

/** An IP address and port, as stored in a record. */
export interface RecordHost {
  /** 4 bytes (IPv4) or 16 bytes (IPv6). */
  readonly ip: Uint8Array;
  readonly port: number;
}

/** Every field of a record, decoded. */
export interface MessageRecord {
  readonly totalSize: number;
  readonly magic: number;
  readonly bodyCrc: number;
  readonly queueId: number;
  readonly flag: number;
  readonly queueOffset: number;
  readonly commitLogOffset: number;
  readonly sysFlag: number;
  readonly bornTimestamp: number;
  readonly bornHost: RecordHost;
  readonly storeTimestamp: number;
  readonly storeHost: RecordHost;
  readonly reconsumeTimes: number;
  readonly preparedTransactionOffset: number;
  /** A view into the decoded bytes (copy to keep). */
  readonly body: Uint8Array;
  readonly topic: string;
  /** Encoded properties string (see `properties.ts`). */
  readonly properties: string;
}

/** Fields needed to encode a record. Offsets and store time may be patched later. */
export interface RecordFields {
  readonly queueId: number;
  readonly flag: number;
  readonly queueOffset: number;
  readonly commitLogOffset: number;
  readonly sysFlag: number;
  readonly bornTimestamp: number;
  readonly bornHost: RecordHost;
  readonly storeTimestamp: number;
  readonly storeHost: RecordHost;
  readonly reconsumeTimes: number;
  readonly preparedTransactionOffset: number;
  readonly body: Uint8Array;
  /** UTF-8 bytes of the topic. */
  readonly topicBytes: Uint8Array;
  /** UTF-8 bytes of the encoded properties. */
  readonly propertiesBytes: Uint8Array;
  /** Precomputed masked body CRC; computed when omitted. */
  readonly bodyCrc?: number;
}

/**
 * Size in bytes of a record with these field lengths.
 *
 * @param bodyBytes Body length.
 * @param topicBytes Topic length in UTF-8 bytes.
 * @param propertiesBytes Properties length in UTF-8 bytes.
 * @param bornHostBytes 4 or 16.
 * @param storeHostBytes 4 or 16.
 * @returns The TOTALSIZE of such a record.
 */
export function recordSize(
  bodyBytes: number,
  topicBytes: number,
  propertiesBytes: number,
  bornHostBytes = 4,
  storeHostBytes = 4,
): number {
  const topicLengthBytes = topicBytes > TOPIC_V1_BYTES_MAX ? 2 : 1;
  return 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + (bornHostBytes + 4) + 8 + (storeHostBytes + 4) + 4 +
    8 + 4 + bodyBytes + topicLengthBytes + topicBytes + 2 + propertiesBytes;
}

/**
 * Offset of STORETIMESTAMP within a record with the given sysflag.
 *
 * @param sysFlag The record's sysflag.
 * @returns The byte offset.
 */
export function storeTimestampPos(sysFlag: number): number {
  return (sysFlag & MessageSysFlag.BORNHOST_V6) !== 0 ? 68 : 56;
}

/**
 * Masked CRC32 of a body, as stored in BODYCRC.
 *
 * @param body The body bytes.
 * @returns `crc32(body) & 0x7fffffff`.
 */
export function bodyCrc(body: Uint8Array): number {
  return crc32(body) & 0x7fffffff;
}

/**
 * Encode a record into `target` at `at`.
 *
 * @param fields The record's fields.
 * @param target Destination buffer with room for `recordSize(...)` bytes.
 * @param at Start position in `target`.
 * @returns The number of bytes written (TOTALSIZE).
 * @throws {RangeError} If the target is too small or a field is out of range.
 */
export function encodeRecord(fields: RecordFields, target: Uint8Array, at = 0): number {
  const bornV6 = fields.bornHost.ip.length === 16;
  const storeV6 = fields.storeHost.ip.length === 16;
  const size = recordSize(
    fields.body.length,
    fields.topicBytes.length,
    fields.propertiesBytes.length,
    fields.bornHost.ip.length,
    fields.storeHost.ip.length,
  );
  if (at + size > target.length) {
    throw new RangeError(
      `Cannot encode record: needs ${size} bytes at ${at}, buffer is ${target.length}`,
    );
  }
  if (fields.propertiesBytes.length > 32767) {
    throw new RangeError(
      `Cannot encode record: properties are ${fields.propertiesBytes.length} bytes, limit is 32767`,
    );
  }
  if (fields.topicBytes.length > 0x7fff) {
    throw new RangeError(`Cannot encode record: topic is ${fields.topicBytes.length} bytes`);
  }
  const v2 = fields.topicBytes.length > TOPIC_V1_BYTES_MAX;
  let sysFlag = fields.sysFlag & ~(MessageSysFlag.BORNHOST_V6 | MessageSysFlag.STOREHOST_V6);
  if (bornV6) sysFlag |= MessageSysFlag.BORNHOST_V6;
  if (storeV6) sysFlag |= MessageSysFlag.STOREHOST_V6;
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  let p = at;
  view.setInt32(p, size);
  view.setInt32(p + 4, v2 ? MAGIC_V2 : MAGIC_V1);
  view.setInt32(p + 8, fields.bodyCrc ?? bodyCrc(fields.body));
  view.setInt32(p + 12, fields.queueId);
  view.setInt32(p + 16, fields.flag);
  setInt64(view, p + 20, fields.queueOffset);
  setInt64(view, p + 28, fields.commitLogOffset);
  view.setInt32(p + 36, sysFlag);
  setInt64(view, p + 40, fields.bornTimestamp);
  p += 48;
  target.set(fields.bornHost.ip, p);
  p += fields.bornHost.ip.length;
  view.setInt32(p, fields.bornHost.port);
  p += 4;
  setInt64(view, p, fields.storeTimestamp);
  p += 8;
  target.set(fields.storeHost.ip, p);
  p += fields.storeHost.ip.length;
  view.setInt32(p, fields.storeHost.port);
  p += 4;
  view.setInt32(p, fields.reconsumeTimes);
  setInt64(view, p + 4, fields.preparedTransactionOffset);
  p += 12;
  view.setInt32(p, fields.body.length);
  target.set(fields.body, p + 4);
  p += 4 + fields.body.length;
  if (v2) {
    view.setInt16(p, fields.topicBytes.length);
    p += 2;
  } else {
    view.setInt8(p, fields.topicBytes.length);
    p += 1;
  }
  target.set(fields.topicBytes, p);
  p += fields.topicBytes.length;
  view.setInt16(p, fields.propertiesBytes.length);
  target.set(fields.propertiesBytes, p + 2);
  p += 2 + fields.propertiesBytes.length;
  if (p - at !== size) throw new Error(`encodeRecord wrote ${p - at} bytes, expected ${size}`);
  return size;
}

/** The outcome of checking bytes for a record. */
export type RecordCheck =
  | { readonly status: "OK"; readonly size: number }
  | { readonly status: "BLANK"; readonly size: number }
  | { readonly status: "END"; readonly reason: string }
  | { readonly status: "CORRUPT"; readonly reason: string };

/**
 * Check whether a valid record starts at `at`, without decoding it.
 *
 * `END` means no record can start here (zeros or too few bytes left), which
 * recovery treats as the end of data; `CORRUPT` means the bytes look like a
 * record but fail a length, magic or CRC check.
 *
 * @param bytes Buffer holding the record (typically a segment or a read window).
 * @param at Start position.
 * @param end Exclusive end of valid bytes in `bytes`.
 * @param checkCrc Verify BODYCRC.
 * @returns The check result.
 */
export function checkRecord(
  bytes: Uint8Array,
  at: number,
  end: number,
  checkCrc: boolean,
): RecordCheck {
  if (end - at < 8) return { status: "END", reason: `only ${end - at} bytes left` };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = view.getInt32(at);
  const magic = view.getInt32(at + 4);
  if (size === 0 && magic === 0) return { status: "END", reason: "zero-filled" };
  if (magic === MAGIC_BLANK) {
    if (size < BLANK_MARKER_BYTES) {
      return { status: "CORRUPT", reason: `blank marker size ${size}` };
    }
    return { status: "BLANK", size };
  }
  if (magic !== MAGIC_V1 && magic !== MAGIC_V2) {
    return { status: "CORRUPT", reason: `bad magic 0x${(magic >>> 0).toString(16)}` };
  }
  if (size < recordSize(0, 0, 0) || size > end - at) {
    return size > end - at && size >= recordSize(0, 0, 0)
      ? { status: "END", reason: `torn record: size ${size}, ${end - at} bytes left` }
      : { status: "CORRUPT", reason: `bad size ${size}` };
  }
  const sysFlag = view.getInt32(at + 36);
  const bornHostBytes = (sysFlag & MessageSysFlag.BORNHOST_V6) !== 0 ? 16 : 4;
  const storeHostBytes = (sysFlag & MessageSysFlag.STOREHOST_V6) !== 0 ? 16 : 4;
  let p = at + 48 + bornHostBytes + 4 + 8 + storeHostBytes + 4 + 12;
  if (p + 4 > at + size) return { status: "CORRUPT", reason: "fields overrun size" };
  const bodyLength = view.getInt32(p);
  p += 4;
  if (bodyLength < 0 || p + bodyLength > at + size) {
    return { status: "CORRUPT", reason: `bad body length ${bodyLength}` };
  }
  const bodyStart = p;
  p += bodyLength;
  const v2 = magic === MAGIC_V2;
  if (p + (v2 ? 2 : 1) > at + size) {
    return { status: "CORRUPT", reason: "topic length overruns size" };
  }
  const topicLength = v2 ? view.getUint16(p) : view.getUint8(p);
  p += (v2 ? 2 : 1) + topicLength;
  if (p + 2 > at + size) return { status: "CORRUPT", reason: "properties length overruns size" };
  const propertiesLength = view.getInt16(p);
  if (propertiesLength < 0) return { status: "CORRUPT", reason: "negative properties length" };
  p += 2 + propertiesLength;
  if (p - at !== size) {
    return { status: "CORRUPT", reason: `field lengths sum to ${p - at}, TOTALSIZE is ${size}` };
  }
  if (checkCrc) {
    const stored = view.getInt32(at + 8);
    const actual = bodyCrc(bytes.subarray(bodyStart, bodyStart + bodyLength));
    if (stored !== actual) return { status: "CORRUPT", reason: `body CRC ${stored} != ${actual}` };
  }
  return { status: "OK", size };
}

const textDecoder = new TextDecoder();

/**
 * Decode the record starting at `at`. Call `checkRecord` first on untrusted bytes.
 *
 * @param bytes Buffer holding the record.
 * @param at Start position.
 * @returns The record; `body` views `bytes`.
 * @throws {RangeError} If the bytes are too short for the fields they declare.
 */
export function decodeRecord(bytes: Uint8Array, at = 0): MessageRecord {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const totalSize = view.getInt32(at);
  const magic = view.getInt32(at + 4);
  const sysFlag = view.getInt32(at + 36);
  let p = at + 48;
  const bornIpBytes = (sysFlag & MessageSysFlag.BORNHOST_V6) !== 0 ? 16 : 4;
  const bornHost = { ip: bytes.slice(p, p + bornIpBytes), port: view.getInt32(p + bornIpBytes) };
  p += bornIpBytes + 4;
  const storeTimestamp = getInt64(view, p);
  p += 8;
  const storeIpBytes = (sysFlag & MessageSysFlag.STOREHOST_V6) !== 0 ? 16 : 4;
  const storeHost = { ip: bytes.slice(p, p + storeIpBytes), port: view.getInt32(p + storeIpBytes) };
  p += storeIpBytes + 4;
  const reconsumeTimes = view.getInt32(p);
  const preparedTransactionOffset = getInt64(view, p + 4);
  p += 12;
  const bodyLength = view.getInt32(p);
  p += 4;
  if (bodyLength < 0 || p + bodyLength > bytes.length) {
    throw new RangeError("Record body overruns buffer");
  }
  const body = bytes.subarray(p, p + bodyLength);
  p += bodyLength;
  let topicLength: number;
  if (magic === MAGIC_V2) {
    topicLength = view.getUint16(p);
    p += 2;
  } else {
    topicLength = view.getUint8(p);
    p += 1;
  }
  const topic = textDecoder.decode(bytes.subarray(p, p + topicLength));
  p += topicLength;
  const propertiesLength = view.getInt16(p);
  p += 2;
  const properties = propertiesLength > 0
    ? textDecoder.decode(bytes.subarray(p, p + propertiesLength))
    : "";
  return {
    totalSize,
    magic,
    bodyCrc: view.getInt32(at + 8),
    queueId: view.getInt32(at + 12),
    flag: view.getInt32(at + 16),
    queueOffset: getInt64(view, at + 20),
    commitLogOffset: getInt64(view, at + 28),
    sysFlag,
    bornTimestamp: getInt64(view, at + 40),
    bornHost,
    storeTimestamp,
    storeHost,
    reconsumeTimes,
    preparedTransactionOffset,
    body,
    topic,
    properties,
  };
}

/**
 * Decode a concatenation of records (a pull/query/view response body).
 *
 * @param bytes The body.
 * @returns The records in order.
 * @throws {RangeError} If a record is malformed or truncated.
 */
export function decodeRecords(bytes: Uint8Array): MessageRecord[] {
  const out: MessageRecord[] = [];
  let at = 0;
  while (at < bytes.length) {
    const check = checkRecord(bytes, at, bytes.length, false);
    if (check.status !== "OK") {
      throw new RangeError(
        `Malformed record at byte ${at} of ${bytes.length}: ${
          check.status === "BLANK" ? "blank marker" : check.reason
        }`,
      );
    }
    out.push(decodeRecord(bytes, at));
    at += check.size;
  }
  return out;
}

/**
 * Write a signed 64-bit integer given as a JS number (exact below 2^53).
 *
 * @param view Target view.
 * @param at Byte offset.
 * @param value Integer value.
 */
export function setInt64(view: DataView, at: number, value: number): void {
  const high = Math.floor(value / 0x1_0000_0000);
  view.setInt32(at, high);
  view.setUint32(at + 4, value - high * 0x1_0000_0000);
}

/**
 * Read a signed 64-bit integer as a JS number (exact below 2^53).
 *
 * @param view Source view.
 * @param at Byte offset.
 * @returns The value.
 */
export function getInt64(view: DataView, at: number): number {
  return view.getInt32(at) * 0x1_0000_0000 + view.getUint32(at + 4);
}
