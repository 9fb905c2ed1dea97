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

/** A segment file on disk. Owned by one thread; other threads open their own. */
export class FsSegment implements Segment {
  readonly baseOffset: number;
  readonly sizeBytes: number;
  /** Absolute file path. */
  readonly path: string;
  #fd: number | undefined;
  #writable: boolean;

  /**
   * Open a segment file (use `FsSegmentDirectory.open`).
   *
   * @param path File path.
   * @param baseOffset Base offset.
   * @param sizeBytes Capacity.
   * @param writable Open a write handle too.
   * @throws {Error} If the file cannot be opened.
   */
  constructor(path: string, baseOffset: number, sizeBytes: number, writable: boolean) {
    this.path = path;
    this.baseOffset = baseOffset;
    this.sizeBytes = sizeBytes;
    this.#writable = writable;
    try {
      this.#fd = nodeFs.openSync(path, writable ? "r+" : "r");
    } catch (error) {
      throw wrap("open segment", path, error);
    }
  }

  /**
   * Write bytes at a position.
   *
   * @param position Position in the segment.
   * @param bytes Bytes.
   * @throws {Error} If read-only, closed, out of bounds, or on I/O failure.
   */
  write(position: number, bytes: Uint8Array): void {
    const fd = this.#fd;
    if (fd === undefined) throw new Error(`Cannot write segment ${this.path}: it is closed`);
    if (!this.#writable) throw new Error(`Cannot write segment ${this.path}: not writable`);
    if (position < 0 || position + bytes.length > this.sizeBytes) {
      throw new RangeError(
        `Cannot write segment ${this.path}: ${bytes.length} bytes at ${position} exceed size ${this.sizeBytes}`,
      );
    }
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
    const fd = this.#fd;
    if (fd === undefined) throw new Error(`Cannot read segment ${this.path}: it is closed`);
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
   * fdatasync the write handle (no-op on a reader).
   *
   * @throws {Error} On I/O failure.
   */
  flush(): void {
    try {
      if (this.#writable && this.#fd !== undefined) nodeFs.fdatasyncSync(this.#fd);
    } catch (error) {
      throw wrap("flush segment", this.path, error);
    }
  }

  /** Close the handle. Idempotent. */
  close(): void {
    if (this.#fd !== undefined) nodeFs.closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/** A directory of segment files. */
export class FsSegmentDirectory implements SegmentDirectory {
  readonly path: string;
  readonly #sync: () => void;

  /**
   * Wrap a directory path (not created until a segment is created).
   *
   * @param path Absolute or cwd-relative directory path.
   * @param sync Makes its entries durable (default: fsync the directory and its parent).
   */
  constructor(path: string, sync?: () => void) {
    this.path = path;
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
    return new FsSegment(path, baseOffset, sizeBytes, options.writable ?? false);
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
