/**
 * The KV config document on disk: `<dataDir>/kvConfig.json`, replaced
 * atomically (write a temp file, fsync, rename).
 *
 * @module
 */

import { join } from "node:path";
import type { KvConfigDocument } from "../domain/kv_config_table.ts";

/** File name of the KV config in the data directory (RocketMQ's `kvConfig.json`). */
export const KV_CONFIG_FILE = "kvConfig.json";

/** {@linkcode KvConfigDocument} as a file in a directory (created on first write). */
export class FsKvConfigDocument implements KvConfigDocument {
  readonly #dir: string;
  readonly #path: string;

  /** @param dir The data directory. */
  constructor(dir: string) {
    this.#dir = dir;
    this.#path = join(dir, KV_CONFIG_FILE);
  }

  /**
   * Read the file.
   *
   * @returns Its text, or undefined when it does not exist.
   * @throws {Error} On other read errors, wrapped with the path.
   */
  async load(): Promise<string | undefined> {
    try {
      return await Deno.readTextFile(this.#path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw new Error(`Cannot read ${this.#path}`, { cause: error });
    }
  }

  /**
   * Atomically replace the file.
   *
   * @param text The new content.
   * @throws {Error} On write errors, wrapped with the path.
   */
  async persist(text: string): Promise<void> {
    const tmp = `${this.#path}.tmp`;
    try {
      await Deno.mkdir(this.#dir, { recursive: true });
      const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
      try {
        await file.write(new TextEncoder().encode(text));
        await file.sync();
      } finally {
        file.close();
      }
      await Deno.rename(tmp, this.#path);
    } catch (error) {
      throw new Error(`Cannot write ${this.#path}`, { cause: error });
    }
  }
}
