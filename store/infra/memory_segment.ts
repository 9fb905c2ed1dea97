/**
 * In-memory implementations of the segment ports, for unit tests of the
 * store's domain (CommitLog, ConsumeQueue, dispatch) without touching disk.
 *
 * `MemoryFileSystem` keeps every file as a byte array shared by all handles,
 * so a reader handle sees what a writer handle wrote, as with real files.
 * `crash()` simulates power loss: every byte not covered by a `flush` is lost.
 *
 * @module
 */

import {
  parseSegmentFileName,
  type Segment,
  type SegmentDirectory,
  segmentFileName,
  type SegmentOpenOptions,
  type StoreFileSystem,
} from "../domain/segment.ts";

/** One file's state in a `MemoryFileSystem`. */
export interface MemoryFile {
  /** Current content (page cache). */
  bytes: Uint8Array;
  /** What survives a crash: a copy taken at each flush. */
  durable: Uint8Array;
  /** Last modification, epoch ms. */
  mtimeMs: number;
}

/** A segment over a shared in-memory file. */
export class MemorySegment implements Segment {
  readonly baseOffset: number;
  readonly sizeBytes: number;
  #file: MemoryFile;
  #writable: boolean;
  #now: () => number;
  #closed = false;

  /**
   * Wrap a memory file (use `MemorySegmentDirectory.open`).
   *
   * @param file The shared file state.
   * @param baseOffset Base offset.
   * @param sizeBytes Capacity.
   * @param writable Whether writes are allowed.
   * @param now Time source for mtimes.
   */
  constructor(
    file: MemoryFile,
    baseOffset: number,
    sizeBytes: number,
    writable: boolean,
    now: () => number,
  ) {
    this.#file = file;
    this.baseOffset = baseOffset;
    this.sizeBytes = sizeBytes;
    this.#writable = writable;
    this.#now = now;
  }

