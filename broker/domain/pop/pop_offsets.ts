/**
 * Where the next pop of each `group@topic@queueId` starts, written
 * periodically and, under sync flush, made durable before an ack is answered: an acked message must never be popped again
 * after a crash, so the offset past it has to survive the crash too (the
 * store persists consumer offsets only periodically). Persisted as
 * `config/popOffsets.json` (`{ "<group>@<topic>@<queueId>": offset }`),
 * coalesced: one write at a time covering every change made before it.
 *
 * @module
 */

import type { ConfigDocuments } from "../topic_table.ts";

/** Name of the persisted document. */
export const POP_OFFSETS_DOCUMENT = "popOffsets";
/** Writes tried before an ack that needs the document durable fails. */
export const POP_OFFSETS_WRITE_ATTEMPTS_MAX = 5;

/** The table's key of a queue: `group@topic@queueId`. */
export function keyOf(group: string, topic: string, queueId: number): string {
  return `${group}@${topic}@${queueId}`;
}

/** Pop start offsets. Lives on the broker's main thread. */
export class PopOffsetTable {
  readonly #documents: ConfigDocuments;
  readonly #offsets = new Map<string, number>();
  readonly #durable = new Map<string, number>();
  #writing: Promise<void> | undefined;
  #dirty = false;
  /**
   * Bound on what is persisted per key (`group@topic@queueId`): the start of
   * a checkpoint held in memory must not be passed durably. Undefined = none.
   */
  persistBound: (key: string) => number | undefined = () => undefined;

  /** @param documents Where the table is persisted. */
  constructor(documents: ConfigDocuments) {
    this.#documents = documents;
  }

  /** Load the persisted offsets. */
  async load(): Promise<void> {
    const text = await this.#documents.loadConfig(POP_OFFSETS_DOCUMENT);
    if (text === undefined) return;
    try {
      for (const [key, offset] of Object.entries(JSON.parse(text) as Record<string, number>)) {
        if (!Number.isSafeInteger(offset)) continue;
        this.#offsets.set(key, offset);
        this.#durable.set(key, offset);
      }
    } catch {
      // A damaged document: consumer offsets alone decide (duplicates possible, no loss).
    }
  }

  /**
   * The next pop offset, if this table knows one.
   *
   * @returns The offset or undefined.
   */
  get(group: string, topic: string, queueId: number): number | undefined {
    return this.#offsets.get(keyOf(group, topic, queueId));
  }

  /**
   * Move the next pop offset forward (never back) and schedule a write.
   *
   * @param offset The new next offset.
   */
  advance(group: string, topic: string, queueId: number, offset: number): void {
    const key = keyOf(group, topic, queueId);
    if (offset <= (this.#offsets.get(key) ?? -1)) return;
    this.#offsets.set(key, offset);
    this.#dirty = true;
  }

  /** Write pending changes now (called periodically and at close). */
  async flush(): Promise<void> {
    if (!this.#dirty && this.#writing === undefined) return;
    this.#write();
    await this.#writing;
  }

  /**
   * Set the next pop offset (admin reset), forward or back.
   *
   * @param offset The new next offset.
   */
  reset(group: string, topic: string, queueId: number, offset: number): void {
    this.#offsets.set(keyOf(group, topic, queueId), offset);
    this.#dirty = true;
    this.#write();
  }

  /**
   * Resolve once the persisted next offset of the queue is past `queueOffset`.
   *
   * @param queueOffset An offset this table has moved past.
   * @throws {Error} If the document could not be written after {@linkcode POP_OFFSETS_WRITE_ATTEMPTS_MAX} tries.
   */
  async durablePast(
    group: string,
    topic: string,
    queueId: number,
    queueOffset: number,
  ): Promise<void> {
    const key = keyOf(group, topic, queueId);
    for (let attempt = 0; (this.#durable.get(key) ?? -1) <= queueOffset; attempt++) {
      if ((this.#offsets.get(key) ?? -1) <= queueOffset) return; // never popped here: nothing to protect
      if (attempt >= POP_OFFSETS_WRITE_ATTEMPTS_MAX) {
        throw new Error(`Cannot make the pop offset of ${key} durable`);
      }
      this.#dirty = true;
      this.#write();
      await this.#writing;
    }
  }

  #write(): void {
    if (this.#writing !== undefined) return;
    this.#writing = (async () => {
      try {
        while (this.#dirty) {
          this.#dirty = false;
          const snapshot = new Map<string, number>();
          for (const [key, offset] of this.#offsets) {
            snapshot.set(key, Math.min(offset, this.persistBound(key) ?? offset));
          }
          await this.#documents.persistConfig(
            POP_OFFSETS_DOCUMENT,
            JSON.stringify(Object.fromEntries(snapshot)),
          );
          for (const [key, offset] of snapshot) this.#durable.set(key, offset);
        }
      } catch {
        this.#dirty = true; // retried by the next change or wait
      } finally {
        this.#writing = undefined;
      }
    })();
  }
}
