/**
 * ConsumeQueue: the index of one (topic, queueId) into the CommitLog, kept in
 * `consumequeue/{topic}/{queueId}/` as segments of fixed 20-byte units.
 *
 * Unit layout (big-endian), unit number n (the QueueOffset) at byte n × 20:
 *
 * | Field           | Size | Offset |
 * |-----------------|------|--------|
 * | commitLogOffset | 8    | 0      |
 * | size            | 4    | 8      |
 * | tagsCode        | 8    | 12     |
 *
 * Segment files hold `unitsPerSegment` units and are named by the byte offset
 * of their first unit (20 digits). A unit whose size is 0 is "never written"
 * (end of data); a unit whose size is `DUMMY_UNIT_SIZE` fills a hole and is
 * skipped by readers.
 *
 * Roles: the writer (dispatch worker, or the calling thread in
 * `LocalMessageStore`) appends idempotently, commits, flushes, truncates and
 * deletes old segments. A reader (main thread) is the same class opened with
 * `writable: false`; it learns the max offset from dispatch events
 * (`observeMaxOffset`) and sees units once the writer has committed them.
 *
 * Invariants: `minOffset <= maxOffset`; units in `[minOffset, maxOffset)` have
 * strictly increasing commitLogOffsets; `maxPhysicalOffset` is the CommitLog
 * end of the last unit.
 *
 * @module
 */

import { getInt64, setInt64 } from "../../client/protocol/message_record.ts";
import { assert } from "./assert.ts";
import { isAllZero } from "./commit_log.ts";
import type { Segment, SegmentDirectory } from "./segment.ts";

/** Bytes per ConsumeQueue unit. */
export const CQ_UNIT_BYTES = 20;
/** Size field of a filler unit (readers skip it). */
export const DUMMY_UNIT_SIZE = 0x7fffffff;
/** Units buffered by the writer before a forced commit. */
const PENDING_UNITS_MAX = 4096;
/** Units read per positional read when `load` scans a segment, at most (80 KiB). */
const LOAD_CHUNK_UNITS = 4096;
/** Units of `load`'s first read of a segment (a quiet queue holds few); later reads grow 4×. */
const LOAD_FIRST_CHUNK_UNITS = 64;
/** First size of a writer's pending buffer, units (it doubles up to `PENDING_UNITS_MAX`). */
const PENDING_UNITS_INITIAL = 16;

/** One decoded ConsumeQueue unit. */
export interface ConsumeQueueUnit {
  /** QueueOffset (unit number). */
  readonly queueOffset: number;
  /** CommitLog offset of the record. */
  readonly commitLogOffset: number;
  /** Record size, bytes. */
  readonly size: number;
  /** Tag hash code. */
  readonly tagsCode: number;
}

/** Outcome of `ConsumeQueue.append`. */
export type ConsumeQueueAppend =
  | { readonly status: "APPENDED"; readonly maxOffset: number }
  | { readonly status: "SKIPPED"; readonly reason: string };

/** Outcome of `ConsumeQueue.load`. */
export type ConsumeQueueLoad =
  | { readonly status: "OK"; readonly minOffset: number; readonly maxOffset: number }
  | { readonly status: "BROKEN"; readonly reason: string };

/**
 * The directory of a ConsumeQueue, relative to the data dir.
 *
 * @param topic Topic.
 * @param queueId Queue id.
 * @returns `consumequeue/{topic}/{queueId}`.
 */
export function consumeQueuePath(topic: string, queueId: number): string {
  return `consumequeue/${topic}/${queueId}`;
}

/** Units a `readUnits` call reads into the queue's reused buffer (larger reads allocate). */
const UNIT_SCRATCH_UNITS_MAX = 64;

