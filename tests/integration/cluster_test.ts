// Goal: a name server and several brokers, each its own process, behave as one cluster: routes
// merge every broker's queues, producers spread over all brokers, a killed broker leaves the
// route at once while sends keep succeeding elsewhere, a restarted one comes back, and a killed
// name server is replaced by the other. Method: real child processes on loopback, the real
// client and admin CLI; every wait is bounded.

import assert from "node:assert/strict";
import { runAdminCli } from "../../client/cli/admin_cli.ts";
import { ClusterAdmin } from "../../client/cluster_admin.ts";
import { createProducer } from "../../client/producer.ts";
import { type Consumer, createConsumer } from "../../client/consumer.ts";
import { createTransactionProducer } from "../../client/transaction_producer.ts";
import { createSimpleConsumer } from "../../client/simple_consumer.ts";
import { take } from "../_helpers/consume.ts";
import { MQBrokerError } from "../../client/errors.ts";
import { type BrokerProcess, spawnBroker } from "../_helpers/broker_process.ts";
import { spawnNamesrv } from "../_helpers/namesrv_process.ts";
import { Connection } from "../../client/connection.ts";
import { registerBrokerRequestHeader } from "../../client/protocol/namesrv_headers.ts";
import { bodyCrc32, encodeRegisterBrokerBody } from "../../client/protocol/register_broker_body.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import { until } from "../_helpers/consume.ts";

async function cli(args: string[]): Promise<string> {
  const out: string[] = [];
  const code = await runAdminCli(args, (text) => out.push(text));
  assert.equal(code, 0, out.join("\n"));
  return out.join("\n");
}

function brokerArgs(name: string, namesrv: string, extra: string[] = []): string[] {
  return [
    "--namesrv-addr",
    namesrv,
    "--broker-name",
    name,
    "--cluster-name",
    "C",
    "--flush",
    "async",
    "--commit-log-segment-bytes",
    String(1024 * 1024),
    ...extra,
  ];
}

async function routeBrokers(admin: ClusterAdmin, topic: string): Promise<string[]> {
  try {
    return (await admin.topicRoute(topic)).queueDatas.map((q) => q.brokerName);
  } catch (error) {
    if (error instanceof MQBrokerError) return [];
    throw error;
  }
}

Deno.test({
  name:
    "three brokers behind a name server: merged routes, clusterList, sends on every broker, kill and restart",
  async fn() {
    await using namesrv = await spawnNamesrv();
    const n = namesrv.endpoint;
    const brokers: BrokerProcess[] = [];
    try {
      for (const name of ["b0", "b1", "b2"]) {
        brokers.push(await spawnBroker({ args: brokerArgs(name, n) }));
      }
      await using admin = new ClusterAdmin({ nameServer: n });
      const list = await cli(["clusterList", "-n", n]);
      for (const b of brokers) assert.match(list, new RegExp(`C\\s+b\\d\\s+0\\s+${b.endpoint}`));
      await cli(["updateTopic", "-n", n, "-c", "C", "-t", "Orders", "-w", "2", "-r", "2"]);
      await until(
        async () => (await routeBrokers(admin, "Orders")).length === 3,
        "route of 3 brokers",
      );
      assert.match(await cli(["topicRoute", "-n", n, "-t", "Orders"]), /b0.*\n.*b1.*\n.*b2/);
      assert.match(await cli(["topicList", "-n", n]), /Orders/);
      assert.match(
        await cli(["brokerStatus", "-n", n, "-b", brokers[0].endpoint]),
        /brokerName\s+b0/,
      );

      await using producer = await createProducer({
        nameServer: n,
        coalesce: false,
        sendTimeoutMs: 10_000,
      });
      const landed = new Set<string>();
      for (let i = 0; i < 12; i++) {
        landed.add((await producer.send({ topic: "Orders", body: `m${i}` })).queue.brokerName);
      }
      assert.deepEqual([...landed].sort(), ["b0", "b1", "b2"]);

      // SIGKILL b1 under send load: every send still succeeds (on b0 and b2, after retries).
      let acked = 0;
      const perBroker = new Map<string, number>();
      let killed = false;
      const load = (async () => {
        for (let i = 0; acked < 400 && i < 10_000; i++) {
          const batch = await Promise.all(
            Array.from(
              { length: 8 },
              (_, j) => producer.send({ topic: "Orders", body: `load-${i}-${j}` }),
            ),
          );
          for (const r of batch) {
            perBroker.set(r.queue.brokerName, (perBroker.get(r.queue.brokerName) ?? 0) + 1);
          }
          acked += batch.length;
          if (acked >= 80 && !killed) {
            killed = true;
            await brokers[1].kill("SIGKILL");
          }
        }
      })();
      await until(() => killed, "the kill");
      // The name server drops b1 as soon as its connection closes.
      await until(
        async () => !(await routeBrokers(admin, "Orders")).includes("b1"),
        "b1 leaving the route",
      );
      await load;
      assert.ok(acked >= 400);
      const before = new Map(perBroker);

      // Restart b1 on its port and data: it registers and is back in the route.
      const port = brokers[1].port;
      brokers[1] = await spawnBroker({
        dataDir: brokers[1].dataDir,
        args: brokerArgs("b1", n, ["--port", String(port)]),
      });
      await until(
        async () => (await routeBrokers(admin, "Orders")).includes("b1"),
        "b1 back in the route",
      );
      assert.ok((before.get("b0") ?? 0) > 0 && (before.get("b2") ?? 0) > 0);
    } finally {
      for (const b of brokers) await b[Symbol.asyncDispose]();
    }
  },
});

