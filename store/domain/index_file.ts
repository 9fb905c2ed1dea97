/**
 * IndexFile: one fixed-size hash file mapping message keys to CommitLog
 * offsets, RocketMQ's `IndexFile` byte for byte. Files live in `index/` and
 * are built by dispatch (see `index_service.ts`).
 *
 * Layout (big-endian). `S` = slot count (default 5,000,000), `N` = entry
 * count (default 20,000,000); file size = 40 + S × 4 + N × 20 bytes
 * (420,000,040 with the defaults).
 *
 * Header, 40 bytes at 0:
 *
 * | Offset | Size | Field                                            |
 * |--------|------|--------------------------------------------------|
 * | 0      | 8    | beginTimestamp: store time of the first entry, ms |
 * | 8      | 8    | endTimestamp: store time of the newest entry, ms  |
 * | 16     | 8    | beginPhyOffset: CommitLog offset of the first entry |
 * | 24     | 8    | endPhyOffset: CommitLog offset of the newest entry |
 * | 32     | 4    | hashSlotCount: slots in use                       |
 * | 36     | 4    | indexCount: next entry number (starts at 1)       |
 *
 * Slot table, S × int32 at 40: slot `keyHash % S` holds the number of the
 * newest entry of that bucket (0 = empty).
 *
 * Entry k (1 ≤ k < N; entry 0 is never used), 20 bytes at 40 + S × 4 + k × 20:
 *
 * | Offset | Size | Field                                                      |
 * |--------|------|------------------------------------------------------------|
 * | 0      | 4    | keyHash = abs(String.hashCode(key)), 0 if abs overflows    |
 * | 4      | 8    | commitLogOffset                                            |
 * | 12     | 4    | timeDelta = (storeTimestamp − beginTimestamp) / 1000, s, clamped to [0, 2^31−1] |
 * | 16     | 4    | prev: the bucket's previous entry number (0 = end of chain) |
 *
 * A file holds at most N − 1 entries; `put` answers false when it is full.
 *
 * Entry 0 is never an entry. Its first 4 bytes hold this writer's slot
 * watermark (int32, 0 = unset, as RocketMQ leaves it): every entry below it is
 * reachable through the slot table on disk. Readers ignore it.
 *
 * Roles: one writer (the dispatch thread) and any number of readers on other
 * threads, each with its own handles. The writer keeps the active file's slot
 * table in memory and buffers entries; `commit` writes entries, then the
 * changed slot pages (4 KiB, 1024 slots) when at most a few are dirty, then
 * the watermark, then the header, so a reader that follows a slot always finds
 * its entry. After a busy round (many random slots, about one write each) the
 * slot pages wait for `flush` (the ConsumeQueue flush interval): keys added
 * then become findable at the next flush. After a crash the writer relinks
 * the entries at or above the watermark (`load(true)`).
 * Readers re-read the header on every query and walk chains only downwards
 * (`prev < k`), so a torn or concurrent write can cost a hit but never loop.
 *
 * Invariants (writer): `1 <= indexCount <= N`; every slot and every `prev`
 * is `< indexCount`; `prev < k` for entry k; entries are in CommitLog order.
 *
 * Time precision: entries keep whole seconds relative to `beginTimestamp`, so
 * an entry's time reads up to 999 ms early. Queries widen the window's lower
 * bound by `INDEX_TIME_PRECISION_MS` and callers re-check the exact store time
 * from the record.
 *
 * @module
 */

import { getInt64, setInt64 } from "../../client/protocol/message_record.ts";
import { javaStringHashCode } from "../../client/protocol/properties.ts";
import { assert } from "./assert.ts";
import type { Segment, SegmentDirectory } from "./segment.ts";

/** Header bytes. */
export const INDEX_HEADER_BYTES = 40;
/** Bytes per hash slot. */
export const INDEX_SLOT_BYTES = 4;
/** Bytes per entry. */
export const INDEX_ENTRY_BYTES = 20;
/** Default slots per file (RocketMQ `maxHashSlotNum`). */
export const INDEX_SLOT_COUNT_DEFAULT = 5_000_000;
/** Default entries per file, entry 0 included (RocketMQ `maxIndexNum`). */
export const INDEX_ENTRY_COUNT_DEFAULT = 20_000_000;
/** Entries store whole seconds: an entry's time reads up to this much early. */
export const INDEX_TIME_PRECISION_MS = 999;
/** Largest slot or entry count (keeps every file position a safe integer and int32 entry numbers). */
export const INDEX_COUNT_MAX = 0x7fff_ffff;
/** Entries buffered by the writer before a forced commit. */
const PENDING_ENTRIES_MAX = 1024;
/** Slots per page of the slot table: the unit in which the writer tracks and writes changed slots. */
const SLOT_PAGE_SLOTS = 1024;
/**
 * A commit writes changed slot pages only when at most this many are dirty;
 * busier rounds leave them to `flush` (one write per run of pages), so keys
 * added under load become findable within the index flush interval.
 */
