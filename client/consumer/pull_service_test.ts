import assert from "node:assert/strict";
import { startTestBroker } from "../../tests/_helpers/broker.ts";
import { createAdmin } from "../admin.ts";
import { BrokerClient } from "../broker_client.ts";
import type { ReceivedMessage } from "../message.ts";
import { createProducer } from "../producer.ts";
import { RemoteOffsetStore } from "./offset_store.ts";
import { ProcessQueue } from "./process_queue.ts";
import { pullLoop } from "./pull_service.ts";
import { startOffset } from "./start_offset.ts";
import { parseSubscription } from "./subscription.ts";

Deno.test("pullLoop() delivers a queue's messages in order, filters tags, and commits with the pull", async () => {
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("PullT", { readQueueNums: 1, writeQueueNums: 1 });
  await using producer = await createProducer({ endpoint, group: "pg" });
  for (let i = 0; i < 6; i++) {
    await producer.send({ topic: "PullT", body: `m${i}`, tags: i % 2 === 0 ? "even" : "odd" });
  }
  await using client = new BrokerClient({ endpoint });
  const store = new RemoteOffsetStore(client, "pull-g");
  const queue = { topic: "PullT", brokerName: broker.broker.config.brokerName, queueId: 0 };
  const offset = await startOffset(client, store, queue, {
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
    consumeTimestamp: 0,
  });
  assert.equal(offset, 0);
  const pq = new ProcessQueue(queue, parseSubscription("PullT", "even"), offset);
  const got: ReceivedMessage[] = [];
  const { promise: three, resolve } = Promise.withResolvers<void>();
  let closed = false;
  pq.loop = pullLoop({
    client,
    group: "pull-g",
    subVersion: 1,
    pullBatchSize: 32,
    suspendTimeoutMs: 1_000,
    pullTimeoutMs: 5_000,
    bufferedMax: 100,
    commitWithPull: true,
    isClosed: () => closed,
    deliverable: () => true,
    deliver: (q, messages) => {
      for (const m of messages) {
        got.push(m);
        q.finish(m, false);
      }
      if (got.length >= 3) resolve();
    },
    commit: (q) => store.commit(q.queue, q.consumedOffset),
  }, pq);
  await three;
  assert.deepEqual(got.map((m) => m.text()), ["m0", "m2", "m4"]);
  assert.equal(pq.consumedOffset, 5, "one past the last delivered message");
  await store.commit(queue, pq.consumedOffset);
  assert.equal(await store.read(queue), 5);
  closed = true;
  pq.deactivate();
  await pq.loop;
});
