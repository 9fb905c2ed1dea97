/**
 * Pop consumption against a real broker: several simple consumers on one
 * queue, invisible time and redelivery through the pop retry topic, change
 * of invisible time, batch ack, stale and forged receipt handles, FIFO pop,
 * long polling woken by arrivals, and the DLQ after maxAttempts.
 */

import assert from "node:assert/strict";
import { startTestBroker, TestConnection } from "../_helpers/broker.ts";
import { createAdmin } from "../../client/admin.ts";
import { createProducer } from "../../client/producer.ts";
import { type Consumer, createConsumer } from "../../client/consumer.ts";
import { MQBrokerError } from "../../client/errors.ts";
import type { ReceivedMessage } from "../../client/message.ts";
import { createSimpleConsumer, type SimpleConsumer } from "../../client/simple_consumer.ts";
import { encodeBitSet, parseReceiptHandle } from "../../client/protocol/pop_headers.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";

const WAIT_MS = 15_000;

async function setup(topic: string, queues = 1, overrides = {}) {
  const broker = await startTestBroker(overrides);
  const endpoint = `127.0.0.1:${broker.port}`;
  const admin = await createAdmin({ endpoint });
  await admin.createTopic(topic, { readQueueNums: queues, writeQueueNums: queues });
  const producer = await createProducer({ endpoint, group: "pop-pg" });
  return {
    endpoint,
    producer,
    async [Symbol.asyncDispose]() {
      await producer.close();
      await admin.close();
      await broker.close();
    },
    broker,
  };
}

function consumer(endpoint: string, topic: string, group = "pop-g", awaitDuration = 3_000) {
  return createSimpleConsumer({
    endpoint,
    group,
    subscriptions: { [topic]: "*" },
    awaitDuration,
    consumeFrom: "FIRST",
  });
}

/** Receive until `n` messages arrived, failing after WAIT_MS. */
async function receiveN(
  c: SimpleConsumer,
  n: number,
  invisibleMs: number,
): Promise<ReceivedMessage[]> {
  const out: ReceivedMessage[] = [];
  const deadline = Date.now() + WAIT_MS;
  while (out.length < n) {
    if (Date.now() > deadline) throw new Error(`received ${out.length} of ${n}`);
    out.push(...await c.receive(Math.min(32, n - out.length), invisibleMs));
  }
  return out;
}

Deno.test("Pop: three consumers on one queue get every message once while invisible, then ack all", async () => {
  await using env = await setup("PopShare");
  for (let i = 0; i < 90; i++) await env.producer.send({ topic: "PopShare", body: `m${i}` });
  await using a = await consumer(env.endpoint, "PopShare");
  await using b = await consumer(env.endpoint, "PopShare");
  await using c = await consumer(env.endpoint, "PopShare");
  const seen = new Map<string, string>();
  const all: [SimpleConsumer, ReceivedMessage][] = [];
  const deadline = Date.now() + WAIT_MS;
  while (seen.size < 90 && Date.now() < deadline) {
    const batches = await Promise.all([a, b, c].map((x) => x.receive(8, 60_000)));
    for (const [i, batch] of batches.entries()) {
      for (const m of batch) {
        assert.equal(seen.has(m.msgId), false, `message ${m.text()} delivered twice`);
        seen.set(m.msgId, "abc"[i]);
        all.push([[a, b, c][i], m]);
      }
    }
  }
  assert.equal(seen.size, 90);
  assert.ok(new Set(seen.values()).size > 1, "more than one consumer received");
  for (const [owner, m] of all) await owner.ack(m);
  // Acked, so nothing comes back.
  assert.deepEqual(await a.receive(32, 1_000), []);
});

