/**
 * TimerWheel: a fixed ring of slots over the TimerLog that says which timer
 * entries come due at each tick. A tick is one `precisionMs` step of time
 * (tick = floor(ms / precisionMs)); tick T lives in slot `T mod slotCount` and
 * covers due times `[T × precisionMs, (T + 1) × precisionMs)`.
 *
 * Each slot holds its tick, the TimerLog position of the newest entry linked
 * into it (`lastPos`, −1 none) and how many entries the list holds. The slots
 * live in three typed arrays, so memory is `slotCount × 20` bytes whatever the
 * number of pending timers; the entries themselves are on disk.
 *
 * Window: only ticks in `[nextTick, nextTick + slotCount)` are linked
 * directly. A timer due later is linked as a ROLL entry into the last tick of
 * the window; when that tick is processed the owner puts the timer message
 * back into the timer queue, which links it again from the new position (so
 * there is no maximum delay). A timer due before `nextTick` is linked into
 * `nextTick` (it is late; it goes out with the next tick processed).
 *
 * Processing (by the owner, one tick at a time): from `tickStartMs(nextTick)`
 * the owner may walk the slot (`readSlot`, or only the entries linked since
 * an earlier walk with `stopPos`) and deliver entries as their own due times
 * come; it `consume`s the head entry once its work is done, and once
 * `slotDueMs(nextTick) <= now` and the slot is empty it calls `finishTick`.
 * `consume` moves the slot's head back along the list, so a half-processed
 * slot resumes where it stopped, after a retry or after a restart from a
 * snapshot.
 *
 * Snapshot file (`timerwheel.0` / `timerwheel.1`, alternating by sequence
 * number so the previous one survives a torn write), big-endian:
 *
 * | Field                               | Size |
 * |-------------------------------------|------|
 * | magic `0x5457484C` ("TWHL")         | 4    |
 * | version (1)                         | 4    |
 * | sequence number                     | 8    |
 * | precisionMs                         | 4    |
 * | slotCount                           | 4    |
 * | nextTick                            | 8    |
 * | TimerLog length, bytes              | 8    |
 * | non-empty slots n                   | 4    |
 * | crc32 of the slot records           | 4    |
 * | n × (tick:8, lastPos:8, count:4)    | 20 n |
 *
 * Invariants: every non-empty slot's tick is in `[nextTick, nextTick +
 * slotCount)` and maps to that slot; `pendingCount` is the sum of the counts;
 * every `lastPos` is below the log's length.
 *
 * @module
 */

import { bodyCrc, getInt64, setInt64 } from "../../../client/protocol/message_record.ts";
import { assert } from "../assert.ts";
import type { StoreFileSystem } from "../segment.ts";
import type { TimerLog, TimerLogEntry } from "./timer_log.ts";

/** Default tick length, ms. */
export const TIMER_PRECISION_MS_DEFAULT = 100;
/** Default number of slots: 2^17 (with 100 ms ticks a window of about 3.6 hours). */
export const TIMER_SLOT_COUNT_DEFAULT = 1 << 17;
/** Most slots a wheel may have (memory: 20 bytes each). */
export const TIMER_SLOT_COUNT_MAX = 1 << 24;
/** Bytes of a snapshot header. */
export const TIMER_SNAPSHOT_HEADER_BYTES = 48;
/** Bytes per non-empty slot in a snapshot. */
export const TIMER_SNAPSHOT_SLOT_BYTES = 20;
const SNAPSHOT_MAGIC = 0x5457484c;
const SNAPSHOT_VERSION = 1;

/**
 * Path of the snapshot file for a sequence number (two files, alternating).
 *
 * @param seq Snapshot sequence number.
 * @returns `timerwheel.0` or `timerwheel.1`.
 */
export function timerSnapshotPath(seq: number): string {
  return `timerwheel.${seq % 2}`;
}

