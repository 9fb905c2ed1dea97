/**
 * Pop benchmark: the real broker as a child process (async flush), real
 * clients in this process.
 *
 * Cases, one JSON line each:
 * - `pull_consume`: one push consumer pulls the preloaded messages (the
 *   reference for the ratio);
 * - `pop_receive_ack`: `clients` simple consumers, each with `receivers`
 *   receives in flight, batches of 32, each batch acked with one
 *   BATCH_ACK_MESSAGE, msgs/s and broker CPU µs/msg;
 * - `redelivery_lateness`: messages popped at a steady pace and not acked
 *   come back after their invisible time; how late (p50/p99/max ms after
 *   the client saw the pop answer + invisibleTime);
 * - `outstanding`: `outstanding` messages popped and never acked: broker RSS
 *   with them in flight, then how long revive takes to bring them all back;
 * - `dedup_window` (in process): memory and per-send cost of a window of
 *   `dedupKeys` keys.
 *
 * Run: `deno run -A bench/pop_bench.ts [--messages 200000] [--clients 4] [--receivers 4]
 * [--outstanding 1000000] [--dedup-keys 1000000] [--flush async|sync] [--throughput-only]
 * [--broker-cpu-prof <dir>] [--pop-buffer-merge-ms <ms>]`
 * (`--throughput-only`: only `pull_consume` and `pop_receive_ack`).
 *
 * @module
 */

import { createAdmin } from "../client/admin.ts";
import { createConsumer } from "../client/consumer.ts";
import { createProducer } from "../client/producer.ts";
import { createSimpleConsumer } from "../client/simple_consumer.ts";
import type { ReceivedMessage } from "../client/message.ts";
import { DedupWindow } from "../broker/domain/dedup/dedup_window.ts";
import type { PutMessageResult } from "../store/mod.ts";
import { spawnBroker } from "../tests/_helpers/broker_process.ts";

const CLOCK_TICKS_PER_SEC = 100;

function cpuTimeMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 1000 / CLOCK_TICKS_PER_SEC;
}

function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function flag(name: string, fallback: number): number {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 ? Number(Deno.args[at + 1]) : fallback;
}

const report = (r: Record<string, unknown>) => console.log(JSON.stringify(r));

async function preload(endpoint: string, topic: string, messages: number, queues: number) {
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic(topic, { readQueueNums: queues, writeQueueNums: queues });
  await using producer = await createProducer({ endpoint, sendTimeoutMs: 60_000 });
  const body = new Uint8Array(1024).fill(0x61);
  let next = 0;
  await Promise.all(Array.from({ length: 1000 }, async () => {
    while (next < messages) {
      next++;
      await producer.send({ topic, body });
    }
  }));
}

async function popAll(
  endpoint: string,
  topic: string,
  group: string,
  messages: number,
  clients: number,
  invisibleMs: number,
  ack: boolean,
  onAllTaken: () => void = () => {},
): Promise<number> {
  let taken = 0;
  let done = false;
  await Promise.all(Array.from({ length: clients }, async () => {
    await using c = await createSimpleConsumer({
      endpoint,
      group,
      subscriptions: { [topic]: "*" },
      awaitDuration: 1_000,
      consumeFrom: "FIRST",
    });
    // Each client keeps `receivers` pops in flight (as a push consumer's pop service does).
    await Promise.all(Array.from({ length: receivers }, async () => {
      let empty = 0;
      while (taken < messages && empty < 3) {
        const batch = await c.receive(32, invisibleMs);
        if (batch.length === 0) {
          empty++;
          continue;
        }
        empty = 0;
        taken += batch.length;
        if (ack) await c.ackBatch(batch);
        // The end of the measured time: the last message received (and acked); receivers still
        // parked in a long poll on the drained topic do not count.
        if (taken >= messages && !done) {
          done = true;
          onAllTaken();
        }
      }
    }));
  }));
  return taken;
}

