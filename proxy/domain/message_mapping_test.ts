import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  decodeRecord,
  encodeRecord,
  MessageSysFlag,
} from "../../client/protocol/message_record.ts";
import { decodeProperties } from "../../client/protocol/properties.ts";
import { fromGrpcMessage, md5Hex, toGrpcMessage } from "./message_mapping.ts";
import { DigestType, MessageSchema, MessageType } from "./protocol.ts";

const HOST = { ip: new Uint8Array([10, 0, 0, 7]), port: 4242 };

function record(properties: string, body: Uint8Array, sysFlag = 0) {
  const bytes = new Uint8Array(1024);
  const size = encodeRecord({
    queueId: 1,
    flag: 0,
    queueOffset: 5,
    commitLogOffset: 900,
    sysFlag,
    bornTimestamp: 1_000,
    bornHost: HOST,
    storeTimestamp: 2_000,
    storeHost: HOST,
    reconsumeTimes: 2,
    preparedTransactionOffset: 0,
    body,
    topicBytes: new TextEncoder().encode("T"),
    propertiesBytes: new TextEncoder().encode(properties),
  }, bytes);
  return decodeRecord(bytes.subarray(0, size));
}

Deno.test("fromGrpcMessage() then toGrpcMessage() keeps id, tag, keys, group, delivery time and user properties", () => {
  const sent = create(MessageSchema, {
    topic: { name: "T" },
    body: new TextEncoder().encode("hello"),
    userProperties: { color: "blue" },
    systemProperties: {
      messageId: "01ABC",
      tag: "TagA",
      keys: ["k1", "k2"],
      messageGroup: "g",
      messageType: MessageType.FIFO,
      deliveryTimestamp: timestampFromMs(5_000),
      bornTimestamp: timestampFromMs(1_000),
    },
  });
  const mapped = fromGrpcMessage(sent, 9_999);
  assert.ok(mapped.ok);
  const props = decodeProperties(mapped.message.properties);
  assert.equal(props.get("UNIQ_KEY"), "01ABC");
  assert.equal(props.get("TAGS"), "TagA");
  assert.equal(props.get("KEYS"), "k1 k2");
  assert.equal(props.get("__SHARDINGKEY"), "g");
  assert.equal(props.get("TIMER_DELIVER_MS"), "5000");
  assert.equal(mapped.message.bornTimestamp, 1_000);

  const back = toGrpcMessage(record(mapped.message.properties, mapped.message.body), {
    receiptHandle: "h",
  });
  const sys = back.systemProperties!;
  assert.equal(sys.messageId, "01ABC");
  assert.equal(sys.tag, "TagA");
  assert.deepEqual(sys.keys, ["k1", "k2"]);
  assert.equal(sys.messageGroup, "g");
  assert.equal(sys.messageType, MessageType.FIFO);
  assert.equal(sys.deliveryAttempt, 3);
  assert.equal(sys.receiptHandle, "h");
  assert.equal(sys.bornHost, "10.0.0.7");
  assert.deepEqual(sys.bodyDigest, {
    $typeName: "apache.rocketmq.v2.Digest",
    type: DigestType.MD5,
    checksum: md5Hex(new TextEncoder().encode("hello")),
  });
  assert.deepEqual(back.userProperties, { color: "blue" });
});

Deno.test("fromGrpcMessage() refuses reserved user properties and an empty message id", () => {
  const base = { topic: { name: "T" }, body: new Uint8Array([1]) };
  const forged = fromGrpcMessage(
    create(MessageSchema, {
      ...base,
      userProperties: { UNIQ_KEY: "x" },
      systemProperties: { messageId: "01" },
    }),
    0,
  );
  assert.equal(forged.ok, false);
  const noId = fromGrpcMessage(create(MessageSchema, { ...base, systemProperties: {} }), 0);
  assert.deepEqual(noId.ok ? undefined : noId.field, "id");
});

Deno.test("toGrpcMessage() marks a committed transactional message TRANSACTION and md5 is uppercase hex", () => {
  const m = toGrpcMessage(
    record("UNIQ_KEY\u0001ID\u0002", new Uint8Array([1]), MessageSysFlag.TRANSACTION_COMMIT_TYPE),
  );
  assert.equal(m.systemProperties?.messageType, MessageType.TRANSACTION);
  assert.equal(md5Hex(new Uint8Array(0)), "D41D8CD98F00B204E9800998ECF8427E");
});
