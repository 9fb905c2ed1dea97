import assert from "node:assert/strict";
import type { ReceivedMessage } from "../message.ts";
import { ProcessQueue, queueKey } from "./process_queue.ts";
import { subscribeAll } from "./subscription.ts";

const queue = { topic: "T", brokerName: "b", queueId: 1 };
const fake = (queueOffset: number) => ({ queueOffset }) as unknown as ReceivedMessage;

Deno.test("ProcessQueue: consumedOffset follows finished messages", () => {
  const pq = new ProcessQueue(queue, subscribeAll("T"), 10);
  assert.equal(pq.key, queueKey(queue));
  pq.inFlight = true;
  pq.finish(fake(10), false);
  assert.equal(pq.consumedOffset, 11);
  assert.equal(pq.inFlight, false);
  pq.markDone(5);
  assert.equal(pq.consumedOffset, 11, "never goes back");
});

Deno.test("ProcessQueue: a held or requeued offset pins consumedOffset until finished", () => {
  const pq = new ProcessQueue(queue, subscribeAll("T"), 0);
  pq.holdForRetry(fake(3), 3, 0);
  pq.markDone(8);
  assert.equal(pq.consumedOffset, 3);
  pq.requeue(fake(5), false);
  assert.equal(pq.retries.length, 2);
  assert.equal(pq.retries[0].message.queueOffset, 5, "requeued goes first");
  pq.finish(fake(3), false);
  assert.equal(pq.consumedOffset, 5);
  pq.finish(fake(5), false);
  assert.equal(pq.consumedOffset, 8);
});

Deno.test("ProcessQueue: waitIdle resolves on idle or after the limit; deactivate aborts", async () => {
  const pq = new ProcessQueue(queue, subscribeAll("T"), 0);
  assert.equal(await pq.waitIdle(10), true);
  pq.inFlight = true;
  const waiting = pq.waitIdle(60_000);
  pq.idle();
  assert.equal(await waiting, true);
  pq.inFlight = true;
  assert.equal(await pq.waitIdle(1), false);
  let resumed = false;
  pq.resume = () => (resumed = true);
  pq.deactivate();
  assert.equal(pq.active, false);
  assert.equal(pq.controller.signal.aborted, true);
  assert.equal(resumed, true);
  pq.holdForRetry(fake(1), 1, 0);
  assert.equal(pq.retries.length, 0, "an inactive queue holds nothing");
});