const messages = flag("messages", 200_000);
const clients = flag("clients", 4);
const receivers = flag("receivers", 4);
const outstanding = flag("outstanding", 1_000_000);
const dedupKeys = flag("dedup-keys", 1_000_000);
const flushAt = Deno.args.indexOf("--flush");
const flush = flushAt >= 0 ? Deno.args[flushAt + 1] : "async";
const throughputOnly = Deno.args.includes("--throughput-only");
const mergeAt = Deno.args.indexOf("--pop-buffer-merge-ms");
const brokerArgs = [
  "--flush",
  flush,
  ...(mergeAt >= 0 ? Deno.args.slice(mergeAt, mergeAt + 2) : []),
];
const profAt = Deno.args.indexOf("--broker-cpu-prof");
const denoFlags = profAt >= 0 ? ["--cpu-prof", `--cpu-prof-dir=${Deno.args[profAt + 1]}`] : [];

{
  await using broker = await spawnBroker({ args: brokerArgs, denoFlags, stderr: "inherit" });
  await preload(broker.endpoint, "PopBench", messages, 8);

  // Reference: plain pull of the same messages.
  {
    await using consumer = await createConsumer({
      endpoint: broker.endpoint,
      group: "bench_pull",
      topic: "PopBench",
      consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
      pullBatchSize: 32,
      queueBufferedMessagesMax: 4096,
    });
    const cpu0 = cpuTimeMs(broker.pid);
    const clientCpu0 = cpuTimeMs(Deno.pid);
    const t0 = performance.now();
    let count = 0;
    for await (const _ of consumer.messages()) if (++count >= messages) break;
    const seconds = (performance.now() - t0) / 1000;
    report({
      case: "pull_consume",
      messages: count,
      pullBatchSize: 32,
      msgsPerSec: Math.round(count / seconds),
      brokerCpuUsPerMsg: Number(((cpuTimeMs(broker.pid) - cpu0) * 1000 / count).toFixed(2)),
      clientCpuUsPerMsg: Number(((cpuTimeMs(Deno.pid) - clientCpu0) * 1000 / count).toFixed(2)),
    });
  }

  const cpu0 = cpuTimeMs(broker.pid);
  const clientCpu0 = cpuTimeMs(Deno.pid);
  const t0 = performance.now();
  let end = { at: 0, brokerCpu: 0, clientCpu: 0 };
  const taken = await popAll(
    broker.endpoint,
    "PopBench",
    "bench_pop",
    messages,
    clients,
    60_000,
    true,
    () => {
      end = {
        at: performance.now(),
        brokerCpu: cpuTimeMs(broker.pid),
        clientCpu: cpuTimeMs(Deno.pid),
      };
    },
  );
  const seconds = (end.at - t0) / 1000;
  report({
    case: "pop_receive_ack",
    flush,
    popBufferMergeMs: mergeAt >= 0 ? Number(Deno.args[mergeAt + 1]) : "default",
    messages: taken,
    clients,
    receiversPerClient: receivers,
    batch: 32,
    msgsPerSec: Math.round(taken / seconds),
    brokerCpuUsPerMsg: Number(((end.brokerCpu - cpu0) * 1000 / taken).toFixed(2)),
    clientCpuUsPerMsg: Number(((end.clientCpu - clientCpu0) * 1000 / taken).toFixed(2)),
  });

  // Redelivery lateness: pop without acking, then time each comeback.
  if (!throughputOnly) {
    // The popping phase (~1.3 s) ends before the first invisible time does.
    const sample = 1_000;
    const invisibleMs = 3_000;
    await preload(broker.endpoint, "PopLate", sample, 4);
    await using c = await createSimpleConsumer({
      endpoint: broker.endpoint,
      group: "bench_late",
      subscriptions: { PopLate: "*" },
      awaitDuration: 1_000,
      consumeFrom: "FIRST",
    });
    // Popped at a steady pace (8 every 10 ms), so their invisible times end spread out, as in
    // steady traffic; the figure is how late each comes back, not how fast a burst drains.
    const due = new Map<string, number>();
    while (due.size < sample) {
      const batch = await c.receive(8, invisibleMs);
      const at = Date.now();
      for (const m of batch) due.set(m.msgId, at + invisibleMs);
      await new Promise((r) => setTimeout(r, 10)); // pacing of the load, not synchronisation
    }
    const lateMs: number[] = [];
    const deadline = Date.now() + 60_000;
    // Several receives in flight, so the figure is the broker's lateness, not one loop's drain time.
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (lateMs.length < sample && Date.now() < deadline) {
        const batch: ReceivedMessage[] = await c.receive(32, 60_000);
        const at = Date.now();
        for (const m of batch) {
          const d = due.get(m.msgId);
          if (d !== undefined) lateMs.push(at - d);
        }
        if (batch.length > 0) await c.ackBatch(batch);
      }
    }));
    lateMs.sort((a, b) => a - b);
    report({
      case: "redelivery_lateness",
      messages: lateMs.length,
      invisibleMs,
      p50Ms: percentile(lateMs, 0.5),
      p99Ms: percentile(lateMs, 0.99),
      maxMs: lateMs[lateMs.length - 1],
    });
  }
}

