// Goal: a replica group behind a name server (spec §9.3, §10.5). The slave learns its
// master's HA address from the name server's REGISTER_BROKER answer (no --ha-master-addr);
// after SIGKILL of the master the route keeps the slave, and a consumer group that knows only
// the name server reads every message from the slave; `admin promote` then makes the slave
// master, and sends through the name server continue each queue's offsets on it.
// Method: name server and brokers as child processes on loopback; bounded polls.

import assert from "node:assert/strict";
import { runAdminCli } from "../../client/cli/admin_cli.ts";
import { ClusterAdmin } from "../../client/cluster_admin.ts";
import { createConsumer } from "../../client/consumer.ts";
import { createProducer } from "../../client/producer.ts";
import { spawnBroker } from "../_helpers/broker_process.ts";
import { spawnNamesrv } from "../_helpers/namesrv_process.ts";

const TOPIC = "HaRoute";
const WAIT_MS = 20_000;

async function until(what: string, probe: () => boolean | Promise<boolean>): Promise<void> {
  const started = performance.now();
  while (!(await probe())) {
    if (performance.now() - started > WAIT_MS) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test("a slave found through the name server serves a consumer group while its master is down, then is promoted", async () => {
  await using namesrv = await spawnNamesrv();
  const n = namesrv.endpoint;
  const common = ["--namesrv-addr", n, "--broker-name", "hb", "--cluster-name", "C"];
  await using master = await spawnBroker({ args: [...common, "--broker-role", "ASYNC_MASTER"] });
  await using slave = await spawnBroker({
    args: [...common, "--broker-role", "SLAVE", "--broker-id", "1"],
  });
  await using admin = new ClusterAdmin({ nameServer: n });
  await admin.createTopic(TOPIC, "C", { readQueueNums: 2, writeQueueNums: 2 });
  await using producer = await createProducer({ nameServer: n, coalesce: false });
  const total = 60;
  const perQueue = new Map<number, number>();
  for (let i = 0; i < total; i++) {
    const r = await producer.send({ topic: TOPIC, body: `r${i}` });
    assert.equal(r.status, "SEND_OK");
    perQueue.set(r.queue.queueId, (perQueue.get(r.queue.queueId) ?? 0) + 1);
  }
  // The slave found its master through the name server and caught up.
  await until("the slave to catch up", async () => {
    let text = "";
    await runAdminCli(["haStatus", "-n", master.endpoint], (t) => text += t);
    const s = JSON.parse(text);
    return s.slaves.length === 1 && s.slaves[0].lagBytes === 0;
  });
  await master.kill("SIGKILL");
  await using consumer = await createConsumer({
    nameServer: n,
    group: "ha-readers",
    topic: TOPIC,
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
    rebalanceIntervalMs: 500,
  });
  const received = new Set<string>();
  const drain = (async () => {
    for await (const m of consumer.messages()) received.add(m.text());
  })();
  await until("every message from the slave", () => received.size === total);
  await consumer.close();
  await drain;

  // Manual failover: the slave becomes master, registers as broker id 0, and takes sends that
  // continue each queue's offsets.
  let out = "";
  assert.equal(await runAdminCli(["promote", "-n", slave.endpoint], (t) => out += t), 0);
  await using after = await createProducer({ nameServer: n, coalesce: false });
  let sent: Awaited<ReturnType<typeof after.send>> | undefined;
  await until("a send to the promoted slave", async () => {
    sent = await after.send({ topic: TOPIC, body: "after-promotion" }).catch(() => undefined);
    return sent?.status === "SEND_OK";
  });
  assert.equal(sent!.queueOffset, perQueue.get(sent!.queue.queueId) ?? 0);
  let status = "";
  await runAdminCli(["haStatus", "-n", slave.endpoint], (t) => status += t);
  assert.equal(JSON.parse(status).role, "ASYNC_MASTER");
});
