import assert from "node:assert/strict";
import {
  decodeRecord,
  encodeRecord,
  MessageSysFlag,
  recordSize,
  transactionType,
} from "../../../client/protocol/message_record.ts";
import {
  decodeProperties,
  encodeProperties,
  MessageConst,
} from "../../../client/protocol/properties.ts";
import type { MessageToPut } from "../../../store/mod.ts";
import {
  createOpMessage,
  encodeCheckBody,
  HALF_TOPIC,
  isTransactionPrepare,
  OP_TOPIC,
  parseOpBody,
  readHalfMessage,
  toCheckCopy,
  toCommittedMessage,
  toHalfMessage,
} from "./half_message.ts";

const HOST = { ip: new Uint8Array([10, 0, 0, 7]), port: 4242 };
const te = new TextEncoder();

function prepared(extra: Record<string, string> = {}): MessageToPut {
  return {
    topic: "Orders",
    queueId: 3,
    flag: 5,
    body: te.encode("payload"),
    properties: encodeProperties({
      [MessageConst.TAGS]: "t",
      [MessageConst.TRANSACTION_PREPARED]: "true",
      [MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX]: "UNIQ1",
      ...extra,
    }),
    sysFlag: MessageSysFlag.TRANSACTION_PREPARED_TYPE,
    bornTimestamp: 1000,
    bornHost: HOST,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  };
}

/** Encode a message as the store would, at the given offsets. */
function stored(message: MessageToPut, commitLogOffset: number, queueOffset: number) {
  const topicBytes = te.encode(message.topic);
  const propertiesBytes = te.encode(message.properties);
  const out = new Uint8Array(
    recordSize(message.body.length, topicBytes.length, propertiesBytes.length),
  );
  encodeRecord({
    ...message,
    queueOffset,
    commitLogOffset,
    storeTimestamp: 2000,
    storeHost: HOST,
    topicBytes,
    propertiesBytes,
  }, out);
  return decodeRecord(out);
}

Deno.test("isTransactionPrepare() is true only for TRAN_MSG=true", () => {
  assert.equal(isTransactionPrepare(prepared().properties), true);
  assert.equal(isTransactionPrepare(encodeProperties({ TRAN_MSG: "false" })), false);
  assert.equal(isTransactionPrepare(""), false);
});

Deno.test("toHalfMessage() moves the message to the half topic with type NOT and the real queue in properties", () => {
  const half = toHalfMessage(prepared(), "pg");
  assert.equal(half.topic, HALF_TOPIC);
  assert.equal(half.queueId, 0);
  assert.equal(transactionType(half.sysFlag), MessageSysFlag.TRANSACTION_NOT_TYPE);
  const p = decodeProperties(half.properties);
  assert.equal(p.get(MessageConst.REAL_TOPIC), "Orders");
  assert.equal(p.get(MessageConst.REAL_QUEUE_ID), "3");
  assert.equal(p.get(MessageConst.TRANSACTION_ID), "UNIQ1");
  assert.equal(p.get(MessageConst.PRODUCER_GROUP), "pg");
  assert.equal(p.get(MessageConst.TAGS), "t");
});

Deno.test("toHalfMessage() keeps the message's own PGROUP and rejects a message without UNIQ_KEY", () => {
  const half = toHalfMessage(prepared({ [MessageConst.PRODUCER_GROUP]: "own" }), "other");
  assert.equal(decodeProperties(half.properties).get(MessageConst.PRODUCER_GROUP), "own");
  const noKey = { ...prepared(), properties: encodeProperties({ TRAN_MSG: "true" }) };
  assert.throws(() => toHalfMessage(noKey, "pg"), TypeError);
  assert.throws(() => toHalfMessage(prepared()), /no producer group/);
});

Deno.test("toCommittedMessage() restores the real topic, drops REAL_* and TRAN_MSG, and points at the half", () => {
  const record = stored(toHalfMessage(prepared(), "pg"), 4096, 7);
  const read = readHalfMessage(record);
  assert.ok(read.ok);
  const committed = toCommittedMessage(record, read.info);
  assert.equal(committed.topic, "Orders");
  assert.equal(committed.queueId, 3);
  assert.equal(committed.flag, 5);
  assert.equal(committed.preparedTransactionOffset, 4096);
  assert.equal(transactionType(committed.sysFlag), MessageSysFlag.TRANSACTION_COMMIT_TYPE);
  assert.equal(new TextDecoder().decode(committed.body), "payload");
  const p = decodeProperties(committed.properties);
  assert.equal(p.has(MessageConst.REAL_TOPIC), false);
  assert.equal(p.has(MessageConst.REAL_QUEUE_ID), false);
  assert.equal(p.has(MessageConst.TRANSACTION_PREPARED), false);
  assert.equal(p.get(MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX), "UNIQ1");
  assert.equal(p.get(MessageConst.PRODUCER_GROUP), "pg");
});

Deno.test("readHalfMessage() refuses records that are not half messages", () => {
  const notHalf = stored(prepared(), 0, 0);
  const read = readHalfMessage(notHalf);
  assert.equal(read.ok, false);
});

Deno.test("createOpMessage() writes tag d and the half offset followed by a comma", () => {
  const op = createOpMessage(42, "TX", "COMMIT", HOST, 9);
  assert.equal(op.topic, OP_TOPIC);
  assert.equal(op.queueId, 0);
  assert.equal(new TextDecoder().decode(op.body), "42,");
  assert.equal(decodeProperties(op.properties).get(MessageConst.TAGS), "d");
  assert.deepEqual(parseOpBody(op.body), [42]);
});

Deno.test("parseOpBody() reads batched offsets and skips malformed pieces", () => {
  assert.deepEqual(parseOpBody(te.encode("1,22,333,")), [1, 22, 333]);
  assert.deepEqual(parseOpBody(te.encode("1,x2,,3")), [1]);
  assert.deepEqual(parseOpBody(new Uint8Array()), []);
});

Deno.test("toCheckCopy() increments TRANSACTION_CHECK_TIMES and keeps the born time", () => {
  const record = stored(toHalfMessage(prepared(), "pg"), 0, 0);
  const read = readHalfMessage(record);
  assert.ok(read.ok);
  const copy = toCheckCopy(record, read.info);
  assert.equal(copy.topic, HALF_TOPIC);
  assert.equal(copy.bornTimestamp, 1000);
  assert.equal(decodeProperties(copy.properties).get(MessageConst.TRANSACTION_CHECK_TIMES), "1");
  const again = stored(copy, 100, 1);
  const read2 = readHalfMessage(again);
  assert.ok(read2.ok);
  assert.equal(read2.info.checkTimes, 1);
  assert.equal(
    decodeProperties(toCheckCopy(again, read2.info).properties).get("TRANSACTION_CHECK_TIMES"),
    "2",
  );
});

Deno.test("encodeCheckBody() is the half record with the real topic and queue", () => {
  const record = stored(toHalfMessage(prepared(), "pg"), 8192, 4);
  const read = readHalfMessage(record);
  assert.ok(read.ok);
  const body = decodeRecord(encodeCheckBody(record, read.info));
  assert.equal(body.topic, "Orders");
  assert.equal(body.queueId, 3);
  assert.equal(body.commitLogOffset, 8192);
  assert.equal(body.queueOffset, 4);
  assert.equal(new TextDecoder().decode(body.body), "payload");
  assert.equal(body.properties, record.properties);
});
