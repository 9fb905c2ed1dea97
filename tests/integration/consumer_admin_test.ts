/**
 * Consumer administration against a real broker: consumerConnection,
 * consumer progress with lag in messages and time plus pop in-flight, and
 * resetOffsetByTime moving a live push consumer back.
 */

import assert from "node:assert/strict";
import { startTestBroker } from "../_helpers/broker.ts";
import { take } from "../_helpers/consume.ts";
import { createAdmin } from "../../client/admin.ts";
import { createConsumer } from "../../client/consumer.ts";
import { createProducer } from "../../client/producer.ts";
import { createSimpleConsumer } from "../../client/simple_consumer.ts";
import { MQBrokerError } from "../../client/errors.ts";
import { runAdminCli } from "../../client/cli/admin_cli.ts";

Deno.test("consumerConnection lists members and model; consumeStats shows lag in time and pop in-flight", async () => {
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("AdmT", { readQueueNums: 1, writeQueueNums: 1 });
  await using producer = await createProducer({ endpoint, group: "pg" });
  for (let i = 0; i < 6; i++) await producer.send({ topic: "AdmT", body: `a${i}` });
  await assert.rejects(admin.consumerConnection("nobody"), MQBrokerError);
  await using _pop = await createSimpleConsumer({
    endpoint,
    group: "adm-pop",
    subscriptions: { AdmT: "TagA || TagB" },
    clientId: "pop-1",
    awaitDuration: 1_000,
    consumeFrom: "FIRST",
  });
  const connection = await admin.consumerConnection("adm-pop");
  assert.deepEqual(connection.members.map((m) => m.clientId), ["pop-1"]);
  assert.equal(connection.messageModel, "CLUSTERING");
  assert.equal(connection.consumeType, "CONSUME_POP");
  assert.deepEqual(connection.subscriptions.map((s) => [s.topic, s.expression]), [[
    "AdmT",
    "TagA || TagB",
  ]]);
  await using all = await createSimpleConsumer({
    endpoint,
    group: "adm-pop2",
    subscriptions: { AdmT: "*" },
    awaitDuration: 1_000,
    consumeFrom: "FIRST",
  });
  const got = await all.receive(4, 60_000);
  assert.equal(got.length, 4);
  const stats = await admin.consumeStats("adm-pop2", "AdmT");
  assert.equal(stats.popInFlight, 4);
  assert.equal(stats.totalLag, 2);
  assert.ok(stats.maxLagMs >= 0);
  const q = stats.queues.find((x) => x.topic === "AdmT")!;
  assert.equal(q.consumerOffset, 4);
  assert.equal(q.brokerOffset, 6);
  for (const m of got) await all.ack(m);
  const lines: string[] = [];
  assert.equal(
    await runAdminCli(
      ["consumerProgress", "-n", endpoint, "-g", "adm-pop2", "-t", "AdmT"],
      (t) => lines.push(t),
    ),
    0,
  );
  assert.match(lines.join("\n"), /LagMs[\s\S]*Pop in-flight: 0/);
  lines.length = 0;
  assert.equal(
    await runAdminCli(
      ["consumerConnection", "-n", endpoint, "-g", "adm-pop"],
      (t) => lines.push(t),
    ),
    0,
  );
  assert.match(lines.join("\n"), /pop-1[\s\S]*TagA \|\| TagB[\s\S]*MessageModel: CLUSTERING/);
  lines.length = 0;
  assert.equal(
    await runAdminCli(
      [
        "resetOffsetByTime",
        "-n",
        endpoint,
        "-g",
        "adm-pop2",
        "-t",
        "AdmT",
        "-s",
        "1970-01-01T00:00:00Z",
      ],
      (t) => lines.push(t),
    ),
    0,
  );
  assert.match(lines.join("\n"), /NewOffset\s+0\s+0/);
});

Deno.test("resetOffsetByTime moves a live push consumer back to a point in time", async () => {
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("ResetT", { readQueueNums: 2, writeQueueNums: 2 });
  await using producer = await createProducer({ endpoint, group: "pg" });
  const before = Date.now() - 1;
  for (let i = 0; i < 10; i++) await producer.send({ topic: "ResetT", body: `r${i}` });
  await using consumer = await createConsumer({
    endpoint,
    group: "reset-g",
    topic: "ResetT",
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
    commitIntervalMs: 100,
  });
  const iterator = consumer.messages();
  const first = await take(iterator, 10);
  assert.equal(new Set(first.map((m) => m.text())).size, 10);
  const offsets = await admin.resetOffsetByTime("reset-g", "ResetT", before);
  assert.deepEqual([...offsets.values()], [0, 0]);
  // The live member starts again from the start: all ten come again.
  const seen = new Set<string>();
  await take(iterator, 10, 10_000, (m) => {
    if (seen.has(m.text())) return false;
    seen.add(m.text());
  });
  assert.equal(seen.size, 10);
  await iterator.return?.();
});
