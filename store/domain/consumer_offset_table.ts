/**
 * Consumer offsets: each group's next QueueOffset per queue, persisted as the
 * config document `consumerOffset`:
 *
 * ```json
 * {"offsetTable": {"TopicA@GroupA": {"0": 42, "1": 7}}}
 * ```
 *
 * Keys are `topic@group` as in RocketMQ (topic and group names cannot contain `@`).
 *
 * @module
 */

import type { ConsumerOffsetEntry } from "../message_store.ts";

/** Name of the config document holding consumer offsets. */
export const CONSUMER_OFFSET_CONFIG = "consumerOffset";

/** In-memory consumer offsets with JSON (de)serialisation. */
export class ConsumerOffsetTable {
  #table: Map<string, Map<number, number>> = new Map();
  #version = 0;

  /** Bumped on every change; compare to skip persisting an unchanged table. */
  get version(): number {
    return this.#version;
  }

  /**
   * Store a group's next offset for a queue.
   *
   * @param group Consumer group.
   * @param topic Topic.
   * @param queueId Queue id.
   * @param offset Next offset to consume.
   */
  commit(group: string, topic: string, queueId: number, offset: number): void {
    const key = `${topic}@${group}`;
    let queues = this.#table.get(key);
    if (queues === undefined) {
      queues = new Map();
      this.#table.set(key, queues);
    }
    queues.set(queueId, offset);
    this.#version++;
  }

  /**
   * A group's committed offset.
   *
   * @param group Consumer group.
   * @param topic Topic.
   * @param queueId Queue id.
   * @returns The offset, or undefined.
   */
  query(group: string, topic: string, queueId: number): number | undefined {
    return this.#table.get(`${topic}@${group}`)?.get(queueId);
  }

  /**
   * Every entry.
   *
   * @returns Entries.
   */
  list(): ConsumerOffsetEntry[] {
    const out: ConsumerOffsetEntry[] = [];
    for (const [key, queues] of this.#table) {
      const at = key.lastIndexOf("@");
      const topic = key.slice(0, at);
      const group = key.slice(at + 1);
      for (const [queueId, offset] of queues) out.push({ group, topic, queueId, offset });
    }
    return out;
  }

  /**
   * Forget a group's offsets (all topics, or one).
   *
   * @param group Consumer group.
   * @param topic Optional topic.
   */
  deleteGroup(group: string, topic?: string): void {
    for (const key of [...this.#table.keys()]) {
      const at = key.lastIndexOf("@");
      if (key.slice(at + 1) === group && (topic === undefined || key.slice(0, at) === topic)) {
        this.#table.delete(key);
        this.#version++;
      }
    }
  }

  /**
   * Forget every group's offsets of a topic.
   *
   * @param topic Topic.
   */
  deleteTopic(topic: string): void {
    for (const key of [...this.#table.keys()]) {
      if (key.slice(0, key.lastIndexOf("@")) === topic) {
        this.#table.delete(key);
        this.#version++;
      }
    }
  }

  /**
   * Serialise as the `consumerOffset` document.
   *
   * @returns Pretty JSON.
   */
  toJson(): string {
    const offsetTable: Record<string, Record<string, number>> = {};
    for (const [key, queues] of this.#table) {
      const inner: Record<string, number> = {};
      for (const [queueId, offset] of queues) inner[String(queueId)] = offset;
      offsetTable[key] = inner;
    }
    return JSON.stringify({ offsetTable }, null, 2);
  }

  /**
   * Replace the content from a `consumerOffset` document.
   *
   * @param text The document.
   * @throws {SyntaxError} If it is not JSON.
   * @throws {TypeError} If its shape is wrong.
   */
  loadJson(text: string): void {
    const parsed = JSON.parse(text) as { offsetTable?: unknown };
    const offsetTable = parsed?.offsetTable;
    if (typeof offsetTable !== "object" || offsetTable === null) {
      throw new TypeError("Cannot load consumer offsets: offsetTable is missing");
    }
    const table = new Map<string, Map<number, number>>();
    for (const [key, inner] of Object.entries(offsetTable as Record<string, unknown>)) {
      if (!key.includes("@") || typeof inner !== "object" || inner === null) continue;
      const queues = new Map<number, number>();
      for (const [queueId, offset] of Object.entries(inner as Record<string, unknown>)) {
        if (typeof offset === "number" && Number.isSafeInteger(Number(queueId))) {
          queues.set(Number(queueId), offset);
        }
      }
      table.set(key, queues);
    }
    this.#table = table;
    this.#version++;
  }

  /**
   * Pull every offset of an existing queue back to its end. After a power cut a consumer
   * may have committed (and persisted) an offset past records that were
   * never flushed; pointing past the recovered end would make it skip the
   * messages that take those offsets next. RocketMQ's consumers correct such
   * an offset on OFFSET_OVERFLOW; correcting it at load is the same outcome.
   *
   * @param maxOffsetOf One past the newest QueueOffset of a queue, or undefined
   *   when the queue does not exist (its offsets are kept as committed).
   * @returns Offsets corrected.
   */
  clampToQueueEnds(maxOffsetOf: (topic: string, queueId: number) => number | undefined): number {
    let corrected = 0;
    for (const [key, queues] of this.#table) {
      const topic = key.slice(0, key.lastIndexOf("@"));
      for (const [queueId, offset] of queues) {
        const max = maxOffsetOf(topic, queueId);
        if (max !== undefined && offset > max) {
          queues.set(queueId, max);
          corrected++;
        }
      }
    }
    if (corrected > 0) this.#version++;
    return corrected;
  }
}
