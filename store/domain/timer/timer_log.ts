/**
 * TimerLog: the append-only log of scheduled timer entries, kept in
 * `timerlog/` as segments of fixed 40-byte entries. Each entry points at a
 * timer message in the CommitLog (topic `rmq_sys_wheel_timer`) and at the
 * previous entry of the same wheel slot, so a slot is a singly linked list
 * walked backwards from the slot's `lastPos` (see `timer_wheel.ts`).
 *
 * Entry layout (big-endian), entry at absolute byte position `pos`:
 *
 * | Field                                   | Size | Offset |
 * |-----------------------------------------|------|--------|
 * | deliverMs (exact due time, epoch ms)    | 8    | 0      |
 * | commitLogOffset of the timer message    | 8    | 8      |
 * | prevPos (same slot, −1 none)            | 8    | 16     |
 * | slotTick (wheel tick the entry sits in) | 8    | 24     |
 * | size of the timer message, bytes        | 4    | 32     |
 * | magic `0x544C` << 16 \| flags           | 4    | 36     |
 *
 * Flags: `ENTRY` (1) on every entry; `ROLL` (2) when the due time lies beyond
 * the wheel's window and the entry only marks when to look at it again.
 *
 * Segments hold a whole number of entries (no filler) and are named by the
 * absolute position of their first byte. The log's valid length is not
 * discovered from the bytes: the timer checkpoint records it, and `load`
 * cuts everything past it (entries written after the last checkpoint are
 * rebuilt by re-reading the timer queue).
 *
 * Roles: one writer (the timer service's thread). Appends are buffered and
 * committed to the segment in chunks; `read` sees pending entries too, and
 * keeps one block of committed entries cached (committed entries never change
 * until `load` or `deleteBefore`, which drop the cache).
 *
 * Invariants: `minPos <= length`; `length` is a multiple of
 * `TIMER_LOG_ENTRY_BYTES`; every entry in `[minPos, length)` has the magic.
 *
 * @module
 */

import { getInt64, setInt64 } from "../../../client/protocol/message_record.ts";
import { assert } from "../assert.ts";
import type { Segment, SegmentDirectory } from "../segment.ts";

/** Bytes per TimerLog entry. */
export const TIMER_LOG_ENTRY_BYTES = 40;
/** Default segment size: 100,000 entries (4 MB). */
export const TIMER_LOG_SEGMENT_BYTES_DEFAULT = 100_000 * TIMER_LOG_ENTRY_BYTES;
/** The directory of the TimerLog, relative to the data dir. */
export const TIMER_LOG_PATH = "timerlog";
/** High 16 bits of an entry's magic field. */
const ENTRY_MAGIC = 0x544c;
/** Entries buffered before a forced commit to the segment. */
const PENDING_ENTRIES_MAX = 4096;
/**
 * Entries per cached read block: a slot's entries often sit close together
 * (timers sent together with one delay), so `read` fetches a block with one
 * positional read and serves its neighbours from memory.
 */
const READ_BLOCK_ENTRIES = 128;

/** Flag bits of an entry. */
export const TimerLogFlag: Readonly<{ ENTRY: 1; ROLL: 2 }> = Object.freeze(
  { ENTRY: 1, ROLL: 2 } as const,
);

/** Fields of an entry to append. */
export interface TimerLogAppend {
  /** Exact due time, epoch ms. */
  readonly deliverMs: number;
  /** CommitLog offset of the timer message. */
  readonly commitLogOffset: number;
  /** Size of the timer message, bytes. */
  readonly size: number;
  /** Previous entry of the same slot, or −1. */
  readonly prevPos: number;
  /** Wheel tick of the slot the entry is linked into. */
  readonly slotTick: number;
  /** True for a ROLL entry (due beyond the wheel's window). */
  readonly roll: boolean;
}

/** One decoded entry. */
export interface TimerLogEntry extends TimerLogAppend {
  /** Absolute byte position of the entry. */
  readonly pos: number;
}