/** One ConsumeQueue. See the module doc for layout, roles and invariants. */
export class ConsumeQueue {
  /** Topic. */
  readonly topic: string;
  /** Queue id. */
  readonly queueId: number;
  /** Units per segment file. */
  readonly unitsPerSegment: number;
  /** Whether this handle writes. */
  readonly writable: boolean;
  #dir: SegmentDirectory;
  #segmentBytes: number;
  #segments: Map<number, Segment> = new Map();
  #bases: number[] = [];
  /** A segment was created or deleted since the last flush (directory not yet synced). */
  #directoryDirty = false;
  /** Segments written since the last flush (only these are fdatasync'd). */
  readonly #unflushed = new Set<Segment>();
  /** CommitLog offset of the first unit written since the last flush (0 after a zeroing). */
  #unflushedFrom: number | undefined;
  /** Told when the queue first holds unflushed units (the ConsumeQueueStore's dirty list). */
  onDirty: ((queue: ConsumeQueue) => void) | undefined;
  /** Reused by `readUnits` (it decodes before returning), so a read allocates no buffer. */
  #unitScratch = new Uint8Array(0);
  #unitScratchView = new DataView(this.#unitScratch.buffer);
  #minOffset = 0;
  #maxOffset = 0;
  #maxPhysicalOffset = 0;
  #pending: Uint8Array;
  #pendingView: DataView;
  readonly #pendingUnitsMax: number;
  /** QueueOffset of the first pending unit; pending units are `[#pendingFrom, #maxOffset)`. */
  #pendingFrom = 0;

  /**
   * Build a ConsumeQueue handle; call `load` before use.
   *
   * @param dir Its segment directory.
   * @param topic Topic.
   * @param queueId Queue id.
   * @param unitsPerSegment Units per segment file.
   * @param writable Writer (true) or reader (false).
   * @throws {RangeError} If `unitsPerSegment` is not a positive integer.
   */
  constructor(
    dir: SegmentDirectory,
    topic: string,
    queueId: number,
    unitsPerSegment: number,
    writable: boolean,
  ) {
    if (!Number.isSafeInteger(unitsPerSegment) || unitsPerSegment < 1) {
      throw new RangeError(`Cannot open ConsumeQueue: ${unitsPerSegment} units per segment`);
    }
    this.#dir = dir;
    this.topic = topic;
    this.queueId = queueId;
    this.unitsPerSegment = unitsPerSegment;
    this.writable = writable;
    this.#segmentBytes = unitsPerSegment * CQ_UNIT_BYTES;
    // Small at first and only on writers: an idle queue costs a few hundred bytes.
    this.#pendingUnitsMax = Math.min(PENDING_UNITS_MAX, unitsPerSegment);
    this.#pending = new Uint8Array(
      writable ? Math.min(PENDING_UNITS_INITIAL, this.#pendingUnitsMax) * CQ_UNIT_BYTES : 0,
    );
    this.#pendingView = new DataView(this.#pending.buffer);
  }

  /** Oldest readable QueueOffset. */
  get minOffset(): number {
    return this.#minOffset;
  }
  /** One past the newest unit (including units not yet committed, on the writer). */
  get maxOffset(): number {
    return this.#maxOffset;
  }
  /** CommitLog end (offset + size) of the newest unit; 0 when empty. */
  get maxPhysicalOffset(): number {
    return this.#maxPhysicalOffset;
  }