Deno.test({
  name: "with one of two name servers killed, brokers register and clients route through the other",
  async fn() {
    await using n1 = await spawnNamesrv();
    await using n2 = await spawnNamesrv();
    const both = `${n1.endpoint};${n2.endpoint}`;
    await using a = await spawnBroker({ args: brokerArgs("a", both) });
    await using b = await spawnBroker({ args: brokerArgs("b", both) });
    await cli(["updateTopic", "-n", both, "-c", "C", "-t", "Before"]);
    await n1.kill("SIGKILL");
    // A topic created now reaches the surviving name server only.
    await cli(["updateTopic", "-n", both, "-c", "C", "-t", "After"]);
    await using admin = new ClusterAdmin({ nameServer: both });
    await until(async () => (await routeBrokers(admin, "After")).length === 2, "route via n2");
    await using producer = await createProducer({ nameServer: both, coalesce: false });
    const landed = new Set<string>();
    for (let i = 0; i < 8; i++) {
      landed.add((await producer.send({ topic: "Before", body: `x${i}` })).queue.brokerName);
      landed.add((await producer.send({ topic: "After", body: `y${i}` })).queue.brokerName);
    }
    assert.deepEqual([...landed].sort(), ["a", "b"]);
    // The killed name server comes back empty; the brokers notice the closed connection and
    // register with it again without waiting for their 30 s round.
    await using back = await spawnNamesrv({ port: n1.port });
    await using backAdmin = new ClusterAdmin({ nameServer: back.endpoint });
    await until(
      async () => (await routeBrokers(backAdmin, "After")).length === 2,
      "re-registration with the restarted name server",
    );
    assert.ok(a.port > 0 && b.port > 0);
  },
});

Deno.test("a consumer group of two members gets every message of three brokers exactly once", async () => {
  await using namesrv = await spawnNamesrv();
  const n = namesrv.endpoint;
  await using b0 = await spawnBroker({ args: brokerArgs("b0", n) });
  await using b1 = await spawnBroker({ args: brokerArgs("b1", n) });
  await using b2 = await spawnBroker({ args: brokerArgs("b2", n) });
  await using admin = new ClusterAdmin({ nameServer: n });
  await admin.createTopic("Pay", "C", { readQueueNums: 2, writeQueueNums: 2 });
  await until(async () => (await routeBrokers(admin, "Pay")).length === 3, "route of 3 brokers");
  const options = {
    nameServer: n,
    group: "G",
    topic: "Pay",
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET" as const,
    rebalanceIntervalMs: 500,
  };
  await using c1 = await createConsumer({ ...options, clientId: "m1" });
  await using c2 = await createConsumer({ ...options, clientId: "m2" });
  const owned = (c: Consumer) => c.assignment.filter((q) => q.topic === "Pay");
  await until(
    () => owned(c1).length > 0 && owned(c2).length > 0 && owned(c1).length + owned(c2).length === 6,
    "both members owning disjoint queues of all three brokers",
  );
  const total = 90;
  await using producer = await createProducer({ nameServer: n, coalesce: false });
  for (let i = 0; i < total; i++) await producer.send({ topic: "Pay", body: `p${i}` });
  const received: { body: string; broker: string; member: string }[] = [];
  const drain = async (c: Consumer, member: string) => {
    for await (const m of c.messages()) {
      received.push({ body: m.text(), broker: m.brokerName, member });
    }
  };
  const loops = [drain(c1, "m1"), drain(c2, "m2")];
  await until(() => new Set(received.map((r) => r.body)).size === total, "every message", 20_000);
  assert.match(
    await cli(["consumerProgress", "-n", n, "-g", "G", "-t", "Pay"]),
    /Pay\s+b0[\s\S]*Pay\s+b1[\s\S]*Pay\s+b2/,
  );
  await c1.close();
  await c2.close();
  await Promise.all(loops);
  assert.equal(received.length, total, "no message delivered twice");
  assert.deepEqual([...new Set(received.map((r) => r.broker))].sort(), ["b0", "b1", "b2"]);
  assert.deepEqual([...new Set(received.map((r) => r.member))].sort(), ["m1", "m2"]);
  assert.ok(b0.port > 0 && b1.port > 0 && b2.port > 0);
});

