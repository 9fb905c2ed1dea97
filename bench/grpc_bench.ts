/**
 * gRPC front benchmark: the real broker as a child process (sync flush) with
 * `--grpc-port` on, and the official RocketMQ 5 Node.js client
 * (`rocketmq-client-nodejs`, unchanged) in this process.
 *
 * Cases, one JSON line each:
 * - `grpc_send_latency`: sequential `producer.send()`, each awaiting its
 *   receipt, after a warm-up: p50/p99 µs;
 * - `grpc_send_window`: N sends with 256 in flight through the official
 *   client, msgs/s, and the same load over remoting with this project's
 *   producer in the same run, msgs/s, and their ratio;
 * - `grpc_receive_ack`: SimpleConsumer receive (batches of 32) + ack of N
 *   messages, msgs/s — only when the broker's gRPC front serves
 *   ReceiveMessage (it needs the pop service); otherwise the line says why.
 *
 * Run: `deno run -A bench/grpc_bench.ts [--messages 20000] [--latency-sends 1000]
 * [--in-flight 256] [--body-bytes 256] [--flush sync|async]`
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Producer, SimpleConsumer } from "rocketmq-client-nodejs";
import { createAdmin } from "../client/admin.ts";
import { createProducer } from "../client/producer.ts";
import { spawnBroker } from "../tests/_helpers/broker_process.ts";
import { cpuMeter, cpuTimeMs, percentile } from "./proc_stats.ts";
import { freePort } from "../tests/_helpers/free_port.ts";

function arg(name: string, fallback: number): number {
  const at = Deno.args.indexOf(name);
  return at >= 0 ? Number(Deno.args[at + 1]) : fallback;
}

/** CPU of this (client) process per message, µs. */
function clientCpu(): (messages: number) => number | undefined {
  const start = cpuTimeMs("self");
  return (n) => {
    const end = cpuTimeMs("self");
    return start === undefined || end === undefined
      ? undefined
      : Number(((end - start) * 1000 / n).toFixed(1));
  };
}

const flushAt = Deno.args.indexOf("--flush");
const flush = flushAt >= 0 ? Deno.args[flushAt + 1] : "sync";
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const messages = arg("--messages", 20_000);
const latencySends = arg("--latency-sends", 1_000);
const inFlight = arg("--in-flight", 256);
const bodyBytes = arg("--body-bytes", 256);
const body = Buffer.alloc(bodyBytes, 0x61);
const report = (r: Record<string, unknown>) => console.log(JSON.stringify(r));

const grpcPort = freePort();
await using broker = await spawnBroker({
  args: ["--flush", flush, "--grpc-port", String(grpcPort)],
  stderr: "inherit",
});
{
  await using admin = await createAdmin({ endpoint: broker.endpoint });
  await admin.createTopic("GrpcBench", { readQueueNums: 4, writeQueueNums: 4 });
  await admin.createTopic("RemotingBench", { readQueueNums: 4, writeQueueNums: 4 });
}
const endpoints = `127.0.0.1:${grpcPort}`;
const producer = new Producer({
  endpoints,
  namespace: "",
  topics: ["GrpcBench"],
  logger: quiet,
} as never);
await producer.startup();
try {
  for (let i = 0; i < 200; i++) await producer.send({ topic: "GrpcBench", body });
  const latenciesUs: number[] = [];
  for (let i = 0; i < latencySends; i++) {
    const t0 = performance.now();
    await producer.send({ topic: "GrpcBench", body });
    latenciesUs.push((performance.now() - t0) * 1000);
  }
  latenciesUs.sort((a, b) => a - b);
  report({
    case: "grpc_send_latency",
    flush: flush,
    sends: latencySends,
    bodyBytes,
    p50Us: Math.round(percentile(latenciesUs, 0.5)),
    p99Us: Math.round(percentile(latenciesUs, 0.99)),
    maxUs: Math.round(latenciesUs[latenciesUs.length - 1]),
  });

  const window = async (
    send: () => Promise<unknown>,
  ): Promise<{ rate: number; brokerCpuUsPerMsg?: number; clientCpuUsPerMsg?: number }> => {
    const broker0 = cpuMeter(broker.pid);
    const client0 = clientCpu();
    let next = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next < messages) {
        next++;
        await send();
      }
    }));
    const rate = messages / ((performance.now() - started) / 1000);
    return {
      rate,
      brokerCpuUsPerMsg: broker0(messages).cpuUsPerMsg,
      clientCpuUsPerMsg: client0(messages),
    };
  };
  const grpcRate = await window(() => producer.send({ topic: "GrpcBench", body }));
  let remotingRate: Awaited<ReturnType<typeof window>>;
  {
    await using remoting = await createProducer({
      endpoint: broker.endpoint,
      sendTimeoutMs: 30_000,
    });
    await Promise.all(
      Array.from({ length: 1000 }, () => remoting.send({ topic: "RemotingBench", body })),
    );
    remotingRate = await window(() => remoting.send({ topic: "RemotingBench", body }));
  }
  report({
    case: "grpc_send_window",
    flush: flush,
    messages,
    inFlight,
    bodyBytes,
    grpcMsgsPerSec: Math.round(grpcRate.rate),
    remotingMsgsPerSec: Math.round(remotingRate.rate),
    ratio: Number((grpcRate.rate / remotingRate.rate).toFixed(2)),
    grpcBrokerCpuUsPerMsg: grpcRate.brokerCpuUsPerMsg,
    grpcClientCpuUsPerMsg: grpcRate.clientCpuUsPerMsg,
    remotingBrokerCpuUsPerMsg: remotingRate.brokerCpuUsPerMsg,
    remotingClientCpuUsPerMsg: remotingRate.clientCpuUsPerMsg,
  });
} finally {
  await producer.shutdown();
}

const consumer = new SimpleConsumer({
  endpoints,
  namespace: "",
  consumerGroup: "GrpcBenchReaders",
  subscriptions: new Map([["GrpcBench", "*"]]),
  awaitDuration: 2_000,
  logger: quiet,
} as never);
await consumer.startup();
try {
  const total = messages + 200 + latencySends;
  let received = 0;
  let skipped: string | undefined;
  const started = performance.now();
  while (received < total) {
    let batch;
    try {
      batch = await consumer.receive(32, 30_000);
    } catch (error) {
      skipped = (error as Error).message;
      break;
    }
    if (batch.length === 0) break;
    await Promise.all(batch.map((m) => consumer.ack(m)));
    received += batch.length;
  }
  const seconds = (performance.now() - started) / 1000;
  report(
    skipped !== undefined
      ? { case: "grpc_receive_ack", skipped: `ReceiveMessage failed: ${skipped.slice(0, 200)}` }
      : {
        case: "grpc_receive_ack",
        batch: 32,
        messages: received,
        msgsPerSec: Math.round(received / seconds),
      },
  );
} finally {
  await consumer.shutdown();
}
