/**
 * Child process of `many_queues_bench.ts` (runs under a `ulimit -n`): opens a
 * `WorkerMessageStore`, then in mode
 * - `send`: one message to each of `topics × 8` queues, round robin, 256 in flight;
 * - `send4`: the same number of messages over 4 queues of one topic (the baseline rate);
 * - `read`: reads every queue back;
 * and prints one JSON line: open time, send time and rate, failures, queues read
 * back, most descriptors open (`/proc/self/fd`) and RSS. With `kill` it exits
 * without closing the store (like SIGKILL).
 *
 * Usage: `deno run -A many_queues_child.ts <dataDir> <topics> <openFilesMax> send|send4|read [kill]`
 *
 * @module
 */

import { decodeRecord } from "../client/protocol/message_record.ts";
import { encodeProperties } from "../client/protocol/properties.ts";
import { WorkerMessageStore } from "../store/infra/worker_message_store.ts";
import {
  defaultStoreConfig,
  type MessageToPut,
  type PutMessageResult,
} from "../store/message_store.ts";

const [dataDir, topicsText, openFilesMaxText, mode, kill] = Deno.args;
const topics = Number(topicsText);
const QUEUES = 8;
const IN_FLIGHT = 256;
let fdsMax = 0;
const countFds = () => {
  let n = 0;
  for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
  fdsMax = Math.max(fdsMax, n);
};
const body = new Uint8Array(1024);
const message = (topic: string, queueId: number): MessageToPut => ({
  topic,
  queueId,
  flag: 0,
  body: body.slice().fill(queueId),
  properties: encodeProperties({ KEYS: `${topic}/${queueId}` }),
  sysFlag: 0,
  bornTimestamp: Date.now(),
  bornHost: { ip: new Uint8Array([127, 0, 0, 1]), port: 1 },
  reconsumeTimes: 0,
  preparedTransactionOffset: 0,
});

const store = new WorkerMessageStore(
  defaultStoreConfig(dataDir, { openFilesMax: Number(openFilesMaxText) }),
  { diskUsedRatio: () => 0.1 },
);
const opening = performance.now();
await store.open();
const openMs = performance.now() - opening;
countFds();
let sendFailures = 0;
let sendMs = 0;
const total = topics * QUEUES;
if (mode === "send" || mode === "send4") {
  const started = performance.now();
  const inFlight = new Set<Promise<PutMessageResult>>();
  for (let i = 0; i < total; i++) {
    const put = mode === "send"
      ? store.putMessage(message(`T${Math.floor(i / QUEUES)}`, i % QUEUES))
      : store.putMessage(message("Four", i % 4));
    inFlight.add(put);
    put.then((r) => {
      if (r.status !== "PUT_OK") sendFailures++;
      inFlight.delete(put);
    });
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    if (i % 5000 === 0) countFds();
  }
  await Promise.all(inFlight);
  sendMs = performance.now() - started;
}
let readBack = 0;
if (mode !== "send4") {
  for (let t = 0; t < topics; t++) {
    for (let q = 0; q < QUEUES; q++) {
      const got = await store.getMessage({
        group: "g",
        topic: `T${t}`,
        queueId: q,
        queueOffset: 0,
        maxCount: 1,
      });
      const record = got.messages[0];
      if (
        got.status === "FOUND" && record !== undefined && decodeRecord(record.record).body[0] === q
      ) {
        readBack++;
      }
    }
    if (t % 500 === 0) countFds();
  }
}
countFds();
console.log(JSON.stringify({
  mode,
  queues: mode === "send4" ? 4 : total,
  messages: mode === "read" ? 0 : total,
  openMs: Math.round(openMs),
  sendMs: Math.round(sendMs),
  sendsPerSec: sendMs > 0 ? Math.round(total / (sendMs / 1000)) : null,
  sendFailures,
  readBack,
  fdsMax,
  rssMb: Math.round(Deno.memoryUsage().rss / 1048576),
}));
if (kill === "kill") Deno.exit(0);
await store.close();
