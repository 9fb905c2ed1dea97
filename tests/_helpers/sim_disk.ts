/**
 * A simulated disk that forgets what was not synced, for power-loss tests.
 *
 * Every file's bytes and size, and every directory's entries, exist twice: a
 * volatile version (the page cache and the in-memory directory) that every
 * operation sees, and a durable version (the platter) that survives a power
 * cut. The rules:
 *
 * - `fdatasync`/`fsync` of a file makes its bytes and size durable.
 * - Creating, renaming or deleting an entry becomes durable only when its
 *   directory is fsynced (`fsyncDir`); a directory's own existence is an
 *   entry in its parent.
 * - `powerCut()` throws away everything volatile. An `fdatasync` in flight at
 *   the cut lands torn: each dirty 512-byte sector independently, in any
 *   order, and the new size maybe.
 *
 * Two modes. `strict` (POSIX: only what was synced survives) is the one the
 * store must pass. `ordered` models ext4 `data=ordered`: metadata operations
 * are journaled in order, so at a cut a random prefix of them survives (any
 * fsync commits the whole journal), and each dirty data sector may already
 * have been written back.
 *
 * Cuts are injected at the N-th mutating operation (`armCut`): that operation
 * is the one in flight, the disk goes dead and every later call throws
 * `PowerCut` until `powerCut()` brings up the next boot. Handles from an
 * earlier boot stay dead. Everything is driven by one seeded random source,
 * so a seed replays exactly.
 *
 * Test infrastructure only (not in the published package).
 *
 * @module
 */

/** Sector size at which in-flight writes tear, bytes. */
export const SECTOR_BYTES = 512;

/** Which durability rules the disk follows. */
export type SimDiskMode = "strict" | "ordered";

/** Thrown by every operation once the power is cut. */
export class PowerCut extends Error {
  /** @param detail What was in flight. */
  constructor(detail: string) {
    super(`power cut: ${detail}`);
    this.name = "PowerCut";
  }
}

/** A small deterministic random source (mulberry32). */
export class SimRandom {
  #state: number;

  /** @param seed Any 32-bit integer. */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** @returns A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /**
   * @param n Exclusive upper bound.
   * @returns An integer in [0, n).
   */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /**
   * @param p Probability.
   * @returns True with probability p.
   */
  chance(p: number): boolean {
    return this.next() < p;
  }
}

interface SimFile {
  readonly kind: "file";
  vol: Uint8Array;
  volSize: number;
  dur: Uint8Array;
  durSize: number;
  dirty: Set<number>;
  mtimeMs: number;
}

interface SimDir {
  readonly kind: "dir";
  vol: Map<string, SimNode>;
  dur: Map<string, SimNode>;
}

type SimNode = SimFile | SimDir;

function newFile(now: number): SimFile {
  return {
    kind: "file",
    vol: new Uint8Array(0),
    volSize: 0,
    dur: new Uint8Array(0),
    durSize: 0,
    dirty: new Set(),
    mtimeMs: now,
  };
}

function grow(bytes: Uint8Array, size: number): Uint8Array {
  if (bytes.length >= size) return bytes;
  const out = new Uint8Array(Math.max(size, bytes.length * 2));
  out.set(bytes);
  return out;
}

function split(path: string): string[] {
  return path.split("/").filter((p) => p.length > 0);
}

/** Counters of what the disk did (for reports). */
export interface SimDiskStats {
  /** Mutating operations so far (the unit cuts are armed in). */
  ops: number;
  /** Power cuts so far. */
  cuts: number;
  /** fsyncs of directories. */
  dirSyncs: number;
  /** fdatasync/fsync of files. */
  fileSyncs: number;
}

/** The simulated disk. Paths are `/`-separated, relative to its root (`""`). */
export class SimDisk {
  readonly mode: SimDiskMode;
  readonly random: SimRandom;
  /** Clock for mtimes (the workload moves it). */
  nowMs = 1_700_000_000_000;
  readonly stats: SimDiskStats = { ops: 0, cuts: 0, dirSyncs: 0, fileSyncs: 0 };
  #root: SimDir = { kind: "dir", vol: new Map(), dur: new Map() };
  /** Size of the disk, bytes: writes that need more sectors fail with ENOSPC. */
  capacityBytes = Infinity;
  /** Sectors holding data, per file (sparse regions take none). */
  #allocated = new Map<SimFile, Set<number>>();
  /** Ordered mode: metadata operations not yet committed, applied to the durable side. */
  #journal: (() => void)[] = [];
  #cutAtOp = Infinity;
  #dead: string | undefined;
  #boot = 0;

