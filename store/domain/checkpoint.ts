/**
 * The checkpoint file and the abort marker.
 *
 * `checkpoint` layout (big-endian, 64 bytes; the first 40 are RocketMQ's):
 *
 * | Offset | Size | Field                                               |
 * |--------|------|-----------------------------------------------------|
 * | 0      | 8    | physicMsgTimestamp: store time of last flushed record |
 * | 8      | 8    | logicsMsgTimestamp: store time covered by flushed ConsumeQueues |
 * | 16     | 8    | indexMsgTimestamp: store time covered by the flushed index |
 * | 24     | 8    | masterFlushedOffset (HA; 0 here)                     |
 * | 32     | 8    | confirmPhyOffset (controller mode; 0 here)           |
 * | 40     | 8    | commitLogFlushedOffset: everything below is fdatasync'd |
 * | 48     | 8    | dispatchedOffset: every unit for records below it is in flushed ConsumeQueues |
 * | 56     | 4    | CRC32 of bytes 0..55                                 |
 * | 60     | 4    | reserved, zero                                       |
 *
 * A checkpoint whose CRC does not match is treated as absent (recovery then
 * scans the whole CommitLog). The `abort` file exists while a store is open;
 * finding it at open means the last run did not close cleanly.
 *
 * @module
 */

import { crc32 } from "node:zlib";
import { getInt64, setInt64 } from "../../client/protocol/message_record.ts";
import type { StoreFileSystem } from "./segment.ts";

/** Path of the checkpoint file, relative to the data dir. */
export const CHECKPOINT_PATH = "checkpoint";
/** Path of the abort marker, relative to the data dir. */
export const ABORT_PATH = "abort";
/** Size of the checkpoint file, bytes. */
export const CHECKPOINT_BYTES = 64;

/** The checkpoint's fields. */
export interface Checkpoint {
  /** Store time of the last flushed CommitLog record, epoch ms. */
  readonly physicMsgTimestamp: number;
  /** Store time covered by the flushed ConsumeQueues, epoch ms. */
  readonly logicsMsgTimestamp: number;
  /** Store time covered by the flushed index, epoch ms. */
  readonly indexMsgTimestamp: number;
  /** HA master's flushed offset (0: no replication yet). */
  readonly masterFlushedOffset: number;
  /** Controller-mode confirmed offset (0: not used). */
  readonly confirmPhyOffset: number;
  /** Everything below this CommitLog offset was fdatasync'd. */
  readonly commitLogFlushedOffset: number;
  /** Every ConsumeQueue unit for records below this offset is in flushed ConsumeQueues. */
  readonly dispatchedOffset: number;
}

/**
 * Encode a checkpoint.
 *
 * @param checkpoint Fields.
 * @returns 64 bytes.
 */
export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  const bytes = new Uint8Array(CHECKPOINT_BYTES);
  const view = new DataView(bytes.buffer);
  setInt64(view, 0, checkpoint.physicMsgTimestamp);
  setInt64(view, 8, checkpoint.logicsMsgTimestamp);
  setInt64(view, 16, checkpoint.indexMsgTimestamp);
  setInt64(view, 24, checkpoint.masterFlushedOffset);
  setInt64(view, 32, checkpoint.confirmPhyOffset);
  setInt64(view, 40, checkpoint.commitLogFlushedOffset);
  setInt64(view, 48, checkpoint.dispatchedOffset);
  view.setUint32(56, crc32(bytes.subarray(0, 56)));
  return bytes;
}

/**
 * Decode a checkpoint.
 *
 * @param bytes File content.
 * @returns The fields, or undefined if too short or the CRC fails.
 */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint | undefined {
  if (bytes.length < CHECKPOINT_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(56) !== crc32(bytes.subarray(0, 56))) return undefined;
  const checkpoint = {
    physicMsgTimestamp: getInt64(view, 0),
    logicsMsgTimestamp: getInt64(view, 8),
    indexMsgTimestamp: getInt64(view, 16),
    masterFlushedOffset: getInt64(view, 24),
    confirmPhyOffset: getInt64(view, 32),
    commitLogFlushedOffset: getInt64(view, 40),
    dispatchedOffset: getInt64(view, 48),
  };
  return checkpoint.commitLogFlushedOffset >= 0 && checkpoint.dispatchedOffset >= 0
    ? checkpoint
    : undefined;
}

/**
 * Read the checkpoint file.
 *
 * @param fs The store's file system.
 * @returns The checkpoint, or undefined if missing or corrupt.
 */
export function readCheckpoint(fs: StoreFileSystem): Checkpoint | undefined {
  const bytes = fs.readFile(CHECKPOINT_PATH);
  return bytes === undefined ? undefined : decodeCheckpoint(bytes);
}

/**
 * Write the checkpoint file durably.
 *
 * @param fs The store's file system.
 * @param checkpoint Fields.
 */
export function writeCheckpoint(fs: StoreFileSystem, checkpoint: Checkpoint): void {
  fs.writeFile(CHECKPOINT_PATH, encodeCheckpoint(checkpoint));
}