// Outstanding: many popped-but-unacked messages, then their revive.
if (!throughputOnly) {
  await using broker = await spawnBroker({ args: ["--flush", "async"], stderr: "inherit" });
  await preload(broker.endpoint, "PopOut", outstanding, 8);
  const rssBefore = rssMiB(broker.pid);
  const invisibleMs = 30_000;
  const t0 = performance.now();
  const popped = await popAll(
    broker.endpoint,
    "PopOut",
    "bench_out",
    outstanding,
    clients,
    invisibleMs,
    false,
  );
  const popSeconds = (performance.now() - t0) / 1000;
  const rssOutstanding = rssMiB(broker.pid);
  await using admin = await createAdmin({ endpoint: broker.endpoint });
  const revivedAt = performance.now();
  const dueMs = Math.max(0, invisibleMs - (performance.now() - t0));
  let revived = 0;
  const deadline = Date.now() + dueMs + 300_000;
  while (revived < popped && Date.now() < deadline) {
    const status = await admin.topicStatus("%RETRY%bench_out_PopOut").catch(() => []);
    revived = status.reduce((n, q) => n + q.maxOffset, 0);
    if (revived < popped) await new Promise((r) => setTimeout(r, 500)); // bench pacing, not a test
  }
  report({
    case: "outstanding",
    popped,
    popSeconds: Number(popSeconds.toFixed(1)),
    brokerRssMiBBefore: rssBefore,
    brokerRssMiBOutstanding: rssOutstanding,
    revived,
    reviveSecondsAfterDue: Number(((performance.now() - revivedAt - dueMs) / 1000).toFixed(1)),
  });
}

// Dedup window: memory and per-send cost, in process.
if (!throughputOnly) {
  let offset = 0;
  const put = (): Promise<PutMessageResult> =>
    Promise.resolve({
      status: "PUT_OK",
      commitLogOffset: offset * 1100,
      queueOffset: offset++,
      storeTimestamp: Date.now(),
      commitLogOffsets: [offset * 1100],
      wroteBytes: 1100,
    });
  const keys = Array.from(
    { length: dedupKeys },
    (_, i) => `7F00000100002A9F${String(i).padStart(16, "0")}`,
  );
  const off = new DedupWindow({
    windowMs: 0,
    keysMax: dedupKeys,
    topic: () => undefined,
    nowMs: Date.now,
  });
  let t = performance.now();
  for (const k of keys) await off.put("T", 0, [k], put);
  const offNs = (performance.now() - t) * 1e6 / dedupKeys;
  const w = new DedupWindow({
    windowMs: 3_600_000,
    keysMax: dedupKeys,
    topic: () => undefined,
    nowMs: Date.now,
  });
  const heap0 = Deno.memoryUsage().heapUsed;
  t = performance.now();
  for (const k of keys) await w.put("T", 0, [k], put);
  const newNs = (performance.now() - t) * 1e6 / dedupKeys;
  const heapMiB = (Deno.memoryUsage().heapUsed - heap0) / 1048576;
  t = performance.now();
  for (const k of keys) await w.put("T", 0, [k], put);
  const dupNs = (performance.now() - t) * 1e6 / dedupKeys;
  report({
    case: "dedup_window",
    keys: w.size,
    heapMiB: Math.round(heapMiB),
    bytesPerKey: Math.round(heapMiB * 1048576 / w.size),
    offNsPerSend: Math.round(offNs),
    newKeyNsPerSend: Math.round(newNs),
    duplicateNsPerSend: Math.round(dupNs),
  });
}
