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
  #last: { timeMs: number; messagesIn: number; messagesOut: number };

  /** @param source The broker's state. */
  constructor(source: BrokerMetricsSource) {
    this.#source = source;
    const totals = source.remoting.totals();
    this.#last = { timeMs: performance.now(), ...totals };
  }

  /**
   * Rates since the last sample, without recording a point.
   *
   * @returns Messages per second in and out.
   */
  current(): { tpsIn: number; tpsOut: number } {
    const totals = this.#source.remoting.totals();
    const seconds = Math.max(0.001, (performance.now() - this.#last.timeMs) / 1000);
    return {
      tpsIn: (totals.messagesIn - this.#last.messagesIn) / seconds,
      tpsOut: (totals.messagesOut - this.#last.messagesOut) / seconds,
    };
  }

  /** Record a point (rates since the previous one, current lag). */
  sample(): void {
    const { tpsIn, tpsOut } = this.current();
    let lagMessages = 0;
    const store = this.#source.store;
    for (const entry of store.listConsumerOffsets()) {
      lagMessages += Math.max(
        0,
        store.getMaxOffsetInQueue(entry.topic, entry.queueId) - entry.offset,
      );
    }
    const totals = this.#source.remoting.totals();
    this.#last = { timeMs: performance.now(), ...totals };
    this.#points.push({ timeMs: this.#source.nowMs(), tpsIn, tpsOut, lagMessages });
    if (this.#points.length > HISTORY_SAMPLES_MAX) this.#points.shift();
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
