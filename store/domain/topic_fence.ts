/**
 * Topic fences: where each deleted topic's records end in the CommitLog.
 *
 * Deleting a topic removes its ConsumeQueues, but its records stay in the
 * CommitLog until retention. A recovery that re-dispatches from before the
 * deletion (no valid checkpoint, a torn checkpoint, a broken ConsumeQueue)
 * would build them into queues again, colliding with a topic created since
 * under the same name (its QueueOffsets start at 0 again). A fence
 * `topic -> commitLogOffset` says: records of `topic` below the offset belong
 * to a deleted incarnation; dispatch skips them.
 *
 * Stored durably in two slots, `topicfence.0` and `topicfence.1`, written
 * alternately, each `[u32 crc32 of the rest][u32 sequence][JSON]`; the valid
 * slot with the higher sequence wins, so a write torn by a power cut leaves
 * the previous fences readable. Fences below the CommitLog min offset are
 * dropped on the next write.
 *
 * @module
 */

import { crc32 } from "node:zlib";
import type { StoreFileSystem } from "./segment.ts";

/** Paths of the two slots, relative to the data dir. */
export const TOPIC_FENCE_PATHS = ["topicfence.0", "topicfence.1"] as const;

const HEADER_BYTES = 8;

/** Deleted topics and the CommitLog offset their records end below. */
export class TopicFences {
  readonly #fs: StoreFileSystem;
  #fences = new Map<string, number>();
  #sequence = 0;

  /**
   * Read the fences (the newest valid slot).
   *
   * @param fs The store's file system.
   */
  constructor(fs: StoreFileSystem) {
    this.#fs = fs;
    for (const path of TOPIC_FENCE_PATHS) {
      const loaded = decode(fs.readFile(path));
      if (loaded !== undefined && loaded.sequence >= this.#sequence) {
        this.#sequence = loaded.sequence;
        this.#fences = loaded.fences;
      }
    }
  }

  /** Number of fences held. */
  get size(): number {
    return this.#fences.size;
  }

  /**
   * Whether a record belongs to a deleted incarnation of its topic.
   *
   * @param topic The record's topic.
   * @param commitLogOffset The record's offset.
   * @returns True if dispatch must skip it.
   */
  fenced(topic: string, commitLogOffset: number): boolean {
    const fence = this.#fences.get(topic);
    return fence !== undefined && commitLogOffset < fence;
  }

  /**
   * Record a deletion durably (before the topic's queues are removed).
   *
   * @param topic The topic being deleted.
   * @param commitLogEnd Every record of the topic lies below this offset.
   * @param commitLogMinOffset Fences below this are dropped (their records are gone).
   */
  add(topic: string, commitLogEnd: number, commitLogMinOffset: number): void {
    this.#fences.set(topic, Math.max(commitLogEnd, this.#fences.get(topic) ?? 0));
    for (const [name, fence] of this.#fences) {
      if (fence <= commitLogMinOffset) this.#fences.delete(name);
    }
    this.#sequence++;
    const json = new TextEncoder().encode(JSON.stringify(Object.fromEntries(this.#fences)));
    const bytes = new Uint8Array(HEADER_BYTES + json.length);
    const view = new DataView(bytes.buffer);
    view.setUint32(4, this.#sequence);
    bytes.set(json, HEADER_BYTES);
    view.setUint32(0, crc32(bytes.subarray(4)));
    this.#fs.writeFile(TOPIC_FENCE_PATHS[this.#sequence % 2], bytes);
  }
}

function decode(
  bytes: Uint8Array | undefined,
): { sequence: number; fences: Map<string, number> } | undefined {
  if (bytes === undefined || bytes.length < HEADER_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== crc32(bytes.subarray(4))) return undefined;
  try {
    const parsed = JSON.parse(new TextDecoder().decode(bytes.subarray(HEADER_BYTES)));
    const fences = new Map<string, number>();
    for (const [topic, offset] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof offset === "number" && Number.isSafeInteger(offset)) fences.set(topic, offset);
    }
    return { sequence: view.getUint32(4), fences };
  } catch {
    return undefined;
  }
}
