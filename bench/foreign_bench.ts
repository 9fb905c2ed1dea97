/**
 * Foreign-client benchmark: the broker driven by what a RocketMQ Java client
 * sends (see `foreign_client.ts`), and Redis Streams with
 * `appendfsync always` as the peer in the same run when `redis-server` is
 * installed (skipped otherwise). 1 KiB bodies, `sync` flush, 4 queues.
 *
 * Cases, one JSON line each:
 * - `foreign_send_window`: single-message SEND_MESSAGE_V2 with up to
 *   `inFlight` unanswered, after a warm-up; msgs/s, broker CPU µs/msg (in
 *   total and per thread), broker RSS; `redis_xadd_window` is XADD with the
 *   same window;
 * - `foreign_send_latency`: sequential sends, each awaiting its response,
 *   p50/p99 µs; `redis_xadd_latency` likewise;
 * - `foreign_pull`: reading everything back with 32-message PULL_MESSAGE,
 *   one in flight per queue; `redis_xread` with COUNT 32 (one per stream in
 *   flight, 4 streams) and COUNT 1000.
 *
 * Each foreign case carries `ratioToRedis` (ours / Redis msgs/s, or latency
 * ratio) when the peer ran.
 *
 * Run: `deno run -A bench/foreign_bench.ts [--messages 200000] [--warmup 20000]
 * [--in-flight 1000] [--latency-sends 5000] [--no-redis]
 * [--broker-deno-flags "--cpu-prof --cpu-prof-dir=/tmp/prof"] [--broker-main other/broker/main.ts]`
 *
 * @module
 */

import { createAdmin } from "../client/admin.ts";
import { ResponseCode } from "../client/protocol/response_code.ts";
import { spawnBroker } from "../tests/_helpers/broker_process.ts";
import { countRecords, ForeignClient } from "./foreign_client.ts";
import { cpuMeter, cpuTimeMs, percentile, rssMb } from "./proc_stats.ts";
import { runRedisPeer } from "./redis_peer.ts";

/** Options of {@linkcode runForeignBench}. */
export interface ForeignBenchOptions {
  readonly messages: number;
  readonly warmup: number;
  readonly inFlight: number;
  readonly latencySends: number;
  readonly bodyBytes: number;
  readonly queues: number;
  readonly pullBatch: number;
  readonly redis: boolean;
  readonly brokerDenoFlags?: readonly string[];
  /** Another checkout's `broker/main.ts` to run instead (before/after figures). */
  readonly brokerMain?: string;
}

type Result = Record<string, unknown>;

/** Send `count` messages round-robin over the queues with at most `window` unanswered. */
function sendWindow(
  client: ForeignClient,
  count: number,
  window: number,
  queues: number,
  perQueue: number[],
): Promise<void> {
  return new Promise((resolve, reject) => {
    let issued = 0;
    let answered = 0;
    const onResponse = (r: { code: number; remark?: string }) => {
      if (r.code !== ResponseCode.SUCCESS) {
        reject(new Error(`send failed: code ${r.code} ${r.remark ?? ""}`));
        return;
      }
      answered++;
      if (answered === count) resolve();
      else if (issued < count) issue();
    };
    const issue = () => {
      const q = issued++ % queues;
      perQueue[q]++;
      client.send(q, onResponse);
    };
    while (issued < Math.min(window, count)) issue();
  });
}

function sendOne(client: ForeignClient, queueId: number): Promise<void> {
  return new Promise((resolve, reject) => {
    client.send(queueId, (r) => {
      if (r.code === ResponseCode.SUCCESS) resolve();
      else reject(new Error(`send failed: code ${r.code} ${r.remark ?? ""}`));
    });
  });
}

/** Pull every queue from offset 0 to its known end, one pull in flight per queue. */
function pullAll(
  client: ForeignClient,
  topic: string,
  ends: readonly number[],
  batch: number,
): Promise<number> {
  let total = 0;
  const queue = (queueId: number) =>
    new Promise<void>((resolve, reject) => {
      let offset = 0;
      const next = () => {
        if (offset >= ends[queueId]) {
          resolve();
          return;
        }
        client.pull(
          { group: "bench_foreign_consumer", topic, queueId, queueOffset: offset, max: batch },
          (r) => {
            if (r.code === ResponseCode.SUCCESS) {
              total += countRecords(r.body);
              offset = Number(r.extFields?.nextBeginOffset ?? offset);
              next();
            } else if (r.code === ResponseCode.PULL_NOT_FOUND) {
              next();
            } else {
              reject(new Error(`pull failed: code ${r.code} ${r.remark ?? ""}`));
            }
          },
        );
      };
      next();
    });
  return Promise.all(ends.map((_, q) => queue(q))).then(() => total);
}

/**
 * Run the foreign-client cases (and the Redis peer when installed).
 *
 * @param o Sizes.
 * @returns The results, in order.
 */
