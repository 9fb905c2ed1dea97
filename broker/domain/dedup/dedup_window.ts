/**
 * A duplicate-free send path (beyond RocketMQ; NATS JetStream's
 * `Nats-Msg-Id` window is the model): a send whose UNIQ_KEY was stored in
 * the same topic within the topic's window is not stored again and is
 * answered with the original CommitLog offset(s), queue and queue offset, so
 * a producer that timed out and retried gets the same msgId.
 *
 * The window of a topic is its attribute `dedup.window.ms`, else the
 * broker's `dedupWindowMs`; 0 = off (then a send costs one Map lookup more).
 * Memory is bounded: at most `keysMax` keys, held in a ring in store-time
 * order (oldest forgotten first, expired ones dropped as new ones come), in
 * typed arrays plus one `Map<string, slot>`. A send racing a send of the
 * same key waits for it. A batch is deduplicated only as a whole (every key
 * seen, in one queue): a partly seen batch is stored as sent.
 *
 * Restart: {@linkcode DedupWindow.rebuild} reads each windowed topic's
 * ConsumeQueue tail from the first message stored within its window.
 *
 * @module
 */

import { decodeRecord } from "../../../client/protocol/message_record.ts";
import { getProperty, MessageConst } from "../../../client/protocol/properties.ts";
import type { MessageStore, PutMessageResult } from "../../../store/mod.ts";
import type { TopicConfig } from "../topic_config.ts";

/** Topic attribute holding a topic's dedup window, ms. */
export const DEDUP_WINDOW_ATTRIBUTE = "dedup.window.ms";
/** Messages read per `getMessage` while rebuilding. */
export const DEDUP_REBUILD_BATCH_MESSAGES = 1024;
/** First ring capacity; it doubles up to `keysMax`. */
const INITIAL_CAPACITY = 1024;

/** What the window needs. */
export interface DedupWindowOptions {
  /** Broker-wide window, ms (0 = off). */
  readonly windowMs: number;
  /** Most keys remembered. */
  readonly keysMax: number;
  /** A topic's config (for its attribute). */
  readonly topic: (topic: string) => TopicConfig | undefined;
  /** Broker clock, epoch ms. */
  readonly nowMs: () => number;
}

/** The outcome of a deduplicated put. */
export interface DedupPut {
  /** The store's result, or the original one for a duplicate. */
  readonly result: PutMessageResult;
  /** The queue the message is in. */
  readonly queueId: number;
  /** True if nothing was stored because every key was seen. */
  readonly duplicate: boolean;
}

/** The dedup window of every topic. Lives on the broker's main thread. */
export class DedupWindow {
  readonly #options: DedupWindowOptions;
  readonly #slots = new Map<string, number>();
  readonly #pending = new Map<string, Promise<unknown>>();
  #keys: (string | undefined)[] = [];
  #queueIds = new Int32Array(0);
  #queueOffsets = new Float64Array(0);
  #commitLogOffsets = new Float64Array(0);
  #storedAt = new Float64Array(0);
  #head = 0;
  #count = 0;
  /** The longest window any put asked for: entries older than it are useless. */
  #maxWindowMs = 0;
  #duplicates = 0;

  /** @param options Window, limit, topic lookup and clock. */
  constructor(options: DedupWindowOptions) {
    this.#options = options;
  }

  /** Keys remembered now. */
  get size(): number {
    return this.#count;
  }

  /** Sends answered from the window so far. */
  get duplicates(): number {
    return this.#duplicates;
  }

  /**
   * The window of a topic.
   *
   * @param topic Topic.
   * @returns Window, ms (0 = off).
   */
  windowOf(topic: string): number {
    const attribute = this.#options.topic(topic)?.attributes[DEDUP_WINDOW_ATTRIBUTE];
    if (attribute !== undefined) {
      const ms = Number(attribute);
      if (Number.isSafeInteger(ms) && ms >= 0) return ms;
    }
    return this.#options.windowMs;
  }