Deno.test("Pop: an unacked message comes back after its invisible time with reconsumeTimes + 1", async () => {
  await using env = await setup("PopRedeliver");
  await env.producer.send({ topic: "PopRedeliver", body: "again" });
  await using c = await consumer(env.endpoint, "PopRedeliver");
  const [first] = await receiveN(c, 1, 1_000);
  assert.equal(first.reconsumeTimes, 0);
  const [second] = await receiveN(c, 1, 60_000);
  assert.equal(second.msgId, first.msgId);
  assert.equal(second.text(), "again");
  assert.equal(second.topic, "PopRedeliver");
  assert.equal(second.reconsumeTimes, 1);
  assert.equal(second.properties["1ST_POP_TIME"] !== undefined, true);
  await c.ack(second);
  // The first handle is stale now: refused, nothing changes.
  await assert.rejects(c.ack(first), (e) => e instanceof MQBrokerError);
});

Deno.test("Pop: changeInvisibleDuration shortens and extends; the old handle is stale afterwards", async () => {
  await using env = await setup("PopChange");
  await env.producer.send({ topic: "PopChange", body: "short" });
  await using c = await consumer(env.endpoint, "PopChange");
  const [m] = await receiveN(c, 1, 60_000);
  const oldHandle = c.receiptHandle(m);
  await c.changeInvisibleDuration(m, 0); // visible again now
  assert.notEqual(c.receiptHandle(m), oldHandle);
  const [back] = await receiveN(c, 1, 1_000);
  assert.equal(back.msgId, m.msgId);
  assert.equal(back.reconsumeTimes, 1);
  // Extend: its 1 s invisible time becomes 60 s, so a 3 s long poll finds nothing.
  await c.changeInvisibleDuration(back, 60_000);
  assert.deepEqual(await c.receive(32, 60_000), []);
  await c.ack(back);
});

Deno.test("Pop: BATCH_ACK_MESSAGE acks a batch; forged and out-of-range handles are refused", async () => {
  await using env = await setup("PopBatch");
  for (let i = 0; i < 5; i++) await env.producer.send({ topic: "PopBatch", body: `b${i}` });
  await using c = await consumer(env.endpoint, "PopBatch");
  const got = await receiveN(c, 5, 2_000);
  const handle = parseReceiptHandle(c.receiptHandle(got[0]));
  assert.ok(handle.ok);
  await using raw = await TestConnection.connect(env.broker.port);
  const ack = (extraInfo: string, offset: number) =>
    raw.request(RequestCode.ACK_MESSAGE, {
      consumerGroup: "pop-g",
      topic: "PopBatch",
      queueId: 0,
      extraInfo,
      offset,
    });
  const forged = c.receiptHandle(got[0]).replace(/ (\d+) /, " 12345 ");
  assert.equal((await ack(forged, got[0].queueOffset)).code, ResponseCode.INVALID_PARAMETER);
  assert.equal((await ack("not a handle", 0)).code, ResponseCode.INVALID_PARAMETER);
  const outside = c.receiptHandle(got[0]).replace(/ \d+$/, " 999");
  assert.equal((await ack(outside, 999)).code, ResponseCode.NO_MESSAGE);
  const h = handle.handle;
  const body = {
    brokerName: h.brokerName,
    acks: [{
      c: "pop-g",
      t: "PopBatch",
      r: "0",
      so: h.ckStartOffset,
      q: 0,
      rq: h.reviveQid,
      pt: h.popTime,
      it: h.invisibleTime,
      b: encodeBitSet(got.map((m) => m.queueOffset - h.ckStartOffset)),
    }],
  };
  const response = await raw.request(
    RequestCode.BATCH_ACK_MESSAGE,
    {},
    new TextEncoder().encode(JSON.stringify(body)),
  );
  assert.equal(response.code, ResponseCode.SUCCESS, response.remark);
  // Acked: the 2 s invisible time passes and nothing comes back within a 3 s poll.
  assert.deepEqual(await c.receive(32, 60_000), []);
  // The client's ackBatch sends the same request.
  await env.producer.send({ topic: "PopBatch", body: "b5" });
  await env.producer.send({ topic: "PopBatch", body: "b6" });
  const more = await receiveN(c, 2, 1_000);
  await c.ackBatch(more);
  assert.deepEqual(await c.receive(32, 60_000), []);
});

