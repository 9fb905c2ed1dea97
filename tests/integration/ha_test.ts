// Goal: classic HA with static roles (spec §10.2–10.3) keeps every acknowledged
// message. A SYNC_MASTER acknowledges only what its slave holds, so after
// SIGKILL of the master every acked message is readable from the slave at its
// original queue offset; without an in-sync slave a SYNC_MASTER answers
// SLAVE_NOT_AVAILABLE / FLUSH_SLAVE_TIMEOUT (never a silent SEND_OK), an
// ASYNC_MASTER goes on; a slave refuses sends and serves pulls.
// Method: broker/main.ts child processes on loopback (port 0, temp dirs); the
// slave is pointed at the master's HA port (listen port + 1) with
// --ha-master-addr. Waits are bounded polls; no timing is asserted.

import assert from "node:assert/strict";
import { createAdmin } from "../../client/admin.ts";
import { runAdminCli } from "../../client/cli/admin_cli.ts";
import { createProducer } from "../../client/producer.ts";
import { decodeRecords } from "../../client/protocol/message_record.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import { pullFields, TestConnection } from "../_helpers/broker.ts";
import { type BrokerProcess, spawnBroker } from "../_helpers/broker_process.ts";

const TOPIC = "HaTopic";
const QUEUES = 4;
const WAIT_MS = 20_000;
const SEGMENT_ARGS = ["--commit-log-segment-bytes", String(256 * 1024)];

async function createTopic(endpoint: string): Promise<void> {
  await using admin = await createAdmin({ endpoint });
  await admin.createTopic(TOPIC, { readQueueNums: QUEUES, writeQueueNums: QUEUES });
}

async function startPair(
  masterRole: string,
  extra: readonly string[] = [],
): Promise<{ master: BrokerProcess; slave: BrokerProcess }> {
  const master = await spawnBroker({
    args: [...SEGMENT_ARGS, "--broker-role", masterRole, ...extra],
  });
  await createTopic(master.endpoint);
  // A consumer offset committed before the slave exists reaches it with the metadata copy.
  await using conn = await TestConnection.connect(master.port);
  const update = await conn.request(RequestCode.UPDATE_CONSUMER_OFFSET, {
    consumerGroup: "ha-cg",
    topic: TOPIC,
    queueId: 1,
    commitOffset: 7,
  });
  assert.equal(update.code, ResponseCode.SUCCESS);
  const slave = await spawnBroker({
    args: [
      ...SEGMENT_ARGS,
      "--broker-role",
      "SLAVE",
      "--broker-id",
      "1",
      "--ha-master-addr",
      `127.0.0.1:${master.port + 1}`,
    ],
  });
  return { master, slave };
}

/** The body at (queueId, queueOffset) on a broker, or undefined. */
async function bodyAt(
  conn: TestConnection,
  queueId: number,
  queueOffset: number,
): Promise<string | undefined> {
  const response = await conn.request(
    RequestCode.PULL_MESSAGE,
    pullFields(TOPIC, queueId, queueOffset, { maxMsgNums: 1 }),
  );
  if (response.code !== ResponseCode.SUCCESS || response.body === undefined) return undefined;
  const [record] = decodeRecords(response.body);
  return record === undefined ? undefined : new TextDecoder().decode(record.body);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const started = performance.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() - started > WAIT_MS) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test("SYNC_MASTER + slave: after SIGKILL of the master every acked message is on the slave at its queue offset", async () => {
  const { master, slave } = await startPair("SYNC_MASTER", ["--in-sync-replicas", "2"]);
  await using _slave = slave;
  await using _master = master;
  await using producer = await createProducer({ endpoint: master.endpoint, group: "ha-pg" });
  // The slave connects in the background: wait until a send is confirmed by it.
  await until("the slave to be in sync", async () => {
    const r = await producer.send({ topic: TOPIC, body: "probe" });
    return r.status === "SEND_OK" ? r : undefined;
  });
  // The slave copied the topic and the consumer offset from its master on connect.
  await using slaveConn = await TestConnection.connect(slave.port);
  const probe = await producer.send({ topic: TOPIC, body: "probe-2" });
  await until(
    "the topic on the slave",
    () => bodyAt(slaveConn, probe.queue.queueId, probe.queueOffset),
  );
  await using slaveAdmin = await createAdmin({ endpoint: slave.endpoint });
  assert.equal(await slaveAdmin.queryConsumerOffset("ha-cg", TOPIC, 1), 7);
  const acked: { body: string; queueId: number; queueOffset: number }[] = [];
  // Under load: 8 senders in a loop; the master is killed once 200 sends were acknowledged.
  let next = 0;
  let killed: Promise<void> | undefined;
  const sender = async (): Promise<void> => {
    while (killed === undefined || next < 1_000) {
      const i = next++;
      const body = `m-${i}-${"x".repeat(i % 7 * 50)}`;
      try {
        const r = await producer.send({ topic: TOPIC, body });
        if (r.status === "SEND_OK") {
          acked.push({ body, queueId: r.queue.queueId, queueOffset: r.queueOffset });
        }
      } catch {
        if (killed !== undefined) return;
      }
      if (acked.length >= 200) killed ??= master.kill("SIGKILL");
    }
  };
  const sends = Array.from({ length: 8 }, sender);
  await Promise.all(sends);
  await master.kill("SIGKILL");
  assert.ok(acked.length >= 100, `only ${acked.length} sends were acknowledged`);
  const conn = slaveConn;
  const missing: string[] = [];
  for (const a of acked) {
    const body = await bodyAt(conn, a.queueId, a.queueOffset);
    if (body !== a.body) missing.push(`${a.body} at ${a.queueId}/${a.queueOffset}: ${body}`);
  }
  assert.deepEqual(missing, [], `${missing.length} acked messages missing on the slave`);
});

