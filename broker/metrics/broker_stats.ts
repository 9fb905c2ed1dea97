/**
 * RocketMQ's broker statistics for `statsAll` (VIEW_BROKER_STATS_DATA):
 * per key sums and rates over the last minute, hour and day, built from the
 * in/out counters of {@linkcode RemotingMetrics} sampled every
 * {@linkcode STATS_SAMPLE_INTERVAL_MS}.
 *
 * Keys as RocketMQ names them: `TOPIC_PUT_NUMS` / `TOPIC_PUT_SIZE` by topic,
 * `GROUP_GET_NUMS` / `GROUP_GET_SIZE` by `topic@group`. The day window spans
 * at most the time since the broker started.
 *
 * @module
 */

import type { Clock } from "../domain/clock.ts";
import type { RemotingMetrics } from "./remoting_metrics.ts";

/** Time between samples, ms. */
export const STATS_SAMPLE_INTERVAL_MS = 10_000;
/** Samples kept: one hour. */
export const STATS_SAMPLES_MAX = 360;

/** The stats names this broker answers. */
export const STATS_NAMES = ["TOPIC_PUT_NUMS", "TOPIC_PUT_SIZE", "GROUP_GET_NUMS", "GROUP_GET_SIZE"];

/** One window of RocketMQ's `BrokerStatsData`. */
export interface BrokerStatsItem {
  /** Total over the window. */
  readonly sum: number;
  /** Per second over the window. */
  readonly tps: number;
  /** Average per sample interval (RocketMQ: average per stat period). */
  readonly avgpt: number;
}

/** RocketMQ's `BrokerStatsData` JSON. */
export interface BrokerStatsData {
  readonly statsMinute: BrokerStatsItem;
  readonly statsHour: BrokerStatsItem;
  readonly statsDay: BrokerStatsItem;
}

interface Sample {
  readonly timeMs: number;
  readonly values: ReadonlyMap<string, number>;
}

/** Samples the in/out counters and answers windowed stats. */
export class BrokerStats {
  readonly #remoting: RemotingMetrics;
  readonly #clock: Clock;
  readonly #samples: Sample[] = [];
  readonly #start: Sample;
  #cancel: () => void = () => {};

  /**
   * @param remoting The counters.
   * @param clock Clock (sampling timer and times).
   */
  constructor(remoting: RemotingMetrics, clock: Clock) {
    this.#remoting = remoting;
    this.#clock = clock;
    this.#start = this.#take();
  }

  /** Start sampling every {@linkcode STATS_SAMPLE_INTERVAL_MS}. */
  start(): void {
    const tick = () => {
      this.sample();
      this.#cancel = this.#clock.schedule(tick, STATS_SAMPLE_INTERVAL_MS);
    };
    this.#cancel = this.#clock.schedule(tick, STATS_SAMPLE_INTERVAL_MS);
  }

  /** Stop sampling. */
  close(): void {
    this.#cancel();
  }

  /** Take one sample now (the timer does this; tests may too). */
  sample(): void {
    this.#samples.push(this.#take());
    if (this.#samples.length > STATS_SAMPLES_MAX) this.#samples.shift();
  }

  /**
   * Stats of one key.
   *
   * @param statsName One of {@linkcode STATS_NAMES}.
   * @param statsKey Topic, or `topic@group` for the GROUP_ names.
   * @returns The windows, or undefined for an unknown stats name.
   */
  get(statsName: string, statsKey: string): BrokerStatsData | undefined {
    if (!STATS_NAMES.includes(statsName)) return undefined;
    const key = `${statsName}\u0001${statsKey}`;
    const now = this.#take();
    const value = (s: Sample) => s.values.get(key) ?? 0;
    const window = (spanMs: number): BrokerStatsItem => {
      // The oldest sample inside the window, or the start when the broker is younger.
      let from = this.#start;
      for (const s of spanMs > STATS_SAMPLES_MAX * STATS_SAMPLE_INTERVAL_MS ? [] : this.#samples) {
        if (now.timeMs - s.timeMs <= spanMs) {
          from = s;
          break;
        }
      }
      const sum = value(now) - value(from);
      const seconds = Math.max(1, (now.timeMs - from.timeMs) / 1000);
      const periods = Math.max(1, (now.timeMs - from.timeMs) / STATS_SAMPLE_INTERVAL_MS);
      return { sum, tps: sum / seconds, avgpt: sum / periods };
    };
    return {
      statsMinute: window(60_000),
      statsHour: window(3_600_000),
      statsDay: window(Infinity),
    };
  }

  #take(): Sample {
    const values = new Map<string, number>();
    for (const row of this.#remoting.inFlows()) {
      const nums = `TOPIC_PUT_NUMS\u0001${row.topic}`;
      const size = `TOPIC_PUT_SIZE\u0001${row.topic}`;
      values.set(nums, (values.get(nums) ?? 0) + row.messages);
      values.set(size, (values.get(size) ?? 0) + row.bytes);
    }
    for (const row of this.#remoting.outFlows()) {
      values.set(`GROUP_GET_NUMS\u0001${row.topic}@${row.group}`, row.messages);
      values.set(`GROUP_GET_SIZE\u0001${row.topic}@${row.group}`, row.bytes);
    }
    return { timeMs: this.#clock.nowMs(), values };
  }
}
