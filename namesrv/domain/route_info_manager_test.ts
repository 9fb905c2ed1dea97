import assert from "node:assert/strict";
import type { TopicConfig } from "../../client/protocol/heartbeat.ts";
import { type BrokerRegistration, RouteInfoManager } from "./route_info_manager.ts";

function registration(
  brokerName: string,
  topics: string[],
  options: { id?: number; addr?: string; counter?: number; channel?: string } = {},
): BrokerRegistration {
  const table: Record<string, TopicConfig> = {};
  for (const t of topics) {
    table[t] = { topicName: t, readQueueNums: 4, writeQueueNums: 4, perm: 6 };
  }
  return {
    clusterName: "C",
    brokerName,
    brokerAddr: options.addr ?? `${brokerName}:10911`,
    brokerId: options.id ?? 0,
    haServerAddr: `${brokerName}:10912`,
    body: {
      topicConfigTable: table,
      dataVersion: { stateVersion: 0, timestamp: 1, counter: options.counter ?? 1 },
      filterServerList: [],
    },
    channelId: options.channel ?? brokerName,
  };
}

Deno.test("RouteInfoManager merges the queues of every broker hosting a topic", () => {
  const routes = new RouteInfoManager(() => 0, 1000);
  routes.registerBroker(registration("b", ["T", "U"]));
  routes.registerBroker(registration("a", ["T"]));
  const route = routes.topicRoute("T")!;
  assert.deepEqual(route.queueDatas.map((q) => q.brokerName), ["a", "b"]);
  assert.deepEqual(route.brokerDatas.map((b) => b.brokerAddrs["0"]), ["a:10911", "b:10911"]);
  assert.deepEqual(routes.clusterInfo().clusterAddrTable, { C: ["a", "b"] });
  assert.deepEqual(routes.allTopics(), ["T", "U"]);
  assert.deepEqual(routes.topicsByCluster("C"), ["T", "U"]);
  assert.equal(routes.topicRoute("nope"), undefined);
});

Deno.test("RouteInfoManager replaces a master's topics only when its data version changes", () => {
  const routes = new RouteInfoManager(() => 0, 1000);
  routes.registerBroker(registration("a", ["T", "U"], { counter: 1 }));
  // Same version, different table: ignored (the name server trusts the version).
  routes.registerBroker(registration("a", ["T"], { counter: 1 }));
  assert.deepEqual(routes.allTopics(), ["T", "U"]);
  routes.registerBroker(registration("a", ["T"], { counter: 2 }));
  assert.deepEqual(routes.allTopics(), ["T"]);
  const v = { stateVersion: 0, timestamp: 1, counter: 2 };
  assert.equal(routes.queryDataVersion("C", "a:10911", v).changed, false);
  assert.equal(routes.queryDataVersion("C", "a:10911", { ...v, counter: 3 }).changed, true);
  assert.equal(routes.queryDataVersion("C", "x:1", v).changed, true);
});

Deno.test("RouteInfoManager tells a slave its master and keeps queue data from the master only", () => {
  const routes = new RouteInfoManager(() => 0, 1000);
  routes.registerBroker(registration("a", ["T"]));
  const slave = routes.registerBroker(registration("a", ["T", "S"], { id: 1, addr: "a1:10911" }));
  assert.deepEqual(slave, { masterAddr: "a:10911", haServerAddr: "a:10912" });
  assert.deepEqual(routes.allTopics(), ["T"]);
  assert.deepEqual(routes.topicRoute("T")!.brokerDatas[0].brokerAddrs, {
    "0": "a:10911",
    "1": "a1:10911",
  });
});

Deno.test("RouteInfoManager removes expired and disconnected brokers from every table", () => {
  let now = 0;
  const routes = new RouteInfoManager(() => now, 1000);
  routes.registerBroker(registration("a", ["T", "A"], { channel: "ch-a" }));
  routes.registerBroker(registration("b", ["T"], { channel: "ch-b" }));
  now = 500;
  assert.equal(routes.heartbeat("C", "b:10911"), true);
  now = 1200;
  assert.deepEqual(routes.scanNotActiveBroker().map((b) => b.brokerName), ["a"]);
  assert.deepEqual(routes.allTopics(), ["T"]);
  assert.deepEqual(routes.topicRoute("T")!.queueDatas.map((q) => q.brokerName), ["b"]);
  assert.deepEqual(routes.channelClosed("ch-b").map((b) => b.brokerName), ["b"]);
  assert.deepEqual(routes.allTopics(), []);
  assert.deepEqual(routes.clusterInfo(), { brokerAddrTable: {}, clusterAddrTable: {} });
  assert.equal(routes.liveBrokerCount, 0);
  assert.equal(routes.heartbeat("C", "b:10911"), false);
});

Deno.test("RouteInfoManager.deleteTopic() drops one cluster's queues or all", () => {
  const routes = new RouteInfoManager(() => 0, 1000);
  routes.registerBroker(registration("a", ["T"]));
  routes.registerBroker({ ...registration("b", ["T"]), clusterName: "D" });
  assert.equal(routes.deleteTopic("T", "C"), true);
  assert.deepEqual(routes.topicRoute("T")!.queueDatas.map((q) => q.brokerName), ["b"]);
  assert.equal(routes.deleteTopic("T"), true);
  assert.equal(routes.topicRoute("T"), undefined);
  assert.equal(
    routes.unregisterBroker({
      clusterName: "C",
      brokerName: "a",
      brokerAddr: "a:10911",
      brokerId: 0,
    }),
    true,
  );
  assert.deepEqual(routes.clusterInfo().clusterAddrTable, { D: ["b"] });
});
