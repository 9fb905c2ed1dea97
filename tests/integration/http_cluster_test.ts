/**
 * Goal: the dashboard's cluster page lists every broker the name servers know, with each one's
 * role, address, version, TPS and disk use, and marks a broker that stopped answering. Method: an
 * in-process name server and two brokers registered with it; the HTTP API of broker "a" is asked;
 * messages sent to "b" move the TPS "a" reports for it.
 */

import assert from "node:assert/strict";
import { NAMESRV_CONFIG_DEFAULTS } from "../../namesrv/config.ts";
import { NameServer } from "../../namesrv/namesrv.ts";
import { BrokerHttpServer } from "../../broker/http/http_server.ts";
import { BROKER_VERSION } from "../../broker/version.ts";
import { createAdmin } from "../../client/admin.ts";
import { createProducer } from "../../client/producer.ts";
import { startTestBroker } from "../_helpers/broker.ts";
import { until } from "../_helpers/consume.ts";
import { makeTempDir } from "../_helpers/temp_dir.ts";

interface Row {
  brokerName: string;
  self: boolean;
  role: string;
  address: string;
  status: string;
  version?: string;
  tpsIn?: number | null;
  diskUsedRatio?: number;
}

Deno.test("GET /api/cluster lists the name server's brokers with their runtime info", async () => {
  await using dir = await makeTempDir("rmq_http_cluster_");
  await using namesrv = await NameServer.start({
    config: { ...NAMESRV_CONFIG_DEFAULTS, port: 0, dataDir: `${dir.path}/n` },
  });
  const namesrvAddr = `127.0.0.1:${namesrv.port}`;
  await using a = await startTestBroker({ namesrvAddr, brokerName: "a", clusterName: "C" });
  const b = await startTestBroker({ namesrvAddr, brokerName: "b", clusterName: "C" });
  await using http = BrokerHttpServer.start({
    source: a.broker.operations,
    hostname: "127.0.0.1",
    port: 0,
  });
  const cluster = async () =>
    (await (await fetch(`http://127.0.0.1:${http.port}/api/cluster`)).json()) as {
      namesrvAddr: string;
      brokers: Row[];
    };
  try {
    const first = await cluster();
    assert.equal(first.namesrvAddr, namesrvAddr);
    assert.deepEqual(first.brokers.map((r) => [r.brokerName, r.self, r.role, r.status]), [
      ["a", true, "MASTER", "UP"],
      ["b", false, "MASTER", "UP"],
    ]);
    const rowB = first.brokers[1];
    assert.equal(rowB.address, b.broker.address);
    assert.equal(rowB.version, BROKER_VERSION);
    assert.equal(rowB.tpsIn, null); // no earlier sample yet
    assert.ok(rowB.diskUsedRatio! >= 0);

    // Messages sent to b show up as b's TPS on the next call.
    const endpointB = `127.0.0.1:${b.port}`;
    {
      await using admin = await createAdmin({ endpoint: endpointB });
      await admin.createTopic("OnB", { readQueueNums: 1, writeQueueNums: 1 });
      await using producer = await createProducer({ endpoint: endpointB, group: "pg" });
      for (let i = 0; i < 20; i++) await producer.send({ topic: "OnB", body: `m${i}` });
    }
    const second = await cluster();
    assert.ok((second.brokers[1].tpsIn ?? 0) > 0);

    // A broker that stops answering is marked (until the name server drops it).
    await b.close();
    await until(async () => {
      const rows = (await cluster()).brokers;
      return rows.length === 1 || rows[1].status === "UNREACHABLE";
    }, "b to be gone or unreachable");
  } finally {
    await b.close();
  }
});

Deno.test("GET /api/cluster without a name server lists this broker alone", async () => {
  await using broker = await startTestBroker();
  await using http = BrokerHttpServer.start({
    source: broker.broker.operations,
    hostname: "127.0.0.1",
    port: 0,
  });
  const body = await (await fetch(`http://127.0.0.1:${http.port}/api/cluster`)).json();
  assert.equal(body.namesrvAddr, "");
  assert.equal(body.brokers.length, 1);
  assert.equal(body.brokers[0].self, true);
  assert.equal(body.brokers[0].version, BROKER_VERSION);
});