const SLOT_PAGES_PER_COMMIT_MAX = 32;
/** Largest single write of slot pages at flush, in pages (256 KiB). */
const SLOT_PAGES_PER_WRITE_MAX = 64;
/** Entries read or rewritten per I/O while repairing chains. */
const REPAIR_CHUNK_ENTRIES = 4096;
const INT32_MAX = 0x7fff_ffff;

/** Slot and entry counts of an index file (fixed for the life of a data dir). */
export interface IndexFileGeometry {
  /** Hash slots per file. */
  readonly slotCount: number;
  /** Entries per file, entry 0 included (so `entryCount - 1` are usable). */
  readonly entryCount: number;
}

/** The 40-byte header. */
export interface IndexHeader {
  /** Store time of the first entry, epoch ms (0 when empty). */
  readonly beginTimestamp: number;
  /** Store time of the newest entry, epoch ms (0 when empty). */
  readonly endTimestamp: number;
  /** CommitLog offset of the first entry. */
  readonly beginPhyOffset: number;
  /** CommitLog offset of the newest entry. */
  readonly endPhyOffset: number;
  /** Hash slots in use. */
  readonly hashSlotCount: number;
  /** Next entry number; entries are 1..indexCount−1. */
  readonly indexCount: number;
}

/** Outcome of `IndexFile.load`. */
export type IndexFileLoad =
  | {
    readonly status: "OK";
    /** What was repaired after a crash (writer only), if anything. */
    readonly repaired: string | undefined;
  }
  | { readonly status: "EMPTY" }
  | { readonly status: "CORRUPT"; readonly reason: string };

/**
 * Check a geometry.
 *
 * @param geometry Slot and entry counts.
 * @returns The geometry.
 * @throws {RangeError} If a count is not an integer in [2, 2^31 − 1].
 */
export function checkIndexGeometry(geometry: IndexFileGeometry): IndexFileGeometry {
  const counts = { slotCount: geometry.slotCount, entryCount: geometry.entryCount };
  for (const [name, value] of Object.entries(counts)) {
    if (!Number.isSafeInteger(value) || value < 2 || value > INDEX_COUNT_MAX) {
      throw new RangeError(
        `Cannot use index geometry: ${name} is ${value}, allowed 2..${INDEX_COUNT_MAX}`,
      );
    }
  }
  return geometry;
}

/**
 * Size of an index file.
 *
 * @param geometry Slot and entry counts.
 * @returns 40 + slotCount × 4 + entryCount × 20 bytes.
 */
export function indexFileBytes(geometry: IndexFileGeometry): number {
  return INDEX_HEADER_BYTES + geometry.slotCount * INDEX_SLOT_BYTES +
    geometry.entryCount * INDEX_ENTRY_BYTES;
}

/**
 * The hash an index entry stores for a key: `abs(String.hashCode(key))`,
 * 0 when the absolute value overflows (hash −2^31).
 *
 * @param key The full index key (`topic#key`).
 * @returns A non-negative int32.
 */
export function indexKeyHash(key: string): number {
  return indexHashOf(javaStringHashCode(key));
}

/**
 * `indexKeyHash` from a raw `String.hashCode`: its absolute value, 0 when
 * that overflows (hash −2^31).
 *
 * @param hash A Java `String.hashCode` (int32).
 * @returns A non-negative int32.
 */
export function indexHashOf(hash: number): number {
  return hash === -0x8000_0000 ? 0 : Math.abs(hash);
}

/**
 * Encode a header.
 *
 * @param header Fields.
 * @returns 40 bytes.
 */
