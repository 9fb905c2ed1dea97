/**
 * Retry and dead letters through CONSUMER_SEND_MSG_BACK against a real
 * broker, then the admin API and CLI on the dead-letter topic.
 *
 * Needs the lead's wiring of broker/api/send_back_controller.ts into
 * broker/broker.ts; rename to `retry_dlq_wired_test.ts` once applied. Uses
 * delay level 1 (1 s once TIMER's transform is wired in the send-back put).
 */

import assert from "node:assert/strict";
import { startTestBroker } from "../_helpers/broker.ts";
import { take, until } from "../_helpers/consume.ts";
import { createAdmin } from "../../client/admin.ts";
import { createConsumer } from "../../client/consumer.ts";
import { createProducer } from "../../client/producer.ts";
import { runAdminCli } from "../../client/cli/admin_cli.ts";

Deno.test("Consumer.reconsumeLater() sends back; the broker creates %RETRY%<group> and redelivers with reconsumeTimes+1", async () => {
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("Orders", { readQueueNums: 2, writeQueueNums: 2 });
  await using producer = await createProducer({ endpoint });
  const sent = await producer.send({
    topic: "Orders",
    body: "pay",
    tags: "created",
  });
  await using consumer = await createConsumer({
    endpoint,
    group: "sb-cg",
    topic: "Orders",
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
  });
  const iterator = consumer.messages();
  const got = await take(iterator, 2, 15_000, async (m) => {
    if (m.reconsumeTimes === 0) {
      await consumer.reconsumeLater(m, { delayLevel: 1 });
    }
  });
  assert.deepEqual(got.map((m) => m.reconsumeTimes), [0, 1]);
  assert.equal(got[1].topic, "Orders");
  assert.equal(got[1].storeTopic, "%RETRY%sb-cg");
  assert.equal(got[1].msgId, sent.msgId);
  assert.equal(got[1].properties.ORIGIN_MESSAGE_ID, sent.msgId);
  const retry = (await admin.listTopics()).find((t) => t.topicName === "%RETRY%sb-cg");
  assert.equal(retry?.readQueueNums, 1);
  await iterator.return?.();
});

Deno.test("After maxReconsumeTimes a message lands in %DLQ%<group>; admin lists and re-sends it", async () => {
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("Orders", { readQueueNums: 2, writeQueueNums: 2 });
  await using producer = await createProducer({ endpoint });
  const sent = await producer.send({
    topic: "Orders",
    body: "poison",
    keys: "p1",
  });
  assert.deepEqual(await admin.listDlqMessages("dlq-cg"), [], "no DLQ yet");
  {
    await using consumer = await createConsumer({
      endpoint,
      group: "dlq-cg",
      topic: "Orders",
      maxReconsumeTimes: 2,
      consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
    });
    const iterator = consumer.messages();
    const attempts = await take(iterator, 3, 20_000, async (m) => {
      await consumer.reconsumeLater(m, { delayLevel: 1 });
    });
    assert.deepEqual(attempts.map((m) => m.reconsumeTimes), [0, 1, 2]);
    await iterator.return?.();
  }
  let dead: Awaited<ReturnType<typeof admin.listDlqMessages>> = [];
  await until(
    async () => (dead = await admin.listDlqMessages("dlq-cg")).length === 1,
    "the dead letter",
  );
  const [letter] = dead;
  assert.equal(letter.text(), "poison");
  assert.equal(letter.storeTopic, "%DLQ%dlq-cg");
  assert.equal(letter.properties.DLQ_ORIGIN_TOPIC, "Orders");
  assert.equal(letter.properties.DLQ_ORIGIN_MESSAGE_ID, sent.msgId);
  assert.equal(letter.msgId, sent.msgId);
  assert.equal(letter.reconsumeTimes, 3);
  // Listing moved no offset: it lists again.
  assert.equal((await admin.listDlqMessages("dlq-cg", { max: 5 })).length, 1);

  const resent = await admin.resendDlqMessage("dlq-cg", letter.queueOffset);
  assert.equal(resent.topic, "Orders");
  const viaRetry = await admin.resendDlqMessage("dlq-cg", letter.offsetMsgId, {
    target: "retry",
  });
  assert.equal(viaRetry.topic, "%RETRY%dlq-cg");
  await using again = await createConsumer({
    endpoint,
    group: "dlq-cg",
    topic: "Orders",
  });
  const redelivered = await take(again.messages(), 2, 15_000);
  for (const m of redelivered) {
    assert.equal(m.topic, "Orders");
    assert.equal(m.text(), "poison");
    assert.equal(m.msgId, sent.msgId);
    assert.equal(m.reconsumeTimes, 0);
  }
  assert.deepEqual(redelivered.map((m) => m.storeTopic).sort(), [
    "%RETRY%dlq-cg",
    "Orders",
  ]);
  await assert.rejects(
    admin.resendDlqMessage("dlq-cg", 99),
    /no message at offset 99/,
  );
});

Deno.test("admin CLI dlqList and dlqResend show and re-send dead letters", async () => {
  await using broker = await startTestBroker();
  const n = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint: n });
  await admin.createTopic("CliOrders", { readQueueNums: 1, writeQueueNums: 1 });
  await using producer = await createProducer({ endpoint: n });
  await producer.send({ topic: "CliOrders", body: "bad" });
  {
    await using consumer = await createConsumer({
      endpoint: n,
      group: "cli-cg",
      topic: "CliOrders",
      maxReconsumeTimes: 0,
      consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
    });
    const iterator = consumer.messages();
    await take(
      iterator,
      1,
      10_000,
      (m) => consumer.reconsumeLater(m).then(() => true),
    );
    await iterator.return?.();
  }
  const run = async (...argv: string[]) => {
    const out: string[] = [];
    assert.equal(
      await runAdminCli(argv, (t) => out.push(t)),
      0,
      argv.join(" "),
    );
    return out.join("\n");
  };
  await until(
    async () => /CliOrders/.test(await run("dlqList", "-n", n, "-g", "cli-cg")),
    "dlqList to show it",
  );
  assert.match(
    await run("dlqList", "-n", n, "-g", "cli-cg"),
    /^0\s+\S+\s+CliOrders\s+1\s/m,
  );
  assert.match(
    await run("dlqResend", "-n", n, "-g", "cli-cg", "-o", "0"),
    /topic\s+CliOrders/,
  );
  assert.match(
    await run("dlqResend", "-n", n, "-g", "cli-cg", "-o", "0", "--to", "retry"),
    /topic\s+%RETRY%cli-cg/,
  );
  await assert.rejects(
    runAdminCli(["dlqResend", "-n", n, "-g", "cli-cg"], () => {}),
    /Missing -o/,
  );
});
