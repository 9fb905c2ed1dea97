/**
 * Child process of `crash_test.ts`: opens a `WorkerMessageStore` with `sync`
 * flush and puts messages with a fixed number in flight, printing one line per
 * acknowledged put until it is killed:
 *
 * `ack <seq> <queueId> <queueOffset> <commitLogOffset> <bodyHash>`
 *
 * The first line is `ready`. Usage: `crash_child.ts <dataDir> <segmentBytes>`.
 *
 * @module
 */

import { encodeProperties } from "../../client/protocol/properties.ts";
import { WorkerMessageStore } from "../../store/infra/worker_message_store.ts";
import { defaultStoreConfig, type MessageToPut } from "../../store/message_store.ts";
import { crashBody, fnv1a } from "./crash_format.ts";

const [dataDir, segmentBytesText] = Deno.args;
const IN_FLIGHT = 16;
const QUEUES = 3;

const store = new WorkerMessageStore(
  defaultStoreConfig(dataDir, {
    flushMode: "sync",
    commitLogSegmentBytes: Number(segmentBytesText),
    consumeQueueSegmentUnits: 64,
  }),
  { diskUsedRatio: () => 0.1 },
);
await store.open();
const out = Deno.stdout;
const encoder = new TextEncoder();
out.writeSync(encoder.encode("ready\n"));

function message(seq: number): MessageToPut {
  return {
    topic: "CrashTopic",
    queueId: seq % QUEUES,
    flag: 0,
    body: crashBody(seq),
    properties: encodeProperties({ SEQ: String(seq) }),
    sysFlag: 0,
    bornTimestamp: Date.now(),
    bornHost: { ip: new Uint8Array([127, 0, 0, 1]), port: 1 },
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  };
}

let next = 0;
async function producer(): Promise<void> {
  // Runs until the parent kills the process.
  while (true) {
    const seq = next++;
    const m = message(seq);
    const put = await store.putMessage(m);
    if (put.status !== "PUT_OK") {
      out.writeSync(encoder.encode(`error ${seq} ${put.status}\n`));
      continue;
    }
    out.writeSync(encoder.encode(
      `ack ${seq} ${m.queueId} ${put.queueOffset} ${put.commitLogOffset} ${fnv1a(m.body)}\n`,
    ));
  }
}

await Promise.all(Array.from({ length: IN_FLIGHT }, producer));
