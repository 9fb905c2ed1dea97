/**
 * The store's file ports (`StoreFileSystem`, `SegmentDirectory`, `Segment`,
 * `ConfigDisk`) over a `SimDisk`, doing exactly the system calls the real
 * ones in `store/infra/fs_segment.ts` and `fs_config_files.ts` do: a segment
 * is created with mkdir + create + truncate (sparse), written with pwrite,
 * flushed with fdatasync; `sync` fsyncs the directory chain up to the data
 * dir; `writeFile` truncates, writes and fdatasyncs in place (and fsyncs the
 * parent chain when the file is new); removals fsync their parent.
 *
 * Every object remembers the boot it was made in and is dead after a power
 * cut, like a process that lost its machine.
 *
 * Test infrastructure only.
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
} from "../../store/domain/segment.ts";
import type { ConfigDisk } from "../../store/infra/fs_config_files.ts";
import type { SimDisk } from "./sim_disk.ts";

function join(a: string, b: string): string {
  return a.length === 0 ? b : `${a}/${b}`;
}

function parent(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

/** fsync `path` and each directory above it up to the root. */
function syncChain(disk: SimDisk, boot: number, path: string): void {
  let at = path;
  for (;;) {
    disk.fsyncDir(boot, at);
    if (at.length === 0) return;
    at = parent(at);
  }
}

function mkdirs(disk: SimDisk, boot: number, path: string): void {
  let at = "";
  for (const part of path.split("/").filter((p) => p.length > 0)) {
    at = join(at, part);
    disk.mkdir(boot, at);
  }
}

class SimSegment implements Segment {
  readonly baseOffset: number;
  readonly sizeBytes: number;
  readonly #disk: SimDisk;
  readonly #boot: number;
  readonly #path: string;
  readonly #writable: boolean;
  #closed = false;

  constructor(
    disk: SimDisk,
    boot: number,
    path: string,
    baseOffset: number,
    sizeBytes: number,
    writable: boolean,
  ) {
    this.#disk = disk;
    this.#boot = boot;
    this.#path = path;
    this.baseOffset = baseOffset;
    this.sizeBytes = sizeBytes;
    this.#writable = writable;
  }

