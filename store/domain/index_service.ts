/**
 * IndexService: the set of index files in `index/`, built by dispatch
 * (RocketMQ's `IndexService` + `CommitLogDispatcherBuildIndex`) and queried
 * by message key or unique id.
 *
 * For every dispatched record except ROLLBACK ones it adds `topic#UNIQ_KEY`
 * and `topic#k` for each space-separated element of `KEYS`. When the newest
 * file is full it is sealed (flushed, slot table released) and a new one is
 * created.
 *
 * File names: the segment port names files by a 20-digit number, and
 * RocketMQ's `yyyyMMddHHmmssSSS` does not fit a safe integer as a number, so a
 * file is named by its creation time in epoch ms, zero-padded to 20 digits
 * (`index/00000001735689600123`), bumped to one more than the newest existing
 * name if the clock has not moved past it. Names therefore sort by age.
 *
 * Roles, like the ConsumeQueue: one writer (`writable: true`, the dispatch
 * worker or `LocalMessageStore`'s thread) and any number of readers on other
 * threads (`writable: false`, the main thread of the Worker store). A reader
 * lists the directory and re-reads each file's header on every query, so it
 * follows the writer without messages; `commit` (run by the writer after each
 * dispatch round) is what makes new entries visible.
 *
 * Recovery (chosen over RocketMQ's "discard files newer than the
 * checkpoint's index timestamp"): the index files themselves say how far the
 * index got. `load` validates every file; the writer repairs the newest one
 * after a crash (entries past a stale header adopted, zeroed entries the
 * header claimed dropped, chains rebuilt from the entries); the first corrupt
 * file and every file after it are deleted. `indexedUpToOffset` is then the
 * CommitLog offset from which records still need indexing, capped at the
 * CommitLog end so records rewritten over a torn tail are indexed again.
 * Dispatch is idempotent: records below `indexedUpToOffset` are skipped, so
 * the store re-dispatches from `min(dispatchedOffset, indexedUpToOffset)` and
 * nothing is indexed twice. Entries that point past the CommitLog end (the
 * index reached the disk, the CommitLog tail did not) stay in the files but
 * never match: the store re-checks every hit's key (and store time) against
 * the record it reads back.
 *
 * @module
 */

import { MessageSysFlag, transactionType } from "../../client/protocol/message_record.ts";
import { assert } from "./assert.ts";
import type { DispatchRequest, DispatchSink } from "./dispatch.ts";
import {
  INDEX_ENTRY_COUNT_DEFAULT,
  INDEX_SLOT_COUNT_DEFAULT,
  IndexFile,
  type IndexFileGeometry,
  indexHashOf,
} from "./index_file.ts";
import { type Clock, type SegmentDirectory, type StoreFileSystem, systemClock } from "./segment.ts";

/** Directory of the index files, relative to the data dir. */
export const INDEX_DIR = "index";
/** Separator of the elements of the `KEYS` property (RocketMQ `KEY_SEPARATOR`). */
export const KEY_SEPARATOR = " ";

/** Options of an `IndexService`. */
export interface IndexServiceOptions {
  /** Writer (dispatch) or reader role. */
  readonly writable: boolean;
  /** Hash slots per file. Default 5,000,000. */
  readonly slotCount?: number;
  /** Entries per file, entry 0 included. Default 20,000,000. */
  readonly entryCount?: number;
  /** Names new files by creation time. Default: system time. */
  readonly clock?: Clock;
}

/** What `load` found. */
export interface IndexServiceLoad {
  /** Usable files. */
  readonly files: number;
  /** Files deleted (writer) or skipped (reader), with why. */
  readonly discarded: readonly { readonly name: number; readonly reason: string }[];
  /** The newest file's crash repair, if one was needed. */
  readonly repaired: string | undefined;
  /** Records at or above this CommitLog offset still need indexing. */
  readonly indexedUpToOffset: number;
  /**
   * Where to re-dispatch from (at or below `indexedUpToOffset`). After a power
   * cut the CommitLog past its last flush may hold other records than the ones
   * indexed, so this may fall inside one: start from `indexReplayStart`.
   */
  readonly redispatchFromOffset: number;
}

/** Outcome of `queryOffsets`, RocketMQ's `QueryOffsetResult`. */
export interface IndexQueryResult {
  /** CommitLog offsets of candidate records, newest first, no duplicates. */
  readonly offsets: number[];
  /** Store time of the newest indexed entry, epoch ms (0 when the index is empty). */
  readonly indexLastUpdateTimestamp: number;
  /** CommitLog offset of the newest indexed entry (0 when the index is empty). */
  readonly indexLastUpdatePhyOffset: number;
}

/**
 * The full index key of a message key.
 *
 * @param topic Topic.
 * @param key A `KEYS` element or a `UNIQ_KEY`.
 * @returns `topic#key`.
 */
