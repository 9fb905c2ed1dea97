/**
 * Memory benchmarks of the broker child process (`sync` flush, 1 KiB bodies),
 * driven by the foreign client (`foreign_client.ts`):
 *
 * - `slow_readers`: four connections each pipeline 3,000 PULL_MESSAGE (32
 *   messages each) and never read, next to a normal connection that keeps
 *   sending and pulling; broker RSS before, at the end and at its peak,
 *   whether the slow connections were closed, and the normal client's rate.
 * - `soak`: a producer (window 1,000) and a consumer (32-message pulls, one
 *   per queue, 4 queues) running for `--seconds`, each rate-limited to
 *   `--rate` msgs/s (0: as fast as they go); broker RSS at the start, every
 *   `--sample-seconds` and at the end, with bytes of RSS growth per message.
 *
 * Run: `deno run -A bench/soak_bench.ts [--case slow_readers,soak] [--seconds 3600]
 * [--rate 14000] [--sample-seconds 60] [--broker-main path/to/broker/main.ts]` (another
 * checkout's broker, for before/after figures)
 *
 * @module
 */

import { createAdmin } from "../client/admin.ts";
import { createRequest, encodeCommand } from "../client/protocol/remoting_command.ts";
import { RequestCode } from "../client/protocol/request_code.ts";
import { ResponseCode } from "../client/protocol/response_code.ts";
import { spawnBroker } from "../tests/_helpers/broker_process.ts";
import { countRecords, ForeignClient } from "./foreign_client.ts";
import { cpuMeter, rssMb } from "./proc_stats.ts";

const BODY = new Uint8Array(1024).fill(0x61);
const QUEUES = 4;

function flag(name: string): string | undefined {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 ? Deno.args[at + 1] : undefined;
}

/** Send `count` messages with at most `window` unanswered; resolves when all are answered. */
function sendSome(client: ForeignClient, count: number, window: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let issued = 0;
    let answered = 0;
    const onResponse = (r: { code: number; remark?: string }) => {
      if (r.code !== ResponseCode.SUCCESS) return reject(new Error(`send failed: ${r.code}`));
      if (++answered === count) resolve();
      else if (issued < count) client.send(issued++ % QUEUES, onResponse);
    };
    while (issued < Math.min(count, window)) client.send(issued++ % QUEUES, onResponse);
  });
}

/** One pull; resolves with the record count and next offset. */
function pullOnce(
  client: ForeignClient,
  topic: string,
  queueId: number,
  queueOffset: number,
): Promise<{ count: number; next: number }> {
  return new Promise((resolve, reject) => {
    client.pull({ group: "soak_consumer", topic, queueId, queueOffset, max: 32 }, (r) => {
      if (r.code === ResponseCode.SUCCESS) {
        resolve({ count: countRecords(r.body), next: Number(r.extFields?.nextBeginOffset) });
      } else if (r.code === ResponseCode.PULL_NOT_FOUND) {
        resolve({ count: 0, next: queueOffset });
      } else {
        reject(new Error(`pull failed: ${r.code} ${r.remark ?? ""}`));
      }
    });
  });
}

