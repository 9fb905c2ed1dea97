/**
 * Long polling: pulls parked until a message arrives or their time is up
 * (RocketMQ `PullRequestHoldService`).
 *
 * @module
 */

import type { CancelTimer, Clock } from "./clock.ts";

/** Why a held pull is resumed. */
export type ResumeReason = "ARRIVAL" | "TIMEOUT" | "SHUTDOWN";

/** A pull to park. */
export interface HeldPullRequest {
  readonly topic: string;
  readonly queueId: number;
  /** The offset the pull wants; it wakes once the queue's max offset passes it. */
  readonly queueOffset: number;
  /** The connection it came on (dropped with it). */
  readonly channelId: string;
  /** Tag pre-check: an arrival whose tag hash fails it does not wake the pull. */
  readonly matchesTagsCode?: (tagsCode: number) => boolean;
  /** Longest hold, ms. */
  readonly timeoutMs: number;
}

/** Outcome of {@linkcode PullHoldService.hold}. */
export type HoldResult = "HELD" | "FULL" | "CLOSED";

interface Held {
  readonly request: HeldPullRequest;
  readonly key: string;
  readonly resume: (reason: ResumeReason) => void;
  cancelTimer: CancelTimer;
}

/**
 * Parks pulls by `topic@queueId` and resumes each exactly once: on an arrival
 * past its offset that passes its tag pre-check, on its timeout, or at
 * shutdown. A connection that closes drops its pulls without resuming them.
 *
 * Lives on the main thread; woken by the store's `onArrival` events, never by
 * polling. Invariant: `size` equals the number of pulls not yet resumed or
 * dropped, and never exceeds `heldPullsMax`.
 */
export class PullHoldService {
  readonly #clock: Clock;
  readonly #heldPullsMax: number;
  readonly #byQueue = new Map<string, Set<Held>>();
  readonly #byChannel = new Map<string, Set<Held>>();
  #size = 0;
  #closed = false;

  /**
   * @param clock Timers.
   * @param heldPullsMax Most pulls held at once.
   */
  constructor(clock: Clock, heldPullsMax: number) {
    this.#clock = clock;
    this.#heldPullsMax = heldPullsMax;
  }

  /** Pulls currently held. */
  get size(): number {
    return this.#size;
  }

  /**
   * Park a pull.
   *
   * @param request What the pull waits for.
   * @param resume Called once when it should be executed again.
   * @returns `HELD`, or `FULL` / `CLOSED` when it was not parked (answer it now).
   */
  hold(request: HeldPullRequest, resume: (reason: ResumeReason) => void): HoldResult {
    if (this.#closed) return "CLOSED";
    if (this.#size >= this.#heldPullsMax) return "FULL";
    const key = queueKey(request.topic, request.queueId);
    const held: Held = { request, key, resume, cancelTimer: () => {} };
    held.cancelTimer = this.#clock.schedule(() => this.#resume(held, "TIMEOUT"), request.timeoutMs);
    addTo(this.#byQueue, key, held);
    addTo(this.#byChannel, request.channelId, held);
    this.#size++;
    return "HELD";
  }

  /**
   * Report that dispatch made messages of a queue visible.
   *
   * @param topic Topic.
   * @param queueId Queue.
   * @param maxOffset The queue's new max offset.
   * @param tagsCode Tag hash of the newest message.
   */
  notifyArrival(topic: string, queueId: number, maxOffset: number, tagsCode: number): void {
    const set = this.#byQueue.get(queueKey(topic, queueId));
    if (set === undefined) return;
    for (const held of [...set]) {
      if (held.request.queueOffset >= maxOffset) continue;
      const matches = held.request.matchesTagsCode;
      if (matches !== undefined && !matches(tagsCode)) continue;
      this.#resume(held, "ARRIVAL");
    }
  }

  /**
   * Resume every pull of a queue waiting below `maxOffset`, without the tag
   * pre-check (used when the tag of what arrived is unknown).
   *
   * @param topic Topic.
   * @param queueId Queue.
   * @param maxOffset The queue's current max offset.
   */
  wakeQueue(topic: string, queueId: number, maxOffset: number): void {
    const set = this.#byQueue.get(queueKey(topic, queueId));
    if (set === undefined) return;
    for (const held of [...set]) {
      if (held.request.queueOffset < maxOffset) this.#resume(held, "ARRIVAL");
    }
  }

  /**
   * Drop a closed connection's pulls without resuming them.
   *
   * @param channelId The connection's id.
   */
  dropChannel(channelId: string): void {
    const set = this.#byChannel.get(channelId);
    if (set === undefined) return;
    for (const held of [...set]) this.#remove(held);
  }

  /** Resume every held pull (`SHUTDOWN`) and refuse new ones. */
  close(): void {
    this.#closed = true;
    for (const set of [...this.#byQueue.values()]) {
      for (const held of [...set]) this.#resume(held, "SHUTDOWN");
    }
  }

  #resume(held: Held, reason: ResumeReason): void {
    if (!this.#remove(held)) return;
    held.resume(reason);
  }

  #remove(held: Held): boolean {
    const set = this.#byQueue.get(held.key);
    if (set === undefined || !set.delete(held)) return false;
    if (set.size === 0) this.#byQueue.delete(held.key);
    const byChannel = this.#byChannel.get(held.request.channelId);
    byChannel?.delete(held);
    if (byChannel?.size === 0) this.#byChannel.delete(held.request.channelId);
    held.cancelTimer();
    this.#size--;
    return true;
  }
}

function queueKey(topic: string, queueId: number): string {
  return `${topic}@${queueId}`;
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  }
  set.add(value);
}
