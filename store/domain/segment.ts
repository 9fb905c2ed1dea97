/**
 * Ports the store's domain needs from the outside world: fixed-size segment
 * files, directories of them, small files, and a clock.
 *
 * Every method is synchronous. The domain classes run on whichever thread owns
 * their role (the store worker appends, the dispatch worker builds
 * ConsumeQueues, the main thread reads), and the measured cost of a sync file
 * call is about 2 µs against about 30 µs for an async one (see
 * `docs/store_format.md` and the team's deno-facts). Implementations:
 * `store/infra/fs_segment.ts` (files) and `store/infra/memory_segment.ts`
 * (memory, for unit tests).
 *
 * @module
 */

/**
 * One fixed-size file of a log, named by the 20-digit absolute offset of its
 * first byte (see `segmentFileName`).
 *
 * Positions are relative to the segment start. Bytes never written read as
 * zeros. A segment opened read-only (`SegmentOpenOptions.writable: false`)
 * sees bytes that another handle wrote with `write` (no flush needed).
 */
export interface Segment {
  /** Absolute offset of the first byte of this segment (its file name). */
  readonly baseOffset: number;
  /** Fixed capacity, bytes. */
  readonly sizeBytes: number;
  /**
   * Write `bytes` at `position` (sync; visible to other handles on return).
   *
   * @param position Byte position within the segment.
   * @param bytes Bytes to write; `position + bytes.length <= sizeBytes`.
   * @throws {Error} On an I/O failure (wrapped once, with `cause`), or if the segment is read-only.
   */
  write(position: number, bytes: Uint8Array): void;
  /**
   * Read into `target` from `position` (a positional read; no shared cursor).
   *
   * @param position Byte position within the segment.
   * @param target Destination; at most `sizeBytes - position` bytes are read.
   * @returns The number of bytes read (bytes past the file's current end read as none).
   * @throws {Error} On an I/O failure.
   */
  read(position: number, target: Uint8Array): number;
  /**
   * Force written bytes to stable storage (fdatasync).
   *
   * @throws {Error} On an I/O failure.
   */
  flush(): void;
  /** Release the handles. Idempotent. */
  close(): void;
}

/** How to open a segment. */
export interface SegmentOpenOptions {
  /** Create the file (sized to `sizeBytes`) when it does not exist. Default false. */
  readonly create?: boolean;
  /** Open for writing. Default false (a reader's handle). */
  readonly writable?: boolean;
}

/**
 * A directory of segments of one log (the CommitLog, or one ConsumeQueue).
 *
 * File names are 20-digit zero-padded base offsets; anything else in the
 * directory is ignored.
 */
export interface SegmentDirectory {
  /** The directory path, for messages. */
  readonly path: string;
  /**
   * Base offsets of the segments present, ascending. An absent directory lists as empty.
   *
   * @returns Sorted base offsets.
   */
  list(): number[];
  /**
   * Open (or create) one segment.
   *
   * @param baseOffset The segment's base offset.
   * @param sizeBytes Its fixed size.
   * @param options Create and/or writable.
   * @returns The segment, or undefined if it does not exist and `create` is false.
   * @throws {Error} On an I/O failure.
   */
  open(baseOffset: number, sizeBytes: number, options?: SegmentOpenOptions): Segment | undefined;
  /**
   * Make this directory's entries durable: fsync the directory and each
   * directory above it up to and including the data dir, so segments created
   * or deleted since the last sync (and the directory itself) survive a power
   * cut. Call it once per created or deleted segment, before acknowledging
   * anything that lives in one (`CommitLog.flush` and `ConsumeQueue.flush` do).
   *
   * @throws {Error} On an I/O failure.
   */
  sync(): void;
  /**
   * Delete one segment's file (open handles keep reading until closed). Missing is fine.
   * The deletion is durable only after `sync`.
   *
   * @param baseOffset The segment's base offset.
   */
  delete(baseOffset: number): void;
  /**
   * Last-modified time of a segment's file.
   *
   * @param baseOffset The segment's base offset.
   * @returns Epoch ms, or undefined if it does not exist.
   */
  lastModifiedMs(baseOffset: number): number | undefined;
}

/**
 * The part of a file system the store's domain uses, rooted at the data dir.
 * Paths are relative, `/`-separated (`commitlog`, `consumequeue/TopicA/0`).
 */
export interface StoreFileSystem {
  /**
   * A segment directory (created lazily when the first segment is created).
   *
   * @param path Relative directory path.
   * @returns The directory.
   */
  segments(path: string): SegmentDirectory;
  /**
   * Names of the subdirectories of a directory (empty if it does not exist).
   *
   * @param path Relative directory path.
   * @returns Subdirectory names, sorted.
   */
  listDirectories(path: string): string[];
  /**
   * Remove a directory and everything under it, durably (its parent is
   * fsynced). Missing is fine.
   *
   * @param path Relative directory path.
   */
  removeDirectory(path: string): void;
  /**
   * Read a whole small file.
   *
   * @param path Relative file path.
   * @returns Its bytes, or undefined if it does not exist.
   */
  readFile(path: string): Uint8Array | undefined;
  /**
   * Write a whole small file in place (create or overwrite), then fdatasync
   * it. When the file is new, its directory chain is fsynced too, so the file
   * itself survives a power cut. An overwrite in place can tear at a power
   * cut: callers protect the content with a checksum.
   *
   * @param path Relative file path.
   * @param bytes Content.
   */
  writeFile(path: string, bytes: Uint8Array): void;
  /**
   * Delete a file, durably (its directory is fsynced). Missing is fine.
   *
   * @param path Relative file path.
   */
  removeFile(path: string): void;
  /**
   * Whether a file exists.
   *
   * @param path Relative file path.
   * @returns True if present.
   */
  exists(path: string): boolean;
}

/** The broker's clock, injected so tests can move time. */
export interface Clock {
  /**
   * Now.
   *
   * @returns Epoch milliseconds.
   */
  nowMs(): number;
}

/** A `Clock` reading the system time. */
export const systemClock: Clock = Object.freeze({ nowMs: () => Date.now() });

/** Digits in a segment file name. */
export const SEGMENT_NAME_DIGITS = 20;

/**
 * The file name of a segment: its base offset, zero-padded to 20 digits.
 *
 * @param baseOffset Base offset, a non-negative safe integer.
 * @returns E.g. `00000000001073741824`.
 * @throws {RangeError} If the offset is negative or not a safe integer.
 */
export function segmentFileName(baseOffset: number): string {
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) {
    throw new RangeError(
      `Cannot name segment: base offset ${baseOffset} is not a safe integer >= 0`,
    );
  }
  return String(baseOffset).padStart(SEGMENT_NAME_DIGITS, "0");
}

/**
 * Parse a segment file name.
 *
 * @param name A file name.
 * @returns The base offset, or undefined if the name is not 20 digits.
 */
export function parseSegmentFileName(name: string): number | undefined {
  if (name.length !== SEGMENT_NAME_DIGITS || !/^[0-9]+$/.test(name)) return undefined;
  const value = Number(name);
  return Number.isSafeInteger(value) ? value : undefined;
}
