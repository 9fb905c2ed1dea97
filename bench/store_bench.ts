/**
 * Store benchmark: the WorkerMessageStore against the raw disk ceiling.
 *
 * Cases (1 KiB message bodies; one JSON line per case on stdout):
 *
 * - `ceiling`: sequential `FsFile.writeSync` of the same record bytes in
 *   256 KiB batches with one `syncDataSync` per batch: what the disk and the
 *   sync file API allow, the denominator of `ratioToCeiling`.
 * - `async_put`: `putMessage` from the main thread through the request ring,
 *   `async` flush, acknowledged when appended (`awaitDispatch: false`).
 * - `async_put_visible`: the same, acknowledged once dispatched (the default).
 * - `sync_put_256`: `sync` flush (group commit), 256 puts in flight.
 * - `sync_put_1`, `sync_put_1_visible`: one `sync` put at a time (a sequential
 *   sender), acknowledged when flushed / once dispatched too; adds `p50Us` and
 *   `p99Us` put latency.
 * - `get_32`: `getMessage` of 32-message batches, warm page cache.
 * - `recovery`: open time of a store whose process was SIGKILLed after
 *   writing `recoveryBytes` (default 1 GiB; `--quick` 64 MiB), in one
 *   CommitLog segment, so recovery CRC-scans and re-dispatches all of it.
 *
 * Run: `deno run --allow-read --allow-write --allow-env --allow-run bench/store_bench.ts [--quick]`
 * Env: `RMQ_BENCH_DIR` (data dir parent), `RMQ_BENCH_RECOVERY_BYTES`,
 * `RMQ_BENCH_INDEX=off` (no key index).
 *
 * @module
 */

import process from "node:process";
import { recordSize } from "../client/protocol/message_record.ts";
import { threadCpuMs } from "./proc_stats.ts";
import { WorkerMessageStore } from "../store/infra/worker_message_store.ts";
import {
  defaultStoreConfig,
  type MessageStoreConfig,
  type MessageToPut,
  type PutMessageResult,
} from "../store/message_store.ts";

/** One benchmark outcome (one JSON line). */
export interface BenchResult {
  /** Case name (`ceiling`, `async_put`, ...). */
  readonly case: string;
  /** Messages moved. */
  readonly msgs: number;
  /** Wall time of the measured part, seconds. */
  readonly seconds: number;
  /** Messages per second. */
  readonly msgsPerSec: number;
  /** Record bytes per second, MiB/s. */
  readonly mbPerSec: number;
  /** Throughput relative to the `ceiling` case (bytes/s over bytes/s); null for the ceiling itself or when not comparable. */
  readonly ratioToCeiling: number | null;
  /**
   * Process CPU time (user + system, every thread) per message, µs. Unlike
   * the rates it hardly moves when other processes load the machine.
   */
  readonly cpuUsPerMsg: number;
  /**
   * Put cases only: CPU µs per message of each thread that used at least
   * 0.05 (`/proc/self/task`, 10 ms ticks; keyed `name/tid`).
   */
  readonly threadCpuUsPerMsg?: Record<string, number>;
  /** Latency cases only: put latency percentiles, µs. */
  readonly p50Us?: number;
  /** Latency cases only: 99th percentile put latency, µs. */
  readonly p99Us?: number;
}

/** Options of `runStoreBench`. */
export interface StoreBenchOptions {
  /** Messages for the async put case. Default 500,000 (100,000 with `quick`). */
  readonly asyncMessages?: number;
  /** Messages for the sync put case. Default 200,000 (50,000 with `quick`). */
  readonly syncMessages?: number;
  /** Messages read by the get case. Default 2,000,000 (500,000 with `quick`). */
  readonly getMessages?: number;
  /** CommitLog bytes for the recovery case. Default 1 GiB (64 MiB with `quick`). */
  readonly recoveryBytes?: number;
  /** Smaller defaults for a fast run. */
  readonly quick?: boolean;
  /** Parent of the temporary data dirs. Default: the system temp dir. */
  readonly dir?: string;
  /** Cases to run (default all). */
  readonly cases?: readonly string[];
  /** Called with each result as soon as it is known. */
  readonly onResult?: (result: BenchResult) => void;
}

const BODY_BYTES = 1024;
const TOPIC = "BenchTopic";
const QUEUES = 4;
const BATCH_BYTES = 256 * 1024;
const MB = 1024 * 1024;

/** Prefix of the bench messages' UNIQ_KEY (a producer's id); a hex sequence completes it. */
const UNIQ_PREFIX = "7F00000100002A9F0000000000";

/**
 * The message `seq` of the bench: 1 KiB body, a tag, and a unique key (as
 * every RocketMQ client sets), which the dispatch worker also indexes.
 */
