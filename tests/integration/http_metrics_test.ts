/**
 * Goal: `/metrics` on the broker's HTTP port speaks the Prometheus text format with RocketMQ 5's
 * names and labels, and its values follow what really happened. Method: a real broker and HTTP
 * server on port 0; the real producer sends, the real consumer pulls, a second group's offsets
 * are committed behind; the scrape is parsed and checked sample by sample.
 */

import assert from "node:assert/strict";
import { startTestBroker } from "../_helpers/broker.ts";
import { until } from "../_helpers/consume.ts";
import { BrokerHttpServer } from "../../broker/http/http_server.ts";
import { createAdmin } from "../../client/admin.ts";
import { createConsumer } from "../../client/consumer.ts";
import { createProducer } from "../../client/producer.ts";
import type { ReceivedMessage } from "../../client/message.ts";
import { createSimpleConsumer } from "../../client/simple_consumer.ts";
import { Connection } from "../../client/connection.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";

/** Parse the text format into `name{labels}` -> value (labels sorted, common labels dropped). */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `unparsable line: ${line}`);
    const labels = (match[2] ?? "").split(/,(?=[a-z_]+=")/).filter((l) =>
      l !== "" && !/^(cluster|node_type|node_id)=/.test(l)
    ).sort();
    out.set(`${match[1]}{${labels.join(",")}}`, Number(match[3]));
  }
  return out;
}

