/**
 * Cluster benchmark: the name server as a child process, and a producer over
 * three broker processes against one.
 *
 * Cases, one JSON line each:
 * - `namesrv_register`: name-server CPU per full registration of one broker
 *   with 1,000 topics into a table already holding 99 other brokers × 1,000
 *   topics (JSON and compressed bodies; each registration carries a new data
 *   version, so the broker's queue data is rewritten every time);
 * - `namesrv_route`: GET_ROUTEINFO_BY_TOPIC answered per second with 100
 *   brokers × 1,000 topics registered, for two layouts: `distinct` (each
 *   broker its own 1,000 topics: 100,000 topics, one broker per route) and
 *   `shared` (the same 1,000 topics on every broker: 100 brokers per route),
 *   with the name server's RSS once the tables are loaded;
 * - `producer_brokers`: one producer (name-server routes, coalescing on)
 *   sending 1 KiB messages with a window of unacknowledged sends, to a topic
 *   on 1 broker and on 3 brokers, sync flush; msgs/s and the ratio.
 *
 * Run: `deno run -A bench/cluster_bench.ts [--quick] [--only register,route,producer]`
 *
 * @module
 */

import { Connection } from "../client/connection.ts";
import { ClusterAdmin } from "../client/cluster_admin.ts";
import { createProducer } from "../client/producer.ts";
import type { TopicConfig } from "../client/protocol/heartbeat.ts";
import { registerBrokerRequestHeader } from "../client/protocol/namesrv_headers.ts";
import { bodyCrc32, encodeRegisterBrokerBody } from "../client/protocol/register_broker_body.ts";
import { RequestCode } from "../client/protocol/request_code.ts";
import { ResponseCode } from "../client/protocol/response_code.ts";
import { spawnBroker } from "../tests/_helpers/broker_process.ts";
import { spawnNamesrv } from "../tests/_helpers/namesrv_process.ts";
import { cpuTimeMs, rssMb } from "./proc_stats.ts";

const quick = Deno.args.includes("--quick");
const only = Deno.args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
const report = (result: Record<string, unknown>) => console.log(JSON.stringify(result));

function topicTable(names: readonly string[]): Record<string, TopicConfig> {
  const table: Record<string, TopicConfig> = {};
  for (const topicName of names) {
    table[topicName] = { topicName, readQueueNums: 8, writeQueueNums: 8, perm: 6 };
  }
  return table;
}

async function register(
  conn: Connection,
  broker: number,
  topics: Record<string, TopicConfig>,
  counter: number,
  compressed: boolean,
): Promise<void> {
  const body = encodeRegisterBrokerBody({
    topicConfigTable: topics,
    dataVersion: { stateVersion: 0, timestamp: 1, counter },
    filterServerList: [],
  }, compressed);
  const response = await conn.request(
    RequestCode.REGISTER_BROKER,
    registerBrokerRequestHeader.encode({
      brokerName: `broker-${broker}`,
      brokerAddr: `10.0.${broker >> 8}.${broker & 255}:10911`,
      clusterName: "BenchCluster",
      haServerAddr: `10.0.${broker >> 8}.${broker & 255}:10912`,
      brokerId: 0,
      compressed,
      bodyCrc32: bodyCrc32(body),
    }),
    body,
  );
  if (response.code !== ResponseCode.SUCCESS) throw new Error(`register: ${response.remark}`);
}

async function benchRegister(): Promise<void> {
  await using namesrv = await spawnNamesrv({ stderr: "null" });
  await using conn = await Connection.connect({ endpoint: namesrv.endpoint });
  // 99 other brokers with 1,000 topics each are registered first: the table one broker's
  // registration lands in is the 100 x 1,000 one.
  const others: Connection[] = [];
  for (let b = 1; b < 100; b++) {
    const other = await Connection.connect({ endpoint: namesrv.endpoint });
    others.push(other);
    await register(
      other,
      b,
      topicTable(Array.from({ length: 1000 }, (_, i) => `T-${b}-${i}`)),
      1,
      true,
    );
  }
  const topics = topicTable(Array.from({ length: 1000 }, (_, i) => `Topic-${i}`));
  const rounds = quick ? 50 : 300;
  let counter = 1;
  for (const compressed of [false, true]) {
    for (let i = 0; i < 20; i++) await register(conn, 0, topics, counter++, compressed); // warm-up
    const cpu0 = cpuTimeMs(namesrv.pid)!;
    const started = performance.now();
    for (let i = 0; i < rounds; i++) await register(conn, 0, topics, counter++, compressed);
    const seconds = (performance.now() - started) / 1000;
    report({
      case: "namesrv_register",
      topics: 1000,
      compressed,
      registrations: rounds,
      namesrvCpuMsPerRegistration: Number(((cpuTimeMs(namesrv.pid)! - cpu0) / rounds).toFixed(2)),
      wallMsPerRegistration: Number((seconds * 1000 / rounds).toFixed(2)),
      otherBrokers: others.length,
      tableTopics: 100_000,
    });
  }
  for (const other of others) await other.close();
}

