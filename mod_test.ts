import assert from "node:assert/strict";
import * as mod from "./mod.ts";

Deno.test("mod.ts exports exactly the public client API", () => {
  // Types vanish at runtime; this pins the value exports. Changing it is an API change.
  assert.deepEqual(Object.keys(mod).sort(), [
    "ClusterAdmin",
    "MESSAGE_BODY_BYTES_MAX",
    "MQBrokerError",
    "MQClientError",
    "MQConnectionClosedError",
    "MQTimeoutError",
    "RETRIABLE_SEND_CODES",
    "ReceivedMessage",
    "TransactionProducer",
    "createAdmin",
    "createConsumer",
    "createProducer",
    "createSimpleConsumer",
    "createTransactionProducer",
    "selectQueueByGroup",
  ]);
});

Deno.test("mod.ts errors form one family with MQClientError at the root", () => {
  const broker = new mod.MQBrokerError(17, "no T", 310);
  assert.ok(broker instanceof mod.MQClientError);
  assert.equal(broker.code, 17);
  assert.equal(broker.name, "MQBrokerError");
  assert.match(broker.message, /TOPIC_NOT_EXIST \(17\): no T/);
  assert.ok(new mod.MQTimeoutError("t", 5) instanceof mod.MQClientError);
  assert.ok(new mod.MQConnectionClosedError("c") instanceof mod.MQClientError);
});
