import assert from "node:assert/strict";
import { decodeRecord } from "../../client/protocol/message_record.ts";
import { DEFAULT_STORE_LIMITS, type MessageToPut } from "../message_store.ts";
import { encodeMessages, prepareBatch, prepareMessage } from "./message_encoder.ts";

const STORE_HOST = { ip: new Uint8Array([127, 0, 0, 1]), port: 10911 };
const RECORD_BYTES_MAX = 1 << 20;
const utf8 = new TextEncoder();

function message(properties: string, propertiesBytes?: Uint8Array): MessageToPut {
  return {
    topic: "Orders",
    queueId: 1,
    flag: 0,
    body: utf8.encode("hello"),
    properties,
    propertiesBytes,
    sysFlag: 0,
    bornTimestamp: 1_700_000_000_000,
    bornHost: { ip: new Uint8Array([10, 0, 0, 1]), port: 4242 },
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  };
}

Deno.test("prepareMessage() uses the caller's propertiesBytes instead of encoding again", () => {
  const text = "TAGS\u0001a\u0002UNIQ_KEY\u0001U1\u0002";
  const bytes = utf8.encode(text);
  const prepared = prepareMessage(
    message(text, bytes),
    DEFAULT_STORE_LIMITS,
    STORE_HOST,
    RECORD_BYTES_MAX,
  );
  assert.ok(!("status" in prepared));
  assert.equal(prepared.propertiesBytes, bytes);
});

Deno.test("prepareMessage() encodes the properties when propertiesBytes cannot be their encoding", () => {
  const text = "TAGS\u0001a\u0002REAL_TOPIC\u0001Orders\u0002";
  const stale = utf8.encode("TAGS\u0001a\u0002");
  const prepared = prepareMessage(
    message(text, stale),
    DEFAULT_STORE_LIMITS,
    STORE_HOST,
    RECORD_BYTES_MAX,
  );
  assert.ok(!("status" in prepared));
  assert.deepEqual(prepared.propertiesBytes, utf8.encode(text));
});

Deno.test("prepareBatch() encodes records with the given propertiesBytes and one topic", () => {
  const texts = ["A\u00011\u0002", "A\u0001\u00e9\u0002", ""];
  const batch = texts.map((t) => message(t, utf8.encode(t)));
  batch.push(message("B\u00012\u0002"));
  const prepared = prepareBatch(batch, DEFAULT_STORE_LIMITS, STORE_HOST, RECORD_BYTES_MAX);
  assert.ok(Array.isArray(prepared));
  assert.equal(prepared[0].topicBytes, prepared[3].topicBytes);
  const bytes = encodeMessages(prepared, STORE_HOST);
  let at = 0;
  for (const m of batch) {
    const record = decodeRecord(bytes, at);
    assert.equal(record.topic, "Orders");
    assert.equal(record.properties, m.properties);
    at += record.totalSize;
  }
  assert.equal(at, bytes.length);
});

Deno.test("prepareBatch() refuses a batch that mixes topics", () => {
  const other = { ...message(""), topic: "Other" };
  const refused = prepareBatch(
    [message(""), other],
    DEFAULT_STORE_LIMITS,
    STORE_HOST,
    RECORD_BYTES_MAX,
  );
  assert.ok(!Array.isArray(refused));
  assert.equal(refused.status, "MESSAGE_ILLEGAL");
});
