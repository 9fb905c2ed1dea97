import assert from "node:assert/strict";
import type { ReceivedMessage } from "../message.ts";
import type { ConsumeService } from "./consume_service.ts";
import { DeliveryBuffer } from "./delivery_buffer.ts";
import { ProcessQueue } from "./process_queue.ts";
import { subscribeAll } from "./subscription.ts";

const fake = (queueOffset: number) => ({ queueOffset }) as unknown as ReceivedMessage;
const service = (orderly: boolean, deliverable = true): ConsumeService => ({
  orderly,
  deliverable: () => deliverable,
  reconsumeLater: () => Promise.resolve(),
});
const pqOf = (queueId: number) =>
  new ProcessQueue({ topic: "T", brokerName: "b", queueId }, subscribeAll("T"), 0);

Deno.test("DeliveryBuffer gives due retries first, then batches in arrival order", () => {
  const buffer = new DeliveryBuffer(service(false), 10);
  const a = pqOf(0);
  buffer.push(a, [fake(0), fake(1)]);
  a.retries.push({ message: fake(7), dueMs: 0 });
  const order: number[] = [];
  for (;;) {
    const next = buffer.takeNext([a]);
    if ("waitMs" in next) break;
    order.push(next.message.queueOffset);
  }
  assert.deepEqual(order, [7, 0, 1]);
  assert.equal(a.buffered, 0);
});

Deno.test("DeliveryBuffer (orderly) holds a queue's batch behind its pending retry and says how long to wait", () => {
  const buffer = new DeliveryBuffer(service(true), 10);
  const a = pqOf(0);
  buffer.push(a, [fake(1)]);
  a.retries.push({ message: fake(0), dueMs: performance.now() + 60_000 });
  const next = buffer.takeNext([a]);
  assert.ok("waitMs" in next && next.waitMs !== undefined && next.waitMs > 0);
});

Deno.test("DeliveryBuffer resumes a paused pull once the queue drops below the limit, and wakes a sleeper", async () => {
  const buffer = new DeliveryBuffer(service(false), 2);
  const a = pqOf(0);
  let resumed = false;
  a.resume = () => (resumed = true);
  const sleeping = buffer.sleep(undefined);
  buffer.push(a, [fake(0), fake(1)]);
  await sleeping;
  buffer.takeNext([a]);
  assert.equal(resumed, true);
});
