/**
 * The last hour of in/out TPS and total consumer lag, sampled at a fixed
 * interval, for the dashboard's charts.
 *
 * @module
 */

import type { BrokerMetricsSource } from "../metrics/broker_metrics.ts";

/** Time between samples, ms. */
export const HISTORY_SAMPLE_INTERVAL_MS = 5_000;
/** Samples kept: one hour at {@linkcode HISTORY_SAMPLE_INTERVAL_MS}. */
export const HISTORY_SAMPLES_MAX = 720;

interface Snapshot {
  readonly timeMs: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
}

function rates(from: Snapshot, to: Snapshot): { tpsIn: number; tpsOut: number } {
  const seconds = Math.max(0.001, (to.timeMs - from.timeMs) / 1000);
  return {
    tpsIn: (to.messagesIn - from.messagesIn) / seconds,
    tpsOut: (to.messagesOut - from.messagesOut) / seconds,
  };
}

/** One point of the history. */
export interface HistoryPoint {
  /** Epoch ms of the sample. */
  readonly timeMs: number;
  /** Messages received per second since the previous sample. */
  readonly tpsIn: number;
  /** Messages delivered per second since the previous sample. */
  readonly tpsOut: number;
  /** Total consumer lag, messages (all groups and topics). */
  readonly lagMessages: number;
}

/**
 * A ring of {@linkcode HistoryPoint}s, plus the current rates.
 *
 * `sample()` is called by the owner's timer (the HTTP server) and by tests;
 * the lag is summed from committed offsets only (no message reads).
 */
export class TpsHistory {
  readonly #source: BrokerMetricsSource;
  readonly #points: HistoryPoint[] = [];
  /** Totals at the previous sample (or start) and at the last one: `current()` spans both intervals. */
  #before: Snapshot;
  #last: Snapshot;

  /** @param source The broker's state. */
  constructor(source: BrokerMetricsSource) {
    this.#source = source;
    this.#last = this.#snapshot();
    this.#before = this.#last;
  }

  /**
   * Rates over the last one to two sample intervals (up to now), without recording a point.
   *
   * @returns Messages per second in and out.
   */
  current(): { tpsIn: number; tpsOut: number } {
    return rates(this.#before, this.#snapshot());
  }

  /** Record a point (rates since the previous sample, current lag). */
  sample(): void {
    const now = this.#snapshot();
    const { tpsIn, tpsOut } = rates(this.#last, now);
    let lagMessages = 0;
    const store = this.#source.store;
    for (const entry of store.listConsumerOffsets()) {
      lagMessages += Math.max(
        0,
        store.getMaxOffsetInQueue(entry.topic, entry.queueId) - entry.offset,
      );
    }
    this.#before = this.#last;
    this.#last = now;
    this.#points.push({ timeMs: this.#source.nowMs(), tpsIn, tpsOut, lagMessages });
    if (this.#points.length > HISTORY_SAMPLES_MAX) this.#points.shift();
  }

  #snapshot(): Snapshot {
    const totals = this.#source.remoting.totals();
    return {
      timeMs: performance.now(),
      messagesIn: totals.messagesIn,
      messagesOut: totals.messagesOut,
    };
  }

  /**
   * The recorded points, oldest first.
   *
   * @returns A copy of the ring.
   */
  points(): HistoryPoint[] {
    return [...this.#points];
  }
}
