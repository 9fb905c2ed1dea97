// Goal: the official RocketMQ 5 Node.js consumers (rocketmq-client-nodejs, unchanged) consume
// through the broker's gRPC front, on its pop service: SimpleConsumer receive / ack /
// changeInvisibleDuration (a message not acked comes back after its invisible time), messages
// sent over remoting arrive with the same id, tag, keys and properties, and a PushConsumer
// consumes, retries a failure, and dead-letters a message that keeps failing.
// Method: a broker in-process with --grpc-port on; bounded waits on the consumers' results.

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { ConsumeResult, Producer, PushConsumer, SimpleConsumer } from "rocketmq-client-nodejs";
import { createProducer } from "../../mod.ts";
import { OpsAdmin } from "../../client/ops_admin.ts";
import { until } from "../_helpers/consume.ts";
import { quietLogger, startGrpcEnv, within } from "./_grpc_env.ts";

const OPTIONS = { sanitizeOps: false, sanitizeResources: false };
const WAIT_MS = 20_000;

type View = {
  messageId: string;
  body: Buffer;
  tag?: string;
  keys: string[];
  properties: Map<string, string>;
  deliveryAttempt?: number;
};

function simpleConsumer(endpoints: string, group: string, topic: string) {
  return new SimpleConsumer({
    endpoints,
    namespace: "",
    consumerGroup: group,
    subscriptions: new Map([[topic, "*"]]),
    awaitDuration: 2_000,
    logger: quietLogger(),
  } as never);
}

/** Receive until `n` messages came or the bound passes. */
async function receiveN(
  consumer: SimpleConsumer,
  n: number,
  invisibleMs: number,
): Promise<View[]> {
  const got: View[] = [];
  const deadline = Date.now() + WAIT_MS;
  while (got.length < n && Date.now() < deadline) {
    got.push(...(await consumer.receive(n - got.length, invisibleMs)) as unknown as View[]);
  }
  return got;
}

Deno.test(
  "official SimpleConsumer: receive, ack, and an unacked message comes back after its invisible time",
  OPTIONS,
  async () => {
    await using env = await startGrpcEnv({ timerPrecisionMs: 50 });
    await env.createTopics(["GrpcSimple"], 2);
    const producer = new Producer({
      endpoints: env.grpcEndpoint,
      namespace: "",
      topics: ["GrpcSimple"],
      logger: quietLogger(),
    } as never);
    const consumer = simpleConsumer(env.grpcEndpoint, "GrpcSimpleGroup", "GrpcSimple");
    await within(producer.startup(), WAIT_MS, "producer startup");
    await within(consumer.startup(), WAIT_MS, "consumer startup");
    try {
      const ids = [];
      for (let i = 0; i < 3; i++) {
        ids.push(
          (await producer.send({
            topic: "GrpcSimple",
            tag: "T",
            body: Buffer.from(`m${i}`),
          })).messageId,
        );
      }
      const first = await receiveN(consumer, 3, 2_000);
      assert.deepEqual(first.map((m) => m.messageId).sort(), [...ids].sort());
      assert.ok(first.every((m) => m.deliveryAttempt === 1));
      const kept = first.find((m) => m.body.toString() === "m2")!;
      for (const m of first) if (m !== kept) await consumer.ack(m as never);

      // Not acked: back after its invisible time (2 s), with delivery attempt 2.
      const again = await receiveN(consumer, 1, 2_000);
      assert.equal(again.length, 1);
      assert.equal(again[0].messageId, kept.messageId);
      assert.equal(again[0].deliveryAttempt, 2);
      // A longer invisible time through changeInvisibleDuration, then an ack with the new handle.
      await consumer.changeInvisibleDuration(again[0] as never, 30_000);
      await consumer.ack(again[0] as never);
      assert.deepEqual(await consumer.receive(1, 2_000), []);
    } finally {
      await consumer.shutdown();
      await producer.shutdown();
    }
  },
);

Deno.test(
  "official SimpleConsumer: messages sent over remoting keep their id, tag, keys and properties",
  OPTIONS,
  async () => {
    await using env = await startGrpcEnv();
    await env.createTopics(["Interop"], 2);
    await using producer = await createProducer({ endpoint: env.remotingEndpoint });
    const sent = [];
    for (let i = 0; i < 4; i++) {
      sent.push(
        await producer.send({
          topic: "Interop",
          body: new TextEncoder().encode(`r${i}`),
          tags: "Remote",
          keys: [`k${i}`, "both"],
          properties: { origin: "remoting", i: String(i) },
        }),
      );
    }
    const consumer = simpleConsumer(env.grpcEndpoint, "InteropGroup", "Interop");
    await within(consumer.startup(), WAIT_MS, "consumer startup");
    try {
      const got = await receiveN(consumer, 4, 10_000);
      assert.equal(got.length, 4);
      const byId = new Map(got.map((m) => [m.messageId, m]));
      for (let i = 0; i < 4; i++) {
        const m = byId.get(sent[i].msgId);
        assert.ok(m, `message ${sent[i].msgId} received over gRPC`);
        assert.equal(m.body.toString(), `r${i}`);
        assert.equal(m.tag, "Remote");
        assert.deepEqual(m.keys, [`k${i}`, "both"]);
        assert.equal(m.properties.get("origin"), "remoting");
        assert.equal(m.properties.get("i"), String(i));
        await consumer.ack(m as never);
      }
    } finally {
      await consumer.shutdown();
    }
  },
);

