/**
 * Timer benchmark: many pending timers through the timer wheel, the delay
 * between each timer's due time and its delivery, and the memory it takes.
 *
 * Method: a LocalMessageStore (async flush, index on) in a temp dir and a
 * TimerMessageService on the system clock (precision 100 ms, 2^17 slots).
 * `timers` timer messages go through the send-time transform and into the
 * timer queue in batches of 512, timer i due at
 * `firstDue + floor(i × spreadMs / timers)`, `firstDue = start + leadMs`, so
 * all are pending before the first is due (`loadOverlappedDue` says if not).
 * The store is wrapped so that each delivered put, when it resolves, records
 * `now − due` (the due time travels in the body). Memory is sampled with
 * `Deno.memoryUsage()` before loading, once everything is pending, and after
 * delivery.
 *
 * Modes (each prints `distinctDueTimes`, `spreadMs` and `dueRatePerSec`):
 * - default: 1,000,000 timers over 100 s: 100,000 distinct due milliseconds,
 *   10 timers each, 10,000 due per second. About 2.5 minutes.
 * - `--distinct`: 1,000,000 timers at 1,000,000 distinct due milliseconds
 *   (one per ms, over 1,000 s). About 17 minutes.
 * - `--burst`: every timer due at the same millisecond; `deliverPerSec` is
 *   then the delivery throughput (the rate the service can sustain).
 * - `--quick`: 100,000 timers over 5 s (20,000 due per second), about 15 s.
 * `deliverPerSec` is deliveries per second from the first due time to the
 * last delivery (for a spread run it follows the due rate while the service
 * keeps up).
 *
 * Run: `deno run --allow-read --allow-write --allow-env bench/timer_bench.ts
 * [--quick | --distinct | --burst] [--timers=N] [--spread-ms=MS] [--lead-ms=MS]`
 * Prints one JSON line.
 *
 * @module
 */

import { encodeProperties } from "../client/protocol/properties.ts";
import { TimerMessageService } from "../broker/domain/timer/timer_service.ts";
import { TIMER_TOPIC, transformTimerMessage } from "../broker/domain/timer/timer_transform.ts";
import { SystemClock } from "../broker/infra/system_clock.ts";
import { TIMER_LOG_PATH, TimerLog } from "../store/domain/timer/timer_log.ts";
import { TimerWheel } from "../store/domain/timer/timer_wheel.ts";
import { FsStoreFileSystem } from "../store/infra/fs_segment.ts";
import {
  defaultStoreConfig,
  LocalMessageStore,
  type MessageStore,
  type MessageToPut,
  type PutMessageResult,
} from "../store/mod.ts";

/** Options of `runTimerBench`. */
export interface TimerBenchOptions {
  /** Timers to schedule. Default 1,000,000 (100,000 with `quick`). */
  readonly timers?: number;
  /** Due times spread over this long, ms. Default 100,000 (5,000 with `quick`). */
  readonly spreadMs?: number;
  /** First due time after the start, ms (must exceed the load time). Default 30,000 (6,000 with `quick`). */
  readonly leadMs?: number;
  /** Wheel tick, ms. Default 100. */
  readonly precisionMs?: number;
  /** Parent of the temp data dir. Default: the system temp dir. */
  readonly dir?: string;
  /** Smaller defaults for a fast run. */
  readonly quick?: boolean;
}

/** The benchmark's figures (one JSON line). */
export interface TimerBenchResult {
  readonly case: "timer";
  readonly timers: number;
  /** Distinct due milliseconds among the timers. */
  readonly distinctDueTimes: number;
  readonly precisionMs: number;
  /** Due times spread over this long, ms. */
  readonly spreadMs: number;
  /** Timers coming due per second (timers / spread). */
  readonly dueRatePerSec: number;
  /** Time to put every timer message into the timer queue, ms. */
  readonly loadMs: number;
  /** Timer messages put per second while loading. */
  readonly loadPerSec: number;
  /** True if some timer came due before loading finished (its delay then includes load time). */
  readonly loadOverlappedDue: boolean;
  readonly delivered: number;
  /** Delivery delay after due, ms. */
  readonly delayP50Ms: number;
  readonly delayP99Ms: number;
  readonly delayMaxMs: number;
  /** Deliveries before due (must be 0). */
  readonly early: number;
  /** Deliveries per second from the first due time to the last delivery. */
  readonly deliverPerSec: number;
  /** Bytes held by the wheel's slot arrays. */
  readonly wheelSlotBytes: number;
  readonly rssMbBefore: number;
  readonly rssMbPending: number;
  readonly rssMbAfter: number;
  readonly heapMbBefore: number;
  readonly heapMbPending: number;
  readonly heapMbAfter: number;
  readonly seconds: number;
}

const MB = 1024 * 1024;

/**
 * Run the timer benchmark once.
 *
 * @param options Sizes and paths.
 * @returns The figures.
 * @throws {Error} If not every timer is delivered within `leadMs + spreadMs + 60 s`.
 */