  /**
   * Store unless every key was stored within the topic's window.
   *
   * @param topic Topic.
   * @param queueId Queue chosen for a new put.
   * @param uniqKeys UNIQ_KEY of each message, in order.
   * @param put Stores the message(s).
   * @returns The (original or new) result and its queue.
   */
  async put(
    topic: string,
    queueId: number,
    uniqKeys: readonly string[],
    put: () => Promise<PutMessageResult>,
  ): Promise<DedupPut> {
    const windowMs = this.windowOf(topic);
    if (windowMs <= 0) return { result: await put(), queueId, duplicate: false };
    if (windowMs > this.#maxWindowMs) this.#maxWindowMs = windowMs;
    const keys = uniqKeys.map((k) => topic + "\u0000" + k);
    for (const key of keys) {
      const pending = this.#pending.get(key);
      if (pending !== undefined) await pending.catch(() => {});
    }
    const seen = this.#lookup(keys, windowMs);
    if (seen !== undefined) {
      this.#duplicates++;
      return { ...seen, duplicate: true };
    }
    const running = put();
    for (const key of keys) this.#pending.set(key, running);
    try {
      const result = await running;
      if (result.status === "PUT_OK" || result.status === "FLUSH_DISK_TIMEOUT") {
        for (const [i, key] of keys.entries()) {
          this.#record(
            key,
            queueId,
            result.queueOffset + i,
            result.commitLogOffsets[i] ?? result.commitLogOffset,
            result.storeTimestamp,
          );
        }
      }
      return { result, queueId, duplicate: false };
    } finally {
      for (const key of keys) if (this.#pending.get(key) === running) this.#pending.delete(key);
    }
  }

  /**
   * Refill the window after a restart from each windowed topic's tail.
   *
   * @param store The opened store.
   * @param topics Every topic config.
   * @returns Keys loaded.
   */
  async rebuild(store: MessageStore, topics: readonly TopicConfig[]): Promise<number> {
    const now = this.#options.nowMs();
    const found: { key: string; q: number; o: number; c: number; t: number }[] = [];
    for (const config of topics) {
      const windowMs = this.windowOf(config.topicName);
      if (windowMs <= 0) continue;
      if (windowMs > this.#maxWindowMs) this.#maxWindowMs = windowMs;
      for (let queueId = 0; queueId < config.writeQueueNums; queueId++) {
        let offset = await store.getOffsetInQueueByTime(config.topicName, queueId, now - windowMs);
        for (;;) {
          const read = await store.getMessage({
            group: "CID_RMQ_SYS_DEDUP",
            topic: config.topicName,
            queueId,
            queueOffset: offset,
            maxCount: DEDUP_REBUILD_BATCH_MESSAGES,
          });
          for (const m of read.messages) {
            const record = decodeRecord(m.record);
            const uniq = getProperty(record.properties, MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX);
            if (uniq === undefined || record.storeTimestamp < now - windowMs) continue;
            found.push({
              key: config.topicName + "\u0000" + uniq,
              q: queueId,
              o: m.queueOffset,
              c: m.commitLogOffset,
              t: record.storeTimestamp,
            });
          }
          if (read.messages.length === 0 || read.nextBeginOffset <= offset) break;
          offset = read.nextBeginOffset;
        }
      }
    }
    found.sort((a, b) => a.t - b.t);
    for (const f of found.slice(-this.#options.keysMax)) this.#record(f.key, f.q, f.o, f.c, f.t);
    return Math.min(found.length, this.#options.keysMax);
  }

  #lookup(keys: readonly string[], windowMs: number): Omit<DedupPut, "duplicate"> | undefined {
    const since = this.#options.nowMs() - windowMs;
    const slots: number[] = [];
    for (const key of keys) {
      const slot = this.#slots.get(key);
      if (slot === undefined || this.#storedAt[slot] < since) return undefined;
      slots.push(slot);
    }
    const queueId = this.#queueIds[slots[0]];
    if (slots.some((s) => this.#queueIds[s] !== queueId)) return undefined;
    const commitLogOffsets = slots.map((s) => this.#commitLogOffsets[s]);
    return {
      queueId,
      result: {
        status: "PUT_OK",
        commitLogOffset: commitLogOffsets[0],
        queueOffset: this.#queueOffsets[slots[0]],
        storeTimestamp: this.#storedAt[slots[0]],
        commitLogOffsets,
        wroteBytes: 0,
      },
    };
  }

  #record(key: string, queueId: number, queueOffset: number, commitLogOffset: number, at: number) {
    const old = this.#slots.get(key);
    if (old !== undefined) this.#keys[old] = undefined; // the newer entry wins
    this.#expire(at);
    if (this.#count === this.#options.keysMax) this.#dropHead();
    if (this.#count === this.#keys.length) this.#grow();
    const capacity = this.#keys.length;
    const slot = (this.#head + this.#count) % capacity;
    this.#keys[slot] = key;
    this.#queueIds[slot] = queueId;
    this.#queueOffsets[slot] = queueOffset;
    this.#commitLogOffsets[slot] = commitLogOffset;
    this.#storedAt[slot] = at;
    this.#slots.set(key, slot);
    this.#count++;
  }

  /** Drop entries older than the longest window in use (entries are in store-time order). */
  #expire(now: number): void {
    const horizon = now - this.#maxWindowMs;
    while (this.#count > 0 && this.#storedAt[this.#head] < horizon) this.#dropHead();
  }

  #dropHead(): void {
    const key = this.#keys[this.#head];
    if (key !== undefined && this.#slots.get(key) === this.#head) this.#slots.delete(key);
    this.#keys[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#keys.length;
    this.#count--;
  }

  #grow(): void {
    const old = this.#keys.length;
    const capacity = Math.min(Math.max(INITIAL_CAPACITY, old * 2), this.#options.keysMax);
    const keys: (string | undefined)[] = new Array(capacity);
    const queueIds = new Int32Array(capacity);
    const queueOffsets = new Float64Array(capacity);
    const commitLogOffsets = new Float64Array(capacity);
    const storedAt = new Float64Array(capacity);
    for (let i = 0; i < this.#count; i++) {
      const from = (this.#head + i) % old;
      keys[i] = this.#keys[from];
      queueIds[i] = this.#queueIds[from];
      queueOffsets[i] = this.#queueOffsets[from];
      commitLogOffsets[i] = this.#commitLogOffsets[from];
      storedAt[i] = this.#storedAt[from];
      const key = keys[i];
      if (key !== undefined && this.#slots.get(key) === from) this.#slots.set(key, i);
    }
    this.#keys = keys;
    this.#queueIds = queueIds;
    this.#queueOffsets = queueOffsets;
    this.#commitLogOffsets = commitLogOffsets;
    this.#storedAt = storedAt;
    this.#head = 0;
  }
}

/**
 * The send path's one call: put through the window when there is one.
 *
 * @param dedup The window, or undefined (no dedup configured in this context).
 * @param topic Topic.
 * @param queueId Queue chosen for a new put.
 * @param uniqKeys UNIQ_KEY of each message.
 * @param put Stores the message(s).
 * @returns The (original or new) result and its queue.
 */
export async function putOnce(
  dedup: DedupWindow | undefined,
  topic: string,
  queueId: number,
  uniqKeys: readonly string[],
  put: () => Promise<PutMessageResult>,
): Promise<DedupPut> {
  if (dedup === undefined) return { result: await put(), queueId, duplicate: false };
  return await dedup.put(topic, queueId, uniqKeys, put);
}
