/**
 * De-duplication of immediate send retries: the official clients retry a
 * failed or timed-out send at once with the same `message_id`, so a send
 * that did reach the store would be stored twice. The front remembers the
 * outcome (or the in-flight promise) of each message id for a short window
 * and answers a retry with it.
 *
 * Bounded: at most `entriesMax` ids, oldest evicted first; an entry older
 * than `windowMs` is forgotten. Failed outcomes are not remembered, so a
 * retry after a failure is tried again.
 *
 * @module
 */

/** Default window in which a retry with the same message id is answered from memory, ms. */
export const SEND_DEDUP_WINDOW_MS = 30_000;
/** Default most message ids remembered. */
export const SEND_DEDUP_ENTRIES_MAX = 65_536;

interface Entry<T> {
  readonly atMs: number;
  readonly outcome: Promise<T>;
}

/** Remembers send outcomes by message id. */
export class SendDedup<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #windowMs: number;
  readonly #entriesMax: number;

  /**
   * @param windowMs How long an outcome is reused, ms.
   * @param entriesMax Most ids remembered.
   */
  constructor(windowMs = SEND_DEDUP_WINDOW_MS, entriesMax = SEND_DEDUP_ENTRIES_MAX) {
    if (!(entriesMax > 0)) throw new RangeError(`entriesMax must be > 0, got ${entriesMax}`);
    this.#windowMs = windowMs;
    this.#entriesMax = entriesMax;
  }

  /**
   * Run `send` for `messageId`, or reuse the outcome of an earlier send of
   * the same id within the window.
   *
   * @param messageId The client's message id.
   * @param nowMs Current time.
   * @param send Stores the message.
   * @param succeeded Whether an outcome may be reused.
   * @returns The (possibly shared) outcome.
   */
  run(
    messageId: string,
    nowMs: number,
    send: () => Promise<T>,
    succeeded: (outcome: T) => boolean,
  ): Promise<T> {
    const known = this.#entries.get(messageId);
    if (known !== undefined && nowMs - known.atMs <= this.#windowMs) return known.outcome;
    if (known !== undefined) this.#entries.delete(messageId);
    const outcome = send();
    const entry = { atMs: nowMs, outcome };
    this.#entries.set(messageId, entry);
    if (this.#entries.size > this.#entriesMax) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    outcome.then((value) => {
      if (!succeeded(value) && this.#entries.get(messageId) === entry) {
        this.#entries.delete(messageId);
      }
    }, () => {
      if (this.#entries.get(messageId) === entry) this.#entries.delete(messageId);
    });
    return outcome;
  }

  /** Ids remembered now. */
  get size(): number {
    return this.#entries.size;
  }
}
