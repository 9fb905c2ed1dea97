// Goal: the official RocketMQ 5 Node.js client (rocketmq-client-nodejs, unchanged) publishes
// through the broker's gRPC front: normal, FIFO, delay and transactional messages (commit,
// rollback, and the broker's check answered by the client's checker), a 4 MiB − 64 KiB body,
// startup with five topics, and every message is consumed over remoting with the same id, tag,
// keys and properties. Method: a broker started in-process with --grpc-port on; the official
// Producer sends; the project's remoting consumer reads.

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Producer, SimpleConsumer } from "rocketmq-client-nodejs";
import { createConsumer } from "../../mod.ts";
import { take } from "../_helpers/consume.ts";
import { quietLogger, startGrpcEnv, within } from "./_grpc_env.ts";

const OPTIONS = { sanitizeOps: false, sanitizeResources: false };
const WAIT_MS = 15_000;

function producer(endpoints: string, topics: string[], extra: Record<string, unknown> = {}) {
  return new Producer({
    endpoints,
    namespace: "",
    topics,
    logger: quietLogger(),
    ...extra,
  } as never);
}

Deno.test(
  "official Producer: normal messages are consumed over remoting with the same id, tag, keys and properties",
  OPTIONS,
  async () => {
    await using env = await startGrpcEnv();
    await env.createTopics(["GrpcNormal"]);
    const p = producer(env.grpcEndpoint, ["GrpcNormal"]);
    await within(p.startup(), WAIT_MS, "startup");
    try {
      const receipts = [];
      for (let i = 0; i < 5; i++) {
        receipts.push(
          await p.send({
            topic: "GrpcNormal",
            tag: "TagA",
            keys: [`key-${i}`, "shared"],
            properties: new Map([["color", "blue"], ["i", String(i)]]),
            body: Buffer.from(`hello ${i}`),
          }),
        );
      }
      await using consumer = await createConsumer({
        endpoint: env.remotingEndpoint,
        group: "GrpcNormalReaders",
        topic: "GrpcNormal",
        consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
      });
      const got = await take(consumer.messages(), 5, WAIT_MS);
      const byId = new Map(got.map((m) => [m.msgId, m]));
      for (let i = 0; i < 5; i++) {
        const m = byId.get(receipts[i].messageId);
        assert.ok(m, `message ${receipts[i].messageId} consumed`);
        assert.equal(m.text(), `hello ${i}`);
        assert.equal(m.tags, "TagA");
        assert.deepEqual(m.keys, [`key-${i}`, "shared"]);
        assert.equal(m.properties.color, "blue");
        assert.equal(m.properties.i, String(i));
      }
    } finally {
      await p.shutdown();
    }
  },
);

Deno.test(
  "official Producer: FIFO messages of one group land in one queue, in send order",
  OPTIONS,
  async () => {
    await using env = await startGrpcEnv();
    await env.createTopics(["GrpcFifo"]);
    const p = producer(env.grpcEndpoint, ["GrpcFifo"]);
    await within(p.startup(), WAIT_MS, "startup");
    try {
      for (let i = 0; i < 10; i++) {
        await p.send({
          topic: "GrpcFifo",
          messageGroup: "order-42",
          body: Buffer.from(`step ${i}`),
        });
      }
      await using consumer = await createConsumer({
        endpoint: env.remotingEndpoint,
        group: "GrpcFifoReaders",
        topic: "GrpcFifo",
        consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
      });
      const got = await take(consumer.messages(), 10, WAIT_MS);
      assert.equal(new Set(got.map((m) => m.queueId)).size, 1);
      assert.deepEqual(got.map((m) => m.text()), Array.from({ length: 10 }, (_, i) => `step ${i}`));
      assert.equal(got[0].messageGroup, "order-42");
    } finally {
      await p.shutdown();
    }
  },
);

Deno.test(
  "official Producer: a delayed message is delivered no earlier than its delivery time",
  OPTIONS,
  async () => {
    await using env = await startGrpcEnv({ timerPrecisionMs: 50 });
    await env.createTopics(["GrpcDelay"]);
    const p = producer(env.grpcEndpoint, ["GrpcDelay"]);
    await within(p.startup(), WAIT_MS, "startup");
    try {
      const due = Date.now() + 1_500;
      const receipt = await p.send({
        topic: "GrpcDelay",
        deliveryTimestamp: new Date(due),
        body: Buffer.from("later"),
      });
      await using consumer = await createConsumer({
        endpoint: env.remotingEndpoint,
        group: "GrpcDelayReaders",
        topic: "GrpcDelay",
        consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
      });
      const [m] = await take(consumer.messages(), 1, WAIT_MS);
      assert.equal(m.msgId, receipt.messageId);
      assert.ok(Date.now() >= due - 50, "not delivered before it was due");
      assert.equal(m.text(), "later");
    } finally {
      await p.shutdown();
    }
  },
);