export function encodeIndexHeader(header: IndexHeader): Uint8Array {
  const bytes = new Uint8Array(INDEX_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  setInt64(view, 0, header.beginTimestamp);
  setInt64(view, 8, header.endTimestamp);
  setInt64(view, 16, header.beginPhyOffset);
  setInt64(view, 24, header.endPhyOffset);
  view.setInt32(32, header.hashSlotCount);
  view.setInt32(36, header.indexCount);
  return bytes;
}

/**
 * Decode a header.
 *
 * @param bytes At least 40 bytes.
 * @returns The fields (unchecked; see `checkIndexHeader`).
 */
export function decodeIndexHeader(bytes: Uint8Array): IndexHeader {
  assert(bytes.length >= INDEX_HEADER_BYTES, "index header needs 40 bytes");
  const view = new DataView(bytes.buffer, bytes.byteOffset, INDEX_HEADER_BYTES);
  return {
    beginTimestamp: getInt64(view, 0),
    endTimestamp: getInt64(view, 8),
    beginPhyOffset: getInt64(view, 16),
    endPhyOffset: getInt64(view, 24),
    hashSlotCount: view.getInt32(32),
    indexCount: view.getInt32(36),
  };
}

/**
 * Validate a header against the geometry.
 *
 * @param header Decoded header.
 * @param geometry Slot and entry counts.
 * @returns Why it is invalid, or undefined if it is valid.
 */
export function checkIndexHeader(
  header: IndexHeader,
  geometry: IndexFileGeometry,
): string | undefined {
  const { indexCount, hashSlotCount } = header;
  if (indexCount < 1 || indexCount > geometry.entryCount) {
    return `indexCount ${indexCount} is outside 1..${geometry.entryCount}`;
  }
  if (hashSlotCount < 0 || hashSlotCount > geometry.slotCount || hashSlotCount > indexCount - 1) {
    return `hashSlotCount ${hashSlotCount} is outside 0..${
      Math.min(geometry.slotCount, indexCount - 1)
    }`;
  }
  const numbers = [
    header.beginTimestamp,
    header.endTimestamp,
    header.beginPhyOffset,
    header.endPhyOffset,
  ];
  if (numbers.some((n) => !Number.isSafeInteger(n) || n < 0)) {
    return "a timestamp or offset is negative or not a safe integer";
  }
  if (indexCount === 1) {
    return numbers.some((n) => n !== 0)
      ? "an empty file has non-zero timestamps or offsets"
      : undefined;
  }
  if (header.beginTimestamp === 0) return "beginTimestamp is 0 in a non-empty file";
  if (header.endTimestamp < header.beginTimestamp) {
    return `endTimestamp ${header.endTimestamp} is before beginTimestamp ${header.beginTimestamp}`;
  }
  return undefined;
}

/** An `IndexHeader` the writer updates in place (see `IndexFile.#headerOwned`). */
type MutableIndexHeader = { -readonly [K in keyof IndexHeader]: IndexHeader[K] };

const EMPTY_HEADER: IndexHeader = Object.freeze({
  beginTimestamp: 0,
  endTimestamp: 0,
  beginPhyOffset: 0,
  endPhyOffset: 0,
  hashSlotCount: 0,
  indexCount: 1,
});

interface Entry {
  keyHash: number;
  commitLogOffset: number;
  timeDelta: number;
  prev: number;
}

/**
 * One index file. See the module doc for layout, roles and invariants.
 *
 * A handle is either the writer (`writable`) or a reader. Build it with
 * `IndexFile.create` (a new writer file) or `IndexFile.open`, then `load`.
 */
export class IndexFile {
  /** The file's name in its directory (a 20-digit number: its creation time, ms). */
  readonly name: number;
  /** Slot and entry counts. */
  readonly geometry: IndexFileGeometry;
  /** Whether this handle writes. */
  readonly writable: boolean;
  #segment: Segment;
  #header: IndexHeader = EMPTY_HEADER;
  /**
   * Writer: `#header` is a private copy no caller has seen, so `put` may
   * update it in place instead of allocating one per entry. Cleared whenever
   * the header is handed out (`header`, `refresh`).
   */
  #headerOwned = false;
  #loaded = false;
  /** Writer only, while the file is active: the slot table. */
  #slots: Int32Array | undefined;
  /** Writer: 1 for each page of the slot table changed since it was last written. */
  #dirtyPages: Uint8Array = new Uint8Array(0);
  /** Writer: the first dirty pages (up to SLOT_PAGES_PER_COMMIT_MAX + 1), and how many pages are dirty. */
  #dirtyPageList = new Int32Array(SLOT_PAGES_PER_COMMIT_MAX + 1);
  #dirtyPageCount = 0;
  /** Writer: encoding buffer for slot pages (big-endian). */
  #slotBytes: Uint8Array | undefined;
  #pending: Uint8Array | undefined;
  #pendingView: DataView | undefined;
  /** Entry number of the first pending entry; pending entries are `[#pendingFrom, indexCount)`. */
  #pendingFrom = 1;
  #headerDirty = false;
  #entriesBase: number;

  private constructor(segment: Segment, geometry: IndexFileGeometry, writable: boolean) {
    this.#segment = segment;
    this.name = segment.baseOffset;
    this.geometry = geometry;
    this.writable = writable;
    this.#entriesBase = INDEX_HEADER_BYTES + geometry.slotCount * INDEX_SLOT_BYTES;
  }

  /**
   * Create a new, empty index file and its writer (header written, loaded).
   *
   * @param dir The `index/` directory.
   * @param name The file name (creation time, ms; must not exist).
   * @param geometry Slot and entry counts.
   * @returns The writer.
   * @throws {RangeError} On a bad geometry.
   * @throws {Error} On an I/O failure.
   */
  static create(dir: SegmentDirectory, name: number, geometry: IndexFileGeometry): IndexFile {
    checkIndexGeometry(geometry);
    const segment = dir.open(name, indexFileBytes(geometry), { create: true, writable: true });
    assert(segment !== undefined, () => `index file ${name} could not be created`);
    const file = new IndexFile(segment, geometry, true);
    file.#header = EMPTY_HEADER;
    file.#headerOwned = false;
    file.#segment.write(0, encodeIndexHeader(EMPTY_HEADER));
    file.#activate(new Int32Array(geometry.slotCount));
    file.#loaded = true;
    return file;
  }

  /**
   * Open an existing index file (call `load` next).
   *
   * @param dir The `index/` directory.
   * @param name The file name.
   * @param geometry Slot and entry counts.
   * @param writable Writer (true) or reader (false).
   * @returns The handle, or undefined if the file does not exist.
   * @throws {RangeError} On a bad geometry.
   * @throws {Error} On an I/O failure.
   */
  static open(
    dir: SegmentDirectory,
    name: number,
    geometry: IndexFileGeometry,
    writable: boolean,
  ): IndexFile | undefined {
    checkIndexGeometry(geometry);
    const segment = dir.open(name, indexFileBytes(geometry), { writable });
    return segment === undefined ? undefined : new IndexFile(segment, geometry, writable);
  }

  /** The header as this handle last saw it (the writer's includes pending entries). */
  get header(): IndexHeader {
    this.#headerOwned = false;
    return this.#header;
  }

  /** Entries in the file (`indexCount − 1`). */
  get usedEntries(): number {
    return this.#header.indexCount - 1;
  }

  /** Entries that still fit. */
  get freeEntries(): number {
    return this.geometry.entryCount - this.#header.indexCount;
  }

  /** True when no entry fits any more. */
  get full(): boolean {
    return this.#header.indexCount >= this.geometry.entryCount;
  }

  /** True while this writer accepts puts (it holds the slot table). */
  get active(): boolean {
    return this.#slots !== undefined;
  }

  #activate(slots: Int32Array): void {
    this.#slots = slots;
    this.#dirtyPages = new Uint8Array(Math.ceil(this.geometry.slotCount / SLOT_PAGE_SLOTS));
    this.#dirtyPageCount = 0;
    this.#pending = new Uint8Array(
      Math.min(PENDING_ENTRIES_MAX, this.geometry.entryCount) * INDEX_ENTRY_BYTES,
    );
    this.#pendingView = new DataView(this.#pending.buffer);
    this.#pendingFrom = this.#header.indexCount;
  }

  #readHeader(): IndexHeader | "SHORT" {
    const bytes = new Uint8Array(INDEX_HEADER_BYTES);
    if (this.#segment.read(0, bytes) < INDEX_HEADER_BYTES) return "SHORT";
    return decodeIndexHeader(bytes);
  }

  #readEntries(from: number, count: number): Uint8Array {
    const bytes = new Uint8Array(count * INDEX_ENTRY_BYTES);
    const n = this.#segment.read(this.#entriesBase + from * INDEX_ENTRY_BYTES, bytes);
    return n === bytes.length ? bytes : bytes.fill(0, n);
  }

  #readEntry(k: number): Entry {
    const bytes = this.#readEntries(k, 1);
    const view = new DataView(bytes.buffer);
    return {
      keyHash: view.getInt32(0),
      commitLogOffset: getInt64(view, 4),
      timeDelta: view.getInt32(12),
      prev: view.getInt32(16),
    };
  }

  /**
   * Read and validate the file's header. When `activate` is true (the
   * writer's newest file), also reconcile the header with the entries after a
   * crash (adopting entries written past a stale header, dropping zeroed
   * entries the header claims), rebuild the hash chains when they may be
   * inconsistent, and keep the slot table in memory to take puts.
   *
   * @param activate Writer only: make this the file that takes puts.
   * @returns OK (with what was repaired), EMPTY (a zero header on a reader:
   *   the writer has not initialised it yet), or CORRUPT with why.
   * @throws {Error} On an I/O failure.
   */
  load(activate = false): IndexFileLoad {
    assert(!activate || this.writable, "IndexFile.load(activate) on a reader");
    const size = indexFileBytes(this.geometry);
    if (this.#segment.read(size - 1, new Uint8Array(1)) < 1) {
      return { status: "CORRUPT", reason: `file is shorter than ${size} bytes` };
    }
    const header = this.#readHeader();
    if (header === "SHORT") return { status: "CORRUPT", reason: "header is truncated" };
    if (
      header.indexCount === 0 &&
      checkIndexHeader({ ...header, indexCount: 1 }, this.geometry) === undefined
    ) {
      // A zero header: a file created but never initialised. Usable only if no entry was written.
      if (this.#readEntries(1, 1).some((b) => b !== 0)) {
        return { status: "CORRUPT", reason: "header is zero but entries are present" };
      }
      if (!this.writable) return { status: "EMPTY" };
      this.#header = EMPTY_HEADER;
      this.#headerOwned = false;
      this.#segment.write(0, encodeIndexHeader(EMPTY_HEADER));
    } else {
      const problem = checkIndexHeader(header, this.geometry);
      if (problem !== undefined) return { status: "CORRUPT", reason: `bad header: ${problem}` };
      this.#header = header;
      this.#headerOwned = false;
    }
    this.#loaded = true;
    // Only the file that takes puts can have been torn by a crash: older ones were sealed and flushed.
    if (!activate) return { status: "OK", repaired: undefined };
    const repaired = this.#reconcile();
    if (this.#slots === undefined) this.#slots = this.#readSlots();
    this.#activate(this.#slots);
    return { status: "OK", repaired };
  }

  #readSlots(): Int32Array {
    const slots = new Int32Array(this.geometry.slotCount);
    const chunkSlots = 256 * 1024;
    const bytes = new Uint8Array(chunkSlots * INDEX_SLOT_BYTES);
    const view = new DataView(bytes.buffer);
    for (let s = 0; s < slots.length; s += chunkSlots) {
      const count = Math.min(chunkSlots, slots.length - s);
      const part = bytes.subarray(0, count * INDEX_SLOT_BYTES);
      const n = this.#segment.read(INDEX_HEADER_BYTES + s * INDEX_SLOT_BYTES, part);
      part.fill(0, n);
      for (let i = 0; i < count; i++) slots[s + i] = view.getInt32(i * INDEX_SLOT_BYTES);
    }
    return slots;
  }

  /** Writer: make the header agree with the entries, and the chains with both. */
  #reconcile(): string | undefined {
    const header = this.#header;
    let count = header.indexCount;
    const notes: string[] = [];
    // Entries past the header: written before the crash, header not yet. Adopt
    // them while they look like entries in CommitLog order.
    let lastOffset = count > 1 ? this.#readEntry(count - 1).commitLogOffset : -1;
    while (count < this.geometry.entryCount) {
      const entry = this.#readEntry(count);
      const blank = entry.keyHash === 0 && entry.commitLogOffset === 0 && entry.timeDelta === 0 &&
        entry.prev === 0;
      if (blank || entry.keyHash < 0 || entry.commitLogOffset < lastOffset || entry.timeDelta < 0) {
        break;
      }
      if (count === 1 && header.beginTimestamp === 0) break; // no begin time to anchor the delta
      lastOffset = entry.commitLogOffset;
      count++;
    }
    if (count > header.indexCount) {
      notes.push(`adopted ${count - header.indexCount} entries past the header`);
    }
    // Entries the header claims but that read as zeros (the header reached the disk, they did not).
    let trimmed = 0;
    while (count > 2) {
      const entry = this.#readEntry(count - 1);
      if (
        entry.keyHash !== 0 || entry.commitLogOffset !== 0 || entry.timeDelta !== 0 ||
        entry.prev !== 0
      ) break;
      count--;
      trimmed++;
    }
    if (trimmed > 0) notes.push(`dropped ${trimmed} zeroed entries`);
    let slots: Int32Array | undefined;
    if (notes.length === 0) {
      slots = this.#readSlots();
      if (slots.some((v) => v < 0 || v >= count)) {
        notes.push("a slot points past the last entry");
      } else {
        this.#slots = slots;
        this.#relinkAfterWatermark(slots, count);
      }
    }
    if (notes.length === 0) return undefined;
    if (count === 1) {
      this.#header = EMPTY_HEADER;
      this.#headerOwned = false;
    } else if (count !== header.indexCount) {
      // The newest entry's time is known to the second; `overlaps` allows for that.
      const last = this.#readEntry(count - 1);
      this.#header = {
        ...header,
        indexCount: count,
        endPhyOffset: last.commitLogOffset,
        endTimestamp: header.beginTimestamp + last.timeDelta * 1000,
      };
      this.#headerOwned = false;
    }
    this.#rebuildChains();
    return notes.join("; ");
  }

  /**
   * Writer, at load: point the slots at entries the on-disk slot table may
   * miss. The slot pages of a busy commit wait for `flush`, so after a crash
   * entries at or above the slot watermark (entry 0, see the module doc) may
   * be unreachable; their `prev` links are right (set from the in-memory
   * table), so setting each bucket's slot to its newest such entry restores
   * every chain. A watermark outside 1..count (a file from before it existed)
   * relinks every entry.
   */
  #relinkAfterWatermark(slots: Int32Array, count: number): void {
    const mark = this.#readSlotWatermark();
    const from = mark >= 1 && mark <= count ? mark : 1;
    if (from >= count) return;
    let changed = false;
    for (let k = from; k < count; k += REPAIR_CHUNK_ENTRIES) {
      const n = Math.min(REPAIR_CHUNK_ENTRIES, count - k);
      const view = new DataView(this.#readEntries(k, n).buffer);
      for (let i = 0; i < n; i++) {
        const keyHash = view.getInt32(i * INDEX_ENTRY_BYTES);
        if (keyHash < 0) continue;
        const slot = keyHash % this.geometry.slotCount;
        if (slots[slot] < k + i) {
          slots[slot] = k + i;
          changed = true;
        }
      }
    }
    if (changed) this.#writeAllSlots(slots);
    this.#writeSlotWatermark(count);
  }

  /** The slot watermark: entries below it are reachable through the on-disk slots (0 if unset). */
  #readSlotWatermark(): number {
    const bytes = new Uint8Array(4);
    if (this.#segment.read(this.#entriesBase, bytes) < 4) return 0;
    return new DataView(bytes.buffer).getInt32(0);
  }

  #writeSlotWatermark(count: number): void {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setInt32(0, count);
    this.#segment.write(this.#entriesBase, bytes);
  }

  #writeAllSlots(slots: Int32Array): void {
    const chunkSlots = 256 * 1024;
    for (let s = 0; s < slots.length; s += chunkSlots) {
      const part = slots.subarray(s, Math.min(slots.length, s + chunkSlots));
      const bytes = new Uint8Array(part.length * INDEX_SLOT_BYTES);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < part.length; i++) view.setInt32(i * INDEX_SLOT_BYTES, part[i]);
      this.#segment.write(INDEX_HEADER_BYTES + s * INDEX_SLOT_BYTES, bytes);
    }
  }

  /** Writer: rebuild every slot and `prev` from the entries' hashes (derived data). */
  #rebuildChains(): void {
    const count = this.#header.indexCount;
    const slots = new Int32Array(this.geometry.slotCount);
    let used = 0;
    for (let from = 1; from < count; from += REPAIR_CHUNK_ENTRIES) {
      const n = Math.min(REPAIR_CHUNK_ENTRIES, count - from);
      const bytes = this.#readEntries(from, n);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < n; i++) {
        const slot = view.getInt32(i * INDEX_ENTRY_BYTES) % this.geometry.slotCount;
        const prev = slot >= 0 ? slots[slot] : 0;
        if (slot >= 0) {
          if (prev === 0) used++;
          slots[slot] = from + i;
        }
        view.setInt32(i * INDEX_ENTRY_BYTES + 16, prev);
      }
      this.#segment.write(this.#entriesBase + from * INDEX_ENTRY_BYTES, bytes);
    }
    // Zero everything after the last entry so a later adoption scan stops there.
    const zeroUpTo = Math.min(this.geometry.entryCount, count + REPAIR_CHUNK_ENTRIES);
    for (let from = count; from < zeroUpTo; from += REPAIR_CHUNK_ENTRIES) {
      const n = Math.min(REPAIR_CHUNK_ENTRIES, zeroUpTo - from);
      const existing = this.#readEntries(from, n);
      if (existing.some((b) => b !== 0)) {
        this.#segment.write(
          this.#entriesBase + from * INDEX_ENTRY_BYTES,
          new Uint8Array(existing.length),
        );
      }
    }
    this.#writeAllSlots(slots);
    this.#writeSlotWatermark(count);
    this.#header = { ...this.#header, hashSlotCount: used };
    this.#headerOwned = false;
    this.#segment.write(0, encodeIndexHeader(this.#header));
    this.#segment.flush();
    this.#slots = slots;
  }

  /**
   * Add one key. The entry becomes visible to other handles at `commit`.
   *
   * @param key The full index key (`topic#key`).
   * @param commitLogOffset The record's CommitLog offset.
   * @param storeTimestamp The record's store time, epoch ms.
   * @returns False when the file is full (nothing written).
   * @throws {AssertionError} On a reader, an inactive writer, or a negative offset.
   */
  put(key: string, commitLogOffset: number, storeTimestamp: number): boolean {
    return this.putHash(indexKeyHash(key), commitLogOffset, storeTimestamp);
  }

  /**
   * `put` with the key's `indexKeyHash` already computed (the dispatch path
   * hashes `topic#key` without building the string).
   *
   * @param keyHash `indexKeyHash` of the full index key.
   * @param commitLogOffset The record's CommitLog offset.
   * @param storeTimestamp The record's store time, epoch ms.
   * @returns False when the file is full (nothing written).
   * @throws {AssertionError} On a reader, an inactive writer, or a negative offset.
   */
  putHash(keyHash: number, commitLogOffset: number, storeTimestamp: number): boolean {
    const slots = this.#slots;
    assert(this.writable && slots !== undefined, "IndexFile.put() on a reader or an inactive file");
    assert(
      Number.isSafeInteger(commitLogOffset) && commitLogOffset >= 0,
      () => `bad offset ${commitLogOffset}`,
    );
    const header = this.#header;
    if (header.indexCount >= this.geometry.entryCount) return false;
    const slot = keyHash % this.geometry.slotCount;
    const prev = slots[slot];
    const first = header.indexCount === 1;
    let timeDelta = 0;
    if (!first) {
      timeDelta = Math.floor((storeTimestamp - header.beginTimestamp) / 1000);
      timeDelta = Math.min(INT32_MAX, Math.max(0, timeDelta));
    }
    const k = header.indexCount;
    if ((k - this.#pendingFrom + 1) * INDEX_ENTRY_BYTES > this.#pending!.length) this.commit();
    const at = (k - this.#pendingFrom) * INDEX_ENTRY_BYTES;
    const view = this.#pendingView!;
    view.setInt32(at, keyHash);
    setInt64(view, at + 4, commitLogOffset);
    view.setInt32(at + 12, timeDelta);
    view.setInt32(at + 16, prev >= 0 && prev < k ? prev : 0);
    slots[slot] = k;
    const page = (slot / SLOT_PAGE_SLOTS) | 0;
    if (this.#dirtyPages[page] === 0) {
      this.#dirtyPages[page] = 1;
      if (this.#dirtyPageCount < this.#dirtyPageList.length) {
        this.#dirtyPageList[this.#dirtyPageCount] = page;
      }
      this.#dirtyPageCount++;
    }
    // `this.#commit` above may have run, but it only reads the header.
    const next: MutableIndexHeader = this.#headerOwned
      ? header as MutableIndexHeader
      : { ...header };
    next.beginTimestamp = first ? storeTimestamp : header.beginTimestamp;
    next.endTimestamp = first ? storeTimestamp : Math.max(header.endTimestamp, storeTimestamp);
    next.beginPhyOffset = first ? commitLogOffset : header.beginPhyOffset;
    next.endPhyOffset = commitLogOffset;
    next.hashSlotCount = header.hashSlotCount + (prev === 0 ? 1 : 0);
    next.indexCount = k + 1;
    this.#header = next;
    this.#headerOwned = true;
    this.#headerDirty = true;
    return true;
  }

  /**
   * Writer: write pending entries, then the changed slot pages if only a few
   * are dirty, then the header (in that order, so readers never follow a slot
   * to a missing entry). After a busy round the slot pages wait for `flush`:
   * readers find those keys once it has run (entries are still written here,
   * and the chains through them are complete once the slots land).
   */
  commit(): void {
    this.#commit(false);
  }

  #commit(allSlots: boolean): void {
    if (!this.writable || (!this.#headerDirty && this.#dirtyPageCount === 0)) return;
    const count = this.#header.indexCount - this.#pendingFrom;
    if (count > 0) {
      this.#segment.write(
        this.#entriesBase + this.#pendingFrom * INDEX_ENTRY_BYTES,
        this.#pending!.subarray(0, count * INDEX_ENTRY_BYTES),
      );
      this.#pendingFrom = this.#header.indexCount;
    }
    const dirty = this.#dirtyPageCount;
    if (dirty > 0 && dirty <= SLOT_PAGES_PER_COMMIT_MAX) {
      for (let i = 0; i < dirty; i++) this.#writeSlotPages(this.#dirtyPageList[i], 1);
      this.#dirtyPageCount = 0;
      this.#writeSlotWatermark(this.#header.indexCount);
    } else if (dirty > 0 && allSlots) {
      // Runs of dirty pages, each in one write of at most SLOT_PAGES_PER_WRITE_MAX pages.
      const pages = this.#dirtyPages;
      let page = 0;
      while (page < pages.length) {
        if (pages[page] === 0) {
          page++;
          continue;
        }
        let end = page + 1;
        while (end < pages.length && pages[end] === 1 && end - page < SLOT_PAGES_PER_WRITE_MAX) {
          end++;
        }
        this.#writeSlotPages(page, end - page);
        page = end;
      }
      this.#dirtyPageCount = 0;
      this.#writeSlotWatermark(this.#header.indexCount);
    }
    if (this.#headerDirty) {
      this.#segment.write(0, encodeIndexHeader(this.#header));
      this.#headerDirty = false;
    }
  }

  /** Writer: write `pageCount` pages of the slot table from `firstPage`, and mark them clean. */
  #writeSlotPages(firstPage: number, pageCount: number): void {
    const slots = this.#slots!;
    const from = firstPage * SLOT_PAGE_SLOTS;
    const to = Math.min(slots.length, (firstPage + pageCount) * SLOT_PAGE_SLOTS);
    const bytesNeeded = (to - from) * INDEX_SLOT_BYTES;
    if (this.#slotBytes === undefined || this.#slotBytes.length < bytesNeeded) {
      this.#slotBytes = new Uint8Array(
        Math.min(slots.length, SLOT_PAGES_PER_WRITE_MAX * SLOT_PAGE_SLOTS) * INDEX_SLOT_BYTES,
      );
    }
    const bytes = this.#slotBytes.subarray(0, bytesNeeded);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let s = from; s < to; s++) view.setInt32((s - from) * INDEX_SLOT_BYTES, slots[s]);
    this.#segment.write(INDEX_HEADER_BYTES + from * INDEX_SLOT_BYTES, bytes);
    this.#dirtyPages.fill(0, firstPage, firstPage + pageCount);
  }

  /** Writer: commit everything (entries, every changed slot, header), then fdatasync the file. */
  flush(): void {
    if (!this.writable) return;
    this.#commit(true);
    this.#segment.flush();
  }

  /**
   * Writer: stop taking puts (after the file filled up): commit, flush and
   * release the in-memory slot table.
   */
  seal(): void {
    if (!this.writable) return;
    this.flush();
    this.#slots = undefined;
    this.#pending = undefined;
    this.#pendingView = undefined;
  }

  /**
   * Reader: re-read the header (the writer moves it on).
   *
   * @returns The header, or undefined if it is not (yet) valid.
   */
  refresh(): IndexHeader | undefined {
    if (this.writable) {
      if (!this.#loaded) return undefined;
      this.#headerOwned = false;
      return this.#header;
    }
    const header = this.#readHeader();
    if (header === "SHORT" || checkIndexHeader(header, this.geometry) !== undefined) {
      return undefined;
    }
    this.#header = header;
    this.#headerOwned = false;
    this.#loaded = true;
    return header;
  }

  /**
   * Whether the file's time range overlaps [beginMs, endMs].
   *
   * @param beginMs Window start, epoch ms.
   * @param endMs Window end, epoch ms.
   * @returns True if some entry may fall inside.
   */
  overlaps(beginMs: number, endMs: number): boolean {
    const h = this.#header;
    if (h.indexCount <= 1) return false;
    return h.beginTimestamp <= endMs && h.endTimestamp + INDEX_TIME_PRECISION_MS >= beginMs;
  }

  /**
   * CommitLog offsets of entries whose hash matches `key` and whose time
   * (second precision, see the module doc) falls in [beginMs, endMs], newest
   * first. Hash collisions are returned too: callers re-check the key.
   *
   * @param key The full index key (`topic#key`).
   * @param beginMs Window start, epoch ms.
   * @param endMs Window end, epoch ms.
   * @param maxCount Stop once `out` holds this many offsets.
   * @param out Offsets found so far; new ones are appended (no duplicates).
   * @throws {Error} On an I/O failure.
   */
  query(key: string, beginMs: number, endMs: number, maxCount: number, out: number[]): void {
    if (this.writable) this.commit();
    const header = this.#header;
    if (header.indexCount <= 1 || out.length >= maxCount) return;
    const keyHash = indexKeyHash(key);
    const slot = keyHash % this.geometry.slotCount;
    let k: number;
    if (this.#slots !== undefined) {
      k = this.#slots[slot];
    } else {
      const bytes = new Uint8Array(INDEX_SLOT_BYTES);
      if (
        this.#segment.read(INDEX_HEADER_BYTES + slot * INDEX_SLOT_BYTES, bytes) < INDEX_SLOT_BYTES
      ) return;
      k = new DataView(bytes.buffer).getInt32(0);
    }
    // A reader may see a slot before the header that covers it: entries up to the file's end are fair.
    const limit = this.writable ? header.indexCount : this.geometry.entryCount;
    const lowMs = beginMs - INDEX_TIME_PRECISION_MS;
    const seen = new Set(out);
    while (k > 0 && k < limit && out.length < maxCount) {
      const entry = this.#readEntry(k);
      const timeMs = header.beginTimestamp + entry.timeDelta * 1000;
      if (
        entry.keyHash === keyHash && timeMs >= lowMs && timeMs <= endMs &&
        entry.commitLogOffset >= 0
      ) {
        if (!seen.has(entry.commitLogOffset)) {
          seen.add(entry.commitLogOffset);
          out.push(entry.commitLogOffset);
        }
      }
      // Chains run newest first and store times only grow: nothing older can match.
      if (timeMs < lowMs) break;
      if (entry.prev >= k) break;
      k = entry.prev;
    }
  }

  /** Release the handle (the writer should `flush` first). Idempotent. */
  close(): void {
    this.#segment.close();
    this.#slots = undefined;
  }
}