export function indexKey(topic: string, key: string): string {
  return `${topic}#${key}`;
}

/**
 * The keys a record is indexed under (deduplicated): its `UNIQ_KEY` and each
 * non-empty `KEYS` element.
 *
 * @param uniqKey `UNIQ_KEY` property, if any.
 * @param keys `KEYS` property, if any.
 * @returns The bare keys (without the topic).
 */
export function messageIndexKeys(uniqKey: string | undefined, keys: string | undefined): string[] {
  // The common case (a client-set unique id, no KEYS) needs no set.
  if (keys === undefined) return uniqKey !== undefined && uniqKey.length > 0 ? [uniqKey] : [];
  const out = new Set<string>();
  if (uniqKey !== undefined && uniqKey.length > 0) out.add(uniqKey);
  if (keys !== undefined) {
    for (const key of keys.split(KEY_SEPARATOR)) if (key.length > 0) out.add(key);
  }
  return [...out];
}

/**
 * Java's `String.hashCode` of `prefix + s`, given `hash` = the hash of
 * `prefix`: the same int32 without building the concatenated string.
 *
 * @param hash Hash of the prefix (0 for none).
 * @param s The rest of the string.
 * @returns The int32 hash.
 */
export function continueJavaHash(hash: number, s: string): number {
  let h = hash;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * Every index file of a store. See the module doc for roles, naming and
 * recovery.
 *
 * Invariants (writer): files are sorted by name; only the newest may be
 * active; `indexedUpToOffset` is above the CommitLog offset of every entry
 * written since `load`.
 */
export class IndexService implements DispatchSink {
  /** Whether this instance writes. */
  readonly writable: boolean;
  /** Slot and entry counts of every file. */
  readonly geometry: IndexFileGeometry;
  #dir: SegmentDirectory;
  /** A file was created or deleted since the last flush (directory not yet synced). */
  #directoryDirty = false;
  #clock: Clock;
  /** Open files, oldest first. */
  #files: IndexFile[] = [];
  #indexedUpTo = 0;
  #redispatchFrom = 0;
  #loaded = false;
  /** Dispatch: the last record's topic and the Java hash of `topic#` (records mostly repeat a topic). */
  #hashTopic: string | undefined;
  #hashPrefix = 0;

  /**
   * Build the service (no I/O until `load`).
   *
   * @param fs The store's file system.
   * @param options Role, geometry, clock.
   * @throws {RangeError} On a bad geometry.
   */
  constructor(fs: StoreFileSystem, options: IndexServiceOptions) {
    this.writable = options.writable;
    this.geometry = {
      slotCount: options.slotCount ?? INDEX_SLOT_COUNT_DEFAULT,
      entryCount: options.entryCount ?? INDEX_ENTRY_COUNT_DEFAULT,
    };
    if (
      !Number.isSafeInteger(this.geometry.slotCount) || this.geometry.slotCount < 2 ||
      !Number.isSafeInteger(this.geometry.entryCount) || this.geometry.entryCount < 2
    ) {
      throw new RangeError(
        `Cannot build index: ${this.geometry.slotCount} slots and ${this.geometry.entryCount} entries per file, need >= 2 each`,
      );
    }
    this.#dir = fs.segments(INDEX_DIR);
    this.#clock = options.clock ?? systemClock;
  }

  /** Records at or above this CommitLog offset have not been indexed yet. */
  get indexedUpToOffset(): number {
    return this.#indexedUpTo;
  }

  /**
   * A record boundary from which re-dispatch rebuilds whatever the index
   * lacks: the newest indexed record (skipped again as already indexed), or
   * the CommitLog end if that is lower, or 0 for an empty index. Start the
   * store's dispatcher at `min(dispatchedOffset, redispatchFromOffset)`
   * (clamped to the CommitLog min offset).
   */
  get redispatchFromOffset(): number {
    return this.#redispatchFrom;
  }

  /** Number of open index files. */
  get fileCount(): number {
    return this.#files.length;
  }

  /**
   * Open the files in `index/`. The writer validates and repairs them (see
   * the module doc) and deletes the first corrupt file and all newer ones.
   *
   * @param commitLogEnd Writer: the CommitLog end after its recovery; the
   *   index position is capped there. Omit on a reader.
   * @returns What was found.
   * @throws {Error} If already loaded, or on an I/O failure.
   */
  load(commitLogEnd = Number.MAX_SAFE_INTEGER): IndexServiceLoad {
    assert(!this.#loaded, "IndexService.load() called twice");
    this.#loaded = true;
    const discarded: { name: number; reason: string }[] = [];
    let repaired: string | undefined;
    const names = this.#dir.list();
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      const newest = i === names.length - 1;
      const file = IndexFile.open(this.#dir, name, this.geometry, this.writable);
      if (file === undefined) continue;
      const loaded = file.load(this.writable && newest);
      if (loaded.status === "OK") {
        this.#files.push(file);
        if (loaded.repaired !== undefined) repaired = `${name}: ${loaded.repaired}`;
        continue;
      }
      file.close();
      if (!this.writable) {
        if (loaded.status === "CORRUPT") discarded.push({ name, reason: loaded.reason });
        continue;
      }
      assert(loaded.status === "CORRUPT", "a writer never sees an EMPTY index file");
      // Everything from the first corrupt file on is rebuilt from the CommitLog.
      discarded.push({ name, reason: loaded.reason });
      for (const later of names.slice(i + 1)) {
        discarded.push({ name: later, reason: `newer than corrupt file ${name}` });
      }
      for (const gone of names.slice(i)) this.#dir.delete(gone);
      this.#directoryDirty = true;
      break;
    }
    if (this.writable) {
      const newest = this.#files.at(-1);
      // A file that is full (or repaired as full) stops taking puts.
      if (newest !== undefined && newest.active && newest.full) newest.seal();
    }
    const last = this.#lastHeader();
    this.#indexedUpTo = last === undefined ? 0 : Math.min(last.endPhyOffset + 1, commitLogEnd);
    this.#redispatchFrom = last === undefined ? 0 : Math.min(last.endPhyOffset, commitLogEnd);
    return {
      files: this.#files.length,
      discarded,
      repaired,
      indexedUpToOffset: this.#indexedUpTo,
      redispatchFromOffset: this.#redispatchFrom,
    };
  }

  /** The file taking puts, rolled first when fewer than `room` entries fit. */
  #active(room: number): IndexFile {
    const newest = this.#files.at(-1);
    if (newest !== undefined && newest.active && newest.freeEntries >= room) return newest;
    if (newest !== undefined && newest.active) newest.seal();
    const lastName = newest?.name ?? -1;
    const name = Math.max(this.#clock.nowMs(), lastName + 1);
    const file = IndexFile.create(this.#dir, name, this.geometry);
    this.#directoryDirty = true;
    this.#files.push(file);
    return file;
  }

  /**
   * Index one dispatched record (the DispatchSink hook). ROLLBACK records and
   * records below `indexedUpToOffset` (already indexed) are skipped.
   *
   * @param request The record's dispatch facts.
   * @throws {AssertionError} On a reader, or before `load`.
   */
  dispatch(request: DispatchRequest): void {
    assert(this.writable && this.#loaded, "IndexService.dispatch() on a reader or before load()");
    if (transactionType(request.sysFlag) === MessageSysFlag.TRANSACTION_ROLLBACK_TYPE) return;
    if (request.commitLogOffset < this.#indexedUpTo) return;
    this.#indexedUpTo = request.commitLogOffset + 1;
    if (request.topic !== this.#hashTopic) {
      this.#hashTopic = request.topic;
      this.#hashPrefix = continueJavaHash(0, `${request.topic}#`);
    }
    const uniqKey = request.uniqKey;
    if (request.keys === undefined) {
      // The usual record: one unique key, no KEYS; no array, no `topic#key` string.
      if (uniqKey === undefined || uniqKey.length === 0) return;
      this.#put(this.#active(1), uniqKey, request);
      return;
    }
    const keys = messageIndexKeys(uniqKey, request.keys);
    if (keys.length === 0) return;
    // A record's keys go into one file when they fit one, so discarding a
    // file after a crash never leaves a record half indexed.
    let file = this.#active(Math.min(keys.length, this.geometry.entryCount - 1));
    for (const key of keys) file = this.#put(file, key, request);
  }

  /** Put `topic#key` (topic hashed into `#hashPrefix`) into `file`, or into a new file if it is full. */
  #put(file: IndexFile, key: string, request: DispatchRequest): IndexFile {
    const hash = indexHashOf(continueJavaHash(this.#hashPrefix, key));
    if (file.putHash(hash, request.commitLogOffset, request.storeTimestamp)) return file;
    const next = this.#active(1);
    assert(
      next.putHash(hash, request.commitLogOffset, request.storeTimestamp),
      "a new index file refused a put",
    );
    return next;
  }

  /** Writer: make every entry so far visible to readers (call after each dispatch round). */
  commit(): void {
    if (!this.writable) return;
    this.#files.at(-1)?.commit();
  }

  /**
   * Writer: commit and fdatasync the newest file (sealed files were flushed
   * when sealed).
   *
   * @returns The index timestamp for the checkpoint: store time of the
   *   newest flushed entry (0 when the index is empty).
   * @throws {Error} On an I/O failure.
   */
  flush(): number {
    if (!this.writable) return this.#lastHeader()?.endTimestamp ?? 0;
    this.#files.at(-1)?.flush();
    if (this.#directoryDirty) {
      this.#dir.sync();
      this.#directoryDirty = false;
    }
    return this.#lastHeader()?.endTimestamp ?? 0;
  }

  #lastHeader() {
    for (let i = this.#files.length - 1; i >= 0; i--) {
      const header = this.#files[i].header;
      if (header.indexCount > 1) return header;
    }
    return undefined;
  }

  /** Reader: follow the writer's directory (new files opened, deleted ones closed). */
  #syncReader(): void {
    const names = this.#dir.list();
    const present = new Set(names);
    const kept: IndexFile[] = [];
    for (const file of this.#files) {
      if (present.has(file.name)) kept.push(file);
      else file.close();
    }
    const open = new Set(kept.map((f) => f.name));
    for (const name of names) {
      if (open.has(name)) continue;
      const file = IndexFile.open(this.#dir, name, this.geometry, false);
      if (file !== undefined) kept.push(file);
    }
    this.#files = kept.sort((a, b) => a.name - b.name);
  }

  /**
   * CommitLog offsets of records indexed under `topic#key` whose store time
   * is (to the second) within [beginMs, endMs], newest first, at most
   * `maxCount`. Hash collisions and entries past the CommitLog end are
   * possible: the caller re-checks each record's key and store time.
   *
   * @param topic Topic.
   * @param key A `KEYS` element or a `UNIQ_KEY`.
   * @param maxCount Most offsets, >= 1.
   * @param beginMs Window start, epoch ms.
   * @param endMs Window end, epoch ms.
   * @returns The offsets and the index's last update.
   * @throws {RangeError} If `maxCount` is not a positive integer.
   * @throws {Error} On an I/O failure.
   */
  queryOffsets(
    topic: string,
    key: string,
    maxCount: number,
    beginMs: number,
    endMs: number,
  ): IndexQueryResult {
    if (!Number.isSafeInteger(maxCount) || maxCount < 1) {
      throw new RangeError(`Cannot query index: maxCount is ${maxCount}, expected an integer >= 1`);
    }
    if (!this.writable) this.#syncReader();
    const full = indexKey(topic, key);
    const offsets: number[] = [];
    let lastTimestamp = 0;
    let lastPhyOffset = 0;
    for (let i = this.#files.length - 1; i >= 0; i--) {
      const file = this.#files[i];
      const header = file.refresh();
      if (header === undefined || header.indexCount <= 1) continue;
      if (lastTimestamp === 0) {
        lastTimestamp = header.endTimestamp;
        lastPhyOffset = header.endPhyOffset;
      }
      if (offsets.length >= maxCount) break;
      if (file.overlaps(beginMs, endMs)) file.query(full, beginMs, endMs, maxCount, offsets);
    }
    return {
      offsets,
      indexLastUpdateTimestamp: lastTimestamp,
      indexLastUpdatePhyOffset: lastPhyOffset,
    };
  }

  /**
   * Writer: delete files (never the newest) whose every entry points below
   * the CommitLog min offset (RocketMQ `deleteExpiredFile`).
   *
   * @param commitLogMinOffset The CommitLog's min offset.
   * @returns Files deleted.
   */
  deleteExpired(commitLogMinOffset: number): number {
    assert(this.writable, "IndexService.deleteExpired() on a reader");
    let deleted = 0;
    while (this.#files.length > 1 && this.#files[0].header.endPhyOffset < commitLogMinOffset) {
      const file = this.#files.shift()!;
      file.close();
      this.#dir.delete(file.name);
      deleted++;
    }
    if (deleted > 0) this.#dir.sync();
    return deleted;
  }

  /** Flush (writer) and close every file. Idempotent. */
  close(): void {
    if (this.writable) {
      for (const file of this.#files) if (file.active) file.flush();
    }
    for (const file of this.#files) file.close();
    this.#files = [];
  }
}

/**
 * Where the dispatcher starts to refill the index: the segment base at or
 * below the index's position (a segment base is always a record boundary,
 * while the index's position may fall inside a record written after a power
 * cut), never below the CommitLog min nor above the recovered dispatch offset.
 *
 * @param redispatchFromOffset The index's `redispatchFromOffset`.
 * @param dispatchedOffset Where recovery left dispatch.
 * @param minOffset The CommitLog min offset.
 * @param segmentBytes CommitLog segment size.
 * @returns The offset to start the dispatcher at.
 */
export function indexReplayStart(
  redispatchFromOffset: number,
  dispatchedOffset: number,
  minOffset: number,
  segmentBytes: number,
): number {
  if (redispatchFromOffset >= dispatchedOffset) return dispatchedOffset;
  const base = redispatchFromOffset - (redispatchFromOffset % segmentBytes);
  return Math.min(dispatchedOffset, Math.max(minOffset, base));
}
