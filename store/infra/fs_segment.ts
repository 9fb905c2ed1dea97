/**
 * File-backed implementations of the segment ports.
 *
 * `FsSegment` uses a `node:fs` descriptor per handle: positional
 * `writeSync(fd, buf, 0, n, position)` (one pwrite, where `Deno.FsFile` would
 * need `seekSync` + `writeSync`, two calls), `readSync(fd, buf, 0, n,
 * position)` (a true pread, 775k reads/s measured) and `fdatasyncSync` for
 * flush. A reader's descriptor is read-only. Everything is synchronous: these objects
 * live on the thread that owns their role (store worker, dispatch worker or
 * main thread), each with its own handles.
 *
 * New segment files are sized with `truncate` (a sparse file; unwritten bytes
 * read as zeros). I/O errors are wrapped once here, with `cause`.
 *
 * Directory entries: a created or deleted segment, and a created directory,
 * survive a power cut only once its directory is fsynced. `sync` on a
 * segment directory (and `syncDirectory`) fsyncs the directory and every
 * directory above it up to the data dir, and the data dir's parent once per
 * file system object; `writeFile` of a new file, `removeFile` and
 * `removeDirectory` do the same for their parent. These run once per
 * segment, never per message.
 *
 * @module
 */

import * as nodeFs from "node:fs";
import { type CachedHandle, FsHandleCache, TooManyOpenFilesError } from "./fs_handle_cache.ts";
import {
  parseSegmentFileName,
  type Segment,
  type SegmentDirectory,
  segmentFileName,
  type SegmentOpenOptions,
} from "../domain/segment.ts";

/**
 * Wrap an I/O error once, with `cause`.
 *
 * @param action What failed, e.g. `open segment`.
 * @param path The file.
 * @param cause The original error.
 * @returns The wrapped error.
 */
export function wrap(action: string, path: string, cause: unknown): Error {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new Error(`Cannot ${action} ${path}: ${detail}`, { cause });
}

/**
 * Whether an error is ENOENT.
 *
 * @param error Any error.
 * @returns True for a missing file or directory.
 */
export function isNotFound(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound ||
    (error as { code?: string } | null)?.code === "ENOENT";
}

/**
 * fsync one directory. A file system that refuses fsync on directories
 * (EINVAL/EISDIR/ENOTSUP) is tolerated; a missing directory is skipped.
 *
 * @param path Directory path.
 * @throws {Error} On any other I/O failure.
 */
export function fsyncDirectory(path: string): void {
  let fd: number | undefined;
  try {
    fd = nodeFs.openSync(path, "r");
    nodeFs.fsyncSync(fd);
  } catch (error) {
    const code = (error as { code?: string } | null)?.code;
    if (isNotFound(error) || code === "EINVAL" || code === "EISDIR" || code === "ENOTSUP") return;
    throw wrap("fsync directory", path, error);
  } finally {
    if (fd !== undefined) nodeFs.closeSync(fd);
  }
}

/**
 * fsync `root/relative` and every directory above it up to and including `root`.
 *
 * @param root The data dir.
 * @param relative A `/`-separated path below it ("" for the root itself).
 */
export function fsyncChain(root: string, relative: string): void {
  const parts = relative.split("/").filter((p) => p.length > 0);
  for (let n = parts.length; n >= 0; n--) {
    fsyncDirectory(n === 0 ? root : `${root}/${parts.slice(0, n).join("/")}`);
  }
}

/**
 * Parent directory of a path (`.` for a bare name).
 *
 * @param path A path.
 * @returns Its parent.
 */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? (slash === 0 ? "/" : ".") : path.slice(0, slash);
}

/**
 * Parent of a relative path.
 *
 * @param path A `/`-separated relative path.
 * @returns Its parent ("" for a top-level name).
 */