/** One writable TimerLog. See the module doc for layout, roles and invariants. */
export class TimerLog {
  /** Segment size, bytes (a multiple of the entry size). */
  readonly segmentBytes: number;
  readonly #dir: SegmentDirectory;
  readonly #segments = new Map<number, Segment>();
  /** A segment was created or deleted since the last flush (directory not yet synced). */
  #directoryDirty = false;
  #minPos = 0;
  #length = 0;
  /** Position of the first pending (uncommitted) entry; pending are `[#pendingFrom, #length)`. */
  #pendingFrom = 0;
  readonly #pending: Uint8Array;
  readonly #pendingView: DataView;
  readonly #block: Uint8Array;
  readonly #blockView: DataView;
  /** The cached block holds the committed entries `[#blockFrom, #blockTo)`. */
  #blockFrom = 0;
  #blockTo = 0;

  /**
   * Build a TimerLog handle; call `load` before use.
   *
   * @param dir Its segment directory (`timerlog/`).
   * @param segmentBytes Segment size; a positive multiple of `TIMER_LOG_ENTRY_BYTES`.
   * @throws {RangeError} If `segmentBytes` is not such a multiple.
   */
  constructor(dir: SegmentDirectory, segmentBytes: number = TIMER_LOG_SEGMENT_BYTES_DEFAULT) {
    if (
      !Number.isSafeInteger(segmentBytes) || segmentBytes < TIMER_LOG_ENTRY_BYTES ||
      segmentBytes % TIMER_LOG_ENTRY_BYTES !== 0
    ) {
      throw new RangeError(
        `Cannot open TimerLog: segment is ${segmentBytes} bytes, expected a positive multiple of ${TIMER_LOG_ENTRY_BYTES}`,
      );
    }
    this.#dir = dir;
    this.segmentBytes = segmentBytes;
    const pendingEntries = Math.min(PENDING_ENTRIES_MAX, segmentBytes / TIMER_LOG_ENTRY_BYTES);
    this.#pending = new Uint8Array(pendingEntries * TIMER_LOG_ENTRY_BYTES);
    this.#pendingView = new DataView(this.#pending.buffer);
    const blockEntries = Math.min(READ_BLOCK_ENTRIES, segmentBytes / TIMER_LOG_ENTRY_BYTES);
    this.#block = new Uint8Array(blockEntries * TIMER_LOG_ENTRY_BYTES);
    this.#blockView = new DataView(this.#block.buffer);
  }

  /** One past the newest entry, bytes (including pending entries). */
  get length(): number {
    return this.#length;
  }

  /** Position of the oldest retained entry. */
  get minPos(): number {
    return this.#minPos;
  }

  /** Base offsets of the segments present, ascending. */
  segmentBases(): number[] {
    return this.#dir.list();
  }