async function benchRoute(layout: "distinct" | "shared"): Promise<void> {
  await using namesrv = await spawnNamesrv({ stderr: "null" });
  const brokers = 100;
  const perBroker = 1000;
  const conns: Connection[] = [];
  try {
    for (let b = 0; b < brokers; b++) {
      const conn = await Connection.connect({ endpoint: namesrv.endpoint });
      conns.push(conn);
      const names = Array.from(
        { length: perBroker },
        (_, i) => layout === "distinct" ? `T-${b}-${i}` : `T-${i}`,
      );
      await register(conn, b, topicTable(names), 1, true);
    }
    const rss = rssMb(namesrv.pid);
    const topicCount = layout === "distinct" ? brokers * perBroker : perBroker;
    const clients = 4;
    const window = 256;
    const durationMs = quick ? 1_000 : 5_000;
    const queryConns = await Promise.all(
      Array.from({ length: clients }, () => Connection.connect({ endpoint: namesrv.endpoint })),
    );
    let answered = 0;
    let bytes = 0;
    const cpu0 = cpuTimeMs(namesrv.pid)!;
    const started = performance.now();
    const deadline = started + durationMs;
    await Promise.all(
      queryConns.flatMap((conn, c) =>
        Array.from({ length: window }, async (_, w) => {
          let i = c * window + w;
          while (performance.now() < deadline) {
            const topic = layout === "distinct"
              ? `T-${i % brokers}-${(i * 7) % perBroker}`
              : `T-${(i * 7) % perBroker}`;
            i += clients * window;
            const response = await conn.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, {
              topic,
              acceptStandardJsonOnly: "true",
            });
            if (response.code !== ResponseCode.SUCCESS) {
              throw new Error(`route: ${response.remark}`);
            }
            answered++;
            bytes += response.body?.length ?? 0;
          }
        })
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    for (const conn of queryConns) await conn.close();
    report({
      case: "namesrv_route",
      layout,
      brokers,
      topics: topicCount,
      brokersPerRoute: layout === "distinct" ? 1 : brokers,
      routesPerSec: Math.round(answered / seconds),
      routeBodyBytes: Math.round(bytes / answered),
      namesrvCpuUsPerRoute: Number(((cpuTimeMs(namesrv.pid)! - cpu0) * 1000 / answered).toFixed(2)),
      namesrvRssMb: rss,
      connections: clients,
      inFlight: clients * window,
    });
  } finally {
    for (const conn of conns) await conn.close();
  }
}

async function benchProducer(): Promise<void> {
  const messages = quick ? 20_000 : 100_000;
  const inFlight = 1_000;
  const body = new Uint8Array(1024).fill(0x61);
  const rates: Record<number, number> = {};
  for (const count of [1, 3]) {
    await using namesrv = await spawnNamesrv({ stderr: "null" });
    const brokers = [];
    try {
      for (let b = 0; b < count; b++) {
        brokers.push(
          await spawnBroker({
            args: [
              "--namesrv-addr",
              namesrv.endpoint,
              "--broker-name",
              `b${b}`,
              "--cluster-name",
              "C",
            ],
          }),
        );
      }
      {
        await using admin = new ClusterAdmin({ nameServer: namesrv.endpoint });
        // 12 queues in total either way: the same producer spread, only the brokers differ.
        const queues = 12 / count;
        await admin.createTopic("Bench", "C", { readQueueNums: queues, writeQueueNums: queues });
        const deadline = performance.now() + 10_000;
        while (
          (await admin.topicRoute("Bench").catch(() => undefined))?.queueDatas.length !== count
        ) {
          if (performance.now() > deadline) throw new Error("route did not converge");
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      await using producer = await createProducer({
        nameServer: namesrv.endpoint,
        sendTimeoutMs: 30_000,
      });
      await Promise.all(
        Array.from({ length: 1000 }, () => producer.send({ topic: "Bench", body })),
      );
      let next = 0;
      const client0 = cpuTimeMs("self")!;
      const started = performance.now();
      await Promise.all(Array.from({ length: inFlight }, async () => {
        while (next < messages) {
          next++;
          await producer.send({ topic: "Bench", body });
        }
      }));
      const seconds = (performance.now() - started) / 1000;
      rates[count] = messages / seconds;
      report({
        case: "producer_brokers",
        brokers: count,
        flush: "sync",
        messages,
        inFlight,
        bodyBytes: 1024,
        msgsPerSec: Math.round(rates[count]),
        clientCpuUsPerMsg: Number(((cpuTimeMs("self")! - client0) * 1000 / messages).toFixed(2)),
        ...(count === 3 ? { ratioTo1Broker: Number((rates[3] / rates[1]).toFixed(2)) } : {}),
      });
    } finally {
      for (const b of brokers) await b[Symbol.asyncDispose]();
    }
  }
}

if (only === undefined || only.includes("register")) await benchRegister();
if (only === undefined || only.includes("route")) {
  await benchRoute("distinct");
  await benchRoute("shared");
}
if (only === undefined || only.includes("producer")) await benchProducer();