Deno.test(
  "official Producer: transactions commit, roll back, and the broker's check reaches the checker",
  OPTIONS,
  async () => {
    await using env = await startGrpcEnv({
      transactionTimeoutMs: 200,
      transactionCheckIntervalMs: 200,
    });
    await env.createTopics(["GrpcTx"]);
    const checked: string[] = [];
    const p = producer(env.grpcEndpoint, ["GrpcTx"], {
      checker: {
        check(message: { messageId: string; body: Buffer }) {
          checked.push(message.messageId);
          // TransactionResolution.COMMIT
          return Promise.resolve(1);
        },
      },
    });
    await within(p.startup(), WAIT_MS, "startup");
    try {
      const commit = p.beginTransaction();
      const committed = await p.send({ topic: "GrpcTx", body: Buffer.from("commit me") }, commit);
      await commit.commit();
      const rollback = p.beginTransaction();
      await p.send({ topic: "GrpcTx", body: Buffer.from("roll me back") }, rollback);
      await rollback.rollback();
      // Left open: the broker asks the producer, whose checker commits it.
      const open = p.beginTransaction();
      const orphan = await p.send({ topic: "GrpcTx", body: Buffer.from("ask me") }, open);

      await using consumer = await createConsumer({
        endpoint: env.remotingEndpoint,
        group: "GrpcTxReaders",
        topic: "GrpcTx",
        consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
      });
      const got = await take(consumer.messages(), 2, WAIT_MS);
      assert.deepEqual(got.map((m) => m.text()).sort(), ["ask me", "commit me"]);
      assert.deepEqual(
        new Set(got.map((m) => m.msgId)),
        new Set([committed.messageId, orphan.messageId]),
      );
      assert.ok(
        checked.includes(orphan.messageId),
        "the checker was asked about the open transaction",
      );
    } finally {
      await p.shutdown();
    }
  },
);

Deno.test(
  "official clients: a 4 MiB − 64 KiB body is stored, read over remoting, and received over gRPC intact",
  OPTIONS,
  async () => {
    await using env = await startGrpcEnv({ commitLogSegmentBytes: 16 * 1024 * 1024 });
    await env.createTopics(["GrpcBig"]);
    const p = producer(env.grpcEndpoint, ["GrpcBig"]);
    await within(p.startup(), WAIT_MS, "startup");
    try {
      const body = Buffer.alloc(4 * 1024 * 1024 - 64 * 1024);
      for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
      const receipt = await p.send({ topic: "GrpcBig", body });
      await using consumer = await createConsumer({
        endpoint: env.remotingEndpoint,
        group: "GrpcBigReaders",
        topic: "GrpcBig",
        consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
      });
      const [m] = await take(consumer.messages(), 1, WAIT_MS);
      assert.equal(m.msgId, receipt.messageId);
      assert.equal(m.body.length, body.length);
      assert.ok(Buffer.from(m.body).equals(body));

      // Within the official client's fixed 4 MiB receive limit, envelope included.
      const simple = new SimpleConsumer({
        endpoints: env.grpcEndpoint,
        namespace: "",
        consumerGroup: "GrpcBigSimple",
        subscriptions: new Map([["GrpcBig", "*"]]),
        awaitDuration: 2_000,
        logger: quietLogger(),
      } as never);
      await within(simple.startup(), WAIT_MS, "consumer startup");
      try {
        const [view] = await simple.receive(1, 30_000);
        assert.equal(view.messageId, receipt.messageId);
        assert.notEqual(view.corrupted, true, "MD5 digest checks out");
        assert.ok(view.body.equals(body));
        await simple.ack(view);
      } finally {
        await simple.shutdown();
      }
    } finally {
      await p.shutdown();
    }
  },
);

Deno.test("official Producer: startup with five topics does not hang", OPTIONS, async () => {
  await using env = await startGrpcEnv();
  const topics = ["Five1", "Five2", "Five3", "Five4", "Five5"];
  await env.createTopics(topics);
  for (let round = 0; round < 3; round++) {
    const p = producer(env.grpcEndpoint, topics);
    await within(p.startup(), WAIT_MS, `startup ${round}`);
    const receipt = await p.send({ topic: "Five5", body: Buffer.from("ok") });
    assert.ok(receipt.messageId.length > 0);
    await p.shutdown();
  }
});
