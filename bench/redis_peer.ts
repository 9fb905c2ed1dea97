/**
 * The Redis Streams peer of the foreign-client benchmark: starts its own
 * `redis-server` (AOF on, `appendfsync always`, so every XADD reply follows an
 * fsync of it, like a `sync`-flush ack) on a temp dir and a free loopback
 * port, drives it with ioredis (pinned in deno.json), and stops it.
 * Workload mirrors the broker's: XADD of 1 KiB bodies round-robin over 4
 * streams with the same window, sequential XADD, and XREAD back with COUNT
 * 32 (one read in flight per stream) and COUNT 1000.
 *
 * @module
 */

import { cpuMeter, percentile, rssMb } from "./proc_stats.ts";

/** Sizes shared with the broker's cases. */
export interface RedisPeerOptions {
  readonly messages: number;
  readonly warmup: number;
  readonly inFlight: number;
  readonly latencySends: number;
  readonly bodyBytes: number;
  readonly queues: number;
}

/** What the peer run produced. */
export interface RedisPeerRun {
  readonly results: Record<string, unknown>[];
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Wait (bounded) until something accepts connections on the port. */
async function waitForPort(port: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  throw new Error(`redis-server did not listen on ${port}`);
}

function findRedisServer(): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/usr/local/bin").split(":")) {
    try {
      if (Deno.statSync(`${dir}/redis-server`).isFile) return `${dir}/redis-server`;
    } catch { /* not here */ }
  }
  return undefined;
}

// Minimal view of the ioredis client used here.
interface RedisClient {
  ping(): Promise<string>;
  xadd(key: string, id: string, field: string, value: Uint8Array): Promise<string>;
  xreadBuffer(
    ...args: (string | number)[]
  ): Promise<[Uint8Array, [Uint8Array, Uint8Array[]][]][] | null>;
  quit(): Promise<string>;
  disconnect(): void;
}

/**
 * Run the Redis cases, or return undefined when `redis-server` is absent.
 *
 * @param o Sizes.
 * @returns The results.
 */
export async function runRedisPeer(o: RedisPeerOptions): Promise<RedisPeerRun | undefined> {
  const server = findRedisServer();
  if (server === undefined) return undefined;
  const { default: Redis } = await import("ioredis");
  const dir = await Deno.makeTempDir({ prefix: "rmq_redis_peer_" });
  const port = freePort();
  const child = new Deno.Command(server, {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--save",
      "",
      "--daemonize",
      "no",
      "--protected-mode",
      "no",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitForPort(port);
  // deno-lint-ignore no-explicit-any
  const redis = new (Redis as any)({
    host: "127.0.0.1",
    port,
    enableAutoPipelining: true,
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => (times > 100 ? null : 50),
  }) as RedisClient;
  const results: Record<string, unknown>[] = [];
  try {
    await redis.ping();
    const body = new Uint8Array(o.bodyBytes).fill(0x61);
    const streams = Array.from({ length: o.queues }, (_, q) => `bench:${q}`);
    const window = async (count: number) => {
      let next = 0;
      await Promise.all(Array.from({ length: o.inFlight }, async () => {
        while (next < count) {
          const q = next++ % o.queues;
          await redis.xadd(streams[q], "*", "d", body);
        }
      }));
    };
    await window(o.warmup);
    const cpu = cpuMeter(child.pid);
    const started = performance.now();
    await window(o.messages);
    const seconds = (performance.now() - started) / 1000;
    results.push({
      case: "redis_xadd_window",
      appendfsync: "always",
      messages: o.messages,
      inFlight: o.inFlight,
      msgsPerSec: Math.round(o.messages / seconds),
      seconds: Number(seconds.toFixed(3)),
      redisCpuUsPerMsg: cpu(o.messages).cpuUsPerMsg,
      redisRssMb: rssMb(child.pid),
    });

    const latencies: number[] = [];
    for (let i = 0; i < o.latencySends; i++) {
      const t0 = performance.now();
      await redis.xadd(streams[i % o.queues], "*", "d", body);
      latencies.push((performance.now() - t0) * 1000);
    }
    latencies.sort((a, b) => a - b);
    results.push({
      case: "redis_xadd_latency",
      appendfsync: "always",
      sends: o.latencySends,
      p50Us: Math.round(percentile(latencies, 0.5)),
      p99Us: Math.round(percentile(latencies, 0.99)),
      maxUs: Math.round(latencies[latencies.length - 1]),
    });

    for (const count of [32, 1000]) {
      const readCpu = cpuMeter(child.pid);
      const readStarted = performance.now();
      let total = 0;
      await Promise.all(streams.map(async (stream) => {
        let last = "0";
        while (true) {
          const reply = await redis.xreadBuffer("COUNT", count, "STREAMS", stream, last);
          const entries = reply?.[0]?.[1] ?? [];
          if (entries.length === 0) return;
          total += entries.length;
          last = new TextDecoder().decode(entries[entries.length - 1][0]);
        }
      }));
      const readSeconds = (performance.now() - readStarted) / 1000;
      results.push({
        case: count === 32 ? "redis_xread" : `redis_xread_${count}`,
        count,
        messages: total,
        msgsPerSec: Math.round(total / readSeconds),
        seconds: Number(readSeconds.toFixed(3)),
        redisCpuUsPerMsg: readCpu(total).cpuUsPerMsg,
      });
    }
  } finally {
    redis.disconnect();
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    await child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return { results };
}
