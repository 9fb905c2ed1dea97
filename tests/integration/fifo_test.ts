/**
 * FIFO sends against a real broker: messages of one message group land on
 * one queue in send order, and a consumer sees each group in order.
 */

import assert from "node:assert/strict";
import { startTestBroker } from "../_helpers/broker.ts";
import { take } from "../_helpers/consume.ts";
import { createAdmin } from "../../client/admin.ts";
import { createConsumer } from "../../client/consumer.ts";
import { createProducer, selectQueueByGroup } from "../../client/producer.ts";
import { MQClientError } from "../../client/errors.ts";

Deno.test("Producer.send() with a messageGroup keeps each group on its hashed queue, in send order", async () => {
  // Goal: per-group order end to end. Method: 6 groups send 15 messages each (groups in
  // parallel, each group sequentially); check queues and offsets, then consume all 90.
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("Fifo", { readQueueNums: 4, writeQueueNums: 4, order: true });
  await using producer = await createProducer({ endpoint, group: "fifo-pg" });
  const groups = ["order-1", "order-2", "order-3", "order-4", "order-5", "order-6"];
  const queues = [0, 1, 2, 3].map((queueId) => ({ topic: "Fifo", brokerName: "", queueId }));
  await Promise.all(groups.map(async (group) => {
    let lastOffset = -1;
    const expected = selectQueueByGroup(queues, { topic: "Fifo", body: "x", messageGroup: group });
    for (let seq = 0; seq < 15; seq++) {
      const sent = await producer.send({
        topic: "Fifo",
        body: `${group}:${seq}`,
        messageGroup: group,
        properties: { seq: String(seq) },
      });
      assert.equal(sent.queue.queueId, expected.queueId, `${group} stays on its queue`);
      assert.ok(sent.queueOffset > lastOffset, "queue offsets follow send order");
      lastOffset = sent.queueOffset;
    }
  }));

  await using consumer = await createConsumer({
    endpoint,
    group: "fifo-cg",
    topic: "Fifo",
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
  });
  const got = await take(consumer.messages(), 90);
  const seen = new Map<string, number>();
  for (const message of got) {
    const group = message.messageGroup!;
    assert.ok(groups.includes(group));
    const seq = Number(message.properties.seq);
    assert.equal(seq, (seen.get(group) ?? -1) + 1, `${group} arrives in order`);
    seen.set(group, seq);
  }
  assert.equal(seen.size, groups.length);
});

Deno.test("Producer.send() refuses a FIFO message for a topic without a route instead of letting the broker pick", async () => {
  await using broker = await startTestBroker({ autoCreateTopicEnable: true });
  await using producer = await createProducer({ endpoint: `127.0.0.1:${broker.port}` });
  await assert.rejects(
    producer.send({ topic: "NoSuchTopic", body: "x", messageGroup: "g" }),
    (e) => e instanceof MQClientError && /has no writable queues/.test(e.message),
  );
});
