// Goal: a broker started with --namesrv-addr registers with every name server, re-registers at
// once after topic changes, and unregisters on shutdown. Method: in-process name servers and
// brokers on loopback; the name servers' route tables are read directly.

import assert from "node:assert/strict";
import { NAMESRV_CONFIG_DEFAULTS } from "../../namesrv/config.ts";
import { NameServer } from "../../namesrv/namesrv.ts";
import { createTopic, startTestBroker, TestConnection } from "../_helpers/broker.ts";
import { until } from "../_helpers/consume.ts";
import { makeTempDir } from "../_helpers/temp_dir.ts";

async function startNamesrv(dataDir: string): Promise<NameServer> {
  return await NameServer.start({ config: { ...NAMESRV_CONFIG_DEFAULTS, port: 0, dataDir } });
}

Deno.test("a broker registers with both name servers, follows topic changes and unregisters on close", async () => {
  await using dir = await makeTempDir("rmq_namesrv_reg_");
  await using n1 = await startNamesrv(`${dir.path}/n1`);
  await using n2 = await startNamesrv(`${dir.path}/n2`);
  const namesrvAddr = `127.0.0.1:${n1.port};127.0.0.1:${n2.port}`;
  await using a = await startTestBroker({ namesrvAddr, brokerName: "a", clusterName: "C" });
  await using b = await startTestBroker({ namesrvAddr, brokerName: "b", clusterName: "C" });
  for (const n of [n1, n2]) {
    assert.deepEqual(n.routes.clusterInfo().clusterAddrTable, { C: ["a", "b"] });
  }
  await using connA = await TestConnection.connect(a.port);
  await using connB = await TestConnection.connect(b.port);
  await createTopic(connA, "Orders", 3);
  await createTopic(connB, "Orders", 5);
  for (const n of [n1, n2]) {
    await until(() => (n.routes.topicRoute("Orders")?.queueDatas.length ?? 0) === 2, "route");
    const route = n.routes.topicRoute("Orders")!;
    assert.deepEqual(route.queueDatas.map((q) => [q.brokerName, q.writeQueueNums]), [
      ["a", 3],
      ["b", 5],
    ]);
    assert.deepEqual(route.brokerDatas.map((d) => d.brokerAddrs["0"]), [
      a.broker.address,
      b.broker.address,
    ]);
  }
  await a.close();
  for (const n of [n1, n2]) {
    assert.deepEqual(n.routes.clusterInfo().clusterAddrTable, { C: ["b"] });
    assert.deepEqual(n.routes.topicRoute("Orders")!.queueDatas.map((q) => q.brokerName), ["b"]);
  }
});

Deno.test("a broker whose name server is down starts, serves, and registers when it returns", async () => {
  await using dir = await makeTempDir("rmq_namesrv_down_");
  // Reserve a free port, then free it: the name server is not running there yet.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  await using broker = await startTestBroker({
    namesrvAddr: `127.0.0.1:${port}`,
    registerIntervalMs: 1_000,
  });
  await using conn = await TestConnection.connect(broker.port);
  await createTopic(conn, "T");
  await using n = await NameServer.start({
    config: { ...NAMESRV_CONFIG_DEFAULTS, port, dataDir: dir.path },
  });
  await until(
    () => n.routes.topicRoute("T") !== undefined,
    "registration after the name server starts",
  );
});
