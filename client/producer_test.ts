import assert from "node:assert/strict";
import { createProducer, selectQueueByGroup } from "./producer.ts";
import { MQBrokerError } from "./errors.ts";
import { ok, startFakeBroker } from "./_testing/fake_broker.ts";
import { createResponse } from "./protocol/remoting_command.ts";
import { RequestCode } from "./protocol/request_code.ts";
import { ResponseCode } from "./protocol/response_code.ts";
import { encodeJsonBody } from "./protocol/heartbeat.ts";
import { sendMessageRequestHeaderV2 } from "./protocol/headers.ts";
import { decodeProperties, javaStringHashCode } from "./protocol/properties.ts";

const route = encodeJsonBody({
  queueDatas: [{ brokerName: "b", readQueueNums: 2, writeQueueNums: 2, perm: 6 }],
  brokerDatas: [{ cluster: "c", brokerName: "b", brokerAddrs: { "0": "x:1" } }],
});

/** A fake broker that answers the first `busy` sends with `code`, then succeeds. */
function fakeWithFailures(busy: number, code: number) {
  let sends = 0;
  return startFakeBroker((request) => {
    if (request.code === RequestCode.GET_ROUTEINFO_BY_TOPIC) return ok(request, {}, route);
    if (request.code !== RequestCode.SEND_MESSAGE_V2) return ok(request);
    if (sends++ < busy) return createResponse(request, code, "try later");
    const header = sendMessageRequestHeaderV2.decode(request.extFields);
    assert.ok(header.ok);
    return ok(request, {
      msgId: "7F00000100002A9F0000000000000000",
      queueId: header.header.queueId,
      queueOffset: 7,
    });
  });
}

Deno.test("Producer.send() retries a retriable code on the next queue", async () => {
  await using fake = fakeWithFailures(2, ResponseCode.SYSTEM_BUSY);
  await using producer = await createProducer({ endpoint: fake.endpoint, retryTimes: 2 });
  const result = await producer.send({ topic: "T", body: "x", tags: "t", keys: "k1 k2" });
  assert.equal(result.status, "SEND_OK");
  assert.equal(result.queueOffset, 7);
  const sends = fake.requests.filter((r) => r.code === RequestCode.SEND_MESSAGE_V2);
  assert.equal(sends.length, 3);
  const queueIds = sends.map((r) => sendMessageRequestHeaderV2.decode(r.extFields))
    .map((h) => h.ok ? h.header.queueId : -1);
  assert.notEqual(queueIds[0], queueIds[1], "failover moves to the next queue");
  const header = sendMessageRequestHeaderV2.decode(sends[2].extFields);
  assert.ok(header.ok);
  const properties = decodeProperties(header.header.properties ?? "");
  assert.equal(properties.get("UNIQ_KEY"), result.msgId);
  assert.equal(properties.get("TAGS"), "t");
  assert.equal(properties.get("KEYS"), "k1 k2");
});

Deno.test("Producer.send() gives up with MQBrokerError after retryTimes", async () => {
  await using fake = fakeWithFailures(10, ResponseCode.SYSTEM_BUSY);
  await using producer = await createProducer({ endpoint: fake.endpoint, retryTimes: 1 });
  await assert.rejects(
    producer.send({ topic: "T", body: "x" }),
    (e: unknown) => e instanceof MQBrokerError && e.code === ResponseCode.SYSTEM_BUSY,
  );
  assert.equal(fake.requests.filter((r) => r.code === RequestCode.SEND_MESSAGE_V2).length, 2);
});

Deno.test("Producer.send() does not retry a non-retriable code", async () => {
  await using fake = fakeWithFailures(10, ResponseCode.MESSAGE_ILLEGAL);
  await using producer = await createProducer({ endpoint: fake.endpoint });
  await assert.rejects(
    producer.send({ topic: "T", body: "x" }),
    (e: unknown) => e instanceof MQBrokerError && e.code === ResponseCode.MESSAGE_ILLEGAL,
  );
  assert.equal(fake.requests.filter((r) => r.code === RequestCode.SEND_MESSAGE_V2).length, 1);
});

