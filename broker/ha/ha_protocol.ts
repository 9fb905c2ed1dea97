/**
 * The classic HA wire protocol (spec §10.2, RocketMQ's `DefaultHAService`):
 * plain TCP between a master's HA port and each slave.
 *
 * | Direction      | Bytes | Field                                                      |
 * |----------------|-------|------------------------------------------------------------|
 * | slave → master | 8     | the slave's max CommitLog offset (int64, big-endian)       |
 * | master → slave | 8     | phyOffset: CommitLog offset of the first body byte (int64) |
 * |                | 4     | bodySize (int32; 0 = heartbeat)                            |
 * |                | n     | body: raw CommitLog bytes starting at phyOffset            |
 *
 * The slave's first report is its request offset, later ones are acks. Here
 * a body always holds whole records; a segment's end travels as its 8-byte
 * blank marker only (the rest of that segment is padding), so the slave
 * rolls to the next segment exactly as the master did.
 *
 * @module
 */

import {
  BLANK_MARKER_BYTES,
  getInt64,
  MAGIC_BLANK,
  setInt64,
} from "../../client/protocol/message_record.ts";

/** Bytes of a slave's offset report. */
export const HA_REPORT_BYTES = 8;
/** Bytes of a transfer header. */
export const HA_HEADER_BYTES = 12;
/** Most CommitLog bytes a master reads for one transfer (more than RocketMQ's 32 KiB: fewer hops). */
export const HA_TRANSFER_BATCH_BYTES = 1024 * 1024;
/** A side sends a heartbeat (empty transfer or repeated report) after this much silence, ms. */
export const HA_HEARTBEAT_INTERVAL_MS = 5_000;
/** A master drops a slave connection silent this long, ms (`haHousekeepingInterval`). */
export const HA_HOUSEKEEPING_INTERVAL_MS = 20_000;

/** Encode a slave's offset report. */
export function encodeReport(offset: number): Uint8Array {
  const bytes = new Uint8Array(HA_REPORT_BYTES);
  setInt64(new DataView(bytes.buffer), 0, offset);
  return bytes;
}

/** Decode a slave's offset report at `at`. */
export function decodeReport(bytes: Uint8Array, at: number): number {
  return getInt64(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), at);
}

/**
 * Encode a transfer: header then body.
 *
 * @param phyOffset CommitLog offset of the first body byte.
 * @param body Raw records (empty for a heartbeat).
 * @returns One buffer ready to write.
 */
export function encodeTransfer(phyOffset: number, body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(HA_HEADER_BYTES + body.length);
  const view = new DataView(frame.buffer);
  setInt64(view, 0, phyOffset);
  view.setInt32(8, body.length);
  frame.set(body, HA_HEADER_BYTES);
  return frame;
}

/** Where a chunk of CommitLog bytes may be cut for one transfer. */
export interface TransferCut {
  /** Body bytes to send (whole records, maybe ending with one blank marker). */
  readonly bodyBytes: number;
  /** The master's next read offset after this transfer (the next segment base after a blank). */
  readonly nextOffset: number;
  /** When `bodyBytes` is 0: the first record's size, if it did not fit in the chunk read. */
  readonly needBytes?: number;
}

/**
 * Cut a chunk read at `offset` after its last whole record.
 *
 * @param chunk Raw CommitLog bytes starting at a record boundary.
 * @param offset CommitLog offset of `chunk[0]`.
 * @returns The cut.
 */
export function cutTransfer(chunk: Uint8Array, offset: number): TransferCut {
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  let at = 0;
  while (at + BLANK_MARKER_BYTES <= chunk.length) {
    const size = view.getInt32(at);
    if (view.getInt32(at + 4) === MAGIC_BLANK) {
      return { bodyBytes: at + BLANK_MARKER_BYTES, nextOffset: offset + at + size };
    }
    if (size <= 0) break;
    if (at + size > chunk.length) {
      return at === 0
        ? { bodyBytes: 0, nextOffset: offset, needBytes: size }
        : { bodyBytes: at, nextOffset: offset + at };
    }
    at += size;
  }
  return { bodyBytes: at, nextOffset: offset + at };
}
