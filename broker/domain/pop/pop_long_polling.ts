/**
 * Long polling for pop (RocketMQ's `PopLongPollingService`): a pop or
 * NOTIFICATION that found nothing parks here until a matching message is
 * dispatched to one of its topics (the topic and its pop retry topic), an
 * ordered queue is unblocked by an ack, or its poll time ends. Wake-ups come
 * from dispatch arrivals, never from polling.
 *
 * Limits: at most `perKeyMax` parked requests per `topic@group@queueId` and
 * `totalMax` overall; beyond them a request is refused (POLLING_FULL).
 *
 * @module
 */

import type { CancelTimer, Clock } from "../clock.ts";

/** Default most parked requests per `topic@group@queueId` (`popPollingSize`). */
export const POP_POLLING_PER_KEY_MAX_DEFAULT = 1_024;
/** Default most parked requests overall (`maxPopPollingSize`). */
export const POP_POLLING_TOTAL_MAX_DEFAULT = 100_000;

/** Why a parked request resumed. */
export type ParkResult = "WOKEN" | "TIMEOUT" | "FULL" | "CLOSED";

/** A request to park. */
export interface ParkRequest {
  /** Topics whose arrivals wake it (the topic and its pop retry topic). */
  readonly topics: readonly string[];
  /** Consumer group. */
  readonly group: string;
  /** Queue of the first topic, or -1 for any (retry topics always match any queue). */
  readonly queueId: number;
  /** Longest wait, ms. */
  readonly timeoutMs: number;
  /** Tag-code filter of the subscription; undefined = all. */
  readonly matchesTagsCode?: (tagsCode: number) => boolean;
}

interface Parked {
  readonly request: ParkRequest;
  readonly key: string;
  readonly resolve: (result: ParkResult) => void;
  cancel: CancelTimer;
}

/** Parked pops. Lives on the broker's main thread. */
export class PopLongPollingService {
  readonly #clock: Clock;
  readonly #perKeyMax: number;
  readonly #totalMax: number;
  readonly #byTopic = new Map<string, Set<Parked>>();
  readonly #perKey = new Map<string, number>();
  #total = 0;
  #closed = false;

  /**
   * @param clock Timers.
   * @param perKeyMax Most parked per `topic@group@queueId`.
   * @param totalMax Most parked overall.
   */
  constructor(
    clock: Clock,
    perKeyMax = POP_POLLING_PER_KEY_MAX_DEFAULT,
    totalMax = POP_POLLING_TOTAL_MAX_DEFAULT,
  ) {
    this.#clock = clock;
    this.#perKeyMax = perKeyMax;
    this.#totalMax = totalMax;
  }

  /** Requests parked now. */
  get parkedCount(): number {
    return this.#total;
  }

  /**
   * Park until woken or timed out.
   *
   * @param request Topics, group, queue, timeout and filter.
   * @returns Why it resumed; `FULL` at once when a limit is reached.
   */
  park(request: ParkRequest): Promise<ParkResult> {
    if (this.#closed) return Promise.resolve("CLOSED");
    const key = `${request.topics[0]}@${request.group}@${request.queueId}`;
    const count = this.#perKey.get(key) ?? 0;
    if (count >= this.#perKeyMax || this.#total >= this.#totalMax) return Promise.resolve("FULL");
    return new Promise<ParkResult>((resolve) => {
      const parked: Parked = { request, key, resolve, cancel: () => {} };
      this.#perKey.set(key, count + 1);
      this.#total++;
      for (const topic of request.topics) {
        let set = this.#byTopic.get(topic);
        if (set === undefined) this.#byTopic.set(topic, set = new Set());
        set.add(parked);
      }
      parked.cancel = this.#clock.schedule(
        () => this.#finish(parked, "TIMEOUT"),
        Math.max(0, request.timeoutMs),
      );
    });
  }

  /**
   * A message was dispatched: wake the requests it may satisfy.
   *
   * @param topic Topic of the message.
   * @param queueId Its queue.
   * @param tagsCode Its tag code.
   */
  notifyArrival(topic: string, queueId: number, tagsCode: number): void {
    const set = this.#byTopic.get(topic);
    if (set === undefined) return;
    for (const parked of [...set]) {
      const { request } = parked;
      const sameQueue = request.queueId < 0 || topic !== request.topics[0] ||
        request.queueId === queueId;
      if (!sameQueue) continue;
      if (request.matchesTagsCode !== undefined && !request.matchesTagsCode(tagsCode)) continue;
      this.#finish(parked, "WOKEN");
    }
  }

  /**
   * Wake every request of a topic and group (an ordered queue was unblocked).
   *
   * @param topic Topic.
   * @param group Group.
   */
  wakeGroup(topic: string, group: string): void {
    const set = this.#byTopic.get(topic);
    if (set === undefined) return;
    for (const parked of [...set]) {
      if (parked.request.group === group) this.#finish(parked, "WOKEN");
    }
  }

  /** Resume every parked request with CLOSED. */
  close(): void {
    this.#closed = true;
    const all = new Set<Parked>();
    for (const set of this.#byTopic.values()) for (const parked of set) all.add(parked);
    for (const parked of all) this.#finish(parked, "CLOSED");
  }

  #finish(parked: Parked, result: ParkResult): void {
    let found = false;
    for (const topic of parked.request.topics) {
      const set = this.#byTopic.get(topic);
      if (set?.delete(parked)) found = true;
      if (set !== undefined && set.size === 0) this.#byTopic.delete(topic);
    }
    if (!found) return;
    parked.cancel();
    this.#total--;
    const left = (this.#perKey.get(parked.key) ?? 1) - 1;
    if (left <= 0) this.#perKey.delete(parked.key);
    else this.#perKey.set(parked.key, left);
    parked.resolve(result);
  }
}
