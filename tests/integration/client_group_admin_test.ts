/**
 * Consumer groups and admin against a real broker: queue split and takeover,
 * topic create/list/delete, group lag.
 */

import assert from "node:assert/strict";
import { startTestBroker } from "../_helpers/broker.ts";
import { createAdmin } from "../../client/admin.ts";
import { createConsumer } from "../../client/consumer.ts";
import { createProducer } from "../../client/producer.ts";
import type { MessageQueue } from "../../client/message.ts";

/** Resolves when `predicate` holds for an assignment reported by onRebalance; bounded. */
function assignmentWatch(timeoutMs = 10_000) {
  let latest: readonly MessageQueue[] = [];
  let check: (() => void) | undefined;
  return {
    onRebalance(queues: readonly MessageQueue[]) {
      latest = queues;
      check?.();
    },
    until(predicate: (ids: number[]) => boolean): Promise<number[]> {
      const ids = () => latest.map((q) => q.queueId).sort((a, b) => a - b);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          check = undefined;
          reject(new Error(`assignment stuck at [${ids()}]`));
        }, timeoutMs);
        check = () => {
          if (!predicate(ids())) return;
          clearTimeout(timer);
          check = undefined;
          resolve(ids());
        };
        check();
      });
    },
  };
}

Deno.test("Two consumers of a group split the queues; the survivor takes all when one leaves", async () => {
  // Goal: rebalance on join (NOTIFY_CONSUMER_IDS_CHANGED) and on leave (UNREGISTER_CLIENT).
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("Split", { readQueueNums: 4, writeQueueNums: 4 });
  const watchA = assignmentWatch();
  const watchB = assignmentWatch();
  await using a = await createConsumer({
    endpoint,
    group: "g",
    topic: "Split",
    clientId: "client-a",
    onRebalance: watchA.onRebalance,
  });
  assert.deepEqual(await watchA.until((ids) => ids.length === 4), [0, 1, 2, 3]);
  const b = await createConsumer({
    endpoint,
    group: "g",
    topic: "Split",
    clientId: "client-b",
    onRebalance: watchB.onRebalance,
  });
  try {
    assert.deepEqual(await watchB.until((ids) => ids.length === 2), [2, 3]);
    assert.deepEqual(await watchA.until((ids) => ids.length === 2), [0, 1]);
    assert.deepEqual((await admin.consumerIds("g")).sort(), ["client-a", "client-b"]);
  } finally {
    await b.close();
  }
  assert.deepEqual(await watchA.until((ids) => ids.length === 4), [0, 1, 2, 3]);
  assert.deepEqual(a.assignment.map((q) => q.queueId).sort(), [0, 1, 2, 3]);
});

Deno.test("Admin creates, lists and deletes topics and reports queue offsets", async () => {
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("AdminT", { readQueueNums: 3, writeQueueNums: 3 });
  const listed = (await admin.listTopics()).find((t) => t.topicName === "AdminT");
  assert.equal(listed?.readQueueNums, 3);
  assert.equal(listed?.writeQueueNums, 3);
  await using producer = await createProducer({ endpoint });
  for (let i = 0; i < 6; i++) await producer.send({ topic: "AdminT", body: "x" });
  const status = await admin.topicStatus("AdminT");
  assert.deepEqual(status.map((s) => s.queue.queueId), [0, 1, 2]);
  assert.equal(status.reduce((sum, s) => sum + s.maxOffset - s.minOffset, 0), 6);
  await admin.deleteTopic("AdminT");
  assert.equal((await admin.listTopics()).some((t) => t.topicName === "AdminT"), false);
  await assert.rejects(admin.createTopic("bad topic"), TypeError);
});

Deno.test("Admin.consumerProgress() reports per-queue lag of a group", async () => {
  // Goal: 5 messages in one queue, 3 consumed and committed -> lag 2.
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("Lag", { readQueueNums: 1, writeQueueNums: 1 });
  await using producer = await createProducer({ endpoint });
  for (let i = 0; i < 5; i++) await producer.send({ topic: "Lag", body: `m${i}` });
  const consumer = await createConsumer({
    endpoint,
    group: "lagging",
    topic: "Lag",
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
  });
  try {
    const iterator = consumer.messages();
    for (let i = 0; i < 4; i++) await iterator.next(); // m0..m2 processed, m3 current
  } finally {
    await consumer.close();
  }
  const progress = await admin.consumerProgress("lagging", "Lag");
  assert.deepEqual(progress.queues, [
    { topic: "Lag", queueId: 0, brokerOffset: 5, consumerOffset: 3, lag: 2 },
  ]);
  assert.equal(progress.totalLag, 2);
  const all = await admin.consumerProgress("lagging");
  assert.equal(all.totalLag, 2);
});
