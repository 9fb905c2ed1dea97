/**
 * Producer and consumer against a real broker: send, consume in order per
 * queue, long polling, and offsets that survive a broker restart.
 */

import assert from "node:assert/strict";
import { startTestBroker } from "../_helpers/broker.ts";
import { createAdmin } from "../../client/admin.ts";
import { createConsumer } from "../../client/consumer.ts";
import { createProducer } from "../../client/producer.ts";
import type { ReceivedMessage } from "../../client/message.ts";
import { MQBrokerError } from "../../client/errors.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";

/** Take `n` messages from a consumer's iterator, failing after `timeoutMs`. */
async function take(
  iterator: AsyncIterator<ReceivedMessage>,
  n: number,
  timeoutMs = 10_000,
): Promise<ReceivedMessage[]> {
  const out: ReceivedMessage[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`got ${out.length} of ${n} messages`)), timeoutMs);
  });
  try {
    while (out.length < n) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done) break;
      out.push(next.value);
    }
  } finally {
    clearTimeout(timer);
  }
  return out;
}

Deno.test("Producer.send() stores messages and the consumer receives them in order per queue", async () => {
  // Goal: 40 messages over 4 queues arrive complete, each queue in offset order, with metadata.
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("Orders", { readQueueNums: 4, writeQueueNums: 4 });
  await using producer = await createProducer({ endpoint, group: "pg" });
  const results = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      producer.send({
        topic: "Orders",
        body: `order-${i}`,
        tags: i % 2 === 0 ? "even" : "odd",
        keys: [`k${i}`, "all"],
        properties: { seq: String(i) },
      })),
  );
  assert.ok(results.every((r) => r.status === "SEND_OK"));
  assert.deepEqual(new Set(results.map((r) => r.queue.queueId)), new Set([0, 1, 2, 3]));

  await using consumer = await createConsumer({
    endpoint,
    group: "cg",
    topic: "Orders",
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
  });
  const iterator = consumer.messages();
  const got = await take(iterator, 40);
  assert.equal(got.length, 40);
  const bySeq = new Map(got.map((m) => [Number(m.properties.seq), m]));
  for (const [i, result] of results.entries()) {
    const m = bySeq.get(i)!;
    assert.equal(m.text(), `order-${i}`);
    assert.equal(m.msgId, result.msgId);
    assert.equal(m.offsetMsgId, result.offsetMsgId);
    assert.equal(m.queueId, result.queue.queueId);
    assert.equal(m.queueOffset, result.queueOffset);
    assert.equal(m.tags, i % 2 === 0 ? "even" : "odd");
    assert.deepEqual(m.keys, [`k${i}`, "all"]);
    assert.equal(m.reconsumeTimes, 0);
    assert.ok(m.storeTimestamp >= m.bornTimestamp - 1000);
  }
  for (const queueId of [0, 1, 2, 3]) {
    const offsets = got.filter((m) => m.queueId === queueId).map((m) => m.queueOffset);
    assert.deepEqual(offsets, offsets.map((_, i) => i), `queue ${queueId} in order`);
  }
  await iterator.return?.();
});

Deno.test("Consumer long polling delivers a message sent after the pull was parked", async () => {
  // Goal: with the queue drained, a later send is delivered by the parked pull.
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("Late", { readQueueNums: 1, writeQueueNums: 1 });
  await using consumer = await createConsumer({ endpoint, group: "cg", topic: "Late" });
  await using producer = await createProducer({ endpoint });
  const iterator = consumer.messages();
  const first = iterator.next(); // parks: nothing to read yet
  const sent = await producer.send({ topic: "Late", body: "wake up" });
  const [message] = await take({ next: () => first }, 1);
  assert.equal(message.msgId, sent.msgId);
  assert.equal(message.text(), "wake up");
  await iterator.return?.();
});

Deno.test("Consumer subscription filters by tag", async () => {
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("Tagged", { readQueueNums: 1, writeQueueNums: 1 });
  await using producer = await createProducer({ endpoint });
  for (const tags of ["a", "b", "c", "a"]) {
    await producer.send({ topic: "Tagged", body: tags, tags });
  }
  await using consumer = await createConsumer({
    endpoint,
    group: "cg",
    topic: "Tagged",
    subscription: "a || c",
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
  });
  const iterator = consumer.messages();
  const got = await take(iterator, 3);
  assert.deepEqual(got.map((m) => m.tags), ["a", "c", "a"]);
  await iterator.return?.();
});

Deno.test("Producer.sendBatch() stores consecutive offsets in one queue", async () => {
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("Batch", { readQueueNums: 2, writeQueueNums: 2 });
  await using producer = await createProducer({ endpoint });
  const result = await producer.sendBatch(
    Array.from({ length: 5 }, (_, i) => ({ topic: "Batch", body: `b${i}` })),
  );
  assert.equal(result.msgIds.length, 5);
  assert.equal(result.offsetMsgIds.length, 5);
  const viewed = await admin.viewMessage(result.offsetMsgIds[2]);
  assert.equal(viewed.text(), "b2");
  assert.equal(viewed.msgId, result.msgIds[2]);
  assert.equal(viewed.queueOffset, result.queueOffset + 2);
});

Deno.test("Producer.send() to an unknown topic fails with TOPIC_NOT_EXIST", async () => {
  await using broker = await startTestBroker();
  await using producer = await createProducer({
    endpoint: `127.0.0.1:${broker.port}`,
    retryTimes: 0,
  });
  await assert.rejects(
    producer.send({ topic: "Nope", body: "x" }),
    (error: unknown) =>
      error instanceof MQBrokerError && error.code === ResponseCode.TOPIC_NOT_EXIST,
  );
});

Deno.test("Consumer offsets survive a broker restart", async () => {
  // Goal: consume part of a queue, close, restart the broker on the same data dir,
  // and a new consumer of the group resumes after the committed offset.
  const dataDir = await Deno.makeTempDir({ prefix: "rmq_client_restart_" });
  try {
    {
      await using broker = await startTestBroker({}, { dataDir });
      const endpoint = `127.0.0.1:${broker.port}`;
      await using admin = await createAdmin({ endpoint });
      await admin.createTopic("Durable", { readQueueNums: 1, writeQueueNums: 1 });
      await using producer = await createProducer({ endpoint });
      for (let i = 0; i < 10; i++) await producer.send({ topic: "Durable", body: `m${i}` });
      await using consumer = await createConsumer({
        endpoint,
        group: "cg",
        topic: "Durable",
        consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
      });
      const iterator = consumer.messages();
      // Advancing past m5 marks m0..m5 processed; m6 is then current, not processed.
      const got = await take(iterator, 7);
      assert.equal(got.at(-1)!.text(), "m6");
      await consumer.close();
      assert.equal(await admin.queryConsumerOffset("cg", "Durable", 0), 6);
    }
    {
      await using broker = await startTestBroker({}, { dataDir });
      const endpoint = `127.0.0.1:${broker.port}`;
      await using consumer = await createConsumer({
        endpoint,
        group: "cg",
        topic: "Durable",
        consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
      });
      const iterator = consumer.messages();
      const got = await take(iterator, 4);
      assert.deepEqual(got.map((m) => m.text()), ["m6", "m7", "m8", "m9"]);
      await iterator.return?.();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