  #segment(base: number, create: boolean): Segment | undefined {
    let segment = this.#segments.get(base);
    if (segment === undefined) {
      segment = this.#dir.open(base, this.#segmentBytes, { create, writable: this.writable });
      if (segment === undefined) return undefined;
      this.#segments.set(base, segment);
      if (!this.#bases.includes(base)) {
        this.#bases = [...this.#bases, base].sort((a, b) => a - b);
        if (create) this.#directoryDirty = true;
      }
    }
    return segment;
  }

  /**
   * Read units `[fromUnit, fromUnit + count)` of one segment (zeros past what the file holds).
   */
  #readSegmentChunk(base: number, fromUnit: number, count: number): DataView {
    const bytes = new Uint8Array(count * CQ_UNIT_BYTES);
    const segment = this.#segment(base, false);
    if (segment !== undefined) segment.read(fromUnit * CQ_UNIT_BYTES, bytes);
    return new DataView(bytes.buffer);
  }

  /**
   * Find the valid range on disk: segments must be contiguous; the newest
   * valid unit is the last of the run of units with size > 0 and increasing
   * CommitLog offsets in the last non-empty segment. Units after it are
   * ignored (the writer zeroes them on its next `truncateAfterPhysical`).
   *
   * @returns The range, or BROKEN when a segment is missing in the middle.
   */
  load(): ConsumeQueueLoad {
    this.#bases = this.#dir.list();
    this.#minOffset = 0;
    this.#maxOffset = 0;
    this.#maxPhysicalOffset = 0;
    if (this.#bases.length === 0) return { status: "OK", minOffset: 0, maxOffset: 0 };
    for (let i = 1; i < this.#bases.length; i++) {
      if (this.#bases[i] !== this.#bases[i - 1] + this.#segmentBytes) {
        return {
          status: "BROKEN",
          reason: `segment after ${this.#bases[i - 1]} is missing (next is ${this.#bases[i]})`,
        };
      }
    }
    // Min: first written unit of the first segment, read in chunks (a
    // segment is 6 MB by default, most of it unwritten in a quiet queue).
    let min = -1;
    let chunkUnits = LOAD_FIRST_CHUNK_UNITS;
    for (let from = 0; from < this.unitsPerSegment && min === -1; from += chunkUnits) {
      if (from > 0) chunkUnits = Math.min(chunkUnits * 4, LOAD_CHUNK_UNITS);
      const count = Math.min(chunkUnits, this.unitsPerSegment - from);
      const view = this.#readSegmentChunk(this.#bases[0], from, count);
      for (let i = 0; i < count; i++) {
        if (view.getInt32(i * CQ_UNIT_BYTES + 8) > 0) {
          min = this.#bases[0] / CQ_UNIT_BYTES + from + i;
          break;
        }
      }
    }
    if (min === -1) {
      if (this.#bases.length > 1) {
        return { status: "BROKEN", reason: `first segment ${this.#bases[0]} holds no unit` };
      }
      this.#minOffset = this.#maxOffset = this.#pendingFrom = this.#bases[0] / CQ_UNIT_BYTES;
      return { status: "OK", minOffset: this.#minOffset, maxOffset: this.#maxOffset };
    }
    this.#minOffset = min;
    // Max: walk the newest segments back to the first that has a unit.
    for (let s = this.#bases.length - 1; s >= 0; s--) {
      const base = this.#bases[s];
      const startUnit = Math.max(0, min - base / CQ_UNIT_BYTES);
      let lastEnd = -1;
      let count = 0;
      let ended = false;
      let chunkUnits = LOAD_FIRST_CHUNK_UNITS;
      for (let from = startUnit; from < this.unitsPerSegment && !ended; from += chunkUnits) {
        if (from > startUnit) chunkUnits = Math.min(chunkUnits * 4, LOAD_CHUNK_UNITS);
        const n = Math.min(chunkUnits, this.unitsPerSegment - from);
        const view = this.#readSegmentChunk(base, from, n);
        for (let k = 0; k < n; k++) {
          const offset = getInt64(view, k * CQ_UNIT_BYTES);
          const size = view.getInt32(k * CQ_UNIT_BYTES + 8);
          // CommitLog offsets only grow; a unit pointing back is garbage from a torn write.
          if (size <= 0 || offset < 0 || (size !== DUMMY_UNIT_SIZE && offset < lastEnd)) {
            ended = true;
            break;
          }
          if (size !== DUMMY_UNIT_SIZE) lastEnd = offset + size;
          count = from + k + 1;
        }
      }
      if (count > 0 || s === 0) {
        this.#maxOffset = Math.max(min, base / CQ_UNIT_BYTES + count);
        this.#maxPhysicalOffset = Math.max(0, lastEnd);
        break;
      }
    }
    if (this.#maxPhysicalOffset === 0 && this.#maxOffset > this.#minOffset) {
      const last = this.readUnits(this.#maxOffset - 1, 1)[0];
      if (last !== undefined && last.size !== DUMMY_UNIT_SIZE) {
        this.#maxPhysicalOffset = last.commitLogOffset + last.size;
      }
    }
    this.#pendingFrom = this.#maxOffset;
    return { status: "OK", minOffset: this.#minOffset, maxOffset: this.#maxOffset };
  }

  /**
   * Append one unit at `queueOffset`. Idempotent: a unit whose CommitLog
   * offset is below the queue's max physical offset, or whose QueueOffset is
   * already present, is skipped (so replaying the CommitLog is safe). A
   * QueueOffset past the max on an empty queue starts the queue there; on a
   * non-empty queue the hole is filled with filler units.
   *
   * @param queueOffset QueueOffset from the record.
   * @param commitLogOffset Record offset.
   * @param size Record size.
   * @param tagsCode Tag hash.
   * @returns APPENDED with the new max, or SKIPPED with why.
   * @throws {AssertionError} On a reader handle or bad arguments.
   */
  append(
    queueOffset: number,
    commitLogOffset: number,
    size: number,
    tagsCode: number,
  ): ConsumeQueueAppend {
    assert(this.writable, "ConsumeQueue.append() on a reader");
    assert(
      size > 0 && size < DUMMY_UNIT_SIZE && commitLogOffset >= 0,
      () => `bad unit ${commitLogOffset}/${size}`,
    );
    if (commitLogOffset < this.#maxPhysicalOffset) {
      return { status: "SKIPPED", reason: `already built up to ${this.#maxPhysicalOffset}` };
    }
    if (this.#maxOffset === this.#minOffset && queueOffset !== this.#maxOffset) {
      // An empty queue starts where its first record says: higher when older
      // records were deleted; lower when recovery cut units a power cut left
      // out of order (a later segment on disk, an earlier one not) and now
      // rebuilds them. Live appends always come at the max offset.
      this.commit();
      this.#minOffset = this.#maxOffset = this.#pendingFrom = queueOffset;
    }
    if (queueOffset < this.#maxOffset) {
      return {
        status: "SKIPPED",
        reason:
          `QueueOffset ${queueOffset} is below max ${this.#maxOffset} of ${this.topic}/${this.queueId}`,
      };
    }
    while (this.#maxOffset < queueOffset) this.#putUnit(0, DUMMY_UNIT_SIZE, 0);
    this.#putUnit(commitLogOffset, size, tagsCode);
    this.#maxPhysicalOffset = commitLogOffset + size;
    this.#markDirty(commitLogOffset);
    return { status: "APPENDED", maxOffset: this.#maxOffset };
  }

  #putUnit(commitLogOffset: number, size: number, tagsCode: number): void {
    const pendingUnits = this.#maxOffset - this.#pendingFrom;
    const crossesSegment = pendingUnits > 0 && this.#maxOffset % this.unitsPerSegment === 0;
    if (pendingUnits * CQ_UNIT_BYTES >= this.#pending.length) {
      if (this.#pending.length < this.#pendingUnitsMax * CQ_UNIT_BYTES) {
        const grown = new Uint8Array(
          Math.min(this.#pending.length * 2, this.#pendingUnitsMax * CQ_UNIT_BYTES),
        );
        grown.set(this.#pending);
        this.#pending = grown;
        this.#pendingView = new DataView(grown.buffer);
      } else {
        this.commit();
      }
    }
    if (crossesSegment) this.commit();
    const at = (this.#maxOffset - this.#pendingFrom) * CQ_UNIT_BYTES;
    setInt64(this.#pendingView, at, commitLogOffset);
    this.#pendingView.setInt32(at + 8, size);
    setInt64(this.#pendingView, at + 12, tagsCode);
    this.#maxOffset++;
  }

  /**
   * Write pending units to their segment (visible to readers afterwards).
   *
   * @returns The committed max offset.
   */
  commit(): number {
    const count = this.#maxOffset - this.#pendingFrom;
    if (count === 0) return this.#maxOffset;
    const byteOffset = this.#pendingFrom * CQ_UNIT_BYTES;
    const base = byteOffset - (byteOffset % this.#segmentBytes);
    const segment = this.#segment(base, true);
    assert(segment !== undefined, "ConsumeQueue segment could not be created");
    segment.write(byteOffset - base, this.#pending.subarray(0, count * CQ_UNIT_BYTES));
    this.#unflushed.add(segment);
    this.#pendingFrom = this.#maxOffset;
    return this.#maxOffset;
  }

  #markDirty(commitLogOffset: number): void {
    if (this.#unflushedFrom !== undefined) {
      this.#unflushedFrom = Math.min(this.#unflushedFrom, commitLogOffset);
      return;
    }
    this.#unflushedFrom = commitLogOffset;
    this.onDirty?.(this);
  }

  /**
   * CommitLog offset of the first unit written since the last flush (0 when
   * units were zeroed), or undefined when everything is flushed: a checkpoint
   * may claim dispatch only below it.
   */
  get unflushedFromOffset(): number | undefined {
    return this.#unflushedFrom;
  }

  /**
   * Commit, then fdatasync the segments, and fsync the directory chain when a
   * segment was created or deleted since the last flush (once per segment).
   */
  flush(): void {
    this.commit();
    for (const segment of this.#unflushed) segment.flush();
    this.#unflushed.clear();
    if (this.#directoryDirty) {
      this.#dir.sync();
      this.#directoryDirty = false;
    }
    this.#unflushedFrom = undefined;
  }

  /**
   * Tell a reader the writer's max offset (from a dispatch event).
   *
   * @param maxOffset The writer's committed max offset.
   */
  observeMaxOffset(maxOffset: number): void {
    if (maxOffset > this.#maxOffset) this.#maxOffset = maxOffset;
  }

  /**
   * Tell a reader the writer's min offset (after retention).
   *
   * @param minOffset The writer's min offset.
   */
  observeMinOffset(minOffset: number): void {
    if (minOffset > this.#minOffset) this.#minOffset = minOffset;
  }

  /**
   * Read up to `maxUnits` units from `fromOffset` (bounded by max offset).
   * Filler units are returned too (size `DUMMY_UNIT_SIZE`); callers skip them.
   *
   * @param fromOffset First QueueOffset, `>= minOffset`.
   * @param maxUnits Most units to return.
   * @returns The units, possibly fewer (segment deleted underneath: none).
   */
  readUnits(fromOffset: number, maxUnits: number): ConsumeQueueUnit[] {
    if (this.writable) this.commit();
    const out: ConsumeQueueUnit[] = [];
    let offset = Math.max(fromOffset, this.#minOffset);
    const end = Math.min(this.#maxOffset, fromOffset + maxUnits);
    while (offset < end) {
      const byteOffset = offset * CQ_UNIT_BYTES;
      const base = byteOffset - (byteOffset % this.#segmentBytes);
      const segment = this.#segment(base, false);
      if (segment === undefined) break;
      const units = Math.min(
        end - offset,
        (base + this.#segmentBytes - byteOffset) / CQ_UNIT_BYTES,
      );
      // Reads of up to UNIT_SCRATCH_UNITS_MAX units reuse one small buffer per
      // queue (bounded, so thousands of queues stay cheap); larger scans allocate.
      let bytes: Uint8Array;
      let view: DataView;
      if (units <= UNIT_SCRATCH_UNITS_MAX) {
        if (this.#unitScratch.length === 0) {
          this.#unitScratch = new Uint8Array(UNIT_SCRATCH_UNITS_MAX * CQ_UNIT_BYTES);
          this.#unitScratchView = new DataView(this.#unitScratch.buffer);
        }
        bytes = this.#unitScratch.subarray(0, units * CQ_UNIT_BYTES);
        view = this.#unitScratchView;
      } else {
        bytes = new Uint8Array(units * CQ_UNIT_BYTES);
        view = new DataView(bytes.buffer);
      }
      const n = segment.read(byteOffset - base, bytes);
      for (let i = 0; i * CQ_UNIT_BYTES + CQ_UNIT_BYTES <= n; i++) {
        const size = view.getInt32(i * CQ_UNIT_BYTES + 8);
        if (size === 0) return out; // not yet visible to this handle
        out.push({
          queueOffset: offset + i,
          commitLogOffset: getInt64(view, i * CQ_UNIT_BYTES),
          size,
          tagsCode: getInt64(view, i * CQ_UNIT_BYTES + 12),
        });
      }
      if (n < bytes.length) break;
      offset += units;
    }
    return out;
  }

  /**
   * Remove every unit whose record ends past `commitLogEnd` (after the
   * CommitLog tail was cut, or to rebuild units past the checkpoint): zero
   * them and delete segments left empty. Unreadable units (a hole left by a
   * power cut, where a later unit reached the disk and an earlier one did
   * not) are removed too.
   *
   * @param commitLogEnd The CommitLog's new end offset.
   * @returns The new max offset.
   */
  truncateAfterPhysical(commitLogEnd: number): number {
    assert(this.writable, "ConsumeQueue.truncateAfterPhysical() on a reader");
    this.commit();
    // Binary search for the first unit to cut: units are kept while they are
    // readable and end at or below `commitLogEnd` (CommitLog offsets only grow
    // along a queue, and holes lie only past that point); then step back over
    // trailing fillers. O(log n) reads instead of one per unit cut.
    const keep = (offset: number): boolean => {
      const unit = this.readUnits(offset, 1)[0];
      return unit !== undefined &&
        (unit.size === DUMMY_UNIT_SIZE || unit.commitLogOffset + unit.size <= commitLogEnd);
    };
    let lo = this.#minOffset;
    let hi = this.#maxOffset;
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (keep(mid)) lo = mid + 1;
      else hi = mid;
    }
    let newMax = lo;
    let physical = 0;
    while (newMax > this.#minOffset) {
      const unit = this.readUnits(newMax - 1, 1)[0];
      if (unit === undefined || unit.size === DUMMY_UNIT_SIZE) {
        newMax--;
        continue;
      }
      if (unit.commitLogOffset + unit.size <= commitLogEnd) {
        physical = unit.commitLogOffset + unit.size;
        break;
      }
      newMax--;
    }
    this.#zeroFrom(newMax, this.#maxOffset);
    this.#maxOffset = this.#pendingFrom = newMax;
    this.#maxPhysicalOffset = physical;
    if (newMax === this.#minOffset) this.#maxPhysicalOffset = 0;
    return newMax;
  }

  /** Zero units from `fromOffset` to the end of their segment; delete later segments. */
  #zeroFrom(fromOffset: number, oldMaxOffset = fromOffset): void {
    const byteOffset = fromOffset * CQ_UNIT_BYTES;
    const oldEndByte = oldMaxOffset * CQ_UNIT_BYTES;
    for (const base of [...this.#bases]) {
      if (base + this.#segmentBytes <= byteOffset) continue;
      if (base >= byteOffset && base > 0 && base > this.#bases[0]) {
        this.#segments.get(base)?.close();
        this.#segments.delete(base);
        this.#dir.delete(base);
        this.#bases = this.#bases.filter((b) => b !== base);
        this.#directoryDirty = true;
        continue;
      }
      const segment = this.#segment(base, false);
      if (segment === undefined) continue;
      // Zero the cut units, then on past the old end chunk by chunk until an
      // all-zero chunk: what a crashed run wrote past the end follows it.
      // Reading whole 6 MB segments made opening thousands of queues take
      // minutes. (As for the CommitLog: after a power cut a unit beyond a zero
      // gap of a whole chunk is not found; load stops at the gap, so it is
      // never read, and a later append overwrites it.)
      let chunkBytes = LOAD_FIRST_CHUNK_UNITS * CQ_UNIT_BYTES;
      let position = Math.max(0, byteOffset - base);
      while (position < this.#segmentBytes) {
        const want = Math.min(chunkBytes, this.#segmentBytes - position);
        const chunk = new Uint8Array(want);
        const n = segment.read(position, chunk);
        if (n === 0) break;
        if (isAllZero(chunk.subarray(0, n))) {
          if (base + position + n >= oldEndByte) break;
        } else {
          segment.write(position, new Uint8Array(n));
          this.#unflushed.add(segment);
          this.#markDirty(0);
          chunkBytes = Math.min(chunkBytes * 4, LOAD_CHUNK_UNITS * CQ_UNIT_BYTES);
        }
        position += n;
      }
    }
  }

  /**
   * Move the min offset to the first unit whose record is still in the
   * CommitLog (records below `commitLogMinOffset` were deleted).
   *
   * @param commitLogMinOffset The CommitLog's min offset.
   * @returns The new min offset.
   */
  correctMinOffset(commitLogMinOffset: number): number {
    let lo = this.#minOffset;
    let hi = this.#maxOffset;
    // Binary search for the first unit with commitLogOffset >= commitLogMinOffset (fillers count as below).
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const unit = this.readUnits(mid, 1)[0];
      if (unit === undefined) {
        lo = mid + 1;
        continue;
      }
      if (unit.size !== DUMMY_UNIT_SIZE && unit.commitLogOffset >= commitLogMinOffset) hi = mid;
      else lo = mid + 1;
    }
    this.#minOffset = lo;
    return lo;
  }

  /**
   * Delete whole segments all of whose units point below `commitLogMinOffset`
   * (never the segment holding the newest unit), then correct the min offset.
   *
   * @param commitLogMinOffset The CommitLog's min offset.
   * @returns Segments deleted.
   */
  deleteExpired(commitLogMinOffset: number): number {
    assert(this.writable, "ConsumeQueue.deleteExpired() on a reader");
    this.commit();
    this.correctMinOffset(commitLogMinOffset);
    let deleted = 0;
    const minByte = this.#minOffset * CQ_UNIT_BYTES;
    for (const base of [...this.#bases]) {
      if (base + this.#segmentBytes > minByte) break;
      // Keep the segment holding the newest unit even when the next one was
      // never created: with no segment left, a restart would forget the max
      // offset and hand out QueueOffsets from 0 again.
      if (base + this.#segmentBytes >= this.#maxOffset * CQ_UNIT_BYTES) break;
      this.#segments.get(base)?.close();
      this.#segments.delete(base);
      this.#dir.delete(base);
      this.#bases = this.#bases.filter((b) => b !== base);
      deleted++;
    }
    if (deleted > 0) this.#dir.sync();
    return deleted;
  }

  /**
   * QueueOffset of the first message stored at or after `timestampMs`
   * (binary search over store timestamps read from the CommitLog).
   *
   * @param timestampMs Epoch ms.
   * @param storeTimestampOf Reads a record's STORETIMESTAMP (undefined if gone).
   * @returns The offset, or the max offset if every message is older.
   */
  getOffsetByTime(
    timestampMs: number,
    storeTimestampOf: (commitLogOffset: number, size: number) => number | undefined,
  ): number {
    let lo = this.#minOffset;
    let hi = this.#maxOffset;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const unit = this.readUnits(mid, 1)[0];
      const ts = unit === undefined || unit.size === DUMMY_UNIT_SIZE
        ? undefined
        : storeTimestampOf(unit.commitLogOffset, unit.size);
      if (ts === undefined || ts < timestampMs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Close handles and delete every segment of this queue. */
  destroy(): void {
    this.close();
    for (const base of this.#dir.list()) this.#dir.delete(base);
    this.#dir.sync();
    this.#bases = [];
    this.#minOffset =
      this.#maxOffset =
      this.#pendingFrom =
      this.#maxPhysicalOffset =
        0;
  }

  /** Close every handle (the writer should `flush` first). */
  close(): void {
    for (const segment of this.#segments.values()) segment.close();
    this.#segments.clear();
    this.#unflushed.clear();
  }
}
