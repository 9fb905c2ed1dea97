/**
 * The CommitLog: every message of every topic, appended in one sequence of
 * fixed-size segments named by their 20-digit base offset.
 *
 * Record layout: `client/protocol/message_record.ts`. End of segment: when a
 * record plus the 8-byte blank marker does not fit in the rest of a segment,
 * the writer puts a blank marker (TOTALSIZE = bytes left, MAGICCODE =
 * `0xCBD43194`) and starts the record at the next segment's base.
 *
 * Two roles, usable from different threads:
 *
 * - `CommitLog` (writer; lives in the store worker, or on the calling thread in
 *   `LocalMessageStore`): appends, commits, flushes, recovers and deletes
 *   expired segments.
 * - `CommitLogReader` (dispatch worker, main thread): positional reads of
 *   committed bytes through its own handles. Its caller bounds reads by a
 *   committed offset learned from the writer.
 *
 * @module
 */

import {
  BLANK_MARKER_BYTES,
  checkRecord,
  getInt64,
  MAGIC_BLANK,
  MAGIC_V1,
  MAGIC_V2,
  MessageSysFlag,
  RecordPos,
  recordSize,
  setInt64,
  storeTimestampPos,
  transactionType,
} from "../../client/protocol/message_record.ts";
import { assert } from "./assert.ts";
import type { QueueOffsetTable } from "./queue_offset_table.ts";
import { recordPhysicalOffset, recordStoreTimestamp, TopicDecoder } from "./record_view.ts";
import type { Clock, Segment, SegmentDirectory } from "./segment.ts";

/** Smallest possible record (IPv4 hosts, empty body, topic and properties). */
export const RECORD_BYTES_MIN: number = recordSize(0, 0, 0);
/** Default size of the writer's in-memory write buffer, bytes. */
export const WRITE_BUFFER_BYTES_DEFAULT = 256 * 1024;
/** Zeroing and scanning chunk, bytes. */
const CHUNK_BYTES = 1024 * 1024;
/**
 * Recovery stops zeroing the active segment's tail after a run of zero
 * chunks this long (or the writer's buffer, if larger): more than any single
 * write (one buffer commit, or one record of up to the 4 MiB body limit
 * written directly), so no bytes of the last run's writes lie beyond it.
 */
export const RECOVERY_ZERO_RUN_BYTES = 8 * 1024 * 1024;

/** Positional reads of CommitLog bytes; implemented by `CommitLog` and `CommitLogReader`. */
export interface CommitLogRead {
  /** Segment size, bytes. */
  readonly segmentBytes: number;
  /**
   * Read from `commitLogOffset` into `target`, never past the end of the
   * segment holding `commitLogOffset`.
   *
   * @param commitLogOffset Absolute offset.
   * @param target Destination.
   * @returns Bytes read; 0 if no segment holds the offset (deleted or not yet created).
   */
  readAt(commitLogOffset: number, target: Uint8Array): number;
}

/** Where an append landed. */
export interface AppendResult {
  /** CommitLog offset of the first record. */
  readonly commitLogOffset: number;
  /** QueueOffset of the first record (0 for prepared/rollback transaction records). */
  readonly queueOffset: number;
  /** STORETIMESTAMP written into the records. */
  readonly storeTimestamp: number;
  /** Offsets of every record, in order. */
  readonly commitLogOffsets: readonly number[];
  /** Total bytes of the records (the blank marker, if any, not counted). */
  readonly wroteBytes: number;
}

/** Options of a CommitLog writer. */
export interface CommitLogOptions {
  /** Segment size, bytes. */
  readonly segmentBytes: number;
  /** Broker clock for STORETIMESTAMP. */
  readonly clock: Clock;
  /** In-memory write buffer, bytes (default 256 KiB). */
  readonly writeBufferBytes?: number;
}

/** Outcome of a recovery scan. */
export interface CommitLogRecovery {
  /** Offset the scan started at (a record boundary). */
  readonly scannedFromOffset: number;
  /** One past the last valid record (or blank marker): the new written/committed/flushed offset. */
  readonly endOffset: number;
  /** Valid records seen by the scan. */
  readonly recordCount: number;
  /** STORETIMESTAMP of the last valid record (0 if none). */
  readonly lastStoreTimestamp: number;
  /** Why the scan stopped, for logs. */
  readonly stopReason: string;
}