/** Geometry of a wheel. */
export interface TimerWheelOptions {
  /** Tick length, ms (≥ 1). Default `TIMER_PRECISION_MS_DEFAULT`. */
  readonly precisionMs?: number;
  /** Number of slots (≥ 2, ≤ `TIMER_SLOT_COUNT_MAX`). Default `TIMER_SLOT_COUNT_DEFAULT`. */
  readonly slotCount?: number;
}

/** Where `insert` linked an entry. */
export interface TimerInsert {
  /** TimerLog position of the new entry. */
  readonly pos: number;
  /** Tick of the slot it was linked into. */
  readonly slotTick: number;
  /** True when the due time is beyond the window (a ROLL entry). */
  readonly roll: boolean;
}

/** Outcome of `TimerWheel.load`. */
export type TimerWheelLoad =
  | { readonly status: "OK"; readonly pendingCount: number; readonly logLength: number }
  | { readonly status: "BROKEN"; readonly reason: string };

/** A timer wheel over a TimerLog. See the module doc for the model and the snapshot layout. */
export class TimerWheel {
  /** Tick length, ms. */
  readonly precisionMs: number;
  /** Number of slots. */
  readonly slotCount: number;
  /** The log holding the entries. */
  readonly log: TimerLog;
  readonly #fs: StoreFileSystem;
  readonly #ticks: Float64Array;
  readonly #lastPos: Float64Array;
  readonly #counts: Int32Array;
  #nextTick = 0;
  #pendingCount = 0;
  /** Highest slot tick of any entry per log segment base, for retention. */
  readonly #segmentTicks = new Map<number, number>();

  /**
   * Build an empty wheel (all slots empty, `nextTick` 0); call `load` or `reset` before use.
   *
   * @param log The TimerLog (not yet loaded).
   * @param fs Where snapshots are written (the data dir).
   * @param options Geometry.
   * @throws {RangeError} On a precision below 1 ms or a slot count out of range.
   */
  constructor(log: TimerLog, fs: StoreFileSystem, options: TimerWheelOptions = {}) {
    const precisionMs = options.precisionMs ?? TIMER_PRECISION_MS_DEFAULT;
    const slotCount = options.slotCount ?? TIMER_SLOT_COUNT_DEFAULT;
    if (!Number.isSafeInteger(precisionMs) || precisionMs < 1) {
      throw new RangeError(
        `Cannot build timer wheel: precision is ${precisionMs} ms, expected an integer >= 1`,
      );
    }
    if (!Number.isSafeInteger(slotCount) || slotCount < 2 || slotCount > TIMER_SLOT_COUNT_MAX) {
      throw new RangeError(
        `Cannot build timer wheel: ${slotCount} slots, expected an integer in [2, ${TIMER_SLOT_COUNT_MAX}]`,
      );
    }
    this.log = log;
    this.#fs = fs;
    this.precisionMs = precisionMs;
    this.slotCount = slotCount;
    this.#ticks = new Float64Array(slotCount).fill(-1);
    this.#lastPos = new Float64Array(slotCount).fill(-1);
    this.#counts = new Int32Array(slotCount);
  }

  /** The next tick to process; every earlier tick has been processed. */
  get nextTick(): number {
    return this.#nextTick;
  }

  /** Entries linked and not yet consumed (ROLL entries included). */
  get pendingCount(): number {
    return this.#pendingCount;
  }

  /** Length of time covered by the slots, ms. */
  get windowMs(): number {
    return this.slotCount * this.precisionMs;
  }

  /** Bytes held by the slot arrays (independent of the number of pending timers). */
  get slotMemoryBytes(): number {
    return this.#ticks.byteLength + this.#lastPos.byteLength + this.#counts.byteLength;
  }

  /**
   * The tick a time falls in.
   *
   * @param ms Epoch ms.
   * @returns floor(ms / precisionMs).
   */
  tickOf(ms: number): number {
    return Math.floor(ms / this.precisionMs);
  }

  /**
   * The first millisecond a tick covers.
   *
   * @param tick A tick.
   * @returns Epoch ms.
   */
  tickStartMs(tick: number): number {
    return tick * this.precisionMs;
  }

