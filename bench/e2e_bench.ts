/**
 * End-to-end benchmark: the real broker as a child process and the real
 * client over one producer connection, 1 KiB bodies.
 *
 * Cases, one JSON line each:
 * - (a) `send_window`: N messages with up to `inFlight` unacknowledged, under
 *   sync and async flush, in msgs/s;
 * - (b) `send_latency`: sequential sends, each awaiting its ack, p50/p99 µs
 *   (sync flush);
 * - (c) `consume`: consuming the N messages of (a, sync) from the first
 *   offset, in msgs/s.
 *
 * Run: `deno run -A bench/e2e_bench.ts [--messages 200000] [--in-flight 1000]
 * [--latency-sends 5000] [--pull-batch-size 256] [--flush sync,async]
 * [--broker-deno-flags "--inspect=127.0.0.1:9229"] [--broker-main path/to/harness.ts]`
 *
 * @module
 */

import { createAdmin } from "../client/admin.ts";
import { createConsumer } from "../client/consumer.ts";
import { createProducer } from "../client/producer.ts";
import { spawnBroker } from "../tests/_helpers/broker_process.ts";

/** Options of {@linkcode runE2eBench}; every field has a default. */
export interface E2eBenchOptions {
  /** Messages in cases (a) and (c). Default 200,000. */
  readonly messages?: number;
  /** Most unacknowledged sends in case (a). Default 1,000. */
  readonly inFlight?: number;
  /** Sequential sends in case (b). Default 5,000. */
  readonly latencySends?: number;
  /** Body size, bytes. Default 1,024. */
  readonly bodyBytes?: number;
  /** Queues of the bench topic. Default 4. */
  readonly queues?: number;
  /** Messages per pull in case (c). Default 256. */
  readonly pullBatchSize?: number;
  /** Flush modes to run. Default both, sync first. */
  readonly flushModes?: readonly ("sync" | "async")[];
  /** Extra `deno run` flags for the broker child, e.g. `--inspect=127.0.0.1:9229` for profiling. */
  readonly brokerDenoFlags?: readonly string[];
  /** Broker entry script to spawn instead of `broker/main.ts` (profiling harnesses). */
  readonly brokerMain?: string;
  /** Receives each result line. Default: `console.log` of its JSON. */
  readonly report?: (result: Record<string, unknown>) => void;
}

/** Clock ticks per second of `/proc/<pid>/stat` times (Linux `CLK_TCK`). */
const CLOCK_TICKS_PER_SEC = 100;

/**
 * CPU time (user + system, all threads) a process has used, ms; undefined
 * where `/proc` is unavailable.
 */
function cpuTimeMs(pid: number | "self"): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 1000 / CLOCK_TICKS_PER_SEC;
  } catch {
    return undefined;
  }
}

