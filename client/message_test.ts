import assert from "node:assert/strict";
import { encodeMessage, messageTypeProperties, ReceivedMessage } from "./message.ts";
import { decodeProperties, encodeProperties } from "./protocol/properties.ts";
import type { MessageRecord } from "./protocol/message_record.ts";

const NOW = 1_700_000_000_000;

Deno.test("messageTypeProperties() maps deliverAt, delayMs, delayLevel and messageGroup to system properties", () => {
  assert.deepEqual(
    messageTypeProperties({ topic: "T", body: "x", deliverAt: new Date(NOW + 5) }, NOW),
    {
      TIMER_DELIVER_MS: String(NOW + 5),
    },
  );
  assert.deepEqual(messageTypeProperties({ topic: "T", body: "x", deliverAt: NOW }, NOW), {
    TIMER_DELIVER_MS: String(NOW),
  });
  assert.deepEqual(messageTypeProperties({ topic: "T", body: "x", delayMs: 1500 }, NOW), {
    TIMER_DELAY_MS: "1500",
  });
  assert.deepEqual(messageTypeProperties({ topic: "T", body: "x", delayLevel: 3 }, NOW), {
    DELAY: "3",
  });
  assert.deepEqual(messageTypeProperties({ topic: "T", body: "x", messageGroup: "g1" }, NOW), {
    __SHARDINGKEY: "g1",
  });
  assert.deepEqual(messageTypeProperties({ topic: "T", body: "x" }, NOW), {});
});

Deno.test("messageTypeProperties() refuses past, NaN and out-of-range times, delays and levels", () => {
  const m = { topic: "T", body: "x" };
  assert.throws(() => messageTypeProperties({ ...m, deliverAt: NOW - 1 }, NOW), /in the past/);
  assert.throws(() => messageTypeProperties({ ...m, deliverAt: new Date(NaN) }, NOW), RangeError);
  assert.throws(() => messageTypeProperties({ ...m, deliverAt: 1.5 }, NOW), RangeError);
  assert.throws(() => messageTypeProperties({ ...m, delayMs: 0 }, NOW), RangeError);
  assert.throws(() => messageTypeProperties({ ...m, delayMs: NaN }, NOW), RangeError);
  assert.throws(() => messageTypeProperties({ ...m, delayMs: -5 }, NOW), RangeError);
  assert.throws(() => messageTypeProperties({ ...m, delayLevel: 0 }, NOW), RangeError);
  assert.throws(() => messageTypeProperties({ ...m, delayLevel: 19 }, NOW), RangeError);
  assert.throws(() => messageTypeProperties({ ...m, messageGroup: "" }, NOW), TypeError);
  assert.throws(
    () => messageTypeProperties({ ...m, messageGroup: "x".repeat(129) }, NOW),
    RangeError,
  );
});

Deno.test("messageTypeProperties() refuses two delivery options, or a group with one", () => {
  const m = { topic: "T", body: "x" };
  assert.throws(
    () => messageTypeProperties({ ...m, deliverAt: NOW + 10, delayMs: 10 }, NOW),
    /set only one of deliverAt, delayMs/,
  );
  assert.throws(() => messageTypeProperties({ ...m, delayMs: 10, delayLevel: 2 }, NOW), TypeError);
  assert.throws(
    () => messageTypeProperties({ ...m, messageGroup: "g", delayLevel: 2 }, NOW),
    /messageGroup cannot be combined with delayLevel/,
  );
});

Deno.test("encodeMessage() carries the message-type properties next to UNIQ_KEY", () => {
  const encoded = encodeMessage({ topic: "T", body: "x", messageGroup: "g", tags: "a" }, "U1");
  const props = decodeProperties(encoded.properties);
  assert.equal(props.get("__SHARDINGKEY"), "g");
  assert.equal(props.get("UNIQ_KEY"), "U1");
  assert.throws(
    () => encodeMessage({ topic: "T", body: "x", properties: { __SHARDINGKEY: "g" } }, "U1"),
    /reserved/,
  );
});

function record(topic: string, properties: Record<string, string>): MessageRecord {
  return {
    totalSize: 0,
    magic: 0,
    bodyCrc: 0,
    queueId: 0,
    flag: 0,
    queueOffset: 3,
    commitLogOffset: 100,
    sysFlag: 0,
    bornTimestamp: NOW,
    bornHost: { ip: new Uint8Array([127, 0, 0, 1]), port: 1 },
    storeTimestamp: NOW,
    storeHost: { ip: new Uint8Array([127, 0, 0, 1]), port: 2 },
    reconsumeTimes: 2,
    preparedTransactionOffset: 0,
    body: new TextEncoder().encode("b"),
    topic,
    properties: encodeProperties(properties),
  };
}

Deno.test("ReceivedMessage from a retry topic reports the original topic and keeps storeTopic", () => {
  const retried = new ReceivedMessage(
    record("%RETRY%cg", { RETRY_TOPIC: "Orders", __SHARDINGKEY: "g" }),
    "b",
  );
  assert.equal(retried.topic, "Orders");
  assert.equal(retried.storeTopic, "%RETRY%cg");
  assert.equal(retried.messageGroup, "g");
  assert.equal(retried.reconsumeTimes, 2);
  const plain = new ReceivedMessage(record("Orders", { RETRY_TOPIC: "Other" }), "b", {
    reconsumeTimes: 5,
  });
  assert.equal(plain.topic, "Orders", "RETRY_TOPIC only counts on a retry topic");
  assert.equal(plain.reconsumeTimes, 5);
});
