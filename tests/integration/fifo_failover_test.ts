/**
 * Goal: FIFO order holds across an orderly consumer's crash and a broker restart.
 *
 * Method: messages of several message groups are sent in sequence (property `seq`); orderly
 * consumers record what they finish. A crashed member (a child process killed with SIGKILL)
 * keeps its queue lock until it expires, so the survivor takes its queue over only then,
 * from the committed offset. A restarted broker loses its locks; consumers re-lock and go on.
 * Delivery is at-least-once, so a take-over may replay from the committed offset, but each
 * consumer sees every group contiguously and in order, and nothing is skipped.
 */

import assert from "node:assert/strict";
import { startTestBroker } from "../_helpers/broker.ts";
import { until } from "../_helpers/consume.ts";
import {
  type Consumer,
  createAdmin,
  createConsumer,
  createProducer,
  type Producer,
} from "../../mod.ts";

const GROUPS = ["g-a", "g-b", "g-c", "g-d"];

async function sendGroups(producer: Producer, topic: string, from: number, to: number) {
  await Promise.all(GROUPS.map(async (group) => {
    for (let seq = from; seq < to; seq++) {
      await producer.send({
        topic,
        body: `${group}:${seq}`,
        messageGroup: group,
        properties: { seq: String(seq) },
      });
    }
  }));
}

/**
 * Each step is the next sequence number, or a replay that restarts at or below the last one
 * (a take-over from a committed offset); `seqs` must end complete at `count - 1`.
 */
function assertOrderedWithReplays(label: string, seqs: readonly number[]): void {
  for (let i = 1; i < seqs.length; i++) {
    const ok = seqs[i] === seqs[i - 1] + 1 || seqs[i] <= seqs[i - 1];
    assert.ok(ok, `${label}: ${seqs[i - 1]} then ${seqs[i]} skips messages (${seqs.join(",")})`);
  }
}

interface Finished {
  readonly group: string;
  readonly seq: number;
  readonly queueId: number;
  readonly atMs: number;
}

/** The orderly consumer both tests run: short rebalance, renew and commit intervals. */
function orderlyConsumer(endpoint: string, group: string, topic: string, clientId?: string) {
  return createConsumer({
    endpoint,
    group,
    topic,
    clientId,
    orderly: true,
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
    rebalanceIntervalMs: 200,
    lockRenewIntervalMs: 200,
    commitIntervalMs: 100,
  });
}

/** Record every message the consumer finishes into `sink` until `stop()`. */
function record(consumer: Consumer, sink: Finished[]): { stop(): Promise<void> } {
  const controller = new AbortController();
  const consuming = (async () => {
    for await (const m of consumer.messages({ signal: controller.signal })) {
      sink.push({
        group: m.messageGroup!,
        seq: Number(m.properties.seq),
        queueId: m.queueId,
        atMs: performance.now(),
      });
    }
  })();
  return {
    async stop() {
      controller.abort();
      await consuming.catch(() => {});
    },
  };
}

/** Whether every group's last message (seq `last`) was finished. */
function allFinished(seen: readonly Finished[], last: number): boolean {
  const done = new Set(seen.filter((f) => f.seq === last).map((f) => f.group));
  return GROUPS.every((g) => done.has(g));
}

