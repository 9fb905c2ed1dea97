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

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`Cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Config documents under `<dataDir>/config/`. */
export class FsConfigFiles implements ConfigFiles {
  /** The `config` directory. */
  readonly dir: string;

  /**
   * Store documents under `<dataDir>/config`.
   *
   * @param dataDir The store's data directory.
   */
  constructor(dataDir: string) {
    this.dir = `${dataDir}/config`;
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
    const main = await readText(`${this.dir}/${name}.json`);
    if (usable(main)) return main;
    const backup = await readText(`${this.dir}/${name}.json.bak`);
    return usable(backup) ? backup : undefined;
  }

  /**
   * Atomically replace a document.
   *
   * @param name Plain word.
   * @param text Content.
   * @throws {TypeError} If the name is not a plain word.
   * @throws {Error} On an I/O failure.
   */
  async persist(name: string, text: string): Promise<void> {
    checkName(name);
    const path = `${this.dir}/${name}.json`;
    try {
      await Deno.mkdir(this.dir, { recursive: true });
      const file = await Deno.open(`${path}.tmp`, { write: true, create: true, truncate: true });
      try {
        const bytes = new TextEncoder().encode(text);
        let done = 0;
        while (done < bytes.length) done += await file.write(bytes.subarray(done));
        await file.sync();
      } finally {
        file.close();
      }
      try {
        await Deno.rename(path, `${path}.bak`);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      await Deno.rename(`${path}.tmp`, path);
      syncDirectory(this.dir);
    } catch (error) {
      throw new Error(`Cannot persist ${path}: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** Best-effort fsync of a directory so renames survive power loss. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = nodeFs.openSync(dir, "r");
    nodeFs.fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic.
  } finally {
    if (fd !== undefined) nodeFs.closeSync(fd);
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