  write(position: number, bytes: Uint8Array): void {
    if (this.#closed) throw new Error(`Cannot write segment ${this.#path}: it is closed`);
    if (!this.#writable) throw new Error(`Cannot write segment ${this.#path}: not writable`);
    if (position < 0 || position + bytes.length > this.sizeBytes) {
      throw new RangeError(`Cannot write segment ${this.#path}: out of bounds`);
    }
    this.#disk.pwrite(this.#boot, this.#path, position, bytes);
  }

  read(position: number, target: Uint8Array): number {
    if (this.#closed) throw new Error(`Cannot read segment ${this.#path}: it is closed`);
    const want = Math.min(target.length, this.sizeBytes - position);
    return this.#disk.pread(this.#boot, this.#path, position, target.subarray(0, want));
  }

  flush(): void {
    if (this.#writable && !this.#closed) this.#disk.fdatasync(this.#boot, this.#path);
  }

  close(): void {
    this.#closed = true;
  }
}

class SimSegmentDirectory implements SegmentDirectory {
  readonly path: string;
  readonly #disk: SimDisk;
  readonly #boot: number;

  constructor(disk: SimDisk, boot: number, path: string) {
    this.#disk = disk;
    this.#boot = boot;
    this.path = path;
  }

  list(): number[] {
    const entries = this.#disk.readdir(this.#boot, this.path) ?? [];
    const out: number[] = [];
    for (const entry of entries) {
      if (entry.isDir) continue;
      const base = parseSegmentFileName(entry.name);
      if (base !== undefined) out.push(base);
    }
    return out.sort((a, b) => a - b);
  }

  open(baseOffset: number, sizeBytes: number, options: SegmentOpenOptions = {}) {
    const path = join(this.path, segmentFileName(baseOffset));
    if (options.create) {
      mkdirs(this.#disk, this.#boot, this.path);
      this.#disk.create(this.#boot, path);
      const size = this.#disk.stat(this.#boot, path)!.size;
      if (size < sizeBytes) this.#disk.truncate(this.#boot, path, sizeBytes);
    } else if (this.#disk.kind(this.#boot, path) !== "file") {
      return undefined;
    }
    return new SimSegment(
      this.#disk,
      this.#boot,
      path,
      baseOffset,
      sizeBytes,
      options.writable ?? false,
    );
  }

  sync(): void {
    syncChain(this.#disk, this.#boot, this.path);
  }

  delete(baseOffset: number): void {
    this.#disk.remove(this.#boot, join(this.path, segmentFileName(baseOffset)));
  }

  lastModifiedMs(baseOffset: number): number | undefined {
    return this.#disk.stat(this.#boot, join(this.path, segmentFileName(baseOffset)))?.mtimeMs;
  }
}

/** `StoreFileSystem` over a `SimDisk`, for one boot. */
export class SimStoreFileSystem implements StoreFileSystem {
  readonly #disk: SimDisk;
  readonly #boot: number;

  /** @param disk The disk; the object is bound to its current boot. */
  constructor(disk: SimDisk) {
    this.#disk = disk;
    this.#boot = disk.boot;
  }

  segments(path: string): SegmentDirectory {
    return new SimSegmentDirectory(this.#disk, this.#boot, path);
  }

  listDirectories(path: string): string[] {
    const entries = this.#disk.readdir(this.#boot, path) ?? [];
    return entries.filter((e) => e.isDir).map((e) => e.name).sort();
  }

  removeDirectory(path: string): void {
    if (this.#disk.kind(this.#boot, path) === undefined) return;
    this.#disk.remove(this.#boot, path);
    syncChain(this.#disk, this.#boot, parent(path));
  }

  readFile(path: string): Uint8Array | undefined {
    const stat = this.#disk.stat(this.#boot, path);
    if (stat === undefined) return undefined;
    const out = new Uint8Array(stat.size);
    this.#disk.pread(this.#boot, path, 0, out);
    return out;
  }

  writeFile(path: string, bytes: Uint8Array): void {
    mkdirs(this.#disk, this.#boot, parent(path));
    const created = this.#disk.create(this.#boot, path);
    this.#disk.truncate(this.#boot, path, 0);
    this.#disk.pwrite(this.#boot, path, 0, bytes);
    this.#disk.fdatasync(this.#boot, path);
    if (created) syncChain(this.#disk, this.#boot, parent(path));
  }

  removeFile(path: string): void {
    if (this.#disk.kind(this.#boot, path) !== "file") return;
    this.#disk.remove(this.#boot, path);
    syncChain(this.#disk, this.#boot, parent(path));
  }

  exists(path: string): boolean {
    return this.#disk.kind(this.#boot, path) === "file";
  }
}

/**
 * `ConfigDisk` over a `SimDisk`, for one boot (same calls as `fsConfigDisk`).
 *
 * @param disk The disk.
 * @returns The config disk.
 */
export function simConfigDisk(disk: SimDisk): ConfigDisk {
  const boot = disk.boot;
  const read = (path: string): string | undefined => {
    const stat = disk.stat(boot, path);
    if (stat === undefined) return undefined;
    const out = new Uint8Array(stat.size);
    disk.pread(boot, path, 0, out);
    return new TextDecoder().decode(out);
  };
  return {
    readText: (path) => Promise.resolve().then(() => read(path)),
    makeDirectory: (path) =>
      Promise.resolve().then(() => {
        if (disk.kind(boot, path) === "dir") return;
        mkdirs(disk, boot, path);
        syncChain(disk, boot, parent(path));
      }),
    writeSynced: (path, bytes) =>
      Promise.resolve().then(() => {
        disk.create(boot, path);
        disk.truncate(boot, path, 0);
        disk.pwrite(boot, path, 0, bytes);
        disk.fdatasync(boot, path);
      }),
    rename: (from, to) =>
      Promise.resolve().then(() => {
        if (disk.kind(boot, from) !== "file") return false;
        disk.rename(boot, from, to);
        return true;
      }),
    syncDirectory: (path) => disk.fsyncDir(boot, path),
  };
}