Deno.test("Pop: maxMsgNums above 32 and an unknown topic are refused", async () => {
  await using env = await setup("PopBad");
  await using raw = await TestConnection.connect(env.broker.port);
  const pop = (topic: string, maxMsgNums: number) =>
    raw.request(RequestCode.POP_MESSAGE, {
      consumerGroup: "g",
      topic,
      queueId: -1,
      maxMsgNums,
      invisibleTime: 1000,
      pollTime: 0,
      bornTime: Date.now(),
      initMode: 0,
    });
  assert.equal((await pop("PopBad", 33)).code, ResponseCode.INVALID_PARAMETER);
  assert.equal((await pop("NoSuchTopic", 1)).code, ResponseCode.TOPIC_NOT_EXIST);
  assert.equal((await pop("PopBad", 1)).code, ResponseCode.PULL_NOT_FOUND);
});

Deno.test("Pop: a long poll is woken by the arrival of a message", async () => {
  await using env = await setup("PopWake");
  await using c = await consumer(env.endpoint, "PopWake", "pop-g", 30_000);
  const receiving = c.receive(4, 10_000);
  // The pop is parked (30 s poll); the send wakes it.
  await env.producer.send({ topic: "PopWake", body: "wake" });
  const got = await receiving;
  assert.deepEqual(got.map((m) => m.text()), ["wake"]);
  await c.ack(got[0]);
});

Deno.test("Pop: FIFO pop blocks the queue until ack, and an expired batch comes back with its count", async () => {
  await using env = await setup("PopFifo");
  for (let i = 0; i < 4; i++) await env.producer.send({ topic: "PopFifo", body: `f${i}` });
  await using c = await createSimpleConsumer({
    endpoint: env.endpoint,
    group: "fifo-g",
    subscriptions: { PopFifo: "*" },
    awaitDuration: 1_000,
    consumeFrom: "FIRST",
    fifo: true,
  });
  const first = await c.receive(2, 60_000);
  assert.deepEqual(first.map((m) => m.text()), ["f0", "f1"]);
  assert.deepEqual(await c.receive(2, 60_000), [], "blocked while the batch is invisible");
  await c.ack(first[0]);
  assert.deepEqual(await c.receive(2, 60_000), [], "still blocked: f1 unacked");
  await c.ack(first[1]);
  const second = await c.receive(2, 500);
  assert.deepEqual(second.map((m) => m.text()), ["f2", "f3"]);
  // Not acked: after 500 ms the same batch comes back, counted.
  const deadline = Date.now() + WAIT_MS;
  let again: ReceivedMessage[] = [];
  while (again.length === 0 && Date.now() < deadline) again = await c.receive(2, 60_000);
  assert.deepEqual(again.map((m) => m.text()), ["f2", "f3"]);
  assert.deepEqual(again.map((m) => m.reconsumeTimes), [1, 1]);
  await assert.rejects(c.ack(second[0]), MQBrokerError, "the first pop's handle is stale");
  for (const m of again) await c.ack(m);
});

Deno.test("Pop: after maxAttempts deliveries an unacked message goes to %DLQ%<group>", async () => {
  await using env = await setup("PopDlq", 1, { retryMaxTimes: 1 });
  await env.producer.send({ topic: "PopDlq", body: "poison" });
  await using c = await consumer(env.endpoint, "PopDlq", "dlq-g");
  const [first] = await receiveN(c, 1, 500);
  const [second] = await receiveN(c, 1, 500);
  assert.equal(second.msgId, first.msgId);
  // The revive dead-letters it (creating %DLQ%dlq-g): wait for the topic, pacing with long polls.
  await using admin = await createAdmin({ endpoint: env.endpoint });
  const deadline = Date.now() + WAIT_MS;
  while (!(await admin.listTopics()).some((t) => t.topicName === "%DLQ%dlq-g")) {
    if (Date.now() > deadline) throw new Error("no DLQ topic");
    assert.deepEqual(await c.receive(1, 500), [], "not delivered a third time");
  }
  await using dlq = await createSimpleConsumer({
    endpoint: env.endpoint,
    group: "dlq-reader",
    subscriptions: { "%DLQ%dlq-g": "*" },
    awaitDuration: 3_000,
    consumeFrom: "FIRST",
  });
  const [dead] = await receiveN(dlq, 1, 60_000);
  assert.equal(dead.text(), "poison");
});