function benchMessage(seq: number, body: Uint8Array): MessageToPut {
  return {
    topic: TOPIC,
    queueId: seq % QUEUES,
    flag: 0,
    body,
    properties: `TAGS\u0001bench\u0002UNIQ_KEY\u0001${UNIQ_PREFIX}${
      (seq & 0xffffff).toString(16).padStart(6, "0")
    }\u0002`,
    sysFlag: 0,
    bornTimestamp: Date.now(),
    bornHost: BORN_HOST,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  };
}

const BORN_HOST = { ip: new Uint8Array([127, 0, 0, 1]), port: 40000 };

function benchBody(): Uint8Array {
  const body = new Uint8Array(BODY_BYTES);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
  return body;
}

const RECORD_BYTES = recordSize(
  BODY_BYTES,
  TOPIC.length,
  benchMessage(0, new Uint8Array(0)).properties.length,
);

/** CPU time of the whole process so far (every thread), µs. */
function cpuNowUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

function result(
  name: string,
  msgs: number,
  seconds: number,
  bytes: number,
  ceilingMbPerSec: number | undefined,
  cpuUs: number,
): BenchResult {
  const mbPerSec = bytes / MB / seconds;
  return {
    case: name,
    msgs,
    seconds: Number(seconds.toFixed(3)),
    msgsPerSec: Math.round(msgs / seconds),
    mbPerSec: Number(mbPerSec.toFixed(1)),
    ratioToCeiling: ceilingMbPerSec === undefined
      ? null
      : Number((mbPerSec / ceilingMbPerSec).toFixed(3)),
    cpuUsPerMsg: Number((cpuUs / msgs).toFixed(2)),
  };
}

