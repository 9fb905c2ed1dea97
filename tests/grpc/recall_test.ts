// Goal: RecallMessage cancels a delayed message that is not yet due: the official client's
// recallMessage(topic, recallHandle) with the handle SendMessage returned. Method: send a delayed
// message A and a later one B; recall A; a remoting consumer sees B, and A (due earlier) never
// came before it.

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Producer } from "rocketmq-client-nodejs";
import { createConsumer } from "../../mod.ts";
import { take } from "../_helpers/consume.ts";
import { quietLogger, startGrpcEnv, within } from "./_grpc_env.ts";

Deno.test("official Producer: a recalled delayed message is never delivered", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await using env = await startGrpcEnv({ timerPrecisionMs: 50 });
  await env.createTopics(["GrpcRecall"], 1);
  const p = new Producer({
    endpoints: env.grpcEndpoint,
    namespace: "",
    topics: ["GrpcRecall"],
    logger: quietLogger(),
  } as never);
  await within(p.startup(), 15_000, "startup");
  try {
    const now = Date.now();
    const a = await p.send({
      topic: "GrpcRecall",
      deliveryTimestamp: new Date(now + 1_500),
      body: Buffer.from("recalled"),
    });
    assert.ok(a.recallHandle.length > 0, "a delayed message gets a recall handle");
    const b = await p.send({
      topic: "GrpcRecall",
      deliveryTimestamp: new Date(now + 2_000),
      body: Buffer.from("kept"),
    });
    const recalled = await p.recallMessage("GrpcRecall", a.recallHandle);
    assert.equal(recalled.messageId, a.messageId);
    await assert.rejects(p.recallMessage("GrpcRecall", "bm90IGEgaGFuZGxl"));

    await using consumer = await createConsumer({
      endpoint: env.remotingEndpoint,
      group: "GrpcRecallReaders",
      topic: "GrpcRecall",
      consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
    });
    const [first] = await take(consumer.messages(), 1, 15_000);
    assert.equal(first.msgId, b.messageId);
    assert.equal(first.text(), "kept");
  } finally {
    await p.shutdown();
  }
});
