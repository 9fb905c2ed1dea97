/**
 * The Clock port: wall time and one-shot timers, injected so time-driven
 * behaviour (long polling, client expiry) is testable.
 *
 * @module
 */

/** Cancels a scheduled timer; calling it after the timer fired does nothing. */
export type CancelTimer = () => void;

/** Wall time and timers. The infra implementation wraps `Date.now` and `setTimeout`. */
export interface Clock {
  /** Epoch milliseconds. */
  nowMs(): number;
  /**
   * Run `callback` once after `delayMs`.
   *
   * @param callback What to run.
   * @param delayMs Delay, ms.
   * @returns A function that cancels the timer.
   */
  schedule(callback: () => void, delayMs: number): CancelTimer;
}