async function slowReaders(): Promise<Record<string, unknown>> {
  await using broker = await spawnBroker({
    args: ["--flush", "sync"],
    stderr: "null",
    brokerMain: flag("broker-main"),
  });
  {
    await using admin = await createAdmin({ endpoint: broker.endpoint });
    await admin.createTopic("SoakSlow", { readQueueNums: 1, writeQueueNums: 1 });
    await admin.createTopic("Soak", { readQueueNums: QUEUES, writeQueueNums: QUEUES });
  }
  const filler = await ForeignClient.connect(broker.port, "SoakSlow", BODY);
  await new Promise<void>((resolve) => {
    let left = 2000;
    for (let i = 0; i < 2000; i++) filler.send(0, () => --left === 0 && resolve());
  });
  await filler.close();
  const rssBefore = rssMb(broker.pid);
  let rssPeak = rssBefore ?? 0;
  const slow: Deno.TcpConn[] = [];
  for (let c = 0; c < 4; c++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: broker.port });
    slow.push(conn);
    const frames = Array.from(
      { length: 3000 },
      (_, i) =>
        encodeCommand(createRequest(RequestCode.PULL_MESSAGE, i + 1, {
          consumerGroup: "slow",
          topic: "SoakSlow",
          queueId: 0,
          queueOffset: 0,
          maxMsgNums: 32,
          sysFlag: 0,
          commitOffset: 0,
          suspendTimeoutMillis: 0,
          subVersion: 0,
        })),
    );
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    frames.reduce((at, f) => (all.set(f, at), at + f.length), 0);
    (async () => {
      let written = 0;
      while (written < all.length) written += await conn.write(all.subarray(written));
    })().catch(() => {});
  }
  // The normal client next to them: 50,000 sends and the same pulled back.
  const normal = await ForeignClient.connect(broker.port, "Soak", BODY);
  const started = performance.now();
  const sending = sendSome(normal, 50_000, 1000);
  const sampler = setInterval(() => rssPeak = Math.max(rssPeak, rssMb(broker.pid) ?? 0), 100);
  await sending;
  let pulled = 0;
  await Promise.all(Array.from({ length: QUEUES }, async (_, q) => {
    let offset = 0;
    while (offset < 50_000 / QUEUES) {
      const r = await pullOnce(normal, "Soak", q, offset);
      pulled += r.count;
      offset = r.next;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const rssEnd = rssMb(broker.pid);
  // Are the slow connections still open? A read that ends means the broker closed it.
  let closed = 0;
  await Promise.all(slow.map(async (conn) => {
    const probe = new Uint8Array(64 * 1024);
    try {
      const timer = setTimeout(() => conn.close(), 200);
      for (let i = 0; i < 2; i++) if (await conn.read(probe) === null) closed++;
      clearTimeout(timer);
    } catch { /* closed by the timer: still open */ }
  }));
  for (const conn of slow) {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
  await normal.close();
  return {
    case: "slow_readers",
    slowClients: 4,
    pipelinedPulls: 3000,
    normalMessages: 50_000,
    normalPulled: pulled,
    normalMsgsPerSec: Math.round((50_000 + pulled) / seconds / 2),
    brokerRssMbBefore: rssBefore,
    brokerRssMbPeak: rssPeak,
    brokerRssMbEnd: rssEnd,
    slowConnectionsClosedByBroker: closed,
  };
}

async function soak(
  seconds: number,
  rate: number,
  sampleSeconds: number,
): Promise<Record<string, unknown>> {
  await using broker = await spawnBroker({
    args: ["--flush", "sync"],
    stderr: "null",
    brokerMain: flag("broker-main"),
  });
  {
    await using admin = await createAdmin({ endpoint: broker.endpoint });
    await admin.createTopic("Soak", { readQueueNums: QUEUES, writeQueueNums: QUEUES });
  }
  const producer = await ForeignClient.connect(broker.port, "Soak", BODY);
  const consumer = await ForeignClient.connect(broker.port, "Soak", BODY);
  // Warm-up so the start figure is past JIT and first allocations.
  await sendSome(producer, 20_000, 1000);
  // The consumer starts after the warm-up's messages.
  const offsets = new Array<number>(QUEUES).fill(20_000 / QUEUES);
  let produced = 0;
  let consumed = 0;
  const rssStart = rssMb(broker.pid);
  const samples: number[] = [];
  const cpu = cpuMeter(broker.pid);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const sampler = setInterval(() => {
    const mb = rssMb(broker.pid);
    if (mb !== undefined) samples.push(mb);
    console.error(
      `# soak: ${Math.round((performance.now() - started) / 1000)} s, ` +
        `produced ${produced}, consumed ${consumed}, broker RSS ${mb} MB`,
    );
  }, sampleSeconds * 1000);
  const paced = async (work: () => Promise<number>, add: (n: number) => void) => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const n = await work();
      add(n);
      if (rate > 0) {
        const due = t0 + n * 1000 / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  };
  await Promise.all([
    paced(async () => (await sendSome(producer, 1000, 1000), 1000), (n) => produced += n),
    ...offsets.map((_, q) =>
      paced(async () => {
        const r = await pullOnce(consumer, "Soak", q, offsets[q]);
        offsets[q] = r.next;
        if (r.count === 0) await new Promise((resolve) => setTimeout(resolve, 1));
        return r.count;
      }, (n) => consumed += n)
    ),
  ]);
  clearInterval(sampler);
  const elapsed = (performance.now() - started) / 1000;
  const rssEnd = rssMb(broker.pid);
  await producer.close();
  await consumer.close();
  return {
    case: "soak",
    seconds: Math.round(elapsed),
    produced,
    consumed,
    producedPerSec: Math.round(produced / elapsed),
    brokerCpuUsPerMsg: cpu(produced + consumed).cpuUsPerMsg,
    brokerRssMbStart: rssStart,
    brokerRssMbEnd: rssEnd,
    brokerRssMbSamples: samples,
    // From the first sample on: by then heaps, buffers and code have reached their working size.
    rssGrowthBytesPerMsgAfterFirstSample: samples.length > 0 && rssEnd !== undefined
      ? Number(
        ((rssEnd - samples[0]) * 1e6 / (produced * (1 - sampleSeconds / elapsed))).toFixed(2),
      )
      : undefined,
  };
}

if (import.meta.main) {
  const cases = (flag("case") ?? "slow_readers,soak").split(",");
  if (cases.includes("slow_readers")) console.log(JSON.stringify(await slowReaders()));
  if (cases.includes("soak")) {
    console.log(JSON.stringify(
      await soak(
        Number(flag("seconds") ?? 3600),
        Number(flag("rate") ?? 14_000),
        Number(flag("sample-seconds") ?? 60),
      ),
    ));
  }
}