/** Raw ceiling: 256 KiB writeSync batches of the records' bytes, fdatasync per batch. */
function runCeiling(dir: string, msgs: number): BenchResult {
  const path = `${dir}/ceiling.bin`;
  const file = Deno.openSync(path, { create: true, write: true, truncate: true });
  const batch = new Uint8Array(BATCH_BYTES);
  const record = new Uint8Array(RECORD_BYTES).fill(7);
  const cpu = cpuNowUs();
  const started = performance.now();
  try {
    let used = 0;
    for (let i = 0; i < msgs; i++) {
      if (used + RECORD_BYTES > BATCH_BYTES) {
        file.writeSync(batch.subarray(0, used));
        file.syncDataSync();
        used = 0;
      }
      batch.set(record, used);
      used += RECORD_BYTES;
    }
    file.writeSync(batch.subarray(0, used));
    file.syncDataSync();
  } finally {
    file.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const cpuUs = cpuNowUs() - cpu;
  Deno.removeSync(path);
  return result("ceiling", msgs, seconds, msgs * RECORD_BYTES, undefined, cpuUs);
}

/**
 * Keep exactly `window` puts in flight (each answer issues the next put) until
 * `total` have been issued. Resolves with the number of puts not `PUT_OK`.
 */
function drivePuts(
  total: number,
  window: number,
  put: (i: number) => Promise<PutMessageResult>,
): Promise<number> {
  return new Promise((resolve) => {
    let issued = 0;
    let answered = 0;
    let failed = 0;
    const onAnswer = (r: PutMessageResult) => {
      answered++;
      if (r.status !== "PUT_OK") failed++;
      if (issued < total) put(issued++).then(onAnswer);
      else if (answered === total) resolve(failed);
    };
    if (total === 0) resolve(0);
    while (issued < Math.min(window, total)) put(issued++).then(onAnswer);
  });
}

function storeConfig(dir: string, overrides: Partial<MessageStoreConfig>): MessageStoreConfig {
  return defaultStoreConfig(dir, {
    commitLogSegmentBytes: 1024 * MB,
    // `RMQ_BENCH_INDEX=off`: no key index, to price the index in the dispatch worker's CPU.
    ...(Deno.env.get("RMQ_BENCH_INDEX") === "off" ? { messageIndexEnable: false } : {}),
    ...overrides,
  });
}

async function runPuts(
  name: string,
  dir: string,
  msgs: number,
  window: number,
  overrides: Partial<MessageStoreConfig>,
  awaitDispatch: boolean,
  ceilingMbPerSec: number | undefined,
): Promise<BenchResult> {
  await using store = new WorkerMessageStore(storeConfig(dir, overrides), {
    awaitDispatch,
  });
  await store.open();
  const body = benchBody();
  // Warm up the workers and the code paths.
  await drivePuts(2000, window, (i) => store.putMessage(benchMessage(i, body)));
  const threadsBefore = threadCpuMs(Deno.pid);
  const cpu = cpuNowUs();
  const started = performance.now();
  const failed = await drivePuts(msgs, window, (i) => store.putMessage(benchMessage(i, body)));
  const seconds = (performance.now() - started) / 1000;
  const cpuUs = cpuNowUs() - cpu;
  const threadsAfter = threadCpuMs(Deno.pid);
  if (failed > 0) throw new Error(`${name}: ${failed} puts failed`);
  const perThread: Record<string, number> = {};
  for (const [thread, ms] of threadsAfter ?? []) {
    const us = (ms - (threadsBefore?.get(thread) ?? 0)) * 1000 / msgs;
    if (us >= 0.05) perThread[thread] = Number(us.toFixed(2));
  }
  return {
    ...result(name, msgs, seconds, msgs * RECORD_BYTES, ceilingMbPerSec, cpuUs),
    threadCpuUsPerMsg: perThread,
  };
}

/**
 * One put at a time, `sync` flush: the latency of a single send's store part
 * (ring hop, append, fdatasync, answer; plus the dispatch hop when
 * `awaitDispatch`).
 */
async function runSequential(
  name: string,
  dir: string,
  msgs: number,
  awaitDispatch: boolean,
): Promise<BenchResult> {
  await using store = new WorkerMessageStore(storeConfig(dir, { flushMode: "sync" }), {
    awaitDispatch,
  });
  await store.open();
  const body = benchBody();
  for (let i = 0; i < 500; i++) await store.putMessage(benchMessage(i, body));
  const latencies = new Float64Array(msgs);
  const cpu = cpuNowUs();
  const started = performance.now();
  for (let i = 0; i < msgs; i++) {
    const t0 = performance.now();
    const r = await store.putMessage(benchMessage(i, body));
    latencies[i] = performance.now() - t0;
    if (r.status !== "PUT_OK") throw new Error(`${name}: put ${i} is ${r.status}`);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpuUs = cpuNowUs() - cpu;
  latencies.sort();
  return {
    ...result(name, msgs, seconds, msgs * RECORD_BYTES, undefined, cpuUs),
    p50Us: Math.round(latencies[Math.floor(msgs * 0.5)] * 1000),
    p99Us: Math.round(latencies[Math.floor(msgs * 0.99)] * 1000),
  };
}

async function runGets(dir: string, msgs: number): Promise<BenchResult> {
  await using store = new WorkerMessageStore(storeConfig(dir, { flushMode: "async" }), {
    awaitDispatch: true,
  });
  await store.open();
  let max = store.getMaxOffsetInQueue(TOPIC, 0);
  if (max < 32 * 1024) {
    // Queue 0's records interleave with three other queues', as in a real CommitLog.
    const body = benchBody();
    await drivePuts(QUEUES * 32 * 1024, 4096, (i) => store.putMessage(benchMessage(i, body)));
    max = store.getMaxOffsetInQueue(TOPIC, 0);
  }
  // Warm pass: pull the queue's pages into the page cache.
  const readAll = async (budget: number): Promise<[number, number]> => {
    let read = 0;
    let bytes = 0;
    let offset = 0;
    while (read < budget) {
      const got = await store.getMessage({
        group: "bench",
        topic: TOPIC,
        queueId: 0,
        queueOffset: offset,
        maxCount: 32,
      });
      if (got.messages.length === 0) {
        offset = 0;
        continue;
      }
      read += got.messages.length;
      for (const m of got.messages) bytes += m.record.length;
      offset = got.nextBeginOffset >= max ? 0 : got.nextBeginOffset;
    }
    return [read, bytes];
  };
  await readAll(Math.min(max, 200_000));
  const cpu = cpuNowUs();
  const started = performance.now();
  const [read, bytes] = await readAll(msgs);
  const seconds = (performance.now() - started) / 1000;
  return result("get_32", read, seconds, bytes, undefined, cpuNowUs() - cpu);
}

/** Child mode: fill a store with `bytes` of records (async flush), print `filled <msgs>`, wait to be killed. */
async function fillChild(dir: string, bytes: number): Promise<void> {
  const store = new WorkerMessageStore(
    storeConfig(dir, {
      flushMode: "async",
      commitLogSegmentBytes: Math.max(1024 * MB, bytes + MB),
    }),
    { awaitDispatch: true },
  );
  await store.open();
  const body = benchBody();
  const total = Math.ceil(bytes / RECORD_BYTES);
  await drivePuts(total, 4096, (i) => store.putMessage(benchMessage(i, body)));
  await Deno.stdout.write(new TextEncoder().encode(`filled ${total}\n`));
  // Stay alive (the open store keeps the event loop busy) until SIGKILL.
  await new Promise(() => {});
}

async function runRecovery(dir: string, bytes: number): Promise<BenchResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      new URL(import.meta.url).pathname,
      "--fill-child",
      dir,
      String(bytes),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let msgs = 0;
  let text = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    const match = /filled (\d+)/.exec(text);
    if (match !== null) {
      msgs = Number(match[1]);
      child.kill("SIGKILL");
      break;
    }
  }
  await child.status;
  if (msgs === 0) throw new Error("recovery: the fill child did not finish");
  // Drop nothing from the page cache (no privilege): this measures a warm-cache recovery.
  const cpu = cpuNowUs();
  const started = performance.now();
  const store = new WorkerMessageStore(
    storeConfig(dir, {
      flushMode: "async",
      commitLogSegmentBytes: Math.max(1024 * MB, bytes + MB),
    }),
  );
  await store.open();
  const seconds = (performance.now() - started) / 1000;
  const cpuUs = cpuNowUs() - cpu;
  const recovered = store.getMaxOffsetInQueue(TOPIC, 0) + store.getMaxOffsetInQueue(TOPIC, 1) +
    store.getMaxOffsetInQueue(TOPIC, 2) + store.getMaxOffsetInQueue(TOPIC, 3);
  await store.close();
  if (recovered < msgs) throw new Error(`recovery: ${recovered} of ${msgs} messages recovered`);
  return result("recovery", msgs, seconds, msgs * RECORD_BYTES, undefined, cpuUs);
}