  /**
   * Write bytes at a position.
   *
   * @param position Position in the segment.
   * @param bytes Bytes.
   * @throws {Error} If closed, read-only or out of bounds.
   */
  write(position: number, bytes: Uint8Array): void {
    if (this.#closed) throw new Error("Cannot write segment: it is closed");
    if (!this.#writable) throw new Error("Cannot write segment: it is open read-only");
    if (position < 0 || position + bytes.length > this.sizeBytes) {
      throw new RangeError(
        `Cannot write segment: ${bytes.length} bytes at ${position} exceed size ${this.sizeBytes}`,
      );
    }
    this.#file.bytes.set(bytes, position);
    this.#file.mtimeMs = this.#now();
  }

  /**
   * Read bytes from a position.
   *
   * @param position Position in the segment.
   * @param target Destination.
   * @returns Bytes read.
   */
  read(position: number, target: Uint8Array): number {
    if (this.#closed) throw new Error("Cannot read segment: it is closed");
    const n = Math.max(0, Math.min(target.length, this.#file.bytes.length - position));
    target.set(this.#file.bytes.subarray(position, position + n));
    return n;
  }

  /** Make written bytes survive `MemoryFileSystem.crash()`. */
  flush(): void {
    this.#file.durable = this.#file.bytes.slice();
  }

  /** Close this handle. */
  close(): void {
    this.#closed = true;
  }
}

/** A directory of memory segments inside a `MemoryFileSystem`. */
export class MemorySegmentDirectory implements SegmentDirectory {
  readonly path: string;
  #fs: MemoryFileSystem;

  /**
   * Use `MemoryFileSystem.segments` instead.
   *
   * @param fs Owner.
   * @param path Relative path.
   */
  constructor(fs: MemoryFileSystem, path: string) {
    this.#fs = fs;
    this.path = path;
  }

  /**
   * List base offsets.
   *
   * @returns Sorted base offsets.
   */
  list(): number[] {
    const prefix = this.path + "/";
    const out: number[] = [];
    for (const name of this.#fs.files.keys()) {
      if (!name.startsWith(prefix)) continue;
      const rest = name.slice(prefix.length);
      if (rest.includes("/")) continue;
      const base = parseSegmentFileName(rest);
      if (base !== undefined) out.push(base);
    }
    return out.sort((a, b) => a - b);
  }

  /**
   * Open or create a segment.
   *
   * @param baseOffset Base offset.
   * @param sizeBytes Capacity.
   * @param options Create/writable.
   * @returns The segment or undefined.
   */
  open(
    baseOffset: number,
    sizeBytes: number,
    options: SegmentOpenOptions = {},
  ): Segment | undefined {
    const name = `${this.path}/${segmentFileName(baseOffset)}`;
    let file = this.#fs.files.get(name);
    if (file === undefined) {
      if (!options.create) return undefined;
      file = {
        bytes: new Uint8Array(sizeBytes),
        durable: new Uint8Array(0),
        mtimeMs: this.#fs.now(),
      };
      this.#fs.files.set(name, file);
    }
    if (file.bytes.length < sizeBytes) {
      const grown = new Uint8Array(sizeBytes);
      grown.set(file.bytes);
      file.bytes = grown;
    }
    return new MemorySegment(file, baseOffset, sizeBytes, options.writable ?? false, this.#fs.now);
  }

  /** Directory entries are always durable in memory. */
  sync(): void {}

  /**
   * Delete a segment.
   *
   * @param baseOffset Base offset.
   */
  delete(baseOffset: number): void {
    this.#fs.files.delete(`${this.path}/${segmentFileName(baseOffset)}`);
  }

  /**
   * Modification time.
   *
   * @param baseOffset Base offset.
   * @returns Epoch ms or undefined.
   */
  lastModifiedMs(baseOffset: number): number | undefined {
    return this.#fs.files.get(`${this.path}/${segmentFileName(baseOffset)}`)?.mtimeMs;
  }
}

/** A whole store file system in memory. */
export class MemoryFileSystem implements StoreFileSystem {
  /** Every file by relative path. Exposed for corruption tests. */
  readonly files: Map<string, MemoryFile> = new Map();
  /** Time source for mtimes. */
  readonly now: () => number;

  /**
   * Create an empty file system.
   *
   * @param now Time source for mtimes (default `Date.now`).
   */
  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /**
   * A segment directory.
   *
   * @param path Relative path.
   * @returns The directory.
   */
  segments(path: string): SegmentDirectory {
    return new MemorySegmentDirectory(this, path);
  }

  /**
   * Subdirectories of a path.
   *
   * @param path Relative path.
   * @returns Sorted names.
   */
  listDirectories(path: string): string[] {
    const prefix = path + "/";
    const names = new Set<string>();
    for (const name of this.files.keys()) {
      if (!name.startsWith(prefix)) continue;
      const rest = name.slice(prefix.length);
      const slash = rest.indexOf("/");
      if (slash > 0) names.add(rest.slice(0, slash));
    }
    return [...names].sort();
  }

  /**
   * Remove a directory tree.
   *
   * @param path Relative path.
   */
  removeDirectory(path: string): void {
    for (const name of [...this.files.keys()]) {
      if (name.startsWith(path + "/")) this.files.delete(name);
    }
  }

  /**
   * Read a file.
   *
   * @param path Relative path.
   * @returns Bytes or undefined.
   */
  readFile(path: string): Uint8Array | undefined {
    return this.files.get(path)?.bytes.slice();
  }

  /**
   * Write a file durably.
   *
   * @param path Relative path.
   * @param bytes Content.
   */
  writeFile(path: string, bytes: Uint8Array): void {
    this.files.set(path, { bytes: bytes.slice(), durable: bytes.slice(), mtimeMs: this.now() });
  }

  /**
   * Remove a file.
   *
   * @param path Relative path.
   */
  removeFile(path: string): void {
    this.files.delete(path);
  }

  /**
   * Whether a file exists.
   *
   * @param path Relative path.
   * @returns True if present.
   */
  exists(path: string): boolean {
    return this.files.has(path);
  }

  /** Simulate power loss: every file reverts to its last flushed content (zero-padded). */
  crash(): void {
    for (const file of this.files.values()) {
      const bytes = new Uint8Array(file.bytes.length);
      bytes.set(file.durable.subarray(0, bytes.length));
      file.bytes = bytes;
    }
  }
}
