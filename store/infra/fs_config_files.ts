/**
 * Config documents and disk usage on the local file system.
 *
 * A config document is a named JSON text stored as `config/<name>.json`.
 * `persist` replaces it atomically: write `<name>.json.tmp` and fsync it,
 * rename the current file to `<name>.json.bak`, rename the temp file into
 * place, fsync the directory. `load` reads the main file and falls back to the
 * `.bak` copy when the main file is missing, empty or not JSON.
 *
 * @module
 */

import * as nodeFs from "node:fs";
import { fsyncDirectory } from "./fs_segment.ts";

/** Names of config documents: plain words. */
const CONFIG_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Storage of named config documents (port implemented here on files). */
export interface ConfigFiles {
  /**
   * Read a document.
   *
   * @param name Plain word, e.g. `topics`.
   * @returns Its text, or undefined if neither it nor its backup is usable.
   */
  load(name: string): Promise<string | undefined>;
  /**
   * Atomically replace a document, keeping the previous one as `.bak`.
   *
   * @param name Plain word.
   * @param text New content.
   */
  persist(name: string, text: string): Promise<void>;
}

function checkName(name: string): void {
  if (!CONFIG_NAME.test(name) || name.startsWith(".")) {
    throw new TypeError(
      `Cannot use config document "${name}": names are 1-64 letters, digits, '_', '-' or '.'`,
    );
  }
}

function usable(text: string | undefined): text is string {
  if (text === undefined || text.trim().length === 0) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The file operations a config document store needs, relative to the data
 * dir, so a simulated disk can stand in for the real one in power-loss tests.
 */
export interface ConfigDisk {
  /**
   * Read a whole text file.
   *
   * @param path Relative path.
   * @returns Its text, or undefined if missing.
   */
  readText(path: string): Promise<string | undefined>;
  /**
   * Create a directory (and its parents) and make its entry durable.
   *
   * @param path Relative path.
   */
  makeDirectory(path: string): Promise<void>;
  /**
   * Create or overwrite a file with `bytes` and fsync it.
   *
   * @param path Relative path.
   * @param bytes Content.
   */
  writeSynced(path: string, bytes: Uint8Array): Promise<void>;
  /**
   * Rename a file, replacing the target.
   *
   * @param from Existing path.
   * @param to New path.
   * @returns False if `from` does not exist.
   */
  rename(from: string, to: string): Promise<boolean>;
  /**
   * fsync a directory so renames in it survive a power cut.
   *
   * @param path Relative path.
   */
  syncDirectory(path: string): void;
}

/** `ConfigDisk` on the local file system under a data dir. */
export function fsConfigDisk(dataDir: string): ConfigDisk {
  const abs = (path: string) => `${dataDir}/${path}`;
  const known = new Set<string>();
  return {
    async readText(path) {
      try {
        return await Deno.readTextFile(abs(path));
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return undefined;
        throw new Error(`Cannot read ${abs(path)}: ${(error as Error).message}`, { cause: error });
      }
    },
    async makeDirectory(path) {
      if (known.has(path)) return;
      await Deno.mkdir(abs(path), { recursive: true });
      // The directory's entry, and the data dir's, must survive a power cut.
      fsyncDirectory(dataDir);
      const parent = dataDir.lastIndexOf("/");
      fsyncDirectory(parent > 0 ? dataDir.slice(0, parent) : ".");
      known.add(path);
    },
    async writeSynced(path, bytes) {
      const file = await Deno.open(abs(path), { write: true, create: true, truncate: true });
      try {
        let done = 0;
        while (done < bytes.length) done += await file.write(bytes.subarray(done));
        await file.sync();
      } finally {
        file.close();
      }
    },
    async rename(from, to) {
      try {
        await Deno.rename(abs(from), abs(to));
        return true;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return false;
        throw error;
      }
    },
    syncDirectory(path) {
      fsyncDirectory(abs(path));
    },
  };
}

/** Config documents under `<dataDir>/config/`. */
export class FsConfigFiles implements ConfigFiles {
  /** The `config` directory. */
  readonly dir: string;
  readonly #disk: ConfigDisk;
  /** The last persist of each document: persists of one name run one after another. */
  readonly #writes = new Map<string, Promise<void>>();

  /**
   * Store documents under `<dataDir>/config`.
   *
   * @param dataDir The store's data directory.
   * @param disk File operations (default: the local file system; tests pass a simulated disk).
   */
  constructor(dataDir: string, disk: ConfigDisk = fsConfigDisk(dataDir)) {
    this.dir = `${dataDir}/config`;
    this.#disk = disk;
  }

  /**
   * Read a document, falling back to its `.bak`.
   *
   * @param name Plain word.
   * @returns Text or undefined.
   * @throws {TypeError} If the name is not a plain word.
   * @throws {Error} On an I/O failure other than a missing file.
   */
  async load(name: string): Promise<string | undefined> {
    checkName(name);
    const main = await this.#disk.readText(`config/${name}.json`);
    if (usable(main)) return main;
    const backup = await this.#disk.readText(`config/${name}.json.bak`);
    return usable(backup) ? backup : undefined;
  }

  /**
   * Atomically replace a document: write and fsync `<name>.json.tmp`, rename
   * the current file to `.bak`, rename the temp file into place, fsync the
   * directory. At a power cut the main file, or failing that the `.bak`, holds
   * the previous or the new content; once this returns, the new one.
   *
   * @param name Plain word.
   * @param text Content.
   * @throws {TypeError} If the name is not a plain word.
   * @throws {Error} On an I/O failure.
   */
  persist(name: string, text: string): Promise<void> {
    try {
      checkName(name);
    } catch (error) {
      return Promise.reject(error);
    }
    // Two writers of one document would share its `.tmp` file; the second rename would fail.
    const previous = this.#writes.get(name) ?? Promise.resolve();
    const write = previous.catch(() => {}).then(() => this.#persist(name, text));
    this.#writes.set(name, write);
    const forget = () => {
      if (this.#writes.get(name) === write) this.#writes.delete(name);
    };
    write.then(forget, forget);
    return write;
  }

  async #persist(name: string, text: string): Promise<void> {
    const path = `config/${name}.json`;
    try {
      await this.#disk.makeDirectory("config");
      await this.#disk.writeSynced(`${path}.tmp`, new TextEncoder().encode(text));
      await this.#disk.rename(path, `${path}.bak`);
      await this.#disk.rename(`${path}.tmp`, path);
      this.#disk.syncDirectory("config");
    } catch (error) {
      throw new Error(`Cannot persist ${this.dir}/${name}.json: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}

/**
 * Fraction of a file system in use, as RocketMQ computes it: (total − free) / total.
 *
 * @param path Any path on the file system (created data dir).
 * @returns 0..1, or 0 if it cannot be determined.
 */
export function fsDiskUsedRatio(path: string): number {
  try {
    const stats = nodeFs.statfsSync(path);
    if (stats.blocks <= 0) return 0;
    return (stats.blocks - stats.bfree) / stats.blocks;
  } catch {
    return 0;
  }
}

/**
 * Bytes available to the store on the data directory's file system.
 *
 * @param path Any path on it.
 * @returns Free bytes for unprivileged writers, or Infinity if unknown.
 */
export function fsDiskFreeBytes(path: string): number {
  try {
    const stats = nodeFs.statfsSync(path);
    return stats.bavail * stats.bsize;
  } catch {
    return Infinity;
  }
}
