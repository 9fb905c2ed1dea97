import assert from "node:assert/strict";
import { parseAuthorization } from "./authorization.ts";
import { decodeRecallHandle, encodeRecallHandle } from "./recall_handle.ts";
import { SendDedup } from "./send_dedup.ts";
import { decodeTransactionId, encodeTransactionId } from "./transaction_id.ts";

Deno.test("transaction ids and recall handles round-trip; foreign strings are refused", () => {
  const position = { commitLogOffset: 2 ** 40 + 5, halfQueueOffset: 17 };
  assert.deepEqual(decodeTransactionId(encodeTransactionId(position)), position);
  assert.equal(decodeTransactionId("not-ours"), undefined);
  const remote = { ...position, brokerName: "broker-a" };
  assert.deepEqual(decodeTransactionId(encodeTransactionId(remote)), remote);
  const target = { topic: "T", brokerName: "b", deliverMs: 123, messageId: "01AB" };
  assert.deepEqual(decodeRecallHandle(encodeRecallHandle(target)), target);
  assert.equal(decodeRecallHandle("bm90IGEgaGFuZGxl"), undefined);
  assert.equal(decodeRecallHandle("%%%"), undefined);
});

Deno.test("parseAuthorization() reads the MQv2-HMAC-SHA1 header", () => {
  assert.deepEqual(
    parseAuthorization(
      "MQv2-HMAC-SHA1 Credential=AK, SignedHeaders=x-mq-date-time, Signature=ABCD",
    ),
    {
      algorithm: "MQv2-HMAC-SHA1",
      accessKey: "AK",
      signedHeaders: ["x-mq-date-time"],
      signature: "ABCD",
    },
  );
  assert.equal(parseAuthorization("Bearer x"), undefined);
});

Deno.test("SendDedup shares one outcome per message id within the window, forgets failures", async () => {
  const dedup = new SendDedup<string>(1_000, 2);
  let sends = 0;
  const send = () => Promise.resolve(`r${++sends}`);
  const ok = () => true;
  const [a, b] = await Promise.all([dedup.run("m", 0, send, ok), dedup.run("m", 10, send, ok)]);
  assert.equal(a, b);
  assert.equal(sends, 1);
  assert.equal(await dedup.run("m", 2_000, send, ok), "r2", "outside the window: sent again");
  await dedup.run("f", 0, send, () => false);
  await Promise.resolve();
  assert.equal(await dedup.run("f", 1, send, () => false), "r4", "a failure is not remembered");
  await dedup.run("x", 0, send, ok);
  await dedup.run("y", 0, send, ok);
  assert.ok(dedup.size <= 2, "bounded");
});
