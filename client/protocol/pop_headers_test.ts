import assert from "node:assert/strict";
import {
  decodeBitSet,
  encodeBitSet,
  encodeQueueInfo,
  encodeReceiptHandle,
  parseQueueInfo,
  parseReceiptHandle,
  popMessageRequestHeader,
} from "./pop_headers.ts";

Deno.test("receipt handle round-trips in RocketMQ's 8-field form and rejects garbage", () => {
  const handle = {
    ckStartOffset: 10,
    popTime: 1_700_000_000_000,
    invisibleTime: 30_000,
    reviveQid: 3,
    topicType: 1,
    brokerName: "broker-a",
    queueId: 2,
    queueOffset: 12,
  };
  const text = encodeReceiptHandle(handle);
  assert.equal(text, "10 1700000000000 30000 3 1 broker-a 2 12");
  assert.deepEqual(parseReceiptHandle(text), { ok: true, handle });
  assert.ok(parseReceiptHandle(text + " 4096").ok, "the proxy's 9th field is accepted");
  assert.equal(parseReceiptHandle("1 2 3").ok, false);
  assert.equal(parseReceiptHandle("x 1 1 1 0 b 0 0").ok, false);
});

Deno.test("queue info strings and Java BitSet bytes round-trip", () => {
  const text = encodeQueueInfo([
    { topicType: 0, queueId: 1, value: [4, 5, 7] },
    { topicType: 1, queueId: 0, value: 9 },
  ]);
  assert.equal(text, "0 1 4,5,7;1 0 9");
  assert.deepEqual(parseQueueInfo(text).map((e) => e.value), [[4, 5, 7], [9]]);
  assert.deepEqual(parseQueueInfo(undefined), []);
  assert.deepEqual(decodeBitSet(encodeBitSet([0, 3, 9, 31])), [0, 3, 9, 31]);
  assert.equal(encodeBitSet([0, 1]), btoa("\x03"));
  assert.equal(decodeBitSet("***"), undefined);
});

Deno.test("POP_MESSAGE header needs RocketMQ's required fields", () => {
  const fields = popMessageRequestHeader.encode({
    consumerGroup: "g",
    topic: "T",
    queueId: -1,
    maxMsgNums: 32,
    invisibleTime: 1000,
    pollTime: 0,
    bornTime: 1,
    initMode: 0,
    order: true,
  });
  assert.equal(fields.order, "true");
  assert.ok(popMessageRequestHeader.decode(fields).ok);
  const { bornTime: _, ...missing } = fields;
  assert.equal(popMessageRequestHeader.decode(missing).ok, false);
});