Deno.test("Producer.send() validates topic, body and properties with TypeError/RangeError", async () => {
  await using fake = fakeWithFailures(0, 0);
  await using producer = await createProducer({ endpoint: fake.endpoint, bodyBytesMax: 10 });
  await assert.rejects(producer.send({ topic: "bad topic", body: "x" }), TypeError);
  await assert.rejects(producer.send({ topic: "T", body: "" }), TypeError);
  await assert.rejects(producer.send({ topic: "T".repeat(128), body: "x" }), RangeError);
  await assert.rejects(producer.send({ topic: "T", body: "x".repeat(11) }), {
    name: "RangeError",
    message: "Cannot send message: body is 11 bytes, limit is 10",
  });
  await assert.rejects(
    producer.send({ topic: "T", body: "x", properties: { UNIQ_KEY: "mine" } }),
    TypeError,
  );
  await assert.rejects(producer.sendBatch([]), TypeError);
  await assert.rejects(
    producer.sendBatch([{ topic: "A", body: "x" }, { topic: "B", body: "y" }]),
    TypeError,
  );
});

Deno.test("Producer.send() of a FIFO message retries on the same queue, never another", async () => {
  await using fake = fakeWithFailures(2, ResponseCode.SYSTEM_BUSY);
  await using producer = await createProducer({ endpoint: fake.endpoint, retryTimes: 2 });
  const result = await producer.send({ topic: "T", body: "x", messageGroup: "order-1" });
  assert.equal(result.status, "SEND_OK");
  const sends = fake.requests.filter((r) => r.code === RequestCode.SEND_MESSAGE_V2);
  assert.equal(sends.length, 3);
  const queueIds = sends.map((r) => sendMessageRequestHeaderV2.decode(r.extFields))
    .map((h) => (h.ok ? h.header.queueId : -1));
  const expected = ((javaStringHashCode("order-1") % 2) + 2) % 2;
  assert.deepEqual(queueIds, [expected, expected, expected]);
  const header = sendMessageRequestHeaderV2.decode(sends[0].extFields);
  assert.ok(header.ok);
  assert.equal(decodeProperties(header.header.properties ?? "").get("__SHARDINGKEY"), "order-1");
});

Deno.test("Producer.send() of a FIFO message fails after retryTimes on its queue", async () => {
  await using fake = fakeWithFailures(10, ResponseCode.SYSTEM_BUSY);
  await using producer = await createProducer({ endpoint: fake.endpoint, retryTimes: 1 });
  await assert.rejects(
    producer.send({ topic: "T", body: "x", messageGroup: "g" }),
    (e) => e instanceof MQBrokerError && e.code === ResponseCode.SYSTEM_BUSY,
  );
  const sends = fake.requests.filter((r) => r.code === RequestCode.SEND_MESSAGE_V2);
  assert.equal(sends.length, 2);
  const ids = new Set(sends.map((r) => r.extFields?.e));
  assert.equal(ids.size, 1, "both attempts went to one queue");
});

Deno.test("Producer queueSelector chooses the FIFO queue; a queue outside the list is refused", async () => {
  await using fake = fakeWithFailures(0, ResponseCode.SUCCESS);
  await using producer = await createProducer({
    endpoint: fake.endpoint,
    queueSelector: (queues, message) =>
      queues[message.messageGroup === "last" ? queues.length - 1 : 0],
  });
  const result = await producer.send({ topic: "T", body: "x", messageGroup: "last" });
  assert.equal(result.queue.queueId, 1);
  await using bad = await createProducer({
    endpoint: fake.endpoint,
    queueSelector: () => ({ topic: "T", brokerName: "b", queueId: 9 }),
  });
  await assert.rejects(bad.send({ topic: "T", body: "x", messageGroup: "g" }), TypeError);
});

Deno.test("selectQueueByGroup() is Java String.hashCode modulo the queue count, never negative", () => {
  const queues = [0, 1, 2].map((queueId) => ({ topic: "T", brokerName: "b", queueId }));
  // "polygenelubricants".hashCode() is Integer.MIN_VALUE: Math.abs would stay negative.
  assert.equal(javaStringHashCode("polygenelubricants"), -0x8000_0000);
  const q = selectQueueByGroup(queues, {
    topic: "T",
    body: "x",
    messageGroup: "polygenelubricants",
  });
  assert.equal(q.queueId, ((-0x8000_0000 % 3) + 3) % 3);
  assert.equal(
    selectQueueByGroup(queues, { topic: "T", body: "x", messageGroup: "a" }).queueId,
    97 % 3,
  );
  assert.throws(
    () => selectQueueByGroup([], { topic: "T", body: "x", messageGroup: "a" }),
    TypeError,
  );
});
