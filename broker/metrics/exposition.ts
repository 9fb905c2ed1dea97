/**
 * Prometheus exposition shared by the broker and the name server: a registry
 * of metrics whose values are *collected at scrape time*, and a cheap
 * fixed-bucket histogram for the few values that must be observed as they
 * happen (RPC latency, message size).
 *
 * Formatting, escaping and content negotiation come from npm `prom-client`
 * (see docs/adr/0004-metrics-exposition.md); this module only adapts it so
 * that nothing on the request path allocates label objects or hashes label
 * sets: counters are read from what the broker and store already keep, and
 * histograms count into typed arrays keyed by a number.
 *
 * This module imports nothing from the broker, so `namesrv/` can build its
 * own `/metrics` on it.
 *
 * @module
 */

import { Registry } from "prom-client";

/** Label values of one sample. */
export type Labels = Readonly<Record<string, string | number>>;

/** One exposed value. `suffix` is appended to the metric name (`_bucket`, `_sum`, `_count`). */
export interface Sample {
  /** Label values; omitted for an unlabelled metric. */
  readonly labels?: Labels;
  /** The value. */
  readonly value: number;
  /** Name suffix of histogram series. */
  readonly suffix?: string;
}

/** The Prometheus metric types this module exposes. */
export type MetricType = "counter" | "gauge" | "histogram";

/** A metric whose samples are produced at scrape time. */
export interface CollectedMetric {
  /** Metric name, e.g. `rocketmq_messages_in_total`. */
  readonly name: string;
  /** One-line help text. */
  readonly help: string;
  /** Prometheus type. */
  readonly type: MetricType;
  /** Produces the samples; called once per scrape. */
  collect(): readonly Sample[] | Promise<readonly Sample[]>;
}

/**
 * A set of scrape-time metrics rendered in the Prometheus text format.
 *
 * Labels common to every sample (`cluster`, `node_type`, `node_id`, as
 * RocketMQ 5 adds them) are given once to the constructor.
 */
export class MetricsExposition {
  readonly #registry = new Registry();

  /** @param commonLabels Labels added to every sample. */
  constructor(commonLabels: Readonly<Record<string, string>> = {}) {
    this.#registry.setDefaultLabels({ ...commonLabels });
  }

  /**
   * Add a metric.
   *
   * @param metric Name, help, type and the collect function.
   * @throws {Error} If a metric of that name was already added.
   */
  add(metric: CollectedMetric): void {
    const { name, help, type } = metric;
    // prom-client renders any registered object with this get() shape; using it
    // directly keeps its label escaping and text format without its per-observation cost.
    const adapter = {
      name,
      help,
      type,
      aggregator: "sum",
      get: async () => ({
        name,
        help,
        type,
        aggregator: "sum",
        values: (await metric.collect()).map((sample) => ({
          value: sample.value,
          labels: sample.labels ?? {},
          metricName: sample.suffix === undefined ? undefined : name + sample.suffix,
        })),
      }),
    };
    this.#registry.registerMetric(adapter as unknown as Parameters<Registry["registerMetric"]>[0]);
  }

  /** The `Content-Type` of {@linkcode MetricsExposition.text}. */
  get contentType(): string {
    return this.#registry.contentType;
  }

  /**
   * Render every metric.
   *
   * @returns The Prometheus text exposition.
   */
  text(): Promise<string> {
    return this.#registry.metrics();
  }
}

/**
 * A fixed-bucket histogram keyed by a number (e.g. `requestCode * 1000 + responseCode`).
 *
 * `observe` is a map lookup, a short bucket scan and three additions; the
 * label object is built only when a key is first seen. Lives on the thread
 * that observes and is read on the same thread at scrape time.
 */
export class KeyedHistogram {
  readonly #bounds: readonly number[];
  readonly #series = new Map<number, {
    labels: Labels;
    counts: Float64Array;
    sum: number;
    count: number;
  }>();

  /** @param bounds Upper bounds of the buckets, ascending (`+Inf` is implicit). */
  constructor(bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i] > bounds[i - 1])) throw new RangeError("Histogram bounds must ascend");
    }
    this.#bounds = bounds;
  }

  /**
   * Count one value.
   *
   * @param key The series' numeric key.
   * @param labels Builds the series' labels the first time the key is seen.
   * @param value The observed value.
   */
  observe(key: number, labels: () => Labels, value: number): void {
    let series = this.#series.get(key);
    if (series === undefined) {
      series = {
        labels: labels(),
        counts: new Float64Array(this.#bounds.length),
        sum: 0,
        count: 0,
      };
      this.#series.set(key, series);
    }
    const bounds = this.#bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        series.counts[i]++;
        break;
      }
    }
    series.sum += value;
    series.count++;
  }

  /**
   * The Prometheus samples: cumulative `_bucket` series, `_sum` and `_count`.
   *
   * @returns The samples of every series.
   */
  samples(): Sample[] {
    const out: Sample[] = [];
    for (const series of this.#series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += series.counts[i];
        out.push({
          labels: { ...series.labels, le: this.#bounds[i] },
          value: cumulative,
          suffix: "_bucket",
        });
      }
      out.push({
        labels: { ...series.labels, le: "+Inf" },
        value: series.count,
        suffix: "_bucket",
      });
      out.push({ labels: series.labels, value: series.sum, suffix: "_sum" });
      out.push({ labels: series.labels, value: series.count, suffix: "_count" });
    }
    return out;
  }
}