Deno.test("Pop mode push consumer: two members share the messages; reconsumeLater brings one back", async () => {
  await using env = await setup("PopPush", 2);
  for (let i = 0; i < 20; i++) await env.producer.send({ topic: "PopPush", body: `p${i}` });
  const member = () =>
    createConsumer({
      endpoint: env.endpoint,
      group: "push-pop-g",
      topic: "PopPush",
      mode: "pop",
      consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
      suspendTimeoutMs: 1_000,
      pullTimeoutMs: 5_000,
    });
  await using a = await member();
  await using b = await member();
  const seen = new Set<string>();
  let retried: string | undefined;
  const { promise: done, resolve } = Promise.withResolvers<void>();
  const run = async (c: Consumer) => {
    for await (const m of c.messages()) {
      if (retried === undefined) {
        retried = m.text();
        await c.reconsumeLater(m, { delayLevel: 1 });
        continue;
      }
      if (m.text() === retried && !seen.has(retried)) assert.equal(m.reconsumeTimes, 1);
      seen.add(m.text());
      if (seen.size === 20) resolve();
    }
  };
  const loops = [run(a), run(b)];
  const timer = setTimeout(resolve, WAIT_MS);
  await done;
  clearTimeout(timer);
  await Promise.all([a.close(), b.close()]);
  await Promise.all(loops);
  assert.equal(seen.size, 20);
});

Deno.test("QUERY_ASSIGNMENT shares queues among members in PULL mode and gives all in POP mode", async () => {
  await using env = await setup("Assign", 4);
  await using a = await createSimpleConsumer({
    endpoint: env.endpoint,
    group: "assign-g",
    subscriptions: { Assign: "*" },
    clientId: "client-a",
  });
  await using b = await createSimpleConsumer({
    endpoint: env.endpoint,
    group: "assign-g",
    subscriptions: { Assign: "*" },
    clientId: "client-b",
  });
  assert.ok(a && b);
  await using raw = await TestConnection.connect(env.broker.port);
  const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  const query = async (clientId: string) => {
    const response = await raw.request(
      RequestCode.QUERY_ASSIGNMENT,
      {},
      json({ topic: "Assign", consumerGroup: "assign-g", clientId, strategyName: "AVG" }),
    );
    assert.equal(response.code, ResponseCode.SUCCESS, response.remark);
    const body = JSON.parse(new TextDecoder().decode(response.body));
    return body.messageQueueAssignments as { messageQueue: { queueId: number }; mode: string }[];
  };
  const [qa, qb] = [await query("client-a"), await query("client-b")];
  assert.deepEqual(qa.map((x) => x.messageQueue.queueId), [0, 1]);
  assert.deepEqual(qb.map((x) => x.messageQueue.queueId), [2, 3]);
  assert.equal(qa[0].mode, "PULL");
  const set = await raw.request(
    RequestCode.SET_MESSAGE_REQUEST_MODE,
    {},
    json({ topic: "Assign", consumerGroup: "assign-g", mode: "POP", popShareQueueNum: 0 }),
  );
  assert.equal(set.code, ResponseCode.SUCCESS);
  const popAll = await query("client-a");
  assert.equal(popAll.length, 4);
  assert.equal(popAll[0].mode, "POP");
});

