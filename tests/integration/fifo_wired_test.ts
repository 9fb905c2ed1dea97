/**
 * Orderly consumption against a real broker with LOCK_BATCH_MQ /
 * UNLOCK_BATCH_MQ and CONSUMER_SEND_MSG_BACK wired: queue locks keep two
 * members off one queue, per-queue order holds when a member leaves, and a
 * failed message is retried in place, then dead-lettered.
 *
 * Needs the lead's wiring of broker/api/lock_controller.ts and
 * broker/api/send_back_controller.ts into broker/broker.ts; rename to
 * `fifo_wired_test.ts` once applied.
 */

import assert from "node:assert/strict";
import { startTestBroker, TestConnection } from "../_helpers/broker.ts";
import { take, until } from "../_helpers/consume.ts";
import { createAdmin } from "../../client/admin.ts";
import { type Consumer, createConsumer } from "../../client/consumer.ts";
import { createProducer, type Producer } from "../../client/producer.ts";
import type { ReceivedMessage } from "../../client/message.ts";
import { encodeJsonBody, parseLockBatchResponseBody } from "../../client/protocol/heartbeat.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";

const GROUPS = ["g-a", "g-b", "g-c", "g-d", "g-e"];

interface Seen {
  readonly by: string;
  readonly message: ReceivedMessage;
}

/** Drain a consumer into `sink` until stopped. */
function collect(
  consumer: Consumer,
  by: string,
  sink: Seen[],
): { stop(): Promise<void> } {
  const controller = new AbortController();
  const done = (async () => {
    for await (
      const message of consumer.messages({ signal: controller.signal })
    ) {
      sink.push({ by, message });
    }
  })();
  return {
    async stop() {
      controller.abort();
      await done;
    },
  };
}

/** Send `count` messages per group, each group in sequence, groups in parallel. */
async function sendGroups(
  producer: Producer,
  topic: string,
  from: number,
  count: number,
) {
  await Promise.all(GROUPS.map(async (group) => {
    for (let seq = from; seq < from + count; seq++) {
      await producer.send({
        topic,
        body: `${group}:${seq}`,
        messageGroup: group,
        properties: { seq: String(seq) },
      });
    }
  }));
}

function assertGroupOrder(seen: readonly Seen[], perGroup: number): void {
  const next = new Map<string, number>();
  for (const { message } of seen) {
    const group = message.messageGroup!;
    const seq = Number(message.properties.seq);
    assert.equal(
      seq,
      next.get(group) ?? 0,
      `${group}: expected seq ${next.get(group) ?? 0}, got ${seq}`,
    );
    next.set(group, seq + 1);
  }
  for (const group of GROUPS) {
    assert.equal(next.get(group), perGroup, `${group} complete`);
  }
}

async function lockAs(
  conn: TestConnection,
  clientId: string,
  queueIds: number[],
  topic: string,
) {
  const response = await conn.request(
    RequestCode.LOCK_BATCH_MQ,
    {},
    encodeJsonBody({
      consumerGroup: "ord-cg",
      clientId,
      onlyThisBroker: true,
      mqSet: queueIds.map((queueId) => ({
        topic,
        brokerName: "broker-a",
        queueId,
      })),
    }),
  );
  assert.equal(response.code, ResponseCode.SUCCESS, response.remark);
  const parsed = parseLockBatchResponseBody(response.body);
  assert.ok(parsed.ok);
  return parsed.value.lockOKMQSet.map((q) => q.queueId).sort();
}

Deno.test("LOCK_BATCH_MQ grants a queue to one client; UNLOCK_BATCH_MQ frees it only for its owner", async () => {
  await using broker = await startTestBroker();
  await using conn = await TestConnection.connect(broker.port);
  assert.deepEqual(await lockAs(conn, "c1", [0, 1], "T"), [0, 1]);
  assert.deepEqual(await lockAs(conn, "c2", [1, 2], "T"), [2]);
  const unlock = (clientId: string, queueIds: number[]) =>
    conn.request(
      RequestCode.UNLOCK_BATCH_MQ,
      {},
      encodeJsonBody({
        consumerGroup: "ord-cg",
        clientId,
        mqSet: queueIds.map((queueId) => ({
          topic: "T",
          brokerName: "broker-a",
          queueId,
        })),
      }),
    );
  assert.equal((await unlock("c2", [1])).code, ResponseCode.SUCCESS);
  assert.deepEqual(
    await lockAs(conn, "c2", [1], "T"),
    [],
    "a non-owner cannot unlock",
  );
  await unlock("c1", [1]);
  assert.deepEqual(await lockAs(conn, "c2", [1], "T"), [1]);
  const bad = await conn.request(
    RequestCode.LOCK_BATCH_MQ,
    {},
    new TextEncoder().encode("{}"),
  );
  assert.equal(bad.code, ResponseCode.INVALID_PARAMETER);
});

