import assert from "node:assert/strict";
import type { TopicConfig } from "../../client/protocol/heartbeat.ts";
import { NAMESRV_CONFIG_DEFAULTS } from "../../namesrv/config.ts";
import { NameServer } from "../../namesrv/namesrv.ts";
import { NamesrvRegistrar, REGISTER_COMPRESS_TOPICS_MIN } from "./namesrv_registrar.ts";

async function withNamesrv(
  fn: (n: NameServer, events: Record<string, unknown>[]) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rmq_registrar_" });
  const events: Record<string, unknown>[] = [];
  const n = await NameServer.start({
    config: { ...NAMESRV_CONFIG_DEFAULTS, port: 0, dataDir: dir },
    log: (e) => events.push({ ...e }),
  });
  try {
    await fn(n, events);
  } finally {
    await n.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function topics(count: number): TopicConfig[] {
  return Array.from({ length: count }, (_, i) => ({
    topicName: `T${i}`,
    readQueueNums: 4,
    writeQueueNums: 4,
    perm: 6,
  }));
}

Deno.test("NamesrvRegistrar registers 10,000 topics in the compressed form and skips unchanged rounds", async () => {
  await withNamesrv(async (n, events) => {
    let version = { stateVersion: 0, timestamp: 1, counter: 1 };
    const table = topics(10_000);
    const registrar = new NamesrvRegistrar({
      namesrvAddrs: [`127.0.0.1:${n.port}`],
      clusterName: "C",
      brokerName: "big",
      brokerId: 0,
      brokerAddr: "127.0.0.1:10911",
      registerIntervalMs: 3_600_000,
      source: { topics: () => table, dataVersion: () => version },
      log: () => {},
    });
    await registrar.start();
    assert.equal(n.routes.topicCount, 10_000);
    const registered = () => events.filter((e) => e.event === "broker_registered");
    assert.equal(registered().length, 1);
    assert.equal(registered()[0].compressed, true);
    assert.ok(table.length >= REGISTER_COMPRESS_TOPICS_MIN);
    // Unchanged data version: QUERY_DATA_VERSION only, no registration.
    await registrar.registerAll(false);
    assert.equal(registered().length, 1);
    // A change is registered (a forced round, as after a topic change).
    table.pop();
    version = { ...version, counter: 2 };
    registrar.topicsChanged();
    await registrar.registerAll(false);
    assert.equal(registered().length, 2);
    assert.equal(n.routes.topicCount, 9_999);
    await registrar.close();
    assert.equal(n.routes.liveBrokerCount, 0);
    assert.equal(n.routes.topicCount, 0);
  });
});

Deno.test("NamesrvRegistrar logs an unreachable name server and still registers with the others", async () => {
  await withNamesrv(async (n) => {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const dead = `127.0.0.1:${(probe.addr as Deno.NetAddr).port}`;
    probe.close();
    const logged: Record<string, unknown>[] = [];
    const registrar = new NamesrvRegistrar({
      namesrvAddrs: [dead, `127.0.0.1:${n.port}`],
      clusterName: "C",
      brokerName: "b",
      brokerId: 0,
      brokerAddr: "127.0.0.1:10911",
      registerIntervalMs: 3_600_000,
      source: {
        topics: () => topics(2),
        dataVersion: () => ({ stateVersion: 0, timestamp: 1, counter: 1 }),
      },
      log: (e) => logged.push({ ...e }),
    });
    await registrar.start();
    assert.deepEqual(n.routes.allTopics(), ["T0", "T1"]);
    assert.ok(logged.some((e) => e.event === "namesrv_register_failed" && e.namesrv === dead));
    await registrar.close();
  });
});