  /**
   * @param mode Durability rules.
   * @param seed Seed of every random choice the disk makes.
   */
  constructor(mode: SimDiskMode, seed: number) {
    this.mode = mode;
    this.random = new SimRandom(seed ^ 0x5eed);
  }

  /** Current boot number; handles remember theirs and die with it. */
  get boot(): number {
    return this.#boot;
  }

  /** Why the disk is dead, or undefined while powered. */
  get dead(): string | undefined {
    return this.#dead;
  }

  /**
   * Cut the power during the `n`-th mutating operation from now (1 = the next one).
   *
   * @param n Operations from now; Infinity disarms.
   */
  armCut(n: number): void {
    this.#cutAtOp = this.stats.ops + n;
  }

  /**
   * Check the handle's boot and the power.
   *
   * @param boot The caller's boot number.
   * @throws {PowerCut} If dead or from an earlier boot.
   */
  alive(boot: number): void {
    if (this.#dead !== undefined) throw new PowerCut(this.#dead);
    if (boot !== this.#boot) throw new PowerCut("handle from an earlier boot");
  }

  /** Count one mutating operation; returns true if it is the one in flight at the cut. */
  #tick(boot: number, what: string): boolean {
    this.alive(boot);
    this.stats.ops++;
    if (this.stats.ops < this.#cutAtOp) return false;
    this.#dead = `during ${what} (operation ${this.stats.ops})`;
    return true;
  }

  #dir(path: string): SimDir | undefined {
    let node: SimNode = this.#root;
    for (const part of split(path)) {
      if (node.kind !== "dir") return undefined;
      const next: SimNode | undefined = node.vol.get(part);
      if (next === undefined) return undefined;
      node = next;
    }
    return node.kind === "dir" ? node : undefined;
  }

  #parent(path: string): { dir: SimDir; name: string } | undefined {
    const parts = split(path);
    const name = parts.pop();
    if (name === undefined) return undefined;
    const dir = this.#dir(parts.join("/"));
    return dir === undefined ? undefined : { dir, name };
  }

