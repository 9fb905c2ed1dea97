// Goal: a restart of the only broker that is shorter than the send timeout is invisible to the
// producer's callers: sends in flight or issued meanwhile reconnect with back-off and succeed.
// Method: a broker child process under a steady send load is SIGKILLed and restarted on the same
// port and data directory; every send must resolve, and a consumer then reads each message.

import assert from "node:assert/strict";
import { createAdmin } from "../../client/admin.ts";
import { createConsumer } from "../../client/consumer.ts";
import { createProducer } from "../../client/producer.ts";
import { spawnBroker } from "../_helpers/broker_process.ts";
import { take, until } from "../_helpers/consume.ts";

Deno.test("a broker restart shorter than the send timeout costs the producer no failed send", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "rmq_reconnect_" });
  let broker = await spawnBroker({ dataDir });
  const port = broker.port;
  try {
    {
      await using admin = await createAdmin({ endpoint: broker.endpoint });
      await admin.createTopic("R", { readQueueNums: 2, writeQueueNums: 2 });
    }
    await using producer = await createProducer({
      endpoint: broker.endpoint,
      sendTimeoutMs: 15_000,
      coalesce: false,
    });
    const sent = new Set<string>();
    let restarted = false;
    const load = (async () => {
      for (let i = 0; !restarted || i % 50 !== 0 || sent.size < 300; i++) {
        const batch = await Promise.all(
          Array.from({ length: 4 }, (_, j) => producer.send({ topic: "R", body: `r-${i}-${j}` })),
        );
        for (const r of batch) sent.add(r.msgId);
      }
    })();
    await until(() => sent.size >= 100, "sends before the crash");
    await broker.kill("SIGKILL");
    broker = await spawnBroker({ dataDir, args: ["--port", String(port)] });
    restarted = true;
    await load;
    await using consumer = await createConsumer({
      endpoint: broker.endpoint,
      group: "RG",
      topic: "R",
      consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
    });
    const seen = new Set<string>();
    const iterator = consumer.messages();
    // Duplicates are allowed (a send retried after its connection broke may be stored twice).
    while (![...sent].every((id) => seen.has(id))) {
      for (const m of await take(iterator, 1, 20_000)) seen.add(m.msgId);
    }
    assert.ok(sent.size >= 300);
  } finally {
    await broker[Symbol.asyncDispose]();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
