// Goal: pop survives SIGKILL. Popped-but-unacked messages come back after
// their invisible time; messages whose ack was answered (sync flush) never
// come back; nothing is lost.
// Method: broker/main.ts as a child process (sync flush, temp data dir); a
// simple consumer pops all messages with a 3 s invisible time and acks half;
// the broker is killed with SIGKILL and restarted on the same directory; a
// new consumer of the group receives until every unacked message is back
// (bounded wait), then one more long poll must find nothing.

import assert from "node:assert/strict";
import { createAdmin } from "../../client/admin.ts";
import { createProducer } from "../../client/producer.ts";
import { createSimpleConsumer } from "../../client/simple_consumer.ts";
import { spawnBroker } from "../_helpers/broker_process.ts";

const TOPIC = "PopCrash";
const COUNT = 20;
const INVISIBLE_MS = 3_000;
const WAIT_MS = 30_000;
const ARGS = ["--flush", "sync", "--commit-log-segment-bytes", String(1024 * 1024)];

Deno.test("Pop: after SIGKILL, unacked messages come back and acked ones never do", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "rmq_pop_sigkill_" });
  const acked = new Set<string>();
  const unacked = new Set<string>();
  try {
    const first = await spawnBroker({ dataDir, args: ARGS });
    try {
      {
        await using admin = await createAdmin({ endpoint: first.endpoint });
        await admin.createTopic(TOPIC, { readQueueNums: 2, writeQueueNums: 2 });
        await using producer = await createProducer({ endpoint: first.endpoint, group: "pg" });
        for (let i = 0; i < COUNT; i++) await producer.send({ topic: TOPIC, body: `c${i}` });
        await using consumer = await createSimpleConsumer({
          endpoint: first.endpoint,
          group: "crash-g",
          subscriptions: { [TOPIC]: "*" },
          awaitDuration: 1_000,
          consumeFrom: "FIRST",
        });
        const deadline = Date.now() + WAIT_MS;
        const popped = [];
        while (popped.length < COUNT && Date.now() < deadline) {
          popped.push(...await consumer.receive(32, INVISIBLE_MS));
        }
        assert.equal(popped.length, COUNT);
        for (const [i, message] of popped.entries()) {
          if (i % 2 === 0) {
            await consumer.ack(message);
            acked.add(message.text());
          } else {
            unacked.add(message.text());
          }
        }
      }
    } finally {
      await first.kill("SIGKILL");
    }
    const second = await spawnBroker({ dataDir, args: ARGS });
    try {
      await using consumer = await createSimpleConsumer({
        endpoint: second.endpoint,
        group: "crash-g",
        subscriptions: { [TOPIC]: "*" },
        awaitDuration: 2_000,
        consumeFrom: "FIRST",
      });
      const back = new Set<string>();
      const deadline = Date.now() + WAIT_MS;
      while (back.size < unacked.size && Date.now() < deadline) {
        for (const message of await consumer.receive(32, 60_000)) {
          assert.equal(acked.has(message.text()), false, `acked ${message.text()} came back`);
          assert.ok(message.reconsumeTimes >= 1);
          back.add(message.text());
          await consumer.ack(message);
        }
      }
      assert.deepEqual([...back].sort(), [...unacked].sort());
      const extra = await consumer.receive(32, 60_000);
      assert.deepEqual(extra.map((m) => m.text()).filter((t) => acked.has(t)), []);
    } finally {
      await second.kill("SIGTERM");
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
