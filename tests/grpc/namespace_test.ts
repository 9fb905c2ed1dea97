// Goal: RocketMQ 5 namespaces: official clients configured with a namespace send and receive
// `Orders` while the broker stores `<namespace>%Orders` (RocketMQ's NamespaceUtil form), so two
// namespaces share a broker without sharing topics. Method: a broker in-process; producer and
// SimpleConsumer with `namespace: "ns1"`; a remoting consumer reads the wrapped topic.

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Producer, SimpleConsumer } from "rocketmq-client-nodejs";
import { createConsumer } from "../../mod.ts";
import { take } from "../_helpers/consume.ts";
import { quietLogger, startGrpcEnv, within } from "./_grpc_env.ts";

Deno.test("official clients with a namespace use <namespace>%<topic> on the broker", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await using env = await startGrpcEnv();
  await env.createTopics(["ns1%Orders"], 2);
  const producer = new Producer({
    endpoints: env.grpcEndpoint,
    namespace: "ns1",
    topics: ["Orders"],
    logger: quietLogger(),
  } as never);
  await within(producer.startup(), 15_000, "producer startup");
  let sent: string;
  try {
    sent = (await producer.send({ topic: "Orders", body: Buffer.from("namespaced") })).messageId;
  } finally {
    await producer.shutdown();
  }

  const consumer = new SimpleConsumer({
    endpoints: env.grpcEndpoint,
    namespace: "ns1",
    consumerGroup: "Readers",
    subscriptions: new Map([["Orders", "*"]]),
    awaitDuration: 2_000,
    logger: quietLogger(),
  } as never);
  await within(consumer.startup(), 15_000, "consumer startup");
  try {
    const got: { messageId: string; topic: string }[] = [];
    const deadline = Date.now() + 15_000;
    while (got.length < 1 && Date.now() < deadline) {
      for (const m of await consumer.receive(1, 10_000)) {
        got.push(m as never);
        await consumer.ack(m);
      }
    }
    assert.equal(got[0]?.messageId, sent);
    assert.equal(got[0]?.topic, "Orders");
  } finally {
    await consumer.shutdown();
  }

  await using remoting = await createConsumer({
    endpoint: env.remotingEndpoint,
    group: "RemotingReaders",
    topic: "ns1%Orders",
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
  });
  const [m] = await take(remoting.messages(), 1, 15_000);
  assert.equal(m.msgId, sent);
});
