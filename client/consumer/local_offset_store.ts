/**
 * The broadcasting offset store (RocketMQ's `LocalFileOffsetStore`): each
 * member keeps its own progress in a local JSON file, never on the broker.
 * File: `<dir>/<group>/offsets.json`, `{ "offsetTable": { "<topic>@<broker>@<queueId>": offset } }`,
 * replaced atomically (write `offsets.json.tmp`, then rename).
 *
 * @module
 */

import type { MessageQueue } from "../message.ts";
import type { OffsetStore } from "./offset_store.ts";

/** Default directory of broadcasting offset files. */
export const LOCAL_OFFSET_STORE_DIR_DEFAULT = ".rocketmq_offsets";

function keyOf(queue: MessageQueue): string {
  return `${queue.topic}@${queue.brokerName}@${queue.queueId}`;
}

/** Offsets in a local file. Lives on the consumer's event loop. */
export class LocalOffsetStore implements OffsetStore {
  readonly commitsWithPull = false;
  /** The offsets file. */
  readonly path: string;
  readonly #dir: string;
  readonly #table = new Map<string, number>();
  #writing: Promise<void> | undefined;
  #dirty = false;

  /**
   * @param dir Directory of offset files.
   * @param group Consumer group (a subdirectory).
   */
  constructor(dir: string, group: string) {
    this.#dir = `${dir}/${group}`;
    this.path = `${this.#dir}/offsets.json`;
  }

  /** Read the file, if there is one. A damaged file counts as none. */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    try {
      const table = JSON.parse(text)?.offsetTable ?? {};
      for (const [key, offset] of Object.entries(table)) {
        if (Number.isSafeInteger(offset)) this.#table.set(key, offset as number);
      }
    } catch {
      // Unreadable: start from the consumeFromWhere policy.
    }
  }

  /** @inheritdoc */
  read(queue: MessageQueue): Promise<number | undefined> {
    return Promise.resolve(this.#table.get(keyOf(queue)));
  }

  /** @inheritdoc */
  commit(queue: MessageQueue, offset: number): Promise<void> {
    const key = keyOf(queue);
    if (this.#table.get(key) === offset) return Promise.resolve();
    this.#table.set(key, offset);
    this.#dirty = true;
    return this.#write();
  }

  /** @inheritdoc */
  async flush(): Promise<void> {
    while (this.#writing !== undefined || this.#dirty) await this.#write();
  }

  #write(): Promise<void> {
    this.#writing ??= (async () => {
      try {
        while (this.#dirty) {
          this.#dirty = false;
          const text = JSON.stringify({ offsetTable: Object.fromEntries(this.#table) });
          await Deno.mkdir(this.#dir, { recursive: true });
          await Deno.writeTextFile(`${this.path}.tmp`, text);
          await Deno.rename(`${this.path}.tmp`, this.path);
        }
      } finally {
        this.#writing = undefined;
      }
    })();
    return this.#writing;
  }
}
