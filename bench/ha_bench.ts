/**
 * HA benchmark: broker processes on loopback, one producer sending 1 KiB
 * messages with a window of unacknowledged sends, sync flush everywhere.
 *
 * Cases, one JSON line each:
 * - `ha_sync_vs_single`: msgs/s of a single broker (no slave) and of a
 *   `SYNC_MASTER` with one slave (`--in-sync-replicas 2`: every SEND_OK is
 *   on the slave), and their ratio (issue 7 target: >= 0.7);
 * - `ha_async_lag`: an `ASYNC_MASTER` with one slave at the same load: msgs/s
 *   and the slave's lag sampled every 10 ms from GET_BROKER_HA_STATUS (p50,
 *   p99, max in bytes, and in ms at the measured byte rate).
 *
 * Run: `deno run -A bench/ha_bench.ts [--quick]`
 *
 * @module
 */

import { BrokerClient } from "../client/broker_client.ts";
import { createAdmin } from "../client/admin.ts";
import { createProducer } from "../client/producer.ts";
import { RequestCode } from "../client/protocol/request_code.ts";
import { type BrokerProcess, spawnBroker } from "../tests/_helpers/broker_process.ts";

const quick = Deno.args.includes("--quick");
const MESSAGES = quick ? 5_000 : 40_000;
const WINDOW = 256;
const BODY = "x".repeat(1024);
const TOPIC = "HaBench";
const report = (result: Record<string, unknown>) => console.log(JSON.stringify(result));

async function startPair(role: string): Promise<BrokerProcess[]> {
  const master = await spawnBroker({ args: ["--broker-role", role] });
  const slave = await spawnBroker({
    args: [
      "--broker-role",
      "SLAVE",
      "--broker-id",
      "1",
      "--ha-master-addr",
      `127.0.0.1:${master.port + 1}`,
    ],
  });
  return [master, slave];
}

/** Send MESSAGES with a window; returns msgs/s. Waits first until a send is SEND_OK. */
async function load(endpoint: string, sampler?: () => void): Promise<number> {
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic(TOPIC, { readQueueNums: 8, writeQueueNums: 8 });
  await using producer = await createProducer({ endpoint, group: "ha-bench" });
  const deadline = performance.now() + 30_000;
  while ((await producer.send({ topic: TOPIC, body: "probe" })).status !== "SEND_OK") {
    if (performance.now() > deadline) throw new Error("the slave never came in sync");
    await new Promise((r) => setTimeout(r, 100));
  }
  let next = 0;
  let notOk = 0;
  const timer = sampler === undefined ? undefined : setInterval(sampler, 10);
  const started = performance.now();
  await Promise.all(Array.from({ length: WINDOW }, async () => {
    while (next < MESSAGES) {
      next++;
      const r = await producer.send({ topic: TOPIC, body: BODY });
      if (r.status !== "SEND_OK") notOk++;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  if (timer !== undefined) clearInterval(timer);
  if (notOk > 0) throw new Error(`${notOk} sends were not SEND_OK`);
  return MESSAGES / seconds;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0
    ? 0
    : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function benchSyncVsSingle(): Promise<void> {
  let single: number;
  {
    await using broker = await spawnBroker({ args: ["--broker-role", "ASYNC_MASTER"] });
    single = await load(broker.endpoint);
  }
  const [master, slave] = await startPair("SYNC_MASTER");
  let sync: number;
  try {
    sync = await load(master.endpoint);
  } finally {
    await master[Symbol.asyncDispose]();
    await slave[Symbol.asyncDispose]();
  }
  report({
    case: "ha_sync_vs_single",
    messages: MESSAGES,
    bodyBytes: BODY.length,
    window: WINDOW,
    singleMsgsPerSec: Math.round(single),
    syncMasterMsgsPerSec: Math.round(sync),
    ratio: Number((sync / single).toFixed(2)),
  });
}

async function benchAsyncLag(): Promise<void> {
  const [master, slave] = await startPair("ASYNC_MASTER");
  try {
    await using client = new BrokerClient({ endpoint: master.endpoint, requestTimeoutMs: 5_000 });
    const lags: number[] = [];
    let inFlight = false;
    const sample = () => {
      if (inFlight) return;
      inFlight = true;
      client.invoke(RequestCode.GET_BROKER_HA_STATUS).then((r) => {
        const status = JSON.parse(new TextDecoder().decode(r.body));
        if (status.slaves.length > 0) lags.push(status.slaves[0].lagBytes);
      }).catch(() => {}).finally(() => inFlight = false);
    };
    const rate = await load(master.endpoint, sample);
    lags.sort((a, b) => a - b);
    // Bytes per ms at this load: ~1 KiB body plus the record's header and properties.
    const recordBytes = BODY.length + 200;
    const bytesPerMs = rate * recordBytes / 1000;
    report({
      case: "ha_async_lag",
      messages: MESSAGES,
      asyncMasterMsgsPerSec: Math.round(rate),
      samples: lags.length,
      lagBytesP50: percentile(lags, 0.5),
      lagBytesP99: percentile(lags, 0.99),
      lagBytesMax: lags.at(-1) ?? 0,
      lagMsP99AtRate: Number((percentile(lags, 0.99) / bytesPerMs).toFixed(2)),
    });
  } finally {
    await master[Symbol.asyncDispose]();
    await slave[Symbol.asyncDispose]();
  }
}

await benchSyncVsSingle();
await benchAsyncLag();
