/**
 * Retries and subscriptions through the real client and a real broker, on
 * paths that need no extra broker wiring: the client's own fallback into
 * `%RETRY%<group>` when the broker refuses CONSUMER_SEND_MSG_BACK, and SQL92
 * subscriptions checked by the broker's pull path.
 */

import assert from "node:assert/strict";
import { startTestBroker } from "../_helpers/broker.ts";
import { take } from "../_helpers/consume.ts";
import { createAdmin } from "../../client/admin.ts";
import { createConsumer } from "../../client/consumer.ts";
import { createProducer } from "../../client/producer.ts";
import { MQBrokerError } from "../../client/errors.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";

Deno.test("Consumer.reconsumeLater() re-sends to %RETRY%<group> when send-back is refused, and the message comes back with reconsumeTimes+1", async () => {
  // Goal: the retry loop through the retry topic. Method: a broker without the send-back
  // handler (REQUEST_CODE_NOT_SUPPORTED when unwired; the fallback is the same either way
  // when the handler refuses) and a pre-created retry topic; fail the message twice.
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("Orders", { readQueueNums: 2, writeQueueNums: 2 });
  await admin.createTopic("%RETRY%retry-cg", { readQueueNums: 1, writeQueueNums: 1 });
  await using producer = await createProducer({ endpoint });
  const sent = await producer.send({ topic: "Orders", body: "pay", tags: "created", keys: "k1" });

  await using consumer = await createConsumer({
    endpoint,
    group: "retry-cg",
    topic: "Orders",
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
  });
  assert.equal(consumer.retryTopic, "%RETRY%retry-cg");
  const iterator = consumer.messages();
  const attempts = await take(iterator, 3, 10_000, async (message) => {
    if (message.reconsumeTimes < 2) await consumer.reconsumeLater(message, { delayLevel: 1 });
  });
  assert.deepEqual(attempts.map((m) => m.reconsumeTimes), [0, 1, 2]);
  for (const m of attempts) {
    assert.equal(m.topic, "Orders", "the original topic is restored");
    assert.equal(m.msgId, sent.msgId);
    assert.equal(m.text(), "pay");
    assert.equal(m.tags, "created");
  }
  assert.equal(attempts[0].storeTopic, "Orders");
  assert.equal(attempts[1].storeTopic, "%RETRY%retry-cg");
  assert.equal(attempts[2].properties.RETRY_TOPIC, "Orders");
  assert.equal(attempts[2].properties.ORIGIN_MESSAGE_ID, sent.msgId);
  await iterator.return?.();
});

Deno.test("Consumer.reconsumeLater() refuses a delay level outside 0..18", async () => {
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("T", { readQueueNums: 1, writeQueueNums: 1 });
  await using producer = await createProducer({ endpoint });
  await producer.send({ topic: "T", body: "x" });
  await using consumer = await createConsumer({
    endpoint,
    group: "g",
    topic: "T",
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
  });
  const iterator = consumer.messages();
  const [message] = await take(iterator, 1);
  await assert.rejects(consumer.reconsumeLater(message, { delayLevel: 19 }), RangeError);
  await iterator.return?.();
});

Deno.test("createConsumer() rejects an invalid SQL92 subscription with SUBSCRIPTION_PARSE_FAILED", async () => {
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("Sql", { readQueueNums: 2, writeQueueNums: 2 });
  await assert.rejects(
    createConsumer({
      endpoint,
      group: "sql-cg",
      topic: "Sql",
      subscription: { type: "SQL92", expression: "amount > AND" },
    }),
    (e) =>
      e instanceof MQBrokerError && e.code === ResponseCode.SUBSCRIPTION_PARSE_FAILED &&
      /SQL92 subscription "amount > AND" is invalid/.test(e.message),
  );
  await assert.rejects(
    createConsumer({
      endpoint,
      group: "sql-cg",
      topic: "Sql",
      subscription: { type: "SQL92", expression: " " },
    }),
    TypeError,
  );
});

Deno.test("A consumer with an SQL92 subscription receives only messages whose properties match", async () => {
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("Sql", { readQueueNums: 2, writeQueueNums: 2 });
  await using producer = await createProducer({ endpoint });
  for (let i = 0; i < 10; i++) {
    await producer.send({
      topic: "Sql",
      body: `m${i}`,
      tags: i % 2 ? "odd" : "even",
      properties: { amount: String(i * 10) },
    });
  }
  await using consumer = await createConsumer({
    endpoint,
    group: "sql-cg",
    topic: "Sql",
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
    subscription: { type: "SQL92", expression: "amount >= 50 AND TAGS = 'even'" },
  });
  const iterator = consumer.messages();
  const got = await take(iterator, 2);
  assert.deepEqual(got.map((m) => m.text()).sort(), ["m6", "m8"]);
  // Nothing else matches: a third take must time out (closing the consumer ends the pending next()).
  await assert.rejects(take(iterator, 1, 500), /got 0 of 1/);
});
