// Goal: the pop checkpoint buffer (async flush, --pop-buffer-merge-ms) keeps pop's promises.
// Method: (1) in-process broker: one batch popped, half acked while its checkpoint is held; the
// other half must come back after the invisible time and the acked half never. (2) broker child
// process with async flush, SIGKILL while checkpoints are held (after the pop offsets were
// persisted, bounded by the held checkpoints): after the restart every unacked
// message comes back at once (popped again from the queue), long before its invisible time;
// messages acked within the buffer's stay may come back too (the documented at-least-once window).

import assert from "node:assert/strict";
import { startTestBroker } from "../_helpers/broker.ts";
import { spawnBroker } from "../_helpers/broker_process.ts";
import { createAdmin } from "../../client/admin.ts";
import { createProducer } from "../../client/producer.ts";
import { createSimpleConsumer } from "../../client/simple_consumer.ts";

const WAIT_MS = 20_000;

Deno.test("Pop buffer merge: acks merged into a held checkpoint stick; the rest comes back after the invisible time", async () => {
  const broker = await startTestBroker({ popBufferMergeMs: 5_000 });
  try {
    const endpoint = `127.0.0.1:${broker.port}`;
    await using admin = await createAdmin({ endpoint });
    await admin.createTopic("PopMerge", { readQueueNums: 1, writeQueueNums: 1 });
    await using producer = await createProducer({ endpoint, group: "pm-pg" });
    for (let i = 0; i < 10; i++) await producer.send({ topic: "PopMerge", body: `m${i}` });
    await using c = await createSimpleConsumer({
      endpoint,
      group: "pm-g",
      subscriptions: { PopMerge: "*" },
      awaitDuration: 2_000,
      consumeFrom: "FIRST",
    });
    const popped = [];
    const deadline = Date.now() + WAIT_MS;
    while (popped.length < 10 && Date.now() < deadline) popped.push(...await c.receive(32, 4_000));
    assert.equal(popped.length, 10);
    const acked = new Set(popped.filter((_, i) => i % 2 === 0).map((m) => m.text()));
    await c.ackBatch(popped.filter((m) => acked.has(m.text())));
    const back = new Set<string>();
    while (back.size < 5 && Date.now() < deadline + WAIT_MS) {
      for (const m of await c.receive(32, 60_000)) {
        assert.equal(acked.has(m.text()), false, `acked ${m.text()} came back`);
        assert.equal(m.reconsumeTimes, 1);
        back.add(m.text());
        await c.ack(m);
      }
    }
    assert.equal(back.size, 5);
    assert.deepEqual(await c.receive(32, 60_000), []);
  } finally {
    await broker.close();
  }
});

Deno.test("Pop buffer merge: after SIGKILL (async flush) every unacked held message comes back at once", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "rmq_pop_merge_kill_" });
  const args = ["--flush", "async", "--pop-buffer-merge-ms", "10000"];
  const unacked = new Set<string>();
  try {
    const first = await spawnBroker({ dataDir, args });
    try {
      await using admin = await createAdmin({ endpoint: first.endpoint });
      await admin.createTopic("PopMergeKill", { readQueueNums: 2, writeQueueNums: 2 });
      await using producer = await createProducer({ endpoint: first.endpoint, group: "pg" });
      for (let i = 0; i < 20; i++) await producer.send({ topic: "PopMergeKill", body: `k${i}` });
      await using c = await createSimpleConsumer({
        endpoint: first.endpoint,
        group: "pmk-g",
        subscriptions: { PopMergeKill: "*" },
        awaitDuration: 1_000,
        consumeFrom: "FIRST",
      });
      const popped = [];
      const deadline = Date.now() + WAIT_MS;
      while (popped.length < 20 && Date.now() < deadline) {
        popped.push(...await c.receive(32, 120_000));
      }
      assert.equal(popped.length, 20);
      for (const [i, m] of popped.entries()) {
        if (i % 2 === 0) await c.ack(m);
        else unacked.add(m.text());
      }
      // Wait (bounded) until the pop offsets of the group were persisted, so the kill tests the bound.
      const file = `${dataDir}/config/popOffsets.json`;
      const until = Date.now() + WAIT_MS;
      while (!(await Deno.readTextFile(file).catch(() => "")).includes("pmk-g")) {
        if (Date.now() > until) throw new Error("pop offsets were never persisted");
        await new Promise((r) => setTimeout(r, 50)); // polling a file, bounded
      }
    } finally {
      await first.kill("SIGKILL");
    }
    const second = await spawnBroker({ dataDir, args });
    try {
      await using c = await createSimpleConsumer({
        endpoint: second.endpoint,
        group: "pmk-g",
        subscriptions: { PopMergeKill: "*" },
        awaitDuration: 1_000,
        consumeFrom: "FIRST",
      });
      const back = new Set<string>();
      // Far less than the 120 s invisible time: they are popped again from the queue.
      const deadline = Date.now() + WAIT_MS;
      while ([...unacked].some((t) => !back.has(t)) && Date.now() < deadline) {
        for (const m of await c.receive(32, 120_000)) back.add(m.text());
      }
      assert.deepEqual([...unacked].filter((t) => !back.has(t)), []);
    } finally {
      await second.kill("SIGTERM");
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
