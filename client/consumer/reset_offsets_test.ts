import assert from "node:assert/strict";
import type { MessageQueue } from "../message.ts";
import type { OffsetStore } from "./offset_store.ts";
import { ProcessQueue } from "./process_queue.ts";
import { resetQueues } from "./reset_offsets.ts";
import { subscribeAll } from "./subscription.ts";

Deno.test("resetQueues() drops the named queues and stores their new offsets", async () => {
  const committed: [number, number][] = [];
  const store: OffsetStore = {
    commitsWithPull: true,
    read: () => Promise.resolve(undefined),
    commit: (q: MessageQueue, o: number) => Promise.resolve(void committed.push([q.queueId, o])),
    flush: () => Promise.resolve(),
  };
  const queues = new Map<string, ProcessQueue>();
  for (const queueId of [0, 1]) {
    const pq = new ProcessQueue({ topic: "T", brokerName: "b", queueId }, subscribeAll("T"), 50);
    queues.set(pq.key, pq);
  }
  const body = new TextEncoder().encode(JSON.stringify({ offsetTable: { "T@b@1": 3 } }));
  assert.equal(await resetQueues(queues, body, store), 1);
  assert.deepEqual([...queues.values()].map((q) => q.queue.queueId), [0]);
  assert.deepEqual(committed, [[1, 3]]);
  assert.equal(await resetQueues(queues, new TextEncoder().encode("nope"), store), 0);
});