  /**
   * Whether a tick's slot still holds linked entries.
   *
   * @param tick A tick.
   * @returns True if entries of `tick` are linked and not consumed.
   */
  slotPending(tick: number): boolean {
    const slot = tick % this.slotCount;
    return this.#ticks[slot] === tick && this.#counts[slot] > 0;
  }

  /**
   * The last millisecond a tick covers: every entry of it is due by then, so
   * the tick may be finished (and a ROLL entry handled) without anything going
   * out early.
   *
   * @param tick A tick.
   * @returns Epoch ms.
   */
  slotDueMs(tick: number): number {
    return (tick + 1) * this.precisionMs - 1;
  }

  /**
   * Start empty at a tick, with an empty log.
   *
   * @param nextTick First tick to process (usually `tickOf(now)`).
   */
  reset(nextTick: number): void {
    this.log.load(0);
    this.#ticks.fill(-1);
    this.#lastPos.fill(-1);
    this.#counts.fill(0);
    this.#pendingCount = 0;
    this.#segmentTicks.clear();
    this.#nextTick = nextTick;
  }

  /**
   * Link a timer into the wheel (appending a TimerLog entry).
   *
   * @param deliverMs Exact due time, epoch ms.
   * @param commitLogOffset CommitLog offset of the timer message.
   * @param size Its size, bytes.
   * @returns Where it went.
   */
  insert(deliverMs: number, commitLogOffset: number, size: number): TimerInsert {
    let tick = Math.max(this.tickOf(deliverMs), this.#nextTick);
    const roll = tick >= this.#nextTick + this.slotCount;
    if (roll) tick = this.#nextTick + this.slotCount - 1;
    const slot = tick % this.slotCount;
    if (this.#ticks[slot] !== tick) {
      assert(
        this.#counts[slot] === 0,
        () =>
          `timer slot ${slot} still holds ${this.#counts[slot]} entries of tick ${
            this.#ticks[slot]
          }`,
      );
      this.#ticks[slot] = tick;
      this.#lastPos[slot] = -1;
    }
    const pos = this.log.append({
      deliverMs,
      commitLogOffset,
      size,
      prevPos: this.#lastPos[slot],
      slotTick: tick,
      roll,
    });
    this.#lastPos[slot] = pos;
    this.#counts[slot]++;
    this.#pendingCount++;
    this.#noteSegmentTick(pos, tick);
    return { pos, slotTick: tick, roll };
  }

  #noteSegmentTick(pos: number, tick: number): void {
    const base = pos - (pos % this.log.segmentBytes);
    const known = this.#segmentTicks.get(base);
    if (known === undefined || known < tick) this.#segmentTicks.set(base, tick);
  }

