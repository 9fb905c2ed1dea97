/**
 * `FsStoreFileSystem`: the store's file-system port on the local disk, rooted
 * at the data directory (segment directories, small files, directory fsyncs).
 *
 * @module
 */

import type { SegmentDirectory, StoreFileSystem } from "../domain/segment.ts";
import {
  FsSegmentDirectory,
  fsyncChain,
  fsyncDirectory,
  isNotFound,
  parentOf,
  relativeParent,
  wrap,
} from "./fs_segment.ts";
import { FsHandleCache } from "./fs_handle_cache.ts";

/** The store's file system rooted at its data directory. */
export class FsStoreFileSystem implements StoreFileSystem {
  /** The data directory. */
  readonly root: string;
  #rootEntrySynced = false;
  /** This thread's open segment descriptors (bounded, least recently used closed first). */
  readonly handles: FsHandleCache;

  /**
   * Root the file system at a directory (created if needed on first write).
   *
   * @param root Data directory.
   * @param handlesMax Most segment descriptors this object keeps open (default 256).
   */
  constructor(root: string, handlesMax?: number) {
    this.handles = new FsHandleCache(handlesMax);
    this.root = root.endsWith("/") && root.length > 1 ? root.slice(0, -1) : root;
  }

  #abs(path: string): string {
    return `${this.root}/${path}`;
  }

  /**
   * A segment directory under the root.
   *
   * @param path Relative path.
   * @returns The directory.
   */
  segments(path: string): SegmentDirectory {
    return new FsSegmentDirectory(this.#abs(path), () => this.syncDirectory(path), this.handles);
  }

  /**
   * fsync a directory and every directory above it up to the data dir (and,
   * the first time, the data dir's parent, in case the data dir is new).
   *
   * @param path Relative directory path ("" for the data dir).
   * @throws {Error} On I/O failure.
   */
  syncDirectory(path: string): void {
    fsyncChain(this.root, path);
    if (!this.#rootEntrySynced) {
      fsyncDirectory(parentOf(this.root));
      this.#rootEntrySynced = true;
    }
  }

  /**
   * Subdirectory names.
   *
   * @param path Relative path.
   * @returns Sorted names (empty if missing).
   * @throws {Error} On I/O failure other than a missing directory.
   */
  listDirectories(path: string): string[] {
    const out: string[] = [];
    try {
      for (const entry of Deno.readDirSync(this.#abs(path))) {
        if (entry.isDirectory) out.push(entry.name);
      }
    } catch (error) {
      if (isNotFound(error)) return [];
      throw wrap("list", this.#abs(path), error);
    }
    return out.sort();
  }

  /**
   * Remove a directory tree.
   *
   * @param path Relative path.
   * @throws {Error} On I/O failure other than a missing directory.
   */
  removeDirectory(path: string): void {
    try {
      Deno.removeSync(this.#abs(path), { recursive: true });
    } catch (error) {
      if (!isNotFound(error)) throw wrap("remove", this.#abs(path), error);
      return;
    }
    this.syncDirectory(relativeParent(path));
  }

  /**
   * Read a small file.
   *
   * @param path Relative path.
   * @returns Bytes, or undefined if missing.
   * @throws {Error} On I/O failure other than a missing file.
   */
  readFile(path: string): Uint8Array | undefined {
    try {
      return Deno.readFileSync(this.#abs(path));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw wrap("read", this.#abs(path), error);
    }
  }

  /**
   * Write a small file in place and fdatasync it.
   *
   * @param path Relative path.
   * @param bytes Content.
   * @throws {Error} On I/O failure.
   */
  writeFile(path: string, bytes: Uint8Array): void {
    const abs = this.#abs(path);
    try {
      const slash = abs.lastIndexOf("/");
      if (slash > 0) Deno.mkdirSync(abs.slice(0, slash), { recursive: true });
      let created = false;
      try {
        Deno.statSync(abs);
      } catch (error) {
        if (!isNotFound(error)) throw error;
        created = true;
      }
      const file = Deno.openSync(abs, { write: true, create: true, truncate: true });
      try {
        let done = 0;
        while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
        file.syncDataSync();
      } finally {
        file.close();
      }
      if (created) this.syncDirectory(relativeParent(path));
    } catch (error) {
      throw wrap("write", abs, error);
    }
  }

  /**
   * Delete a file.
   *
   * @param path Relative path.
   * @throws {Error} On I/O failure other than a missing file.
   */
  removeFile(path: string): void {
    try {
      Deno.removeSync(this.#abs(path));
    } catch (error) {
      if (!isNotFound(error)) throw wrap("remove", this.#abs(path), error);
      return;
    }
    this.syncDirectory(relativeParent(path));
  }

  /**
   * Whether a file exists.
   *
   * @param path Relative path.
   * @returns True if present.
   */
  exists(path: string): boolean {
    try {
      Deno.statSync(this.#abs(path));
      return true;
    } catch {
      return false;
    }
  }
}