  /**
   * Open the log at a checkpointed length: segments wholly past `length` are
   * deleted, bytes past it in its segment are zeroed, and segments before a
   * gap are dropped (they can hold nothing the wheel still points to).
   *
   * @param length The checkpointed length, a multiple of the entry size (0 for a fresh log).
   * @returns The retained range.
   * @throws {RangeError} If `length` is not a non-negative multiple of the entry size.
   */
  load(length: number): { minPos: number; length: number } {
    if (!Number.isSafeInteger(length) || length < 0 || length % TIMER_LOG_ENTRY_BYTES !== 0) {
      throw new RangeError(
        `Cannot load TimerLog: length ${length} is not a multiple of ${TIMER_LOG_ENTRY_BYTES}`,
      );
    }
    this.close();
    this.#blockFrom = this.#blockTo = 0;
    const tailBytes = length % this.segmentBytes;
    // The segment holding the last valid entry; segments after it hold only garbage.
    const lastBase = tailBytes === 0 ? length - this.segmentBytes : length - tailBytes;
    let keepFrom = lastBase + this.segmentBytes;
    for (const base of this.#dir.list().reverse()) {
      if (base === keepFrom - this.segmentBytes && base <= lastBase) {
        keepFrom = base;
        continue;
      }
      // Past the valid end (garbage), or before a gap (nothing there is reachable).
      this.#dir.delete(base);
      this.#directoryDirty = true;
    }
    if (tailBytes !== 0) {
      const segment = this.#segment(lastBase, true);
      const rest = new Uint8Array(this.segmentBytes - tailBytes);
      const n = segment.read(tailBytes, rest);
      if (rest.subarray(0, n).some((b) => b !== 0)) segment.write(tailBytes, new Uint8Array(n));
    }
    this.#minPos = Math.min(keepFrom, length);
    this.#length = this.#pendingFrom = length;
    return { minPos: this.#minPos, length };
  }

  #segment(base: number, create: true): Segment;
  #segment(base: number, create: boolean): Segment | undefined;
  #segment(base: number, create: boolean): Segment | undefined {
    let segment = this.#segments.get(base);
    if (segment === undefined) {
      const known = create && this.#dir.list().includes(base);
      segment = this.#dir.open(base, this.segmentBytes, { create, writable: true });
      if (segment === undefined) return undefined;
      this.#segments.set(base, segment);
      if (create && !known) this.#directoryDirty = true;
    }
    return segment;
  }