Deno.test("Orderly consumers lock disjoint queues, keep each group in order, and order holds when one leaves", async () => {
  // Goal: locks keep members apart and hand over cleanly. Method: two orderly members of
  // one group share 4 queues; a third client cannot lock any of them; then one member
  // leaves and the other takes over its queues from the committed offsets.
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("Ord", {
    readQueueNums: 4,
    writeQueueNums: 4,
    order: true,
  });
  await using producer = await createProducer({ endpoint });
  const options = {
    endpoint,
    group: "ord-cg",
    topic: "Ord",
    orderly: true,
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET" as const,
    rebalanceIntervalMs: 500,
    lockRenewIntervalMs: 500,
  };
  const a = await createConsumer({ ...options, clientId: "A" });
  await using b = await createConsumer({ ...options, clientId: "B" });
  try {
    await until(
      () => a.assignment.length === 2 && b.assignment.length === 2,
      "both members to lock two queues each",
    );
    const ids = (c: Consumer) => c.assignment.map((q) => q.queueId);
    assert.equal(
      new Set([...ids(a), ...ids(b)]).size,
      4,
      "assignments are disjoint",
    );
    await using conn = await TestConnection.connect(broker.port);
    assert.deepEqual(await lockAs(conn, "intruder", [0, 1, 2, 3], "Ord"), []);

    const seen: Seen[] = [];
    const ca = collect(a, "A", seen);
    const cb = collect(b, "B", seen);
    await sendGroups(producer, "Ord", 0, 8);
    await until(() => seen.length === GROUPS.length * 8, "the first half");
    // Each queue was consumed by exactly one member.
    const owner = new Map<number, string>();
    for (const { by, message } of seen) {
      assert.equal(
        owner.get(message.queueId) ?? by,
        by,
        `queue ${message.queueId} had two consumers`,
      );
      owner.set(message.queueId, by);
    }
    await ca.stop();
    await a.close();
    await until(() => b.assignment.length === 4, "B to lock all four queues");
    await sendGroups(producer, "Ord", 8, 8);
    await until(() => seen.length >= GROUPS.length * 16, "the second half");
    await cb.stop();
    assertGroupOrder(seen, 16);
    assert.equal(
      seen.length,
      GROUPS.length * 16,
      "no duplicates after the hand-over",
    );
  } finally {
    await a.close();
  }
});

Deno.test("An orderly consumer retries a failed message in place, then dead-letters it and moves on", async () => {
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("Ord1", { readQueueNums: 1, writeQueueNums: 1 });
  await using producer = await createProducer({ endpoint });
  for (const body of ["m0", "m1", "m2"]) {
    await producer.send({ topic: "Ord1", body, messageGroup: "one" });
  }
  {
    await using consumer = await createConsumer({
      endpoint,
      group: "ord1-cg",
      topic: "Ord1",
      orderly: true,
      maxReconsumeTimes: 1,
      retrySuspendMs: 50,
      consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
    });
    const iterator = consumer.messages();
    const got = await take(iterator, 4, 10_000, async (message) => {
      if (message.text() === "m0") await consumer.reconsumeLater(message);
    });
    assert.deepEqual(got.map((m) => `${m.text()}/${m.reconsumeTimes}`), [
      "m0/0",
      "m0/1",
      "m1/0",
      "m2/0",
    ]);
    await assert.rejects(
      consumer.reconsumeLater(got[0]),
      TypeError,
      "only the current message",
    );
    await iterator.return?.();
  }
  const dlq = await admin.listDlqMessages("ord1-cg");
  assert.equal(dlq.length, 1);
  assert.equal(dlq[0].text(), "m0");
  assert.equal(dlq[0].properties.DLQ_ORIGIN_TOPIC, "Ord1");
  // m0 (dead-lettered) and m1 are done; the iteration stopped on m2, which is therefore not.
  assert.equal(await admin.queryConsumerOffset("ord1-cg", "Ord1", 0), 2);
});