export async function runForeignBench(o: ForeignBenchOptions): Promise<Result[]> {
  const results: Result[] = [];
  const emit = (r: Result) => {
    results.push(r);
    console.log(JSON.stringify(r));
  };
  const body = new Uint8Array(o.bodyBytes).fill(0x61);
  const redis = o.redis ? await runRedisPeer(o) : undefined;
  if (redis === undefined && o.redis) {
    console.error("# foreign: redis-server not found; the Redis peer is skipped");
  }
  for (const r of redis?.results ?? []) emit(r);
  const peer = (name: string) => redis?.results.find((r) => r.case === name);
  const ratio = (ours: number, theirs: unknown) =>
    typeof theirs === "number" && theirs > 0 ? Number((ours / theirs).toFixed(2)) : undefined;

  await using broker = await spawnBroker({
    args: ["--flush", "sync"],
    denoFlags: o.brokerDenoFlags,
    brokerMain: o.brokerMain,
    stderr: "inherit",
  });
  {
    await using admin = await createAdmin({ endpoint: broker.endpoint });
    await admin.createTopic("ForeignBench", { readQueueNums: o.queues, writeQueueNums: o.queues });
  }
  const rssStart = rssMb(broker.pid);
  const client = await ForeignClient.connect(broker.port, "ForeignBench", body);
  try {
    const perQueue = new Array<number>(o.queues).fill(0);
    await sendWindow(client, o.warmup, o.inFlight, o.queues, perQueue);
    const cpu = cpuMeter(broker.pid);
    const clientCpu0 = cpuTimeMs("self") ?? 0;
    const started = performance.now();
    await sendWindow(client, o.messages, o.inFlight, o.queues, perQueue);
    const clientCpuMs = (cpuTimeMs("self") ?? 0) - clientCpu0;
    const seconds = (performance.now() - started) / 1000;
    const msgsPerSec = Math.round(o.messages / seconds);
    const { cpuUsPerMsg, threadsUsPerMsg } = cpu(o.messages);
    emit({
      case: "foreign_send_window",
      flush: "sync",
      messages: o.messages,
      warmup: o.warmup,
      inFlight: o.inFlight,
      bodyBytes: o.bodyBytes,
      msgsPerSec,
      seconds: Number(seconds.toFixed(3)),
      brokerCpuUsPerMsg: cpuUsPerMsg,
      brokerThreadsUsPerMsg: threadsUsPerMsg,
      clientCpuUsPerMsg: Number((clientCpuMs * 1000 / o.messages).toFixed(2)),
      brokerRssMbStart: rssStart,
      brokerRssMb: rssMb(broker.pid),
      ratioToRedis: ratio(msgsPerSec, peer("redis_xadd_window")?.msgsPerSec),
    });

    const latencies: number[] = [];
    const latencyCpu = cpuMeter(broker.pid);
    for (let i = 0; i < o.latencySends; i++) {
      const q = i % o.queues;
      perQueue[q]++;
      const t0 = performance.now();
      await sendOne(client, q);
      latencies.push((performance.now() - t0) * 1000);
    }
    latencies.sort((a, b) => a - b);
    const p50Us = Math.round(percentile(latencies, 0.5));
    const p99Us = Math.round(percentile(latencies, 0.99));
    const redisLatency = peer("redis_xadd_latency");
    emit({
      case: "foreign_send_latency",
      flush: "sync",
      sends: o.latencySends,
      p50Us,
      p99Us,
      maxUs: Math.round(latencies[latencies.length - 1]),
      brokerCpuUsPerMsg: latencyCpu(o.latencySends).cpuUsPerMsg,
      p50RatioToRedis: ratio(p50Us, redisLatency?.p50Us),
      p99RatioToRedis: ratio(p99Us, redisLatency?.p99Us),
    });

    const pullCpu = cpuMeter(broker.pid);
    const pullStarted = performance.now();
    const pulled = await pullAll(client, "ForeignBench", perQueue, o.pullBatch);
    const pullSeconds = (performance.now() - pullStarted) / 1000;
    const pullRate = Math.round(pulled / pullSeconds);
    const pullCpuResult = pullCpu(pulled);
    emit({
      case: "foreign_pull",
      messages: pulled,
      batch: o.pullBatch,
      queues: o.queues,
      msgsPerSec: pullRate,
      seconds: Number(pullSeconds.toFixed(3)),
      brokerCpuUsPerMsg: pullCpuResult.cpuUsPerMsg,
      brokerThreadsUsPerMsg: pullCpuResult.threadsUsPerMsg,
      brokerRssMb: rssMb(broker.pid),
      ratioToRedisXread32: ratio(pullRate, peer("redis_xread")?.msgsPerSec),
      ratioToRedisXread1000: ratio(pullRate, peer("redis_xread_1000")?.msgsPerSec),
    });
  } finally {
    await client.close();
  }
  return results;
}

function flag(name: string): number | undefined {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 ? Number(Deno.args[at + 1]) : undefined;
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--broker-deno-flags");
  await runForeignBench({
    messages: flag("messages") ?? 200_000,
    warmup: flag("warmup") ?? 20_000,
    inFlight: flag("in-flight") ?? 1_000,
    latencySends: flag("latency-sends") ?? 5_000,
    bodyBytes: 1_024,
    queues: 4,
    pullBatch: flag("pull-batch") ?? 32,
    redis: !Deno.args.includes("--no-redis"),
    brokerDenoFlags: at >= 0 ? Deno.args[at + 1].split(" ").filter((f) => f !== "") : undefined,
    brokerMain: Deno.args.includes("--broker-main")
      ? Deno.args[Deno.args.indexOf("--broker-main") + 1]
      : undefined,
  });
}