  #file(path: string): SimFile | undefined {
    const at = this.#parent(path);
    const node = at?.dir.vol.get(at.name);
    return node?.kind === "file" ? node : undefined;
  }

  /** Record a directory-entry change: volatile now, durable at fsyncDir (or journal commit). */
  #setEntry(dir: SimDir, name: string, node: SimNode | undefined): void {
    if (node === undefined) dir.vol.delete(name);
    else dir.vol.set(name, node);
    if (this.mode === "ordered") {
      this.#journal.push(() => {
        if (node === undefined) dir.dur.delete(name);
        else dir.dur.set(name, node);
      });
    }
  }

  #commitJournal(): void {
    for (const op of this.#journal) op();
    this.#journal = [];
  }

  /**
   * Whether a file or directory exists.
   *
   * @param boot Caller's boot.
   * @param path Path.
   * @returns The kind, or undefined.
   */
  kind(boot: number, path: string): "file" | "dir" | undefined {
    this.alive(boot);
    if (split(path).length === 0) return "dir";
    const at = this.#parent(path);
    return at?.dir.vol.get(at.name)?.kind;
  }

  /**
   * Entries of a directory.
   *
   * @param boot Caller's boot.
   * @param path Directory.
   * @returns Names and kinds, or undefined if missing.
   */
  readdir(boot: number, path: string): { name: string; isDir: boolean }[] | undefined {
    this.alive(boot);
    const dir = this.#dir(path);
    if (dir === undefined) return undefined;
    return [...dir.vol].map(([name, node]) => ({ name, isDir: node.kind === "dir" }));
  }

  /**
   * Create one directory (the parent must exist). Existing is fine.
   *
   * @param boot Caller's boot.
   * @param path Directory.
   * @throws {Error} If the parent is missing.
   */
  mkdir(boot: number, path: string): void {
    if (this.kind(boot, path) === "dir") return;
    const at = this.#parent(path);
    if (at === undefined) throw new Error(`ENOENT: mkdir ${path}`);
    if (this.#tick(boot, `mkdir ${path}`)) throw new PowerCut(this.#dead!);
    this.#setEntry(at.dir, at.name, { kind: "dir", vol: new Map(), dur: new Map() });
  }

  /**
   * Create an empty file if missing.
   *
   * @param boot Caller's boot.
   * @param path File.
   * @returns True if it was created.
   * @throws {Error} If the parent is missing.
   */
  create(boot: number, path: string): boolean {
    if (this.#file(path) !== undefined) return false;
    const at = this.#parent(path);
    if (at === undefined) throw new Error(`ENOENT: create ${path}`);
    if (this.#tick(boot, `create ${path}`)) throw new PowerCut(this.#dead!);
    this.#setEntry(at.dir, at.name, newFile(this.nowMs));
    return true;
  }

  #need(path: string): SimFile {
    const file = this.#file(path);
    if (file === undefined) throw new Error(`ENOENT: ${path}`);
    return file;
  }

  /**
   * Set a file's size (sparse when growing; shrinking drops bytes).
   *
   * @param boot Caller's boot.
   * @param path File.
   * @param size New size.
   */
  truncate(boot: number, path: string, size: number): void {
    const file = this.#need(path);
    if (this.#tick(boot, `truncate ${path}`)) throw new PowerCut(this.#dead!);
    file.vol = grow(file.vol, size);
    if (size < file.volSize) file.vol.fill(0, size, file.volSize);
    for (let s = Math.floor(size / SECTOR_BYTES); s * SECTOR_BYTES < file.volSize; s++) {
      file.dirty.add(s);
    }
    file.volSize = size;
    file.mtimeMs = this.nowMs;
    if (this.mode === "ordered") this.#journal.push(() => (file.durSize = size));
  }

  /**
   * Positional write (to the page cache).
   *
   * @param boot Caller's boot.
   * @param path File.
   * @param position Byte position.
   * @param bytes Bytes.
   */
  pwrite(boot: number, path: string, position: number, bytes: Uint8Array): void {
    const file = this.#need(path);
    if (this.#tick(boot, `write ${bytes.length} bytes at ${position} of ${path}`)) {
      throw new PowerCut(this.#dead!);
    }
    const end = position + bytes.length;
    const sectors = this.#allocated.get(file) ?? new Set<number>();
    let added = 0;
    for (let s = Math.floor(position / SECTOR_BYTES); s * SECTOR_BYTES < end; s++) {
      if (!sectors.has(s)) added++;
    }
    if (
      added > 0 && this.capacityBytes !== Infinity &&
      this.usedBytes() + added * SECTOR_BYTES > this.capacityBytes
    ) {
      throw Object.assign(new Error(`No space left on device (os error 28): write ${path}`), {
        code: "ENOSPC",
      });
    }
    for (let s = Math.floor(position / SECTOR_BYTES); s * SECTOR_BYTES < end; s++) sectors.add(s);
    this.#allocated.set(file, sectors);
    file.vol = grow(file.vol, end);
    file.vol.set(bytes, position);
    for (let s = Math.floor(position / SECTOR_BYTES); s * SECTOR_BYTES < end; s++) {
      file.dirty.add(s);
    }
    if (end > file.volSize) {
      file.volSize = end;
      if (this.mode === "ordered") this.#journal.push(() => (file.durSize = end));
    }
    file.mtimeMs = this.nowMs;
  }

  /** @returns Bytes in allocated sectors of files still in the tree or open. */
  usedBytes(): number {
    let sectors = 0;
    for (const [file, set] of this.#allocated) {
      if (this.#reachable(file)) sectors += set.size;
      else this.#allocated.delete(file);
    }
    return sectors * SECTOR_BYTES;
  }

  /** @returns Free bytes (Infinity without a capacity). */
  freeBytes(): number {
    return this.capacityBytes - this.usedBytes();
  }

  #reachable(file: SimFile): boolean {
    const walk = (dir: SimDir): boolean => {
      for (const node of dir.vol.values()) {
        if (node === file || (node.kind === "dir" && walk(node))) return true;
      }
      return false;
    };
    return walk(this.#root);
  }

  /**
   * Positional read.
   *
   * @param boot Caller's boot.
   * @param path File.
   * @param position Byte position.
   * @param target Destination.
   * @returns Bytes read (none past the end).
   */
  pread(boot: number, path: string, position: number, target: Uint8Array): number {
    this.alive(boot);
    const file = this.#need(path);
    const n = Math.max(0, Math.min(target.length, file.volSize - position));
    target.set(file.vol.subarray(position, position + n));
    return n;
  }

  /**
   * Size and mtime.
   *
   * @param boot Caller's boot.
   * @param path File.
   * @returns Or undefined if missing.
   */
  stat(boot: number, path: string): { size: number; mtimeMs: number } | undefined {
    this.alive(boot);
    const file = this.#file(path);
    return file === undefined ? undefined : { size: file.volSize, mtimeMs: file.mtimeMs };
  }

  #landSector(file: SimFile, sector: number): void {
    const from = sector * SECTOR_BYTES;
    const to = from + SECTOR_BYTES;
    file.dur = grow(file.dur, to);
    const vol = grow(file.vol, to);
    file.dur.set(vol.subarray(from, to), from);
  }

  /**
   * fdatasync (and fsync: the same here): the file's bytes and size become durable.
   *
   * @param boot Caller's boot.
   * @param path File.
   */
  fdatasync(boot: number, path: string): void {
    const file = this.#need(path);
    this.stats.fileSyncs++;
    if (this.#tick(boot, `fdatasync ${path}`)) {
      for (const sector of file.dirty) if (this.random.chance(0.5)) this.#landSector(file, sector);
      if (this.random.chance(0.5)) file.durSize = file.volSize;
      throw new PowerCut(this.#dead!);
    }
    for (const sector of file.dirty) this.#landSector(file, sector);
    file.dirty.clear();
    file.durSize = file.volSize;
    if (this.mode === "ordered") this.#commitJournal();
  }

  /**
   * fsync a directory: its entries (creations, renames, deletions) become durable.
   *
   * @param boot Caller's boot.
   * @param path Directory.
   */
  fsyncDir(boot: number, path: string): void {
    const dir = this.#dir(path);
    if (dir === undefined) throw new Error(`ENOENT: fsync directory ${path}`);
    this.stats.dirSyncs++;
    if (this.#tick(boot, `fsync directory ${path || "."}`)) {
      if (this.random.chance(0.5)) dir.dur = new Map(dir.vol);
      throw new PowerCut(this.#dead!);
    }
    dir.dur = new Map(dir.vol);
    if (this.mode === "ordered") this.#commitJournal();
  }

  /**
   * Remove a file or a whole directory tree from its parent.
   *
   * @param boot Caller's boot.
   * @param path Path. Missing is fine.
   */
  remove(boot: number, path: string): void {
    const at = this.#parent(path);
    if (at === undefined || !at.dir.vol.has(at.name)) return;
    if (this.#tick(boot, `remove ${path}`)) throw new PowerCut(this.#dead!);
    this.#setEntry(at.dir, at.name, undefined);
  }

  /**
   * Rename within the tree (replaces a file at `to`).
   *
   * @param boot Caller's boot.
   * @param from Existing path.
   * @param to New path.
   * @throws {Error} If `from` or the parent of `to` is missing.
   */
  rename(boot: number, from: string, to: string): void {
    const src = this.#parent(from);
    const node = src?.dir.vol.get(src.name);
    const dst = this.#parent(to);
    if (src === undefined || node === undefined || dst === undefined) {
      throw new Error(`ENOENT: rename ${from} ${to}`);
    }
    if (this.#tick(boot, `rename ${from} to ${to}`)) throw new PowerCut(this.#dead!);
    // One journal record: a rename is atomic on ext4.
    src.dir.vol.delete(src.name);
    dst.dir.vol.set(dst.name, node);
    if (this.mode === "ordered") {
      this.#journal.push(() => {
        src.dir.dur.delete(src.name);
        dst.dir.dur.set(dst.name, node);
      });
    }
  }

  /**
   * Cut the power now (if no armed cut did) and boot again: only durable state remains.
   */
  powerCut(): void {
    if (this.mode === "ordered") {
      // Metadata: a prefix of the journal was committed. Data: write-back may have run.
      const keep = this.random.int(this.#journal.length + 1);
      for (const op of this.#journal.slice(0, keep)) op();
      this.#journal = [];
    }
    const revive = (dir: SimDir): void => {
      dir.vol = new Map(dir.dur);
      for (const node of dir.vol.values()) {
        if (node.kind === "dir") {
          revive(node);
          continue;
        }
        if (this.mode === "ordered") {
          for (const s of node.dirty) if (this.random.chance(0.5)) this.#landSector(node, s);
        }
        // Bytes past the durable size are not part of the file (a landed
        // sector of a file whose new size did not): drop them.
        node.dur = node.dur.slice(0, node.durSize);
        node.vol = new Uint8Array(node.durSize);
        node.vol.set(node.dur);
        node.volSize = node.durSize;
        node.dirty.clear();
      }
    };
    revive(this.#root);
    this.stats.cuts++;
    this.#dead = undefined;
    this.#cutAtOp = Infinity;
    this.#boot++;
  }
}
