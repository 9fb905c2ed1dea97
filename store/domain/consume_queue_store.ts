/**
 * The set of ConsumeQueues of a store, found under `consumequeue/{topic}/{queueId}/`.
 *
 * One instance per role and thread: the writer (dispatch) opens queues
 * writable and creates them on first dispatch; a reader (main thread) opens
 * them read-only on first access and follows the writer through
 * `observeArrival`.
 *
 * @module
 */

import { ConsumeQueue, consumeQueuePath } from "./consume_queue.ts";
import type { StoreFileSystem } from "./segment.ts";

/**
 * Longest a periodic ConsumeQueue flush round runs before it leaves the rest
 * for the next round, ms (with many queues, one fsync each).
 */
export const CONSUME_QUEUE_FLUSH_BUDGET_MS = 50;

/** Every ConsumeQueue of a store, by topic and queue id. */
export class ConsumeQueueStore {
  /** Units per segment file. */
  readonly unitsPerSegment: number;
  /** Whether queues are opened for writing. */
  readonly writable: boolean;
  #fs: StoreFileSystem;
  #queues: Map<string, Map<number, ConsumeQueue>> = new Map();
  /** Writer: queues holding unflushed units, in the order they first got one. */
  readonly #dirty = new Set<ConsumeQueue>();

  /**
   * Build the set (no I/O until `loadAll` or a lookup).
   *
   * @param fs The store's file system.
   * @param unitsPerSegment Units per ConsumeQueue segment.
   * @param writable Writer (dispatch) or reader role.
   */
  constructor(fs: StoreFileSystem, unitsPerSegment: number, writable: boolean) {
    this.#fs = fs;
    this.unitsPerSegment = unitsPerSegment;
    this.writable = writable;
  }

  #open(topic: string, queueId: number): ConsumeQueue {
    const queue = new ConsumeQueue(
      this.#fs.segments(consumeQueuePath(topic, queueId)),
      topic,
      queueId,
      this.unitsPerSegment,
      this.writable,
    );
    if (this.writable) queue.onDirty = (q) => this.#dirty.add(q);
    let queues = this.#queues.get(topic);
    if (queues === undefined) {
      queues = new Map();
      this.#queues.set(topic, queues);
    }
    queues.set(queueId, queue);
    return queue;
  }

  /** Reader: called once on each queue loaded lazily by `get` (e.g. to correct its min offset). */
  onLoad: ((queue: ConsumeQueue) => void) | undefined;

  /**
   * Every queue with a directory on disk, without opening any.
   *
   * @returns Topic and queue id pairs.
   */
  listOnDisk(): { topic: string; queueId: number }[] {
    const out: { topic: string; queueId: number }[] = [];
    for (const topic of this.#fs.listDirectories("consumequeue")) {
      for (const name of this.#fs.listDirectories(`consumequeue/${topic}`)) {
        const queueId = Number(name);
        if (Number.isSafeInteger(queueId) && String(queueId) === name) out.push({ topic, queueId });
      }
    }
    return out;
  }

  /**
   * Open and load every queue on disk. Queues whose files are inconsistent
   * (a missing segment) are destroyed and reported, so recovery can rebuild
   * them from the CommitLog.
   *
   * @returns `{topic, queueId, reason}` of each destroyed queue.
   */
  loadAll(): { topic: string; queueId: number; reason: string }[] {
    const broken: { topic: string; queueId: number; reason: string }[] = [];
    for (const topic of this.#fs.listDirectories("consumequeue")) {
      for (const name of this.#fs.listDirectories(`consumequeue/${topic}`)) {
        const queueId = Number(name);
        if (!Number.isSafeInteger(queueId) || String(queueId) !== name) continue;
        const queue = this.#open(topic, queueId);
        const loaded = queue.load();
        if (loaded.status === "BROKEN") {
          broken.push({ topic, queueId, reason: loaded.reason });
          if (this.writable) queue.destroy();
        }
      }
    }
    return broken;
  }

  /**
   * A queue if it exists (a reader opens and loads it from disk on first access).
   *
   * @param topic Topic.
   * @param queueId Queue id.
   * @returns The queue, or undefined.
   */
  get(topic: string, queueId: number): ConsumeQueue | undefined {
    const found = this.#queues.get(topic)?.get(queueId);
    if (found !== undefined || this.writable) return found;
    if (this.#fs.segments(consumeQueuePath(topic, queueId)).list().length === 0) return undefined;
    const queue = this.#open(topic, queueId);
    queue.load();
    this.onLoad?.(queue);
    return queue;
  }

  /**
   * The queue, created empty if new (writer only).
   *
   * @param topic Topic.
   * @param queueId Queue id.
   * @returns The queue.
   */
  findOrCreate(topic: string, queueId: number): ConsumeQueue {
    const found = this.#queues.get(topic)?.get(queueId);
    if (found !== undefined) return found;
    const queue = this.#open(topic, queueId);
    queue.load();
    return queue;
  }

  /**
   * Every open queue.
   *
   * @returns The queues.
   */
  all(): ConsumeQueue[] {
    const out: ConsumeQueue[] = [];
    for (const queues of this.#queues.values()) out.push(...queues.values());
    return out;
  }

  /**
   * Close and (writer) delete every queue of a topic.
   *
   * @param topic Topic.
   */
  deleteTopic(topic: string): void {
    const queues = this.#queues.get(topic);
    if (queues !== undefined) {
      for (const queue of queues.values()) {
        queue.close();
        this.#dirty.delete(queue);
      }
    }
    this.#queues.delete(topic);
    if (this.writable) this.#fs.removeDirectory(`consumequeue/${topic}`);
  }

  /** Commit every queue's pending units. */
  commitAll(): void {
    for (const queue of this.all()) queue.commit();
  }

  /** Flush every queue with unflushed units. */
  flushAll(): void {
    for (const queue of this.#dirty) queue.flush();
    this.#dirty.clear();
  }

  /**
   * Flush queues with unflushed units, oldest first, until `deadlineMs`
   * passes: with tens of thousands of queues one round cannot fsync them
   * all without stalling dispatch. Those left wait for the next round.
   *
   * @param deadlineMs Stop starting new flushes at this time.
   * @param nowMs Clock.
   * @returns `unflushedBound()` afterwards.
   */
  flushDirty(deadlineMs: number, nowMs: () => number): number | undefined {
    for (const queue of this.#dirty) {
      if (nowMs() >= deadlineMs) break;
      queue.flush();
      this.#dirty.delete(queue);
    }
    return this.unflushedBound();
  }

  /**
   * The lowest CommitLog offset whose unit may not be on disk yet; a
   * checkpoint's dispatched offset must not pass it.
   *
   * @returns The bound, or undefined when every queue is flushed.
   */
  unflushedBound(): number | undefined {
    let bound: number | undefined;
    for (const queue of this.#dirty) {
      const from = queue.unflushedFromOffset;
      if (from !== undefined && (bound === undefined || from < bound)) bound = from;
    }
    return bound;
  }

  /** Queues holding unflushed units. */
  get dirtyCount(): number {
    return this.#dirty.size;
  }

  /** Close every queue. */
  close(): void {
    for (const queue of this.all()) queue.close();
    this.#queues.clear();
    this.#dirty.clear();
  }
}