Deno.test("FIFO order holds when an orderly consumer is killed: its queue moves only after the lock expires", async () => {
  await using broker = await startTestBroker({ rebalanceLockExpiryMs: 1500 });
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("OrdCrash", { readQueueNums: 2, writeQueueNums: 2, order: true });
  await using producer = await createProducer({ endpoint });

  // Member A runs in a child process so that it can really crash.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      new URL("../_helpers/orderly_consumer_child.ts", import.meta.url).pathname,
      endpoint,
      "ord-crash",
      "OrdCrash",
      "A",
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const seenByA: Finished[] = [];
  let childReady = false;
  const reading = (async () => {
    let carry = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      carry += chunk;
      let newline;
      while ((newline = carry.indexOf("\n")) >= 0) {
        const line = JSON.parse(carry.slice(0, newline));
        carry = carry.slice(newline + 1);
        if (line.event === "ready") childReady = true;
        else seenByA.push({ ...line, atMs: performance.now() });
      }
    }
  })();

  const seenByB: Finished[] = [];
  let killedAtMs = Infinity;
  try {
    await until(() => childReady, "member A to start");
    await using b = await orderlyConsumer(endpoint, "ord-crash", "OrdCrash", "B");
    const recording = record(b, seenByB);
    await until(() => b.assignment.length === 1, "A and B to hold one queue each");
    const queueOfA = 1 - b.assignment[0].queueId;

    await sendGroups(producer, "OrdCrash", 0, 10);
    await until(
      () => seenByA.length + seenByB.length >= GROUPS.length * 10,
      "the first half to be consumed",
    );
    child.kill("SIGKILL");
    killedAtMs = performance.now();
    await sendGroups(producer, "OrdCrash", 10, 20);
    await until(() => b.assignment.length === 2, "B to take over A's queue after the lock expires");
    await until(() => allFinished(seenByB, 19), "B to finish every group", 20_000);
    await recording.stop();

    assert.ok(seenByA.length > 0, "A consumed before it was killed");
    assert.ok(seenByB.some((f) => f.queueId === queueOfA), "B consumed A's queue after the crash");
    // No two members consumed one queue at once: B touched A's queue only after A died.
    for (const f of seenByB.filter((f) => f.queueId === queueOfA)) {
      assert.ok(f.atMs > killedAtMs, "B consumed A's queue while A held its lock");
    }
    for (const group of GROUPS) {
      const a = seenByA.filter((f) => f.group === group).map((f) => f.seq);
      const bSeqs = seenByB.filter((f) => f.group === group).map((f) => f.seq);
      assertOrderedWithReplays(`${group} on A`, a);
      assertOrderedWithReplays(`${group} on B`, bSeqs);
      const all = new Set([...a, ...bSeqs]);
      for (let seq = 0; seq < 20; seq++) {
        assert.ok(all.has(seq), `${group}:${seq} was never consumed`);
      }
    }
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already dead.
    }
    await child.status;
    await reading.catch(() => {});
  }
});

Deno.test("FIFO order holds across a broker restart: consumers re-lock their queues and go on in order", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "rmq_fifo_restart_" });
  try {
    let broker = await startTestBroker({}, { dataDir });
    const port = broker.port;
    const endpoint = `127.0.0.1:${port}`;
    {
      await using admin = await createAdmin({ endpoint });
      await admin.createTopic("OrdRestart", { readQueueNums: 2, writeQueueNums: 2, order: true });
    }
    const seen: Finished[] = [];
    await using consumer = await orderlyConsumer(endpoint, "ord-restart", "OrdRestart");
    const recording = record(consumer, seen);
    try {
      {
        await using producer = await createProducer({ endpoint });
        await sendGroups(producer, "OrdRestart", 0, 10);
      }
      await until(() => seen.length >= GROUPS.length * 10, "the first half");
      await broker.close();
      broker = await startTestBroker({ port }, { dataDir });
      {
        await using producer = await createProducer({ endpoint });
        await sendGroups(producer, "OrdRestart", 10, 20);
      }
      await until(
        () => allFinished(seen, 19),
        "every group to be finished after the restart",
        20_000,
      );
    } finally {
      await recording.stop();
      await broker.close();
    }
    for (const group of GROUPS) {
      const seqs = seen.filter((f) => f.group === group).map((f) => f.seq);
      assertOrderedWithReplays(group, seqs);
      assert.deepEqual(
        [...new Set(seqs)].sort((x, y) => x - y),
        Array.from({ length: 20 }, (_, i) => i),
      );
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