Deno.test("a slave refuses sends and serves pulls while its master is down", async () => {
  const { master, slave } = await startPair("ASYNC_MASTER");
  await using _slave = slave;
  await using _master = master;
  await using producer = await createProducer({ endpoint: master.endpoint, group: "ha-pg2" });
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => producer.send({ topic: TOPIC, body: `a-${i}` })),
  );
  for (const r of results) assert.equal(r.status, "SEND_OK");
  const last = results.at(-1)!;
  await using conn = await TestConnection.connect(slave.port);
  // ASYNC: the slave catches up behind the acknowledgements.
  await until("the slave to catch up", () => bodyAt(conn, last.queue.queueId, last.queueOffset));
  // `deno task admin haStatus`: the master reports its slave caught up (lag 0).
  const status = await until("haStatus to show the slave caught up", async () => {
    let text = "";
    assert.equal(await runAdminCli(["haStatus", "-n", master.endpoint], (t) => text += t), 0);
    const s = JSON.parse(text);
    return s.slaves.length === 1 && s.slaves[0].lagBytes === 0 ? s : undefined;
  });
  assert.equal(status.role, "ASYNC_MASTER");
  assert.equal(status.slaves[0].ackedOffset, status.maxOffset);
  let slaveText = "";
  await runAdminCli(["haStatus", "-n", slave.endpoint], (t) => slaveText += t);
  assert.equal(JSON.parse(slaveText).role, "SLAVE");
  await master.kill("SIGKILL");
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    assert.equal(await bodyAt(conn, r.queue.queueId, r.queueOffset), `a-${i}`);
  }
  await using toSlave = await createProducer({
    endpoint: slave.endpoint,
    group: "ha-pg3",
    retryTimes: 0,
  });
  await assert.rejects(toSlave.send({ topic: TOPIC, body: "refused" }));
});

Deno.test("SYNC_MASTER without its slave answers SLAVE_NOT_AVAILABLE or FLUSH_SLAVE_TIMEOUT; ASYNC_MASTER goes on", async () => {
  const { master, slave } = await startPair("SYNC_MASTER", [
    "--in-sync-replicas",
    "2",
    "--slave-timeout-ms",
    "500",
  ]);
  await using _master = master;
  await using producer = await createProducer({ endpoint: master.endpoint, group: "ha-pg4" });
  await until("the slave to be in sync", async () => {
    const r = await producer.send({ topic: TOPIC, body: "probe" });
    return r.status === "SEND_OK" ? r : undefined;
  });
  await slave.kill("SIGKILL");
  await slave[Symbol.asyncDispose]();
  const status = await until("a put to notice the missing slave", async () => {
    const r = await producer.send({ topic: TOPIC, body: "after-slave-death" });
    return r.status === "SEND_OK" ? undefined : r.status;
  });
  assert.ok(
    status === "SLAVE_NOT_AVAILABLE" || status === "FLUSH_SLAVE_TIMEOUT",
    `unexpected status ${status}`,
  );
  // Once the master noticed, every put says so (no silent SEND_OK).
  const next = await producer.send({ topic: TOPIC, body: "still-no-slave" });
  assert.notEqual(next.status, "SEND_OK");

  await using async = await spawnBroker({
    args: [...SEGMENT_ARGS, "--broker-role", "ASYNC_MASTER"],
  });
  await createTopic(async.endpoint);
  await using asyncProducer = await createProducer({ endpoint: async.endpoint, group: "ha-pg5" });
  const r = await asyncProducer.send({ topic: TOPIC, body: "async-alone" });
  assert.equal(r.status, "SEND_OK");
});