/**
 * Whether every byte is zero (checked four bytes at a time).
 *
 * @param bytes Bytes to test.
 * @returns True if all are zero.
 */
export function isAllZero(bytes: Uint8Array): boolean {
  const lead = Math.min((4 - (bytes.byteOffset % 4)) % 4, bytes.length);
  for (let i = 0; i < lead; i++) if (bytes[i] !== 0) return false;
  const words = Math.floor((bytes.length - lead) / 4);
  const wide = new Int32Array(bytes.buffer, bytes.byteOffset + lead, words);
  for (let i = 0; i < words; i++) if (wide[i] !== 0) return false;
  for (let i = lead + words * 4; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

function segmentBase(offset: number, segmentBytes: number): number {
  return offset - (offset % segmentBytes);
}

function assertRecordHeader(bytes: Uint8Array, at: number, limit: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert(
    limit - at >= RECORD_BYTES_MIN,
    () => `record at ${at} is shorter than ${RECORD_BYTES_MIN} bytes`,
  );
  const size = view.getInt32(at + RecordPos.TOTAL_SIZE);
  const magic = view.getInt32(at + RecordPos.MAGIC);
  assert(magic === MAGIC_V1 || magic === MAGIC_V2, () => `record at ${at} has bad magic ${magic}`);
  assert(
    size >= RECORD_BYTES_MIN && at + size <= limit,
    () => `record at ${at} has TOTALSIZE ${size}, ${limit - at} bytes available`,
  );
  return size;
}

/**
 * Read-only access to CommitLog segments through this thread's own handles.
 *
 * Lives on any thread that reads the CommitLog (dispatch worker, main thread).
 * Handles are opened on first use and cached; `release` closes handles of
 * segments below an offset (after retention deleted them).
 */
export class CommitLogReader implements CommitLogRead {
  readonly segmentBytes: number;
  #dir: SegmentDirectory;
  #segments: Map<number, Segment> = new Map();

  /**
   * Open a reader (no I/O until the first read).
   *
   * @param dir The CommitLog directory.
   * @param segmentBytes Segment size, as the writer uses it.
   */
  constructor(dir: SegmentDirectory, segmentBytes: number) {
    this.#dir = dir;
    this.segmentBytes = segmentBytes;
  }

  /**
   * Positional read within one segment.
   *
   * @param commitLogOffset Absolute offset.
   * @param target Destination.
   * @returns Bytes read (0 if the segment does not exist).
   */
  readAt(commitLogOffset: number, target: Uint8Array): number {
    const base = segmentBase(commitLogOffset, this.segmentBytes);
    let segment = this.#segments.get(base);
    if (segment === undefined) {
      segment = this.#dir.open(base, this.segmentBytes);
      if (segment === undefined) return 0;
      this.#segments.set(base, segment);
    }
    const position = commitLogOffset - base;
    const n = Math.min(target.length, this.segmentBytes - position);
    return segment.read(position, n === target.length ? target : target.subarray(0, n));
  }

  /**
   * Oldest retained offset (base of the first segment on disk, 0 if none).
   *
   * @returns The CommitLog min offset.
   */
  minOffset(): number {
    return this.#dir.list()[0] ?? 0;
  }

  /**
   * Close cached handles of segments that end at or below `commitLogOffset`.
   *
   * @param commitLogOffset Offset below which segments are gone.
   */
  release(commitLogOffset: number): void {
    for (const [base, segment] of this.#segments) {
      if (base + this.segmentBytes <= commitLogOffset) {
        segment.close();
        this.#segments.delete(base);
      }
    }
  }

  /** Close every handle. */
  close(): void {
    for (const segment of this.#segments.values()) segment.close();
    this.#segments.clear();
  }
}

/**
 * The CommitLog writer.
 *
 * Invariants: `minOffset <= flushedOffset <= committedOffset <= writtenOffset`;
 * the write buffer holds the bytes in `[bufferBase, writtenOffset)` with
 * `bufferBase <= committedOffset`, all in the active segment; at least 8
 * bytes are always left in the active segment (room for a blank marker).
 *
 * Appends take records that are already encoded (QUEUEOFFSET, PHYSICALOFFSET
 * and STORETIMESTAMP may be placeholders) and patch those three fields in
 * place. `commit()` writes the buffer with one write; `flush()` commits and
 * fdatasyncs.
 */
export class CommitLog implements CommitLogRead {
  readonly segmentBytes: number;
  #dir: SegmentDirectory;
  #queueOffsets: QueueOffsetTable;
  #clock: Clock;
  #segments: Map<number, Segment> = new Map();
  #bases: number[] = [];
  #buffer: Uint8Array;
  /** Absolute offset of `#buffer[0]`; the buffer holds `[#bufferBase, #writtenOffset)`. */
  #bufferBase = 0;
  #writtenOffset = 0;
  #committedOffset = 0;
  #flushedOffset = 0;
  #unflushed: Set<Segment> = new Set();
  /** A segment was created since the last flush: its directory entry is not yet durable. */
  #directoryDirty = false;
  #lastStoreTimestamp = 0;
  readonly #topics = new TopicDecoder();

  /**
   * Build a writer over a directory; call `recover` (or `reset`) before appending.
   *
   * @param dir The CommitLog directory.
   * @param queueOffsets The QueueOffset table to assign from.
   * @param options Segment size, clock, buffer size.
   * @throws {RangeError} If the segment or buffer size is unusable.
   */
  constructor(dir: SegmentDirectory, queueOffsets: QueueOffsetTable, options: CommitLogOptions) {
    const bufferBytes = options.writeBufferBytes ?? WRITE_BUFFER_BYTES_DEFAULT;
    if (
      !Number.isSafeInteger(options.segmentBytes) ||
      options.segmentBytes < RECORD_BYTES_MIN + BLANK_MARKER_BYTES
    ) {
      throw new RangeError(
        `Cannot open CommitLog: segment is ${options.segmentBytes} bytes, minimum is ${
          RECORD_BYTES_MIN + BLANK_MARKER_BYTES
        }`,
      );
    }
    if (!Number.isSafeInteger(bufferBytes) || bufferBytes < BLANK_MARKER_BYTES) {
      throw new RangeError(`Cannot open CommitLog: write buffer is ${bufferBytes} bytes`);
    }
    this.#dir = dir;
    this.#queueOffsets = queueOffsets;
    this.#clock = options.clock;
    this.segmentBytes = options.segmentBytes;
    this.#buffer = new Uint8Array(Math.min(bufferBytes, options.segmentBytes));
    this.#bases = dir.list();
  }

  /** Oldest retained offset: base of the first segment (or the written offset when there is none). */
  get minOffset(): number {
    return this.#bases[0] ?? this.#writtenOffset;
  }
  /** One past the last appended byte (in the write buffer or beyond). */
  get writtenOffset(): number {
    return this.#writtenOffset;
  }
  /** One past the last byte written to the file: readable by other threads. */
  get committedOffset(): number {
    return this.#committedOffset;
  }
  /** One past the last fdatasync'd byte. */
  get flushedOffset(): number {
    return this.#flushedOffset;
  }
  /** STORETIMESTAMP of the newest record. */
  get lastStoreTimestamp(): number {
    return this.#lastStoreTimestamp;
  }
  /** Largest record an append accepts: a segment minus the blank marker. */
  get recordBytesMax(): number {
    return this.segmentBytes - BLANK_MARKER_BYTES;
  }
  /** Base offsets of the segments, ascending. */
  get segmentBases(): readonly number[] {
    return this.#bases;
  }

  /**
   * Append one encoded record, patching QUEUEOFFSET, PHYSICALOFFSET and
   * STORETIMESTAMP in `record`. Prepared and rollback transaction records get
   * QUEUEOFFSET 0 and do not advance their queue.
   *
   * @param record One record; `record.length` equals its TOTALSIZE.
   * @returns Where it landed.
   * @throws {AssertionError} If the record is malformed or larger than `recordBytesMax`.
   */
  append(record: Uint8Array): AppendResult {
    const size = assertRecordHeader(record, 0, record.length);
    assert(
      size === record.length,
      () => `record TOTALSIZE ${size} != ${record.length} bytes given`,
    );
    return this.#appendRecords(record, 1);
  }

  /**
   * Append `count` encoded records of one queue that lie back to back in
   * `records`. They land contiguously in one segment, with consecutive QueueOffsets.
   *
   * @param records The records, concatenated.
   * @param count How many records `records` holds.
   * @returns Where they landed.
   * @throws {AssertionError} If the records are malformed, do not add up, or exceed `recordBytesMax` together.
   */
  appendBatch(records: Uint8Array, count: number): AppendResult {
    let at = 0;
    for (let i = 0; i < count; i++) at += assertRecordHeader(records, at, records.length);
    assert(
      at === records.length,
      () => `${count} records span ${at} bytes, ${records.length} given`,
    );
    return this.#appendRecords(records, count);
  }

  #appendRecords(records: Uint8Array, count: number): AppendResult {
    const total = records.length;
    assert(
      total <= this.recordBytesMax,
      () => `append of ${total} bytes exceeds ${this.recordBytesMax}`,
    );
    this.#ensureRoom(total);
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
    const sysFlag = view.getInt32(RecordPos.SYS_FLAG);
    const txType = transactionType(sysFlag);
    const counted = txType === MessageSysFlag.TRANSACTION_NOT_TYPE ||
      txType === MessageSysFlag.TRANSACTION_COMMIT_TYPE;
    let firstQueueOffset = 0;
    if (counted) {
      // Consecutive appends usually share a topic: the decoder compares bytes instead of decoding.
      const topic = this.#topics.recordTopic(view, records, 0);
      firstQueueOffset = this.#queueOffsets.take(topic, view.getInt32(RecordPos.QUEUE_ID), count);
    }
    const undo = () => {
      if (!counted) return;
      const topic = this.#topics.recordTopic(view, records, 0);
      const queueId = view.getInt32(RecordPos.QUEUE_ID);
      if (this.#queueOffsets.next(topic, queueId) === firstQueueOffset + count) {
        this.#queueOffsets.set(topic, queueId, firstQueueOffset);
      }
    };
    const now = Math.max(this.#clock.nowMs(), this.#lastStoreTimestamp);
    this.#lastStoreTimestamp = now;
    const first = this.#writtenOffset;
    const offsets: number[] = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      const recordSysFlag = view.getInt32(at + RecordPos.SYS_FLAG);
      setInt64(view, at + RecordPos.QUEUE_OFFSET, counted ? firstQueueOffset + i : 0);
      setInt64(view, at + RecordPos.PHYSICAL_OFFSET, first + at);
      setInt64(view, at + storeTimestampPos(recordSysFlag), now);
      offsets.push(first + at);
      at += view.getInt32(at);
    }
    try {
      this.#put(records);
    } catch (error) {
      undo(); // the records never entered the log: give their QueueOffsets back
      throw error;
    }
    return {
      commitLogOffset: first,
      queueOffset: firstQueueOffset,
      storeTimestamp: now,
      commitLogOffsets: offsets,
      wroteBytes: total,
    };
  }

  /** Make sure `size` bytes plus a blank marker fit in the active segment; roll if not. */
  #ensureRoom(size: number): void {
    const position = this.#writtenOffset % this.segmentBytes;
    const remaining = this.segmentBytes - position;
    assert(remaining >= BLANK_MARKER_BYTES, () => `only ${remaining} bytes left in segment`);
    if (size + BLANK_MARKER_BYTES <= remaining) return;
    const blank = new Uint8Array(BLANK_MARKER_BYTES);
    const view = new DataView(blank.buffer);
    view.setInt32(0, remaining);
    view.setInt32(4, MAGIC_BLANK);
    this.#put(blank);
    this.commit();
    // The rest of the segment counts as written: readers jump to the next base.
    this.#writtenOffset += remaining - BLANK_MARKER_BYTES;
    this.#committedOffset = this.#writtenOffset;
    this.#bufferBase = this.#writtenOffset;
    assert(this.#writtenOffset % this.segmentBytes === 0, "roll did not land on a segment base");
  }

  /**
   * Copy bytes into the write buffer (or straight to the file when larger
   * than it). Committed bytes stay in the buffer until it is full, so reads
   * of recent records (dispatch, tailing consumers) are served from memory.
   */
  #put(bytes: Uint8Array): void {
    if (this.#writtenOffset - this.#bufferBase + bytes.length > this.#buffer.length) {
      this.commit();
      this.#bufferBase = this.#writtenOffset;
    }
    if (bytes.length > this.#buffer.length) {
      const segment = this.#segmentFor(this.#writtenOffset, true);
      segment.write(this.#writtenOffset - segment.baseOffset, bytes);
      this.#unflushed.add(segment);
      this.#writtenOffset += bytes.length;
      this.#committedOffset = this.#writtenOffset;
      this.#bufferBase = this.#writtenOffset;
      return;
    }
    this.#buffer.set(bytes, this.#writtenOffset - this.#bufferBase);
    this.#writtenOffset += bytes.length;
  }

  #segmentFor(offset: number, create: boolean): Segment {
    const base = segmentBase(offset, this.segmentBytes);
    let segment = this.#segments.get(base);
    if (segment === undefined) {
      segment = this.#dir.open(base, this.segmentBytes, { create, writable: true });
      assert(segment !== undefined, () => `CommitLog segment ${base} is missing`);
      this.#segments.set(base, segment);
      if (this.#bases.length === 0 || this.#bases[this.#bases.length - 1] < base) {
        this.#bases.push(base);
        this.#directoryDirty = true;
      }
    }
    return segment;
  }

  /**
   * Drop appended bytes not yet written to the file (after a failed write,
   * e.g. a full disk) and give their QueueOffsets back, so a refused put
   * leaves no trace and the next one continues where the file ends.
   *
   * @returns Bytes dropped.
   */
  discardUncommitted(): number {
    const dropped = this.#writtenOffset - this.#committedOffset;
    if (dropped <= 0) return 0;
    const bytes = this.#buffer.subarray(
      this.#committedOffset - this.#bufferBase,
      this.#writtenOffset - this.#bufferBase,
    );
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    while (at + 8 <= bytes.length) {
      const size = view.getInt32(at);
      if (view.getInt32(at + 4) === MAGIC_BLANK || size <= 0) break;
      const txType = transactionType(view.getInt32(at + RecordPos.SYS_FLAG));
      if (
        txType === MessageSysFlag.TRANSACTION_NOT_TYPE ||
        txType === MessageSysFlag.TRANSACTION_COMMIT_TYPE
      ) {
        const topic = this.#topics.recordTopic(view, bytes, at);
        const queueId = view.getInt32(at + RecordPos.QUEUE_ID);
        const queueOffset = getInt64(view, at + RecordPos.QUEUE_OFFSET);
        if (queueOffset < this.#queueOffsets.next(topic, queueId)) {
          this.#queueOffsets.set(topic, queueId, queueOffset);
        }
      }
      at += size;
    }
    this.#writtenOffset = this.#committedOffset;
    return dropped;
  }

  /**
   * Write the buffered bytes to the active segment with one write, making
   * them readable by other threads.
   *
   * @returns The new committed offset.
   */
  commit(): number {
    if (this.#writtenOffset === this.#committedOffset) return this.#committedOffset;
    const segment = this.#segmentFor(this.#committedOffset, true);
    segment.write(
      this.#committedOffset - segment.baseOffset,
      this.#buffer.subarray(
        this.#committedOffset - this.#bufferBase,
        this.#writtenOffset - this.#bufferBase,
      ),
    );
    this.#unflushed.add(segment);
    this.#committedOffset = this.#writtenOffset;
    return this.#committedOffset;
  }

  /**
   * Commit, then fdatasync every segment written since the last flush, and
   * fsync the directory when a segment was created since (once per segment),
   * so a record counted as flushed survives a power cut with its file.
   *
   * @returns The new flushed offset.
   */
  flush(): number {
    this.commit();
    for (const segment of this.#unflushed) segment.flush();
    this.#unflushed.clear();
    if (this.#directoryDirty) {
      this.#dir.sync();
      this.#directoryDirty = false;
    }
    this.#flushedOffset = this.#committedOffset;
    return this.#flushedOffset;
  }

  /**
   * Read committed bytes within one segment.
   *
   * @param commitLogOffset Absolute offset.
   * @param target Destination.
   * @returns Bytes read, never past the committed offset or the segment end; 0 if deleted.
   */
  readAt(commitLogOffset: number, target: Uint8Array): number {
    const base = segmentBase(commitLogOffset, this.segmentBytes);
    if (commitLogOffset >= this.#committedOffset || base < this.minOffset) return 0;
    const n = Math.min(
      target.length,
      this.#committedOffset - commitLogOffset,
      base + this.segmentBytes - commitLogOffset,
    );
    if (commitLogOffset >= this.#bufferBase) {
      const from = commitLogOffset - this.#bufferBase;
      target.set(this.#buffer.subarray(from, from + n));
      return n;
    }
    const segment = this.#segments.get(base) ??
      this.#dir.open(base, this.segmentBytes, { writable: true });
    if (segment === undefined) return 0;
    this.#segments.set(base, segment);
    return segment.read(commitLogOffset - base, target.subarray(0, n));
  }

  /**
   * Read one whole committed record (or `size` bytes) as a fresh array.
   *
   * @param commitLogOffset Record start.
   * @param size Bytes to read.
   * @returns The bytes, or undefined if not all of them are available.
   */
  read(commitLogOffset: number, size: number): Uint8Array | undefined {
    const out = new Uint8Array(size);
    return this.readAt(commitLogOffset, out) === size ? out : undefined;
  }

  /**
   * Scan forward from `fromOffset` validating records, then cut everything
   * after the last valid one: the rest of its segment is zeroed and later
   * segments are deleted. Sets written = committed = flushed = end.
   *
   * A record is valid when its length, magic, field lengths, PHYSICALOFFSET
   * (must equal its position) and, if asked, body CRC check out; a blank
   * marker is valid when its size is exactly the rest of its segment.
   *
   * @param fromOffset A record boundary to start from (clamped to the first segment).
   * @param checkCrc Verify body CRCs.
   * @returns What the scan found.
   */
  recover(fromOffset: number, checkCrc: boolean): CommitLogRecovery {
    this.#bases = this.#dir.list();
    const scan = scanCommitLog(this.#dir, this.segmentBytes, fromOffset, checkCrc, (b) => {
      const s = this.#segments.get(b) ?? this.#dir.open(b, this.segmentBytes, { writable: true });
      if (s !== undefined) this.#segments.set(b, s);
      return s;
    });
    this.#truncateAfter(scan.endOffset);
    this.#writtenOffset = scan.endOffset;
    this.#committedOffset = scan.endOffset;
    this.#flushedOffset = scan.endOffset;
    this.#bufferBase = scan.endOffset;
    this.#lastStoreTimestamp = scan.lastStoreTimestamp;
    return scan;
  }

  #truncateAfter(endOffset: number): void {
    const zeros = new Uint8Array(CHUNK_BYTES);
    const chunk = new Uint8Array(CHUNK_BYTES);
    let deleted = false;
    for (const base of [...this.#bases]) {
      if (base + this.segmentBytes <= endOffset) continue;
      if (base >= endOffset) {
        this.#segments.get(base)?.close();
        this.#segments.delete(base);
        this.#dir.delete(base);
        this.#bases = this.#bases.filter((b) => b !== base);
        deleted = true;
        continue;
      }
      // The segment holding the end: zero its tail, skipping chunks that are
      // already zero, until a zero run longer than any single write. Appends
      // are sequential, so what the last run wrote past the end lies within
      // one write of it; reading on to the end of a 1 GiB segment took
      // seconds on every open. (After a power loss in async flush mode,
      // pages of several unflushed writes may reach the disk out of order;
      // zeros longer than the run between two of them are not detected.)
      const segment = this.#segmentFor(base, false);
      const zeroRunBytes = Math.max(RECOVERY_ZERO_RUN_BYTES, this.#buffer.length);
      let position = endOffset - base;
      let zeroRun = 0;
      while (position < this.segmentBytes && zeroRun < zeroRunBytes) {
        const n = segment.read(
          position,
          chunk.subarray(0, Math.min(CHUNK_BYTES, this.segmentBytes - position)),
        );
        if (n === 0) break;
        if (isAllZero(chunk.subarray(0, n))) {
          zeroRun += n;
        } else {
          segment.write(position, zeros.subarray(0, n));
          zeroRun = 0;
        }
        position += n;
      }
      // Always: the records up to the end may be in the page cache only (a
      // process crash), and recovery reports them as flushed.
      segment.flush();
    }
    // A deleted tail segment must not come back after a power cut and be
    // scanned as records; the directory may also hold entries a crashed run
    // created and never synced. One fsync settles both.
    if (deleted || this.#bases.length > 0) this.#dir.sync();
  }

  /**
   * Append records a master already laid out (HA replication, spec §10.2),
   * byte for byte at `commitLogOffset`: QUEUEOFFSET, PHYSICALOFFSET and
   * STORETIMESTAMP are kept, the QueueOffset table follows them. A blank
   * marker (8 bytes in `bytes`) rolls to the next segment as on the master.
   * An empty log starts at `commitLogOffset`.
   *
   * @param commitLogOffset Where `bytes` begins; must equal the written offset.
   * @param bytes Whole records and blank markers, back to back.
   * @returns The new written offset.
   * @throws {AssertionError} If the offset does not match or a record is malformed or misplaced.
   */
  appendReplicated(commitLogOffset: number, bytes: Uint8Array): number {
    const empty = this.#bases.length === 0 && this.#writtenOffset === this.#committedOffset;
    if (this.#writtenOffset !== commitLogOffset && empty && this.#dir.list().length === 0) {
      this.reset(commitLogOffset);
    }
    assert(
      this.#writtenOffset === commitLogOffset,
      () => `replicated bytes at ${commitLogOffset}, log ends at ${this.#writtenOffset}`,
    );
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    while (at < bytes.length) {
      if (at + BLANK_MARKER_BYTES <= bytes.length && view.getInt32(at + 4) === MAGIC_BLANK) {
        const remaining = this.segmentBytes - this.#writtenOffset % this.segmentBytes;
        assert(view.getInt32(at) === remaining, () => `blank marker does not end the segment`);
        this.#ensureRoom(remaining);
        at += BLANK_MARKER_BYTES;
        continue;
      }
      const size = assertRecordHeader(bytes, at, bytes.length);
      assert(
        getInt64(view, at + RecordPos.PHYSICAL_OFFSET) === this.#writtenOffset,
        () => `replicated record at ${this.#writtenOffset} names another offset`,
      );
      const position = this.#writtenOffset % this.segmentBytes;
      assert(position + size + BLANK_MARKER_BYTES <= this.segmentBytes, "record crosses a segment");
      const sysFlag = view.getInt32(at + RecordPos.SYS_FLAG);
      const txType = transactionType(sysFlag);
      if (
        txType === MessageSysFlag.TRANSACTION_NOT_TYPE ||
        txType === MessageSysFlag.TRANSACTION_COMMIT_TYPE
      ) {
        this.#queueOffsets.set(
          this.#topics.recordTopic(view, bytes, at),
          view.getInt32(at + RecordPos.QUEUE_ID),
          getInt64(view, at + RecordPos.QUEUE_OFFSET) + 1,
        );
      }
      this.#lastStoreTimestamp = Math.max(
        this.#lastStoreTimestamp,
        getInt64(view, at + storeTimestampPos(sysFlag)),
      );
      this.#put(bytes.subarray(at, at + size));
      at += size;
    }
    return this.#writtenOffset;
  }

  /**
   * Start an empty log at `offset` (used when no segment exists).
   *
   * @param offset A segment-aligned or record-aligned starting offset.
   * @throws {AssertionError} If segments exist.
   */
  reset(offset: number): void {
    assert(this.#dir.list().length === 0, "CommitLog.reset() needs an empty directory");
    this.#writtenOffset = offset;
    this.#committedOffset = offset;
    this.#flushedOffset = offset;
    this.#bufferBase = offset;
  }

  /**
   * Delete segments whose last-modified time plus `reservedMs` is at or
   * before `nowMs` (or all but the active one when `force`), oldest first,
   * stopping at the first one kept. Never deletes the segment being written
   * or the newest one,
   * one not wholly flushed, or one not wholly dispatched (its records would
   * never reach the ConsumeQueues and index, whose min offsets follow the
   * CommitLog's).
   *
   * @param nowMs Current time.
   * @param reservedMs Retention, ms.
   * @param maxSegments Delete at most this many.
   * @param force Ignore age (disk nearly full).
   * @param dispatchedOffset Everything below it has been dispatched (default: all flushed data).
   * @returns Base offsets deleted.
   */
  deleteExpired(
    nowMs: number,
    reservedMs: number,
    maxSegments: number,
    force = false,
    dispatchedOffset = Number.MAX_SAFE_INTEGER,
  ): number[] {
    const activeBase = segmentBase(this.#writtenOffset, this.segmentBytes);
    const keepFrom = Math.min(this.#flushedOffset, dispatchedOffset);
    const deleted: number[] = [];
    for (const base of [...this.#bases]) {
      if (deleted.length >= maxSegments || base + this.segmentBytes > keepFrom) break;
      // Never the newest segment, even when the next one is not created yet:
      // with no segment left, a restart could not tell where the log ends and
      // would hand out CommitLog offsets that ConsumeQueues still point at.
      if (base >= activeBase || base === this.#bases[this.#bases.length - 1]) break;
      const mtime = this.#dir.lastModifiedMs(base);
      if (!force && mtime !== undefined && mtime + reservedMs > nowMs) break;
      this.#segments.get(base)?.close();
      this.#segments.delete(base);
      this.#dir.delete(base);
      deleted.push(base);
    }
    if (deleted.length > 0) {
      this.#bases = this.#bases.slice(deleted.length);
      this.#dir.sync();
    }
    return deleted;
  }

  /** Close every handle (does not flush; call `flush` first). */
  close(): void {
    for (const segment of this.#segments.values()) segment.close();
    this.#segments.clear();
    this.#unflushed.clear();
  }
}

/**
 * Scan CommitLog segments forward from `fromOffset` to find the end of valid data.
 *
 * Shared by the writer's recovery and by tools. Reads through `open`, so it
 * works on any thread.
 *
 * @param dir The CommitLog directory.
 * @param segmentBytes Segment size.
 * @param fromOffset A record boundary (clamped to the first segment).
 * @param checkCrc Verify body CRCs.
 * @param open How to get a segment by base (default: open read-only from `dir`).
 * @returns The scan outcome.
 */
export function scanCommitLog(
  dir: SegmentDirectory,
  segmentBytes: number,
  fromOffset: number,
  checkCrc: boolean,
  open: (base: number) => Segment | undefined = (base) => dir.open(base, segmentBytes),
): CommitLogRecovery {
  const bases = dir.list();
  if (bases.length === 0) {
    return {
      scannedFromOffset: fromOffset,
      endOffset: segmentBase(fromOffset, segmentBytes),
      recordCount: 0,
      lastStoreTimestamp: 0,
      stopReason: "no segments",
    };
  }
  let pos = Math.max(fromOffset, bases[0]);
  if (!bases.includes(segmentBase(pos, segmentBytes))) {
    pos = bases.find((b) => b > pos) ?? segmentBase(pos, segmentBytes);
  }
  const scannedFromOffset = pos;
  let window = new Uint8Array(Math.min(segmentBytes, CHUNK_BYTES));
  let recordCount = 0;
  let lastStoreTimestamp = 0;
  let stopReason = "";
  scan: while (true) {
    const base = segmentBase(pos, segmentBytes);
    if (!bases.includes(base)) {
      stopReason = `segment ${base} missing`;
      break;
    }
    const segment = open(base);
    if (segment === undefined) {
      stopReason = `segment ${base} missing`;
      break;
    }
    const segmentEnd = base + segmentBytes;
    const n = segment.read(
      pos - base,
      window.subarray(0, Math.min(window.length, segmentEnd - pos)),
    );
    const windowReachesEnd = pos + n >= segmentEnd;
    let at = 0;
    while (true) {
      const check = checkRecord(window, at, n, checkCrc);
      if (check.status === "OK") {
        if (recordPhysicalOffset(window, at) !== pos + at) {
          stopReason = `record at ${pos + at} stores PHYSICALOFFSET ${
            recordPhysicalOffset(window, at)
          }`;
          pos += at;
          break scan;
        }
        lastStoreTimestamp = recordStoreTimestamp(window, at);
        recordCount++;
        at += check.size;
        continue;
      }
      if (check.status === "BLANK") {
        if (pos + at + check.size !== segmentEnd) {
          stopReason = `blank marker at ${
            pos + at
          } has size ${check.size}, segment ends at ${segmentEnd}`;
          pos += at;
          break scan;
        }
        pos = segmentEnd;
        continue scan;
      }
      // END or CORRUPT: maybe only the window is too short.
      if (!windowReachesEnd) {
        if (at > 0) {
          pos += at;
          continue scan;
        }
        const claimed = new DataView(window.buffer).getInt32(0);
        if (claimed > window.length && claimed <= segmentEnd - pos) {
          window = new Uint8Array(claimed);
          continue scan;
        }
      }
      stopReason = check.reason;
      pos += at;
      break scan;
    }
  }
  return { scannedFromOffset, endOffset: pos, recordCount, lastStoreTimestamp, stopReason };
}