/**
 * Run the store benchmark cases.
 *
 * @param options Sizes, cases, directory, result callback.
 * @returns One result per case run, in order.
 * @throws {Error} If a case fails (puts refused, recovery incomplete).
 */
export async function runStoreBench(options: StoreBenchOptions = {}): Promise<BenchResult[]> {
  const quick = options.quick ?? false;
  const envBytes = Number(Deno.env.get("RMQ_BENCH_RECOVERY_BYTES") ?? "");
  const asyncMessages = options.asyncMessages ?? (quick ? 100_000 : 500_000);
  const syncMessages = options.syncMessages ?? (quick ? 50_000 : 200_000);
  const getMessages = options.getMessages ?? (quick ? 500_000 : 2_000_000);
  const recoveryBytes = options.recoveryBytes ??
    (Number.isFinite(envBytes) && envBytes > 0 ? envBytes : quick ? 64 * MB : 1024 * MB);
  const cases = new Set(
    options.cases ??
      [
        "ceiling",
        "async_put",
        "async_put_visible",
        "sync_put_256",
        "sync_put_1",
        "sync_put_1_visible",
        "get_32",
        "recovery",
      ],
  );
  const parent = options.dir ?? Deno.env.get("RMQ_BENCH_DIR");
  const root = await Deno.makeTempDir({ prefix: "rmq_store_bench_", dir: parent });
  const results: BenchResult[] = [];
  const report = (r: BenchResult) => {
    results.push(r);
    options.onResult?.(r);
  };
  try {
    let ceiling: number | undefined;
    if (cases.has("ceiling")) {
      const r = runCeiling(root, asyncMessages);
      ceiling = r.mbPerSec;
      report(r);
    }
    if (cases.has("async_put")) {
      report(
        await runPuts(
          "async_put",
          `${root}/a`,
          asyncMessages,
          8192,
          { flushMode: "async" },
          false,
          ceiling,
        ),
      );
    }
    if (cases.has("async_put_visible")) {
      report(
        await runPuts(
          "async_put_visible",
          `${root}/av`,
          asyncMessages,
          8192,
          { flushMode: "async" },
          true,
          ceiling,
        ),
      );
    }
    if (cases.has("sync_put_256")) {
      report(
        await runPuts(
          "sync_put_256",
          `${root}/b`,
          syncMessages,
          256,
          { flushMode: "sync" },
          false,
          ceiling,
        ),
      );
    }
    const sequentialMessages = quick ? 2000 : 5000;
    if (cases.has("sync_put_1")) {
      report(await runSequential("sync_put_1", `${root}/s1`, sequentialMessages, false));
    }
    if (cases.has("sync_put_1_visible")) {
      report(await runSequential("sync_put_1_visible", `${root}/s2`, sequentialMessages, true));
    }
    if (cases.has("get_32")) report(await runGets(`${root}/a`, getMessages));
    if (cases.has("recovery")) report(await runRecovery(`${root}/d`, recoveryBytes));
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
  return results;
}

if (import.meta.main) {
  const args = Deno.args;
  if (args[0] === "--fill-child") {
    await fillChild(args[1], Number(args[2]));
  } else {
    const casesArg = args.find((a) => a.startsWith("--cases="));
    await runStoreBench({
      quick: args.includes("--quick"),
      cases: casesArg?.slice("--cases=".length).split(","),
      onResult: (r) => console.log(JSON.stringify(r)),
    });
  }
}