Deno.test("a name-server process refuses a registration with a bad CRC or a truncated body and keeps serving", async () => {
  await using namesrv = await spawnNamesrv();
  await using broker = await spawnBroker({ args: brokerArgs("good", namesrv.endpoint) });
  await using conn = await Connection.connect({ endpoint: namesrv.endpoint });
  const body = encodeRegisterBrokerBody({
    topicConfigTable: { Evil: { topicName: "Evil", readQueueNums: 1, writeQueueNums: 1, perm: 6 } },
    dataVersion: { stateVersion: 0, timestamp: 1, counter: 1 },
    filterServerList: [],
  }, true);
  const header = (crc: number) =>
    registerBrokerRequestHeader.encode({
      brokerName: "evil",
      brokerAddr: "127.0.0.1:1",
      clusterName: "C",
      haServerAddr: "127.0.0.1:2",
      brokerId: 0,
      compressed: true,
      bodyCrc32: crc,
    });
  const badCrc = await conn.request(RequestCode.REGISTER_BROKER, header(bodyCrc32(body) ^ 1), body);
  assert.equal(badCrc.code, ResponseCode.SYSTEM_ERROR);
  const cut = body.subarray(0, body.length - 4);
  const truncated = await conn.request(RequestCode.REGISTER_BROKER, header(bodyCrc32(cut)), cut);
  assert.equal(truncated.code, ResponseCode.SYSTEM_ERROR);
  await using admin = new ClusterAdmin({ nameServer: namesrv.endpoint });
  const info = await admin.clusterInfo();
  assert.deepEqual(Object.keys(info.brokerAddrTable), ["good"]);
  assert.deepEqual(await admin.topicList(), []);
  assert.ok(broker.port > 0);
});

Deno.test("a transactional producer through the name server commits on, and answers check-backs from, each broker", async () => {
  await using namesrv = await spawnNamesrv();
  const n = namesrv.endpoint;
  const fast = ["--transaction-timeout-ms", "300", "--transaction-check-interval-ms", "200"];
  await using ta = await spawnBroker({ args: brokerArgs("ta", n, fast) });
  await using tb = await spawnBroker({ args: brokerArgs("tb", n, fast) });
  await using admin = new ClusterAdmin({ nameServer: n });
  await admin.createTopic("Tx", "C", { readQueueNums: 2, writeQueueNums: 2 });
  await until(async () => (await routeBrokers(admin, "Tx")).length === 2, "route of 2 brokers");
  const checked = new Set<string>();
  await using producer = await createTransactionProducer({
    nameServer: n,
    group: "txg",
    checker: (m) => {
      checked.add(m.text());
      return "COMMIT";
    },
  });
  const brokers = new Set<string>();
  for (let i = 0; i < 8; i++) {
    const r = await producer.sendInTransaction(
      { topic: "Tx", body: `t${i}` },
      () => i % 2 === 0 ? "COMMIT" : "UNKNOWN",
    );
    brokers.add(r.queue.brokerName);
  }
  assert.deepEqual([...brokers].sort(), ["ta", "tb"]);
  await using consumer = await createConsumer({
    nameServer: n,
    group: "txc",
    topic: "Tx",
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
  });
  const got = await take(consumer.messages(), 8, 20_000);
  assert.deepEqual(got.map((m) => m.text()).sort(), Array.from({ length: 8 }, (_, i) => `t${i}`));
  // Every UNKNOWN outcome was resolved by a check-back from the broker that held it.
  for (const odd of ["t1", "t3", "t5", "t7"]) assert.ok(checked.has(odd), odd);
  assert.ok(ta.port > 0 && tb.port > 0);
});

Deno.test("a simple (pop) consumer through the name server receives from, and acks on, every broker", async () => {
  await using namesrv = await spawnNamesrv();
  const n = namesrv.endpoint;
  await using pa = await spawnBroker({ args: brokerArgs("pa", n) });
  await using pb = await spawnBroker({ args: brokerArgs("pb", n) });
  await using admin = new ClusterAdmin({ nameServer: n });
  await admin.createTopic("Pop", "C", { readQueueNums: 2, writeQueueNums: 2 });
  await until(async () => (await routeBrokers(admin, "Pop")).length === 2, "route of 2 brokers");
  await using producer = await createProducer({ nameServer: n, coalesce: false });
  const total = 20;
  for (let i = 0; i < total; i++) await producer.send({ topic: "Pop", body: `s${i}` });
  await using consumer = await createSimpleConsumer({
    nameServer: n,
    group: "popg",
    subscriptions: { Pop: "*" },
    consumeFrom: "FIRST",
    awaitDuration: 200,
  });
  const seen = new Map<string, string>();
  await until(
    async () => {
      for (const m of await consumer.receive(32, 30_000)) {
        seen.set(m.text(), m.brokerName);
        await consumer.ack(m);
      }
      return seen.size === total;
    },
    "every message popped",
    20_000,
  );
  assert.deepEqual([...new Set(seen.values())].sort(), ["pa", "pb"]);
  assert.ok(pa.port > 0 && pb.port > 0);
});