  /**
   * Append one entry (buffered; visible to `read` at once).
   *
   * @param entry The entry's fields.
   * @returns Its absolute position.
   * @throws {AssertionError} On fields out of range.
   */
  append(entry: TimerLogAppend): number {
    assert(
      entry.size > 0 && entry.commitLogOffset >= 0 && entry.prevPos >= -1 && entry.slotTick >= 0,
      () => `bad TimerLog entry ${JSON.stringify(entry)}`,
    );
    const pendingBytes = this.#length - this.#pendingFrom;
    if (
      pendingBytes >= this.#pending.length ||
      (pendingBytes > 0 && this.#length % this.segmentBytes === 0)
    ) {
      this.commit();
    }
    const pos = this.#length;
    encodeEntry(this.#pendingView, pos - this.#pendingFrom, entry);
    this.#length += TIMER_LOG_ENTRY_BYTES;
    return pos;
  }

  /** Write pending entries to their segment. */
  commit(): void {
    const bytes = this.#length - this.#pendingFrom;
    if (bytes === 0) return;
    const base = this.#pendingFrom - (this.#pendingFrom % this.segmentBytes);
    this.#segment(base, true).write(this.#pendingFrom - base, this.#pending.subarray(0, bytes));
    this.#pendingFrom = this.#length;
  }

  /**
   * Read the entry at `pos`.
   *
   * @param pos Absolute position, a multiple of the entry size.
   * @returns The entry, or undefined if `pos` is outside `[minPos, length)` or its segment is gone.
   * @throws {AssertionError} If the bytes there are not an entry (corruption or a bad pointer).
   */
  read(pos: number): TimerLogEntry | undefined {
    if (pos < this.#minPos || pos >= this.#length) return undefined;
    assert(pos % TIMER_LOG_ENTRY_BYTES === 0, () => `TimerLog position ${pos} is not aligned`);
    if (pos >= this.#pendingFrom) {
      return decodeEntry(this.#pendingView, pos - this.#pendingFrom, pos);
    }
    if (pos < this.#blockFrom || pos >= this.#blockTo) {
      const base = pos - (pos % this.segmentBytes);
      const segment = this.#segment(base, false);
      if (segment === undefined) return undefined;
      // The block ends at the segment end and never covers pending (uncommitted) bytes.
      const from = pos - ((pos - base) % this.#block.length);
      const to = Math.min(from + this.#block.length, base + this.segmentBytes, this.#pendingFrom);
      const n = segment.read(from - base, this.#block.subarray(0, to - from));
      assert(
        n === to - from,
        () => `TimerLog block at ${from} is short (${n} of ${to - from} bytes)`,
      );
      this.#blockFrom = from;
      this.#blockTo = to;
    }
    return decodeEntry(this.#blockView, pos - this.#blockFrom, pos);
  }

  /**
   * Visit every committed and pending entry in `[minPos, length)` in order
   * (used at load to learn which segments are still needed). A missing
   * segment is skipped.
   *
   * @param visit Called with each entry.
   */
  scan(visit: (entry: TimerLogEntry) => void): void {
    this.commit();
    const chunk = new Uint8Array(Math.min(this.segmentBytes, 1024 * TIMER_LOG_ENTRY_BYTES));
    const view = new DataView(chunk.buffer);
    let pos = this.#minPos;
    while (pos < this.#length) {
      const base = pos - (pos % this.segmentBytes);
      const bytes = Math.min(chunk.length, this.#length - pos, base + this.segmentBytes - pos);
      const target = chunk.subarray(0, bytes);
      const segment = this.#segment(base, false);
      if (segment === undefined) {
        pos = base + this.segmentBytes;
        continue;
      }
      const n = segment.read(pos - base, target);
      assert(n === bytes, () => `TimerLog segment ${base} is short at ${pos}`);
      for (let at = 0; at < bytes; at += TIMER_LOG_ENTRY_BYTES) {
        visit(decodeEntry(view, at, pos + at));
      }
      pos += bytes;
    }
  }

  /** Commit, then fdatasync the segments (and fsync the directory after a segment was created or deleted). */
  flush(): void {
    this.commit();
    for (const segment of this.#segments.values()) segment.flush();
    if (this.#directoryDirty) {
      this.#dir.sync();
      this.#directoryDirty = false;
    }
  }

  /**
   * Delete whole segments that end at or before `pos` (never the one being appended to).
   *
   * @param pos Every entry below this position is no longer referenced.
   * @returns Segments deleted.
   */
  deleteBefore(pos: number): number {
    let deleted = 0;
    const activeBase = this.#length - (this.#length % this.segmentBytes);
    for (const base of this.#dir.list()) {
      if (base + this.segmentBytes > pos || base >= activeBase) break;
      this.#segments.get(base)?.close();
      this.#segments.delete(base);
      this.#dir.delete(base);
      this.#minPos = base + this.segmentBytes;
      this.#blockFrom = this.#blockTo = 0;
      deleted++;
    }
    if (deleted > 0) this.#dir.sync();
    return deleted;
  }

  /** Close every handle (call `flush` first to keep pending entries). */
  close(): void {
    for (const segment of this.#segments.values()) segment.close();
    this.#segments.clear();
    this.#blockFrom = this.#blockTo = 0;
  }
}

function encodeEntry(view: DataView, at: number, entry: TimerLogAppend): void {
  setInt64(view, at, entry.deliverMs);
  setInt64(view, at + 8, entry.commitLogOffset);
  setInt64(view, at + 16, entry.prevPos);
  setInt64(view, at + 24, entry.slotTick);
  view.setInt32(at + 32, entry.size);
  const flags = TimerLogFlag.ENTRY | (entry.roll ? TimerLogFlag.ROLL : 0);
  view.setInt32(at + 36, (ENTRY_MAGIC << 16) | flags);
}

function decodeEntry(view: DataView, at: number, pos: number): TimerLogEntry {
  const magic = view.getInt32(at + 36);
  assert(
    magic >>> 16 === ENTRY_MAGIC && (magic & TimerLogFlag.ENTRY) !== 0,
    () => `TimerLog entry at ${pos} has bad magic 0x${(magic >>> 0).toString(16)}`,
  );
  return {
    pos,
    deliverMs: getInt64(view, at),
    commitLogOffset: getInt64(view, at + 8),
    prevPos: getInt64(view, at + 16),
    slotTick: getInt64(view, at + 24),
    size: view.getInt32(at + 32),
    roll: (magic & TimerLogFlag.ROLL) !== 0,
  };
}