Deno.test(
  "official PushConsumer: consumes, redelivers a failure, dead-letters a message that keeps failing",
  OPTIONS,
  async () => {
    await using env = await startGrpcEnv({ retryMaxTimes: 1, timerPrecisionMs: 50 });
    await env.createTopics(["GrpcPush"], 2);
    const producer = new Producer({
      endpoints: env.grpcEndpoint,
      namespace: "",
      topics: ["GrpcPush"],
      logger: quietLogger(),
    } as never);
    await within(producer.startup(), WAIT_MS, "producer startup");
    const attempts = new Map<string, number>();
    const done = new Set<string>();
    const consumer = new PushConsumer({
      endpoints: env.grpcEndpoint,
      namespace: "",
      consumerGroup: "GrpcPushGroup",
      subscriptions: new Map([["GrpcPush", "*"]]),
      logger: quietLogger(),
      messageListener: {
        consume(view: View) {
          const text = view.body.toString();
          attempts.set(text, (attempts.get(text) ?? 0) + 1);
          if (text === "poison") return ConsumeResult.FAILURE;
          if (text === "flaky" && attempts.get(text) === 1) return ConsumeResult.FAILURE;
          done.add(text);
          return ConsumeResult.SUCCESS;
        },
      },
    } as never);
    await within(consumer.startup(), WAIT_MS, "push consumer startup");
    try {
      for (const text of ["a", "b", "flaky", "poison"]) {
        await producer.send({ topic: "GrpcPush", body: Buffer.from(text) });
      }
      await until(() => done.size === 3, "a, b and flaky consumed", WAIT_MS);
      assert.equal(attempts.get("flaky"), 2, "flaky was redelivered once");
      await until(
        async () => (await env.admin.listDlqMessages("GrpcPushGroup", { max: 10 })).length === 1,
        "poison dead-lettered",
        WAIT_MS,
      );
      const [dead] = await env.admin.listDlqMessages("GrpcPushGroup", { max: 10 });
      assert.equal(dead.text(), "poison");
      assert.equal(
        attempts.get("poison"),
        2,
        "poison was tried max attempts (retryMaxTimes + 1) times",
      );
    } finally {
      await producer.shutdown();
      // The client's shutdown waits for its held receives (long polling, 20 s); closing the
      // broker answers them at once.
      const stopping = consumer.shutdown();
      await env.broker.close();
      await within(stopping, WAIT_MS, "push consumer shutdown").catch(() => {});
    }
  },
);

for (const variant of ["an ordered topic", "a consumeMessageOrderly group"] as const) {
  Deno.test(
    `official PushConsumer, FIFO by ${variant}: each message group in order, a failure retried in place, then dead-lettered`,
    OPTIONS,
    () => fifoPushScenario(variant),
  );
}

async function fifoPushScenario(variant: "an ordered topic" | "a consumeMessageOrderly group") {
  await using env = await startGrpcEnv({ retryMaxTimes: 1, timerPrecisionMs: 50 });
  await env.admin.createTopic("GrpcFifoPush", {
    readQueueNums: 2,
    writeQueueNums: 2,
    order: variant === "an ordered topic",
  });
  if (variant === "a consumeMessageOrderly group") {
    await using ops = new OpsAdmin({ endpoint: env.remotingEndpoint });
    await ops.updateSubscriptionGroup({
      groupName: "GrpcFifoPushGroup",
      consumeMessageOrderly: true,
      retryMaxTimes: 1,
    });
  }
  const producer = new Producer({
    endpoints: env.grpcEndpoint,
    namespace: "",
    topics: ["GrpcFifoPush"],
    logger: quietLogger(),
  } as never);
  await within(producer.startup(), WAIT_MS, "producer startup");
  const seen = new Map<string, string[]>();
  const failedOnce = new Set<string>();
  const consumer = new PushConsumer({
    endpoints: env.grpcEndpoint,
    namespace: "",
    consumerGroup: "GrpcFifoPushGroup",
    subscriptions: new Map([["GrpcFifoPush", "*"]]),
    logger: quietLogger(),
    messageListener: {
      consume(view: View & { messageGroup?: string }) {
        const text = view.body.toString();
        const group = view.messageGroup ?? "?";
        seen.set(group, [...(seen.get(group) ?? []), text]);
        if (text === "poison") return ConsumeResult.FAILURE;
        if (text === "g1-2" && !failedOnce.has(text)) {
          failedOnce.add(text);
          return ConsumeResult.FAILURE;
        }
        return ConsumeResult.SUCCESS;
      },
    },
  } as never);
  await within(consumer.startup(), WAIT_MS, "push consumer startup");
  try {
    for (let i = 0; i < 4; i++) {
      for (const group of ["g1", "g2"]) {
        await producer.send({
          topic: "GrpcFifoPush",
          messageGroup: group,
          body: Buffer.from(`${group}-${i}`),
        });
      }
    }
    await producer.send({
      topic: "GrpcFifoPush",
      messageGroup: "g3",
      body: Buffer.from("poison"),
    });
    await until(
      () => (seen.get("g1")?.length ?? 0) >= 5 && (seen.get("g2")?.length ?? 0) >= 4,
      "g1 and g2 consumed",
      WAIT_MS,
    );
    assert.deepEqual(seen.get("g1"), ["g1-0", "g1-1", "g1-2", "g1-2", "g1-3"]);
    assert.deepEqual(seen.get("g2"), ["g2-0", "g2-1", "g2-2", "g2-3"]);
    await until(
      async () => (await env.admin.listDlqMessages("GrpcFifoPushGroup", { max: 10 })).length === 1,
      "poison dead-lettered",
      WAIT_MS,
    );
    assert.deepEqual(seen.get("g3"), ["poison", "poison"]);
  } finally {
    await producer.shutdown();
    const stopping = consumer.shutdown();
    await env.broker.close();
    await within(stopping, WAIT_MS, "push consumer shutdown").catch(() => {});
  }
}
