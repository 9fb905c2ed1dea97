/**
 * The Clock port on the platform's wall clock and timers.
 *
 * @module
 */

import type { CancelTimer, Clock } from "../domain/clock.ts";

/** `Date.now` and `setTimeout`. Timers do not keep the process alive past their work. */
export class SystemClock implements Clock {
  /**
   * Wall time.
   *
   * @returns Epoch ms.
   */
  nowMs(): number {
    return Date.now();
  }

  /**
   * Run `callback` once after `delayMs`.
   *
   * @param callback What to run.
   * @param delayMs Delay, ms.
   * @returns Cancels the timer.
   */
  schedule(callback: () => void, delayMs: number): CancelTimer {
    const id = setTimeout(callback, delayMs);
    return () => clearTimeout(id);
  }
}
