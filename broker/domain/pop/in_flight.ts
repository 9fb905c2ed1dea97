/**
 * The checkpoints this broker process popped and whose revive time has not
 * been handled yet, with their unacked offsets. Used to refuse acks of
 * forged handles, to make repeated acks harmless, and to count in-flight
 * messages per group. Lost on restart (the revive topic is the durable
 * truth); a handle popped before the current start is then checked by its
 * fields only.
 *
 * @module
 */

import { checkpointKey } from "./revive_record.ts";

/** One outstanding popped batch. */
export interface InFlightCheckpoint {
  /** Consumer group. */
  readonly group: string;
  /** Topic popped (normal or pop retry topic). */
  readonly topic: string;
  /** Queue. */
  readonly queueId: number;
  /** Start offset. */
  readonly startOffset: number;
  /** Pop time. */
  readonly popTime: number;
  /** Invisible time. */
  readonly invisibleTime: number;
  /** Queue offsets popped. */
  readonly offsets: Set<number>;
  /** Queue offsets acked (or moved to a new checkpoint). */
  readonly acked: Set<number>;
}

/** Outcome of {@linkcode InFlightIndex.check}. */
export type InFlightCheck = "KNOWN" | "ALREADY_ACKED" | "NOT_IN_CHECKPOINT" | "UNKNOWN";

/** Outstanding checkpoints of this broker process. Lives on the broker's main thread. */
export class InFlightIndex {
  readonly #entries = new Map<string, InFlightCheckpoint>();
  #unacked = 0;

  /** Number of checkpoints. */
  get size(): number {
    return this.#entries.size;
  }

  /** Popped, unacked messages over all checkpoints. */
  get unackedCount(): number {
    return this.#unacked;
  }

  /**
   * Record a popped batch (merging with one of the same key).
   *
   * @param ck The batch.
   */
  add(ck: Omit<InFlightCheckpoint, "acked">): void {
    const key = checkpointKey(ck.topic, ck.group, ck.queueId, ck.startOffset, ck.popTime);
    const existing = this.#entries.get(key);
    if (existing === undefined) {
      this.#entries.set(key, { ...ck, acked: new Set() });
      this.#unacked += ck.offsets.size;
      return;
    }
    for (const offset of ck.offsets) {
      if (!existing.offsets.has(offset)) {
        existing.offsets.add(offset);
        this.#unacked++;
      }
    }
  }

  /**
   * Look a handle's message up.
   *
   * @param key Checkpoint key.
   * @param offset Queue offset.
   * @returns Whether the checkpoint is known and holds the offset unacked.
   */
  check(key: string, offset: number): InFlightCheck {
    const entry = this.#entries.get(key);
    if (entry === undefined) return "UNKNOWN";
    if (!entry.offsets.has(offset)) return "NOT_IN_CHECKPOINT";
    return entry.acked.has(offset) ? "ALREADY_ACKED" : "KNOWN";
  }

  /**
   * Mark an offset acked.
   *
   * @param key Checkpoint key.
   * @param offset Queue offset.
   */
  ack(key: string, offset: number): void {
    const entry = this.#entries.get(key);
    if (entry === undefined || !entry.offsets.has(offset) || entry.acked.has(offset)) return;
    entry.acked.add(offset);
    this.#unacked--;
  }

  /**
   * Forget a checkpoint (its revive time was handled).
   *
   * @param key Checkpoint key.
   */
  remove(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#unacked -= entry.offsets.size - entry.acked.size;
    this.#entries.delete(key);
  }

  /**
   * Unacked messages of a group (and topic, retry topic included).
   *
   * @param group Consumer group.
   * @param topic Original topic; undefined = all.
   * @returns The count.
   */
  countOf(group: string, topic?: string): number {
    let n = 0;
    for (const entry of this.#entries.values()) {
      if (entry.group !== group) continue;
      if (topic !== undefined && entry.topic !== topic && !entry.topic.endsWith(`_${topic}`)) {
        continue;
      }
      n += entry.offsets.size - entry.acked.size;
    }
    return n;
  }
}