Deno.test("GET /metrics exposes RocketMQ 5 metrics read from the broker", async () => {
  await using broker = await startTestBroker();
  await using http = BrokerHttpServer.start({
    source: broker.broker.operations,
    hostname: "127.0.0.1",
    port: 0,
  });
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("Metered", { readQueueNums: 2, writeQueueNums: 2 });
  await using producer = await createProducer({ endpoint, group: "pg" });
  for (let i = 0; i < 10; i++) {
    await producer.send({ topic: "Metered", body: "x".repeat(100), keys: [`k${i}`] });
  }
  await using consumer = await createConsumer({
    endpoint,
    group: "cg",
    topic: "Metered",
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
  });
  const iterator = consumer.messages();
  for (let i = 0; i < 10; i++) await iterator.next();
  // A raw pull of queue 0 by a group that then commits nothing.
  await using conn = await Connection.connect({ endpoint });
  const pulled = await conn.request(RequestCode.PULL_MESSAGE, {
    consumerGroup: "puller",
    topic: "Metered",
    queueId: "0",
    queueOffset: "0",
    maxMsgNums: "32",
    sysFlag: "0",
    commitOffset: "0",
    suspendTimeoutMillis: "0",
    subVersion: "0",
  });
  assert.equal(pulled.code, ResponseCode.SUCCESS);
  broker.broker.store.commitConsumerOffset("puller", "Metered", 0, 0);
  // A group that consumed nothing: its lag is every stored message.
  broker.broker.store.commitConsumerOffset("behind", "Metered", 0, 0);
  broker.broker.store.commitConsumerOffset("behind", "Metered", 1, 0);

  const scrape = async () => {
    const response = await fetch(`http://127.0.0.1:${http.port}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    return { text: await response.text() };
  };
  let text = "";
  await until(async () => {
    text = (await scrape()).text;
    const m = parse(text);
    return m.get(
      'rocketmq_messages_out_total{consumer_group="cg",is_retry="false",is_system="false",topic="Metered"}',
    ) === 10;
  }, "the pulls to be counted");
  const m = parse(text);
  const topic = 'is_retry="false",is_system="false",message_type="Normal",topic="Metered"';
  assert.equal(m.get(`rocketmq_messages_in_total{${topic}}`), 10);
  assert.equal(m.get(`rocketmq_throughput_in_total{${topic}}`), 1000);
  assert.equal(m.get('rocketmq_message_size_count{message_type="Normal",topic="Metered"}'), 10);
  assert.equal(
    m.get('rocketmq_message_size_bucket{le="1024",message_type="Normal",topic="Metered"}'),
    10,
  );
  assert.ok(
    (m.get(
      'rocketmq_throughput_out_total{consumer_group="cg",is_retry="false",is_system="false",topic="Metered"}',
    ) ?? 0) > 1000,
  );
  assert.equal(
    m.get(
      'rocketmq_consumer_lag_messages{consumer_group="behind",is_retry="false",is_system="false",topic="Metered"}',
    ),
    10,
  );
  assert.ok(
    (m.get(
      'rocketmq_consumer_lag_latency{consumer_group="behind",is_retry="false",is_system="false",topic="Metered"}',
    ) ?? -1) >= 0,
  );
  assert.equal(
    m.get(
      'rocketmq_rpc_latency_count{protocol_type="remoting",request_code="310",response_code="0"}',
    ),
    10,
  );
  assert.equal(m.get('rocketmq_consumer_connections{consumer_group="cg"}'), 1);
  // "puller" pulled all of queue 0 and committed nothing past 0: all of it is in flight.
  assert.equal(
    m.get(
      'rocketmq_consumer_inflight_messages{consumer_group="puller",is_retry="false",is_system="false",topic="Metered"}',
    ),
    broker.broker.store.getMaxOffsetInQueue("Metered", 0),
  );
  assert.equal(m.get('rocketmq_producer_connections{producer_group="pg"}'), 1);
  assert.ok((m.get("rocketmq_storage_size{}") ?? 0) > 1000);
  assert.ok(m.has("rocketmq_storage_flush_behind_bytes{}"));
  assert.ok(m.has("rocketmq_storage_dispatch_behind_bytes{}"));
  // Per-thread CPU of the Worker store: the main thread's own, and what each worker published.
  assert.ok((m.get('rocketmq_thread_cpu_seconds_total{thread="main"}') ?? 0) > 0);
  assert.ok(m.has('rocketmq_thread_cpu_seconds_total{thread="store_worker"}'));
  assert.ok(m.has('rocketmq_thread_cpu_seconds_total{thread="dispatch_worker"}'));
  assert.equal(m.get("rocketmq_timing_messages{}"), 0);
  assert.equal(m.get("rocketmq_half_messages{}"), 0);
  assert.ok((m.get("rocketmq_remoting_connections{}") ?? 0) >= 3);
  assert.ok((m.get("rocketmq_topic_number{}") ?? 0) >= 1);
  assert.equal(m.get("rocketmq_consumer_group_number{}"), 3); // cg, behind, puller
  assert.match(text, /# TYPE rocketmq_rpc_latency histogram/);
  assert.match(text, /node_type="broker"/);
  await iterator.return?.();
});

Deno.test("The HTTP port answers 404 for unknown paths and 405 for writes to /metrics", async () => {
  await using broker = await startTestBroker();
  await using http = BrokerHttpServer.start({
    source: broker.broker.operations,
    hostname: "127.0.0.1",
    port: 0,
  });
  const base = `http://127.0.0.1:${http.port}`;
  const missing = await fetch(`${base}/nope`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const post = await fetch(`${base}/metrics`, { method: "POST" });
  assert.equal(post.status, 405);
  await post.body?.cancel();
  const api = await fetch(`${base}/api/nope`);
  assert.equal(api.status, 404);
  assert.match((await api.json()).error, /No API/);
});

Deno.test("rocketmq_consumer_inflight_messages counts popped, unacked messages of pop consumers", async () => {
  await using broker = await startTestBroker();
  await using http = BrokerHttpServer.start({
    source: broker.broker.operations,
    hostname: "127.0.0.1",
    port: 0,
  });
  const endpoint = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic("Popped", { readQueueNums: 1, writeQueueNums: 1 });
  await using producer = await createProducer({ endpoint, group: "pg" });
  for (let i = 0; i < 4; i++) await producer.send({ topic: "Popped", body: `p${i}` });
  await using consumer = await createSimpleConsumer({
    endpoint,
    group: "popper",
    subscriptions: { Popped: "*" },
    awaitDuration: 3_000,
    consumeFrom: "FIRST",
  });
  const got: ReceivedMessage[] = [];
  await until(async () => {
    got.push(...await consumer.receive(4, 60_000));
    return got.length === 4;
  }, "four popped messages");
  await consumer.ack(got[0]);
  const text = await (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text();
  const m = parse(text);
  assert.equal(
    m.get(
      'rocketmq_consumer_inflight_messages{consumer_group="popper",is_retry="false",is_system="false",topic="Popped"}',
    ),
    3,
  );
});