export async function runTimerBench(options: TimerBenchOptions = {}): Promise<TimerBenchResult> {
  const quick = options.quick ?? false;
  const timers = options.timers ?? (quick ? 100_000 : 1_000_000);
  const spreadMs = options.spreadMs ?? (quick ? 5_000 : 100_000);
  const leadMs = options.leadMs ?? (quick ? 6_000 : 30_000);
  const precisionMs = options.precisionMs ?? 100;
  const started = performance.now();
  const dataDir = await Deno.makeTempDir({ dir: options.dir, prefix: "rmq_timer_bench_" });
  const delays = new Int32Array(timers);
  let delivered = 0;
  let lastDeliveryMs = 0;
  const local = new LocalMessageStore(
    defaultStoreConfig(dataDir, {
      flushMode: "async",
      commitLogSegmentBytes: 256 * MB,
      deleteWhenHours: [],
    }),
  );
  await local.open();
  const record = (messages: readonly MessageToPut[]): void => {
    const now = Date.now();
    for (const m of messages) {
      if (m.topic === TIMER_TOPIC) continue;
      const due = new DataView(m.body.buffer, m.body.byteOffset, 8).getFloat64(0);
      if (delivered < delays.length) delays[delivered++] = now - due;
    }
    lastDeliveryMs = now;
  };
  const store: MessageStore = new Proxy(local, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (name === "putMessage") {
        return async (m: MessageToPut): Promise<PutMessageResult> => {
          const result = await target.putMessage(m);
          if (result.status === "PUT_OK") record([m]);
          return result;
        };
      }
      if (name === "putMessages") {
        return async (ms: MessageToPut[]): Promise<PutMessageResult> => {
          const result = await target.putMessages(ms);
          if (result.status === "PUT_OK") record(ms);
          return result;
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const fs = new FsStoreFileSystem(dataDir);
  const wheel = new TimerWheel(new TimerLog(fs.segments(TIMER_LOG_PATH)), fs, { precisionMs });
  const service = new TimerMessageService(store, wheel, new SystemClock(), {
    enqueueBatchMessages: 1024,
    deliverBatchMessages: 1024,
  });
  try {
    await service.start();
    const before = Deno.memoryUsage();
    const t0 = Date.now();
    const firstDue = t0 + leadMs;
    const bornHost = { ip: new Uint8Array([127, 0, 0, 1]), port: 1 };
    const batch: MessageToPut[] = [];
    const loadStart = performance.now();
    for (let i = 0; i < timers; i++) {
      const due = firstDue + Math.floor((i * spreadMs) / timers);
      const body = new Uint8Array(16);
      new DataView(body.buffer).setFloat64(0, due);
      const transformed = transformTimerMessage({
        topic: "BenchTimer",
        queueId: i % 4,
        flag: 0,
        body,
        properties: encodeProperties({ UNIQ_KEY: `B${i}`, TIMER_DELIVER_MS: String(due) }),
        sysFlag: 0,
        bornTimestamp: t0,
        bornHost,
        reconsumeTimes: 0,
        preparedTransactionOffset: 0,
      }, Date.now());
      if (transformed.kind !== "scheduled") {
        throw new Error(`timer ${i} was not scheduled: ${transformed.kind}`);
      }
      batch.push(transformed.message);
      if (batch.length === 512 || i === timers - 1) {
        const result = await local.putMessages(batch);
        if (result.status !== "PUT_OK") throw new Error(`load put failed: ${result.status}`);
        batch.length = 0;
      }
    }
    const loadMs = performance.now() - loadStart;
    // Let the service link everything before sampling "pending" memory.
    while (service.stats().enqueued < timers && Date.now() < firstDue) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const loadOverlappedDue = Date.now() >= firstDue;
    const pending = Deno.memoryUsage();
    const deadline = firstDue + spreadMs + 60_000;
    while (delivered < timers && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (delivered < timers) throw new Error(`only ${delivered} of ${timers} timers delivered`);
    const after = Deno.memoryUsage();
    const sorted = delays.slice(0, delivered).sort();
    let early = 0;
    for (const d of sorted) if (d < 0) early++;
    const pct = (p: number): number =>
      sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    return {
      case: "timer",
      timers,
      distinctDueTimes: Math.max(1, Math.min(timers, spreadMs)),
      precisionMs,
      spreadMs,
      dueRatePerSec: spreadMs === 0 ? timers : Math.round(timers / (spreadMs / 1000)),
      loadMs: Math.round(loadMs),
      loadPerSec: Math.round(timers / (loadMs / 1000)),
      loadOverlappedDue,
      delivered,
      delayP50Ms: pct(0.5),
      delayP99Ms: pct(0.99),
      delayMaxMs: sorted[sorted.length - 1],
      early,
      deliverPerSec: Math.round(delivered / (Math.max(1, lastDeliveryMs - firstDue) / 1000)),
      wheelSlotBytes: wheel.slotMemoryBytes,
      rssMbBefore: Math.round(before.rss / MB),
      rssMbPending: Math.round(pending.rss / MB),
      rssMbAfter: Math.round(after.rss / MB),
      heapMbBefore: Math.round(before.heapUsed / MB),
      heapMbPending: Math.round(pending.heapUsed / MB),
      heapMbAfter: Math.round(after.heapUsed / MB),
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
  } finally {
    await service.close().catch(() => {});
    await local.close().catch(() => {});
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const arg = (name: string): number | undefined => {
    const found = Deno.args.find((a) => a.startsWith(`--${name}=`));
    return found === undefined ? undefined : Number(found.slice(name.length + 3));
  };
  const timers = arg("timers");
  const distinct = Deno.args.includes("--distinct");
  const burst = Deno.args.includes("--burst");
  const result = await runTimerBench({
    quick,
    timers,
    // One timer per millisecond, or all at one millisecond.
    spreadMs: arg("spread-ms") ??
      (distinct ? timers ?? 1_000_000 : burst ? 0 : undefined),
    leadMs: arg("lead-ms"),
    dir: Deno.env.get("RMQ_BENCH_DIR"),
  });
  console.log(JSON.stringify(result));
}
