/**
 * Goal: "where is my message?" is answered by unique id, offset id or key, through the
 * client's Admin and the admin command line, also after a broker restart (the index is
 * durable). Method: a real broker on a temp dir, the real producer, then lookups.
 */

import assert from "node:assert/strict";
import { startTestBroker } from "../_helpers/broker.ts";
import { runAdminCli } from "../../client/cli/admin_cli.ts";
import { createAdmin, createProducer } from "../../mod.ts";

Deno.test("Admin.findMessages() finds a message by unique id, offset id and key, across a restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "rmq_lookup_test_" });
  try {
    let sent: { msgId: string; offsetMsgId: string; queueOffset: number };
    {
      await using broker = await startTestBroker({}, { dataDir });
      const endpoint = `127.0.0.1:${broker.port}`;
      await using admin = await createAdmin({ endpoint });
      await admin.createTopic("Orders", { readQueueNums: 2, writeQueueNums: 2 });
      await using producer = await createProducer({ endpoint, group: "shop" });
      await producer.send({ topic: "Orders", body: "other", keys: ["order-2"] });
      sent = await producer.send({
        topic: "Orders",
        body: "order #1",
        tags: "created",
        keys: ["order-1", "customer-7"],
        properties: { region: "eu" },
      });

      const byUnique = await admin.findMessages(sent.msgId);
      assert.equal(byUnique.length, 1);
      assert.equal(byUnique[0].text(), "order #1");
      assert.equal(byUnique[0].queueOffset, sent.queueOffset);

      const byOffsetId = await admin.findMessages(sent.offsetMsgId);
      assert.deepEqual(byOffsetId.map((m) => m.msgId), [sent.msgId]);

      const byKey = await admin.findMessages("customer-7", "Orders");
      assert.deepEqual(byKey.map((m) => m.msgId), [sent.msgId]);
      assert.equal(byKey[0].properties.region, "eu");

      assert.deepEqual(await admin.findMessages("no-such-key"), []);
    }
    // The index is on disk: the same lookups work after a restart.
    await using broker = await startTestBroker({}, { dataDir });
    await using admin = await createAdmin({ endpoint: `127.0.0.1:${broker.port}` });
    const again = await admin.findMessages("order-1");
    assert.deepEqual(again.map((m) => m.msgId), [sent.msgId]);
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("admin CLI findMsg shows topic, queue, offsets, store time and properties", async () => {
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("Parcels");
  await using producer = await createProducer({ endpoint, group: "post" });
  const sent = await producer.send({ topic: "Parcels", body: "p", keys: "parcel-9" });

  const out: string[] = [];
  const code = await runAdminCli(["findMsg", "-n", endpoint, "-k", "parcel-9"], (t) => out.push(t));
  assert.equal(code, 0);
  const text = out.join("\n");
  assert.match(text, /topic\s+Parcels/);
  assert.match(text, new RegExp(`queueId\\s+${sent.queue.queueId}`));
  assert.match(text, new RegExp(`queueOffset\\s+${sent.queueOffset}`));
  assert.match(text, new RegExp(`msgId\\s+${sent.msgId}`));
  assert.match(text, /storeTimestamp\s+\d{4}-\d\d-\d\dT/);
  assert.match(text, /properties\s+\{.*"KEYS":"parcel-9"/);

  const missing: string[] = [];
  assert.equal(
    await runAdminCli(["findMsg", "-n", endpoint, "-k", "nope"], (t) => missing.push(t)),
    1,
  );
  assert.match(missing.join("\n"), /No message with id or key "nope"/);
});

Deno.test("Admin.findMessages() finds every message of a concurrent burst by unique id and by key", async () => {
  await using broker = await startTestBroker();
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("Burst", { readQueueNums: 4, writeQueueNums: 4 });
  await using producer = await createProducer({ endpoint });
  const sent = await Promise.all(
    Array.from(
      { length: 600 },
      (_, i) => producer.send({ topic: "Burst", body: `m${i}`, keys: `burst-${i}` }),
    ),
  );
  for (const i of [0, 1, 299, 599]) {
    assert.deepEqual((await admin.findMessages(sent[i].msgId, "Burst")).map((m) => m.text()), [
      `m${i}`,
    ]);
    assert.deepEqual((await admin.findMessages(`burst-${i}`, "Burst")).map((m) => m.text()), [
      `m${i}`,
    ]);
  }
});
