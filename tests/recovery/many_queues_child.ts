/**
 * Child process of `many_queues_test.ts`: opens a `WorkerMessageStore` with a
 * small `openFilesMax`, sends one message to each of `topics × 8` queues (if
 * `send`), reads every queue back, reports counts and the most descriptors
 * seen open (`/proc/self/fd`) as one JSON line, and closes (or, with `kill`,
 * exits without closing, like a SIGKILL).
 *
 * Usage: `deno run -A many_queues_child.ts <dataDir> <topics> <openFilesMax> send|read [kill]`
 *
 * @module
 */

import { decodeRecord } from "../../client/protocol/message_record.ts";
import { encodeProperties } from "../../client/protocol/properties.ts";
import { WorkerMessageStore } from "../../store/infra/worker_message_store.ts";
import { defaultStoreConfig, type MessageToPut } from "../../store/message_store.ts";

const [dataDir, topicsText, openFilesMaxText, mode, kill] = Deno.args;
const topics = Number(topicsText);
const QUEUES = 8;
let fdsMax = 0;
const countFds = () => {
  let n = 0;
  for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
  fdsMax = Math.max(fdsMax, n);
};

const store = new WorkerMessageStore(
  defaultStoreConfig(dataDir, {
    commitLogSegmentBytes: 4 * 1024 * 1024,
    consumeQueueSegmentUnits: 1024,
    openFilesMax: Number(openFilesMaxText),
  }),
  { diskUsedRatio: () => 0.1 },
);
const opening = performance.now();
await store.open();
const openMs = performance.now() - opening;
let sendFailures = 0;
if (mode === "send") {
  const message = (topic: string, queueId: number): MessageToPut => ({
    topic,
    queueId,
    flag: 0,
    body: new TextEncoder().encode(`${topic}/${queueId}`),
    properties: encodeProperties({}),
    sysFlag: 0,
    bornTimestamp: Date.now(),
    bornHost: { ip: new Uint8Array([127, 0, 0, 1]), port: 1 },
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  });
  for (let t = 0; t < topics; t++) {
    const puts = [];
    for (let q = 0; q < QUEUES; q++) puts.push(store.putMessage(message(`T${t}`, q)));
    for (const result of await Promise.all(puts)) if (result.status !== "PUT_OK") sendFailures++;
    if (t % 50 === 0) countFds();
  }
}
let readBack = 0;
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
      got.status === "FOUND" && record !== undefined &&
      new TextDecoder().decode(decodeRecord(record.record).body) === `T${t}/${q}`
    ) readBack++;
  }
  if (t % 50 === 0) countFds();
}
countFds();
console.log(JSON.stringify({ sendFailures, readBack, fdsMax, openMs: Math.round(openMs) }));
if (kill === "kill") Deno.exit(0);
await store.close();
