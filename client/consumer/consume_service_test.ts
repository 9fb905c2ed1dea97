import assert from "node:assert/strict";
import type { BrokerClient } from "../broker_client.ts";
import type { ReceivedMessage } from "../message.ts";
import { LOCK_CLIENT_EXPIRY_MS_DEFAULT, OrderlyConsumeService } from "./consume_orderly.ts";
import { ConcurrentConsumeService } from "./consume_concurrently.ts";
import { type Delivery, holdForLocalRetry } from "./consume_service.ts";
import { ProcessQueue } from "./process_queue.ts";
import { subscribeAll } from "./subscription.ts";

const message = (queueOffset: number, reconsumeTimes = 0): ReceivedMessage =>
  ({
    queueOffset,
    reconsumeTimes,
    msgId: "m",
    withReconsumeTimes: (n: number) => message(queueOffset, n),
  }) as unknown as ReceivedMessage;
const failing = {
  invoke: () => Promise.reject(new Error("broker down")),
} as unknown as BrokerClient;
const delivery = (offset: number, reconsumeTimes = 0): Delivery => ({
  pq: new ProcessQueue({ topic: "T", brokerName: "b", queueId: 0 }, subscribeAll("T"), 0),
  message: message(offset, reconsumeTimes),
  heldForRetry: false,
  handedBack: false,
});

Deno.test("holdForLocalRetry() holds a delivery once, with the new reconsumeTimes", () => {
  const d = delivery(4);
  holdForLocalRetry(d, 1, 0);
  holdForLocalRetry(d, 2, 0);
  assert.equal(d.pq.retries.length, 1);
  assert.equal(d.pq.retries[0].message.reconsumeTimes, 1);
  assert.equal(d.pq.consumedOffset, 0);
});

Deno.test("OrderlyConsumeService: deliverable only under a fresh lock; reconsume only the current message", async () => {
  const service = new OrderlyConsumeService({
    client: failing,
    group: "g",
    clientId: "c",
    maxReconsumeTimes: 2,
    retrySuspendMs: 10,
  });
  const d = delivery(3);
  assert.equal(service.deliverable(d.pq, d.pq.lockedAtMs + 1), true);
  assert.equal(service.deliverable(d.pq, d.pq.lockedAtMs + LOCK_CLIENT_EXPIRY_MS_DEFAULT), false);
  await assert.rejects(service.reconsumeLater(d.message, undefined), TypeError);
  await service.reconsumeLater(d.message, d);
  assert.equal(d.pq.retries[0].message.reconsumeTimes, 1);
  // At the limit the DLQ send fails here: the message stays in place, never skipped.
  const last = delivery(3, 2);
  await service.reconsumeLater(last.message, last);
  assert.equal(last.handedBack, false);
  assert.equal(last.pq.retries[0].message.reconsumeTimes, 2);
});

Deno.test("ConcurrentConsumeService: when the broker takes nothing back, the current message is retried locally", async () => {
  const service = new ConcurrentConsumeService({
    client: failing,
    group: "g",
    maxReconsumeTimes: 16,
    retrySuspendMs: 10,
    onRetryTopicUsed: () => {},
  });
  const d = delivery(5);
  await service.reconsumeLater(d.message, d, 0);
  assert.equal(d.pq.retries.length, 1);
  await assert.rejects(service.reconsumeLater(message(6), undefined, 0), /send-back failed/);
});