/** CPU use of the client (this process) and the broker child over one measured case. */
function cpuMeter(brokerPid: number): (messages: number) => Record<string, number> {
  const client0 = cpuTimeMs("self");
  const broker0 = cpuTimeMs(brokerPid);
  return (messages) => {
    const client1 = cpuTimeMs("self");
    const broker1 = cpuTimeMs(brokerPid);
    const out: Record<string, number> = {};
    if (client0 !== undefined && client1 !== undefined) {
      out.clientCpuUsPerMsg = Number(((client1 - client0) * 1000 / messages).toFixed(2));
    }
    if (broker0 !== undefined && broker1 !== undefined) {
      out.brokerCpuUsPerMsg = Number(((broker1 - broker0) * 1000 / messages).toFixed(2));
    }
    return out;
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/**
 * Run the benchmark cases and report one result object per case.
 *
 * @param options Sizes and the reporter.
 * @returns The results, in order.
 */
export async function runE2eBench(
  options: E2eBenchOptions = {},
): Promise<Record<string, unknown>[]> {
  const messages = options.messages ?? 200_000;
  const inFlight = options.inFlight ?? 1_000;
  const latencySends = options.latencySends ?? 5_000;
  const bodyBytes = options.bodyBytes ?? 1_024;
  const queues = options.queues ?? 4;
  const report = options.report ?? ((r) => console.log(JSON.stringify(r)));
  const body = new Uint8Array(bodyBytes).fill(0x61);
  const results: Record<string, unknown>[] = [];
  const emit = (result: Record<string, unknown>) => {
    results.push(result);
    report(result);
  };

  for (const flush of options.flushModes ?? ["sync", "async"]) {
    await using broker = await spawnBroker({
      args: ["--flush", flush],
      denoFlags: options.brokerDenoFlags,
      brokerMain: options.brokerMain,
      stderr: "inherit",
    });
    {
      await using admin = await createAdmin({ endpoint: broker.endpoint });
      await admin.createTopic("Bench", { readQueueNums: queues, writeQueueNums: queues });
    }
    {
      await using producer = await createProducer({
        endpoint: broker.endpoint,
        sendTimeoutMs: 30_000,
      });
      // Warm-up, not measured.
      await Promise.all(
        Array.from({ length: 1000 }, () => producer.send({ topic: "Bench", body })),
      );
      let next = 0;
      const cpu = cpuMeter(broker.pid);
      const started = performance.now();
      await Promise.all(Array.from({ length: inFlight }, async () => {
        while (next < messages) {
          next++;
          await producer.send({ topic: "Bench", body });
        }
      }));
      const seconds = (performance.now() - started) / 1000;
      emit({
        case: "send_window",
        flush,
        messages,
        inFlight,
        bodyBytes,
        msgsPerSec: Math.round(messages / seconds),
        seconds: Number(seconds.toFixed(3)),
        ...cpu(messages),
      });

      if (flush === "sync") {
        const latenciesUs: number[] = [];
        const latencyCpu = cpuMeter(broker.pid);
        for (let i = 0; i < latencySends; i++) {
          const t0 = performance.now();
          await producer.send({ topic: "Bench", body });
          latenciesUs.push((performance.now() - t0) * 1000);
        }
        latenciesUs.sort((a, b) => a - b);
        emit({
          case: "send_latency",
          flush,
          sends: latencySends,
          bodyBytes,
          p50Us: Math.round(percentile(latenciesUs, 0.5)),
          p99Us: Math.round(percentile(latenciesUs, 0.99)),
          maxUs: Math.round(latenciesUs[latenciesUs.length - 1]),
          ...latencyCpu(latencySends),
        });
      }
    }
    if (flush === "sync") {
      const total = messages + 1000 + latencySends;
      await using consumer = await createConsumer({
        endpoint: broker.endpoint,
        group: "bench_consumer",
        topic: "Bench",
        consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
        pullBatchSize: options.pullBatchSize ?? 256,
        queueBufferedMessagesMax: 4096,
      });
      let count = 0;
      const cpu = cpuMeter(broker.pid);
      const started = performance.now();
      for await (const _ of consumer.messages()) {
        if (++count >= total) break;
      }
      const seconds = (performance.now() - started) / 1000;
      emit({
        case: "consume",
        flush,
        messages: count,
        bodyBytes,
        msgsPerSec: Math.round(count / seconds),
        seconds: Number(seconds.toFixed(3)),
        ...cpu(count),
      });
    }
  }
  return results;
}

function flag(name: string): number | undefined {
  const text = stringFlag(name);
  return text === undefined ? undefined : Number(text);
}

function stringFlag(name: string): string | undefined {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 ? Deno.args[at + 1] : undefined;
}

if (import.meta.main) {
  await runE2eBench({
    messages: flag("messages"),
    inFlight: flag("in-flight"),
    latencySends: flag("latency-sends"),
    pullBatchSize: flag("pull-batch-size"),
    flushModes: stringFlag("flush")?.split(",") as ("sync" | "async")[] | undefined,
    brokerDenoFlags: stringFlag("broker-deno-flags")?.split(" ").filter((f) => f !== ""),
    brokerMain: stringFlag("broker-main"),
  });
}
