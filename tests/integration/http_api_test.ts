/**
 * Goal: the dashboard's JSON API does what docs/http_api.md says, against a live broker.
 * Method: a real broker and HTTP server on port 0; topics are managed through the API, messages
 * are sent by the real producer, offsets are reset and dead letters resent through the API, and
 * every effect is checked in the broker's own state.
 */

import assert from "node:assert/strict";
import { startTestBroker } from "../_helpers/broker.ts";
import { BrokerHttpServer } from "../../broker/http/http_server.ts";
import { createProducer } from "../../client/producer.ts";
import { createConsumer } from "../../client/consumer.ts";
import { encodeProperties } from "../../client/protocol/properties.ts";

async function api(base: string, path: string, init: { method?: string; body?: unknown } = {}) {
  const response = await fetch(`${base}/api/${path}`, {
    method: init.method ?? "GET",
    headers: { "content-type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: response.status, body: await response.json() };
}

Deno.test("HTTP API: broker, topics, groups, messages and DLQ resend", async () => {
  await using broker = await startTestBroker();
  await using http = BrokerHttpServer.start({
    source: broker.broker.operations,
    hostname: "127.0.0.1",
    port: 0,
  });
  const base = `http://127.0.0.1:${http.port}`;
  const store = broker.broker.store;

  const info = await api(base, "broker");
  assert.equal(info.status, 200);
  assert.equal(info.body.brokerName, "broker-a");
  assert.equal(info.body.role, "ASYNC_MASTER"); // the default --broker-role
  assert.equal(info.body.address, broker.broker.address);

  // Topics: create, update, read with route and queues, reject bad input.
  assert.equal(
    (await api(base, "topics", {
      method: "POST",
      body: { topic: "Web", readQueueNums: 2, writeQueueNums: 2 },
    })).body.created,
    true,
  );
  const updated = await api(base, "topics", {
    method: "POST",
    body: { topic: "Web", readQueueNums: 3, writeQueueNums: 3, perm: 6 },
  });
  assert.equal(updated.body.created, false);
  assert.equal(broker.broker.operations.topics.get("Web")?.writeQueueNums, 3);
  const bad = await api(base, "topics", { method: "POST", body: { topic: "bad name" } });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /Cannot create topic/);
  assert.ok((await api(base, "topics")).body.some((t: { topic: string }) => t.topic === "Web"));

  const endpoint = `127.0.0.1:${broker.port}`;
  await using producer = await createProducer({ endpoint, group: "pg" });
  const before = Date.now();
  const sent = [];
  for (let i = 0; i < 6; i++) {
    sent.push(
      await producer.send({ topic: "Web", body: `hello ${i}`, keys: [`order-${i}`], tags: "t" }),
    );
  }
  const topic = await api(base, "topics/Web");
  assert.equal(topic.body.route.brokerDatas[0].brokerAddrs["0"], broker.broker.address);
  assert.equal(
    topic.body.queues.reduce((n: number, q: { maxOffset: number }) => n + q.maxOffset, 0),
    6,
  );

  // Messages: by key, by offset id, by unique id, by time.
  const byKey = await api(base, "messages?topic=Web&key=order-3");
  assert.equal(byKey.body.messages.length, 1);
  assert.equal(byKey.body.messages[0].bodyPreview, "hello 3");
  assert.equal(byKey.body.messages[0].properties.KEYS, "order-3");
  const byId = await api(base, `messages?id=${sent[2].offsetMsgId}`);
  assert.equal(byId.body.messages[0].bodyPreview, "hello 2");
  const byUniq = await api(base, `messages?topic=Web&id=${sent[4].msgId}`);
  assert.equal(byUniq.body.messages[0].bodyPreview, "hello 4");
  const byTime = await api(
    base,
    `messages?topic=Web&begin=${before - 1000}&end=${Date.now() + 1000}`,
  );
  assert.equal(byTime.body.messages.length, 6);
  assert.equal((await api(base, "messages")).status, 400);

  // Groups: a group with committed offsets shows its lag; reset by time moves its offsets.
  const queueOf0 = sent[0].queue.queueId;
  store.commitConsumerOffset("web-group", "Web", queueOf0, 0);
  const groups = await api(base, "groups");
  const group = groups.body.find((g: { group: string }) => g.group === "web-group");
  assert.ok(group.lagMessages > 0);
  const reset = await api(base, "groups/web-group/reset", {
    method: "POST",
    body: { topic: "Web", timestampMs: Date.now() + 60_000 },
  });
  assert.equal(reset.status, 200);
  for (const q of [0, 1, 2]) {
    assert.equal(
      store.queryConsumerOffset("web-group", "Web", q),
      store.getMaxOffsetInQueue("Web", q),
    );
  }
  const detail = await api(base, "groups/web-group");
  assert.ok(detail.body.queues.every((q: { lagMessages: number }) => q.lagMessages === 0));

  // A live group shows its model, type and subscriptions.
  await using consumer = await createConsumer({
    endpoint,
    group: "live-group",
    topic: "Web",
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
  });
  const iterator = consumer.messages();
  await iterator.next();
  const live = await api(base, "groups/live-group");
  assert.equal(live.body.messageModel, "CLUSTERING");
  assert.equal(live.body.subscriptions[0].topic, "Web");
  assert.equal(live.body.clientIds.length, 1);
  await iterator.return?.();

  // Resend from DLQ: the dead letter goes to the group's retry topic.
  const dead = await store.putMessage({
    topic: "%DLQ%web-group",
    queueId: 0,
    flag: 0,
    body: new TextEncoder().encode("dead"),
    properties: encodeProperties({ RETRY_TOPIC: "Web", KEYS: "dead-1" }),
    sysFlag: 0,
    bornTimestamp: Date.now(),
    bornHost: { ip: new Uint8Array([127, 0, 0, 1]), port: 1 },
    reconsumeTimes: 16,
    preparedTransactionOffset: 0,
  });
  assert.equal(dead.status, "PUT_OK");
  if (dead.status !== "PUT_OK") return;
  const resent = await api(base, "messages/resend", {
    method: "POST",
    body: { commitLogOffset: dead.commitLogOffset },
  });
  assert.equal(resent.status, 200);
  assert.equal(resent.body.topic, "%RETRY%web-group");
  // CommitLog offset 0 holds the first message sent to Web: not a dead letter.
  const notDlq = await api(base, "messages/resend", {
    method: "POST",
    body: { commitLogOffset: 0 },
  });
  assert.equal(notDlq.status, 400);

  // Delete.
  assert.equal((await api(base, "topics/Web", { method: "DELETE" })).body.deleted, true);
  assert.equal((await api(base, "topics/Web")).status, 404);
  const history = await api(base, "history");
  assert.equal(history.body.intervalMs, 5000);

  // The dashboard itself: the page, its module and uPlot are served.
  const page = await fetch(`${base}/`);
  assert.match(await page.text(), /<script type="module" src="\/app.js">/);
  const uplot = await fetch(`${base}/vendor/uPlot.esm.js`);
  assert.match(uplot.headers.get("content-type")!, /javascript/);
  assert.match(await uplot.text(), /export \{ uPlot as default \}|export default/);
});

Deno.test("HTTP API refuses cross-site writes, non-JSON writes and non-loopback Host names", async () => {
  await using broker = await startTestBroker();
  await using http = BrokerHttpServer.start({
    source: broker.broker.operations,
    hostname: "127.0.0.1",
    port: 0,
  });
  const url = `http://127.0.0.1:${http.port}/api/topics`;
  const post = async (headers: Record<string, string>) => {
    const response = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify({ topic: "Guarded" }),
    });
    await response.body?.cancel();
    return response.status;
  };
  // A form or no-cors fetch from another site can only send text/plain: refused.
  assert.equal(await post({ "content-type": "text/plain" }), 415);
  assert.equal(
    await post({ "content-type": "application/json", origin: "http://evil.example" }),
    403,
  );
  assert.equal(broker.broker.operations.topics.get("Guarded"), undefined);
  // The dashboard's own requests pass.
  assert.equal(
    await post({ "content-type": "application/json", origin: `http://127.0.0.1:${http.port}` }),
    200,
  );
  // DNS rebinding: a foreign Host name reaching the loopback listener is refused (fetch does not
  // let a caller set Host, so the request is written by hand).
  const statusWithHost = async (host: string) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: http.port });
    try {
      await conn.write(
        new TextEncoder().encode(
          `GET /api/broker HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
        ),
      );
      const buffer = new Uint8Array(64);
      const n = await conn.read(buffer);
      return Number(new TextDecoder().decode(buffer.subarray(0, n ?? 0)).split(" ")[1]);
    } finally {
      conn.close();
    }
  };
  assert.equal(await statusWithHost("attacker.example"), 403);
  assert.equal(await statusWithHost(`localhost:${http.port}`), 200);
});
