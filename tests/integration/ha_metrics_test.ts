// Goal: a master's /metrics shows replication: each slave's unacknowledged bytes
// (rocketmq_replication_lag_bytes{slave}) and how many slaves are in sync.
// Method: a SYNC_MASTER child process with its HTTP port on and a slave pointed at
// its HA port; once a send is acknowledged (the slave holds it), the scrape shows one
// slave in sync with no lag. Waits are bounded polls; no timing is asserted.

import assert from "node:assert/strict";
import { createAdmin } from "../../client/admin.ts";
import { createProducer } from "../../client/producer.ts";
import { spawnBroker } from "../_helpers/broker_process.ts";
import { freePort } from "../_helpers/free_port.ts";

const WAIT_MS = 20_000;

async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    // Drop the labels every sample carries (cluster, node_type, node_id) to key by the rest.
    const key = line.slice(0, space).replace(/,?(cluster|node_type|node_id)="[^"]*"/g, "")
      .replace("{,", "{");
    samples.set(key, Number(line.slice(space + 1)));
  }
  return samples;
}

Deno.test("a master's /metrics shows each slave's replication lag and the in-sync count", async () => {
  const httpPort = freePort();
  await using master = await spawnBroker({
    args: [
      "--broker-role",
      "SYNC_MASTER",
      "--in-sync-replicas",
      "2",
      "--http-port",
      String(httpPort),
    ],
  });
  await using _slave = await spawnBroker({
    args: [
      "--broker-role",
      "SLAVE",
      "--broker-id",
      "1",
      "--ha-master-addr",
      `127.0.0.1:${master.port + 1}`,
    ],
  });
  {
    await using admin = await createAdmin({ endpoint: master.endpoint });
    await admin.createTopic("HaMetered", { readQueueNums: 1, writeQueueNums: 1 });
  }
  await using producer = await createProducer({ endpoint: master.endpoint, group: "ha-metrics" });
  const started = performance.now();
  for (;;) {
    // SEND_OK from a SYNC_MASTER means the slave acknowledged the message.
    if ((await producer.send({ topic: "HaMetered", body: "x" })).status === "SEND_OK") break;
    assert.ok(performance.now() - started < WAIT_MS, "the slave never came in sync");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const m = await scrape(httpPort);
  assert.equal(m.get("rocketmq_replication_in_sync_slaves{}"), 1);
  const lags = [...m].filter(([key]) => key.startsWith("rocketmq_replication_lag_bytes{slave="));
  assert.equal(lags.length, 1);
  assert.ok(lags[0][1] >= 0);
});