Deno.test("PEEK_MESSAGE reads without popping; NOTIFICATION says whether a pop would find one; pops filter by tag", async () => {
  await using env = await setup("PopPeek");
  await using raw = await TestConnection.connect(env.broker.port);
  const notify = (pollTime: number) =>
    raw.request(RequestCode.NOTIFICATION, {
      consumerGroup: "peek-g",
      topic: "PopPeek",
      queueId: -1,
      pollTime,
      bornTime: Date.now(),
    });
  const empty = await notify(0);
  assert.equal(empty.extFields?.hasMsg, "false");
  const parked = notify(10_000); // woken by the send below
  await env.producer.send({ topic: "PopPeek", body: "skip", tags: "B" });
  await env.producer.send({ topic: "PopPeek", body: "keep", tags: "A" });
  assert.equal((await parked).extFields?.hasMsg, "true");
  const peek = await raw.request(RequestCode.PEEK_MESSAGE, {
    consumerGroup: "peek-g",
    topic: "PopPeek",
    queueId: 0,
    maxMsgNums: 8,
  });
  assert.equal(peek.code, ResponseCode.SUCCESS);
  await using c = await createSimpleConsumer({
    endpoint: env.endpoint,
    group: "peek-g",
    subscriptions: { PopPeek: "A" },
    awaitDuration: 1_000,
    consumeFrom: "FIRST",
  });
  const got = await receiveN(c, 1, 60_000);
  assert.deepEqual(got.map((m) => m.text()), ["keep"], "the peek consumed nothing; B filtered");
  await c.ack(got[0]);
});

Deno.test("Pop long polling: beyond --pop-polling-per-key-max a pop is answered POLLING_FULL", async () => {
  await using env = await setup("PopFull", 1, { popPollingPerKeyMax: 1 });
  await using raw = await TestConnection.connect(env.broker.port);
  const pop = () =>
    raw.request(RequestCode.POP_MESSAGE, {
      consumerGroup: "full-g",
      topic: "PopFull",
      queueId: 0,
      maxMsgNums: 1,
      invisibleTime: 60_000,
      pollTime: 5_000,
      bornTime: Date.now(),
      initMode: 0,
    });
  const first = pop(); // parks
  assert.equal((await pop()).code, ResponseCode.POLLING_FULL);
  await env.producer.send({ topic: "PopFull", body: "x" });
  assert.equal((await first).code, ResponseCode.SUCCESS);
});

Deno.test("FIFO pop: the outstanding batch survives a broker restart (config/consumerOrderInfo.json)", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "rmq_fifo_pop_restart_" });
  const fifo = (endpoint: string) =>
    createSimpleConsumer({
      endpoint,
      group: "fifo-r",
      subscriptions: { FifoR: "*" },
      awaitDuration: 500,
      consumeFrom: "FIRST",
      fifo: true,
    });
  try {
    {
      await using broker = await startTestBroker({}, { dataDir });
      const endpoint = `127.0.0.1:${broker.port}`;
      await using admin = await createAdmin({ endpoint });
      await admin.createTopic("FifoR", { readQueueNums: 1, writeQueueNums: 1 });
      await using producer = await createProducer({ endpoint, group: "pg" });
      for (let i = 0; i < 3; i++) await producer.send({ topic: "FifoR", body: `r${i}` });
      await using c = await fifo(endpoint);
      const first = await c.receive(2, 60_000);
      assert.deepEqual(first.map((m) => m.text()), ["r0", "r1"]);
      await c.ack(first[0]);
    }
    const persisted = JSON.parse(
      await Deno.readTextFile(`${dataDir}/config/consumerOrderInfo.json`),
    );
    assert.ok(persisted.table["FifoR@fifo-r"]["0"], "the outstanding batch is on disk");
    await using broker = await startTestBroker({}, { dataDir });
    await using c = await fifo(`127.0.0.1:${broker.port}`);
    assert.deepEqual(await c.receive(2, 60_000), [], "still blocked: r1 is invisible for 60 s");
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