  /**
   * Entries still linked in a tick's slot, newest first.
   *
   * @param tick The tick (normally `nextTick`).
   * @param maxEntries Most entries to return.
   * @param stopPos Stop before the entry at this position (the head an
   *   earlier read saw, to read only what was linked since); −1 for none.
   * @returns Up to `maxEntries` entries, from the slot's head backwards;
   *   empty when the slot holds nothing for this tick. A list cut by a
   *   missing log segment ends early (`count` then disagrees; see `finishTick`).
   */
  readSlot(tick: number, maxEntries: number, stopPos = -1): TimerLogEntry[] {
    const slot = tick % this.slotCount;
    if (this.#ticks[slot] !== tick || this.#counts[slot] === 0) return [];
    const out: TimerLogEntry[] = [];
    let pos = this.#lastPos[slot];
    while (pos >= 0 && pos !== stopPos && out.length < maxEntries) {
      const entry = this.log.read(pos);
      if (entry === undefined) break;
      assert(
        entry.slotTick === tick,
        () => `TimerLog entry at ${pos} belongs to tick ${entry.slotTick}, not ${tick}`,
      );
      out.push(entry);
      pos = entry.prevPos;
    }
    return out;
  }

  /**
   * Mark the head entry of a tick's slot as done.
   *
   * @param tick The tick.
   * @param entry The slot's current head (the next entry `readSlot` returned).
   * @throws {AssertionError} If `entry` is not the head.
   */
  consume(tick: number, entry: TimerLogEntry): void {
    const slot = tick % this.slotCount;
    assert(
      this.#ticks[slot] === tick && this.#lastPos[slot] === entry.pos && this.#counts[slot] > 0,
      () => `timer entry ${entry.pos} is not the head of tick ${tick}`,
    );
    this.#lastPos[slot] = entry.prevPos;
    this.#counts[slot]--;
    this.#pendingCount--;
  }

  /**
   * Finish `nextTick`: its slot must be empty (or hold only entries lost
   * with a deleted log segment, which are dropped and counted).
   *
   * @returns Entries dropped because their log segment was gone (normally 0).
   */
  finishTick(): number {
    const slot = this.#nextTick % this.slotCount;
    let dropped = 0;
    if (this.#ticks[slot] === this.#nextTick) {
      dropped = this.#counts[slot];
      assert(
        dropped === 0 || this.readSlot(this.#nextTick, 1).length === 0,
        "finishTick() with entries left",
      );
      this.#pendingCount -= dropped;
      this.#counts[slot] = 0;
      this.#lastPos[slot] = -1;
    }
    this.#nextTick++;
    return dropped;
  }

  /**
   * Move `nextTick` forward without processing: allowed only when nothing is pending.
   *
   * @param tick The new next tick (ignored if not ahead).
   * @throws {AssertionError} If entries are pending.
   */
  skipTo(tick: number): void {
    assert(
      this.#pendingCount === 0,
      () => `cannot skip ticks with ${this.#pendingCount} timers pending`,
    );
    if (tick > this.#nextTick) this.#nextTick = tick;
  }

  /**
   * Flush the log and write a snapshot under a sequence number.
   *
   * @param seq Sequence number (the checkpoint that refers to it).
   * @returns The log length the snapshot covers.
   */
  saveSnapshot(seq: number): number {
    this.log.flush();
    const slots: number[] = [];
    for (let slot = 0; slot < this.slotCount; slot++) {
      if (this.#counts[slot] > 0 && this.#ticks[slot] >= this.#nextTick) slots.push(slot);
    }
    const bytes = new Uint8Array(
      TIMER_SNAPSHOT_HEADER_BYTES + slots.length * TIMER_SNAPSHOT_SLOT_BYTES,
    );
    const view = new DataView(bytes.buffer);
    let at = TIMER_SNAPSHOT_HEADER_BYTES;
    for (const slot of slots) {
      setInt64(view, at, this.#ticks[slot]);
      setInt64(view, at + 8, this.#lastPos[slot]);
      view.setInt32(at + 16, this.#counts[slot]);
      at += TIMER_SNAPSHOT_SLOT_BYTES;
    }
    view.setInt32(0, SNAPSHOT_MAGIC);
    view.setInt32(4, SNAPSHOT_VERSION);
    setInt64(view, 8, seq);
    view.setInt32(16, this.precisionMs);
    view.setInt32(20, this.slotCount);
    setInt64(view, 24, this.#nextTick);
    setInt64(view, 32, this.log.length);
    view.setInt32(40, slots.length);
    view.setInt32(44, bodyCrc(bytes.subarray(TIMER_SNAPSHOT_HEADER_BYTES)));
    this.#fs.writeFile(timerSnapshotPath(seq), bytes);
    return this.log.length;
  }

  /**
   * Restore the slots from snapshot `seq` and cut the log to the length it
   * covers; then set `nextTick` (a checkpoint may be newer than its snapshot
   * when no slot changed in between).
   *
   * @param seq The checkpoint's snapshot sequence number.
   * @param nextTick The checkpoint's next tick (≥ the snapshot's).
   * @returns OK with the pending count, or BROKEN (missing, torn, or other geometry).
   */
  load(seq: number, nextTick: number): TimerWheelLoad {
    const bytes = this.#fs.readFile(timerSnapshotPath(seq));
    if (bytes === undefined) {
      return { status: "BROKEN", reason: `snapshot ${timerSnapshotPath(seq)} is missing` };
    }
    if (bytes.length < TIMER_SNAPSHOT_HEADER_BYTES) {
      return {
        status: "BROKEN",
        reason: `snapshot is ${bytes.length} bytes, shorter than its header`,
      };
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getInt32(0) !== SNAPSHOT_MAGIC || view.getInt32(4) !== SNAPSHOT_VERSION) {
      return { status: "BROKEN", reason: "snapshot has a bad magic or version" };
    }
    if (getInt64(view, 8) !== seq) {
      return {
        status: "BROKEN",
        reason: `snapshot holds sequence ${getInt64(view, 8)}, expected ${seq}`,
      };
    }
    if (view.getInt32(16) !== this.precisionMs || view.getInt32(20) !== this.slotCount) {
      return {
        status: "BROKEN",
        reason: `snapshot geometry is ${view.getInt32(20)} slots of ${view.getInt32(16)} ms, ` +
          `configured ${this.slotCount} slots of ${this.precisionMs} ms`,
      };
    }
    const n = view.getInt32(40);
    if (n < 0 || bytes.length !== TIMER_SNAPSHOT_HEADER_BYTES + n * TIMER_SNAPSHOT_SLOT_BYTES) {
      return {
        status: "BROKEN",
        reason: `snapshot length ${bytes.length} does not match ${n} slots`,
      };
    }
    if (bodyCrc(bytes.subarray(TIMER_SNAPSHOT_HEADER_BYTES)) !== view.getInt32(44)) {
      return { status: "BROKEN", reason: "snapshot crc mismatch" };
    }
    const snapshotTick = getInt64(view, 24);
    const logLength = getInt64(view, 32);
    this.log.load(logLength);
    this.#ticks.fill(-1);
    this.#lastPos.fill(-1);
    this.#counts.fill(0);
    this.#pendingCount = 0;
    this.#nextTick = Math.max(snapshotTick, nextTick);
    for (let i = 0, at = TIMER_SNAPSHOT_HEADER_BYTES; i < n; i++, at += TIMER_SNAPSHOT_SLOT_BYTES) {
      const tick = getInt64(view, at);
      const lastPos = getInt64(view, at + 8);
      const count = view.getInt32(at + 16);
      if (tick < this.#nextTick) continue; // processed after the snapshot (the checkpoint is newer)
      if (tick >= this.#nextTick + this.slotCount || count <= 0 || lastPos >= logLength) {
        return { status: "BROKEN", reason: `snapshot slot of tick ${tick} is out of range` };
      }
      const slot = tick % this.slotCount;
      this.#ticks[slot] = tick;
      this.#lastPos[slot] = lastPos;
      this.#counts[slot] = count;
      this.#pendingCount += count;
    }
    this.#segmentTicks.clear();
    this.log.scan((entry) => this.#noteSegmentTick(entry.pos, entry.slotTick));
    return { status: "OK", pendingCount: this.#pendingCount, logLength };
  }

  /**
   * Delete TimerLog segments all of whose entries sit in ticks before
   * `processedTick` (call with the `nextTick` of a checkpoint already persisted).
   *
   * @param processedTick Every tick below it is processed durably.
   * @returns Segments deleted.
   */
  deleteProcessedLog(processedTick: number): number {
    let until = this.log.minPos;
    for (const base of this.log.segmentBases()) {
      const maxTick = this.#segmentTicks.get(base);
      if (maxTick !== undefined && maxTick >= processedTick) break;
      until = base + this.log.segmentBytes;
    }
    const deleted = this.log.deleteBefore(until);
    for (const base of [...this.#segmentTicks.keys()]) {
      if (base < this.log.minPos) this.#segmentTicks.delete(base);
    }
    return deleted;
  }

  /** Flush and close the log. */
  close(): void {
    this.log.flush();
    this.log.close();
  }
}