export function relativeParent(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

/**
 * A segment file on disk. Owned by one thread; other threads open their own.
 * Its descriptor is opened on first use and may be closed by the thread's
 * `FsHandleCache` when idle (it reopens on the next use).
 */
export class FsSegment implements Segment, CachedHandle {
  readonly baseOffset: number;
  readonly sizeBytes: number;
  /** Absolute file path. */
  readonly path: string;
  readonly #cache: FsHandleCache;
  #fd: number | undefined;
  #writable: boolean;
  #closed = false;
  /**
   * Bytes may be unsynced. True at first for a writer: after a process crash
   * the page cache can hold bytes the dead process wrote, and recovery's
   * flush must cover them.
   */
  #dirty: boolean;

  /**
   * Wrap a segment file (use `FsSegmentDirectory.open`); no descriptor is opened yet.
   *
   * @param path File path.
   * @param baseOffset Base offset.
   * @param sizeBytes Capacity.
   * @param writable Open a write handle.
   * @param cache The thread's descriptor cache.
   */
  constructor(
    path: string,
    baseOffset: number,
    sizeBytes: number,
    writable: boolean,
    cache: FsHandleCache,
  ) {
    this.path = path;
    this.baseOffset = baseOffset;
    this.sizeBytes = sizeBytes;
    this.#writable = writable;
    this.#dirty = writable;
    this.#cache = cache;
  }

  #handle(action: string): number {
    if (this.#closed) throw new Error(`Cannot ${action} segment ${this.path}: it is closed`);
    const fd = this.#fd;
    if (fd !== undefined) {
      this.#cache.touch(this);
      return fd;
    }
    try {
      this.#fd = this.#cache.open(
        this,
        this.path,
        () => nodeFs.openSync(this.path, this.#writable ? "r+" : "r"),
      );
    } catch (error) {
      if (error instanceof TooManyOpenFilesError) throw error;
      throw wrap("open segment", this.path, error);
    }
    return this.#fd;
  }

  /** Close the descriptor to make room in the cache (the segment stays usable). */
  releaseHandle(): void {
    if (this.#fd !== undefined) nodeFs.closeSync(this.#fd);
    this.#fd = undefined;
  }

  /**
   * Write bytes at a position.
   *
   * @param position Position in the segment.
   * @param bytes Bytes.
   * @throws {Error} If read-only, closed, out of bounds, or on I/O failure.
   */
  write(position: number, bytes: Uint8Array): void {
    if (!this.#writable) throw new Error(`Cannot write segment ${this.path}: not writable`);
    if (position < 0 || position + bytes.length > this.sizeBytes) {
      throw new RangeError(
        `Cannot write segment ${this.path}: ${bytes.length} bytes at ${position} exceed size ${this.sizeBytes}`,
      );
    }
    const fd = this.#handle("write");
    this.#dirty = true;
    try {
      let done = 0;
      while (done < bytes.length) {
        done += nodeFs.writeSync(fd, bytes, done, bytes.length - done, position + done);
      }
    } catch (error) {
      throw wrap("write segment", this.path, error);
    }
  }

  /**
   * Positional read.
   *
   * @param position Position in the segment.
   * @param target Destination.
   * @returns Bytes read (fewer at end of file).
   * @throws {Error} If closed or on I/O failure.
   */
  read(position: number, target: Uint8Array): number {
    const fd = this.#handle("read");
    const want = Math.min(target.length, this.sizeBytes - position);
    let done = 0;
    try {
      while (done < want) {
        const n = nodeFs.readSync(fd, target, done, want - done, position + done);
        if (n === 0) break;
        done += n;
      }
    } catch (error) {
      throw wrap("read segment", this.path, error);
    }
    return done;
  }

  /**
   * fdatasync what this handle wrote since the last flush (no-op on a reader
   * or a clean segment). The file's dirty pages are flushed even when the
   * descriptor that wrote them was closed by the cache since.
   *
   * @throws {Error} On I/O failure.
   */
  flush(): void {
    if (!this.#writable || !this.#dirty || this.#closed) return;
    const fd = this.#handle("flush");
    try {
      nodeFs.fdatasyncSync(fd);
      this.#dirty = false;
    } catch (error) {
      throw wrap("flush segment", this.path, error);
    }
  }

  /** Close the handle. Idempotent. */
  close(): void {
    this.releaseHandle();
    this.#cache.forget(this);
    this.#closed = true;
  }
}

/** A directory of segment files. */
export class FsSegmentDirectory implements SegmentDirectory {
  readonly path: string;
  readonly #sync: () => void;
  readonly #cache: FsHandleCache;

  /**
   * Wrap a directory path (not created until a segment is created).
   *
   * @param path Absolute or cwd-relative directory path.
   * @param sync Makes its entries durable (default: fsync the directory and its parent).
   * @param cache The thread's descriptor cache (default: a private one).
   */
  constructor(path: string, sync?: () => void, cache: FsHandleCache = new FsHandleCache()) {
    this.path = path;
    this.#cache = cache;
    this.#sync = sync ?? (() => {
      fsyncDirectory(path);
      fsyncDirectory(parentOf(path));
    });
  }

  /**
   * fsync the directory and the ones above it up to the data dir.
   *
   * @throws {Error} On I/O failure.
   */
  sync(): void {
    this.#sync();
  }

  /**
   * List segment base offsets.
   *
   * @returns Sorted base offsets (empty if the directory is missing).
   * @throws {Error} On I/O failure other than a missing directory.
   */
  list(): number[] {
    const out: number[] = [];
    try {
      for (const entry of Deno.readDirSync(this.path)) {
        if (!entry.isFile) continue;
        const base = parseSegmentFileName(entry.name);
        if (base !== undefined) out.push(base);
      }
    } catch (error) {
      if (isNotFound(error)) return [];
      throw wrap("list segments in", this.path, error);
    }
    return out.sort((a, b) => a - b);
  }

  /**
   * Open or create a segment.
   *
   * @param baseOffset Base offset.
   * @param sizeBytes Capacity.
   * @param options Create/writable.
   * @returns The segment, or undefined if missing and not created.
   * @throws {Error} On I/O failure.
   */
  open(
    baseOffset: number,
    sizeBytes: number,
    options: SegmentOpenOptions = {},
  ): Segment | undefined {
    const path = `${this.path}/${segmentFileName(baseOffset)}`;
    if (options.create) {
      try {
        Deno.mkdirSync(this.path, { recursive: true });
        const file = Deno.openSync(path, { read: true, write: true, create: true });
        try {
          if (file.statSync().size < sizeBytes) file.truncateSync(sizeBytes);
        } finally {
          file.close();
        }
      } catch (error) {
        throw wrap("create segment", path, error);
      }
    } else {
      try {
        Deno.statSync(path);
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw wrap("stat segment", path, error);
      }
    }
    return new FsSegment(path, baseOffset, sizeBytes, options.writable ?? false, this.#cache);
  }

  /**
   * Delete a segment file.
   *
   * @param baseOffset Base offset.
   * @throws {Error} On I/O failure other than a missing file.
   */
  delete(baseOffset: number): void {
    const path = `${this.path}/${segmentFileName(baseOffset)}`;
    try {
      Deno.removeSync(path);
    } catch (error) {
      if (!isNotFound(error)) throw wrap("delete segment", path, error);
    }
  }

  /**
   * Modification time of a segment file.
   *
   * @param baseOffset Base offset.
   * @returns Epoch ms, or undefined if missing.
   */
  lastModifiedMs(baseOffset: number): number | undefined {
    try {
      return Deno.statSync(`${this.path}/${segmentFileName(baseOffset)}`).mtime?.getTime();
    } catch {
      return undefined;
    }
  }
}

export { FsStoreFileSystem } from "./fs_store_file_system.ts";
