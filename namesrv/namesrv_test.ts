import assert from "node:assert/strict";
import { Connection } from "../client/connection.ts";
import type { TopicConfig } from "../client/protocol/heartbeat.ts";
import { parseTopicRouteData } from "../client/protocol/heartbeat.ts";
import { parseClusterInfo, parseKvTable, parseTopicList } from "../client/protocol/cluster_info.ts";
import {
  brokerIdentityHeader,
  queryDataVersionResponseHeader,
  registerBrokerRequestHeader,
} from "../client/protocol/namesrv_headers.ts";
import { bodyCrc32, encodeRegisterBrokerBody } from "../client/protocol/register_broker_body.ts";
import {
  createRequest,
  decodeCommand,
  encodeCommand,
  type RemotingCommand,
} from "../client/protocol/remoting_command.ts";
import { RequestCode } from "../client/protocol/request_code.ts";
import { ResponseCode } from "../client/protocol/response_code.ts";
import { NAMESRV_CONFIG_DEFAULTS } from "./config.ts";
import { NameServer } from "./namesrv.ts";

async function startNamesrv(): Promise<{ server: NameServer; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "rmq_namesrv_" });
  const server = await NameServer.start({
    config: { ...NAMESRV_CONFIG_DEFAULTS, port: 0, dataDir: dir },
  });
  return { server, dir };
}

function register(
  conn: Connection,
  brokerName: string,
  topics: string[],
  options: { compressed?: boolean; crc?: number; body?: Uint8Array; counter?: number } = {},
): Promise<RemotingCommand> {
  const table: Record<string, TopicConfig> = {};
  for (const t of topics) table[t] = { topicName: t, readQueueNums: 2, writeQueueNums: 2, perm: 6 };
  const body = options.body ?? encodeRegisterBrokerBody({
    topicConfigTable: table,
    dataVersion: { stateVersion: 0, timestamp: 5, counter: options.counter ?? 1 },
    filterServerList: [],
  }, options.compressed === true);
  return conn.request(
    RequestCode.REGISTER_BROKER,
    registerBrokerRequestHeader.encode({
      brokerName,
      brokerAddr: `127.0.0.1:${brokerName.length + 20000}`,
      clusterName: "C",
      haServerAddr: "127.0.0.1:1",
      brokerId: 0,
      compressed: options.compressed,
      bodyCrc32: options.crc ?? bodyCrc32(body),
    }),
    body,
  );
}

async function rawRequest(port: number, command: RemotingCommand): Promise<RemotingCommand> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encodeCommand(command));
    let buffer = new Uint8Array(0);
    for (;;) {
      const chunk = new Uint8Array(65536);
      const n = await conn.read(chunk);
      if (n === null) throw new Error("closed");
      const next = new Uint8Array(buffer.length + n);
      next.set(buffer);
      next.set(chunk.subarray(0, n), buffer.length);
      buffer = next;
      if (buffer.length >= 4) {
        const length = new DataView(buffer.buffer).getInt32(0);
        if (buffer.length >= 4 + length) return decodeCommand(buffer.slice(4, 4 + length));
      }
    }
  } finally {
    conn.close();
  }
}

Deno.test("NameServer registers brokers (JSON and compressed) and merges their routes", async () => {
  const { server, dir } = await startNamesrv();
  const conn = await Connection.connect({ endpoint: `127.0.0.1:${server.port}` });
  try {
    assert.equal((await register(conn, "a", ["T", "A"])).code, ResponseCode.SUCCESS);
    const second = await register(conn, "bb", ["T"], { compressed: true });
    assert.equal(second.code, ResponseCode.SUCCESS);
    assert.deepEqual(parseKvTable(second.body), { ok: true, value: {} });
    const route = await conn.request(
      RequestCode.GET_ROUTEINFO_BY_TOPIC,
      { topic: "T", acceptStandardJsonOnly: "true" },
    );
    assert.equal(route.code, ResponseCode.SUCCESS);
    const parsed = parseTopicRouteData(route.body);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value.queueDatas.map((q) => q.brokerName), ["a", "bb"]);
    assert.match(new TextDecoder().decode(route.body), /"brokerAddrs":\{"0":"127.0.0.1:20001"\}/);
    // An old client (version < V4_9_4) gets fastjson's bare integer keys.
    const legacy = await rawRequest(server.port, {
      ...createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, 9, { topic: "T" }),
      version: 300,
    });
    assert.match(new TextDecoder().decode(legacy.body), /"brokerAddrs":\{0:"127.0.0.1:20001"\}/);
    const cluster = parseClusterInfo(
      (await conn.request(RequestCode.GET_BROKER_CLUSTER_INFO)).body,
    );
    assert.ok(cluster.ok);
    assert.deepEqual(cluster.value.clusterAddrTable, { C: ["a", "bb"] });
    const all = parseTopicList(
      (await conn.request(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER)).body,
    );
    assert.deepEqual(all.ok && all.value.topicList, ["A", "T"]);
    const byCluster = await conn.request(RequestCode.GET_TOPICS_BY_CLUSTER, { cluster: "C" });
    assert.deepEqual(parseTopicList(byCluster.body).ok, true);
    const missing = await conn.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: "nope" });
    assert.equal(missing.code, ResponseCode.TOPIC_NOT_EXIST);
    // QUERY_DATA_VERSION: unchanged, then changed.
    const identity = brokerIdentityHeader.encode({
      brokerName: "a",
      brokerAddr: "127.0.0.1:20001",
      clusterName: "C",
      brokerId: 0,
    });
    const version = (counter: number) =>
      new TextEncoder().encode(JSON.stringify({ stateVersion: 0, timestamp: 5, counter }));
    for (const [counter, changed] of [[1, false], [2, true]] as const) {
      const r = await conn.request(RequestCode.QUERY_DATA_VERSION, identity, version(counter));
      const h = queryDataVersionResponseHeader.decode(r.extFields);
      assert.deepEqual(h.ok && h.header.changed, changed);
    }
    assert.equal(
      (await conn.request(RequestCode.DELETE_TOPIC_IN_NAMESRV, { topic: "A" })).code,
      ResponseCode.SUCCESS,
    );
    assert.equal(
      (await conn.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: "A" })).code,
      ResponseCode.TOPIC_NOT_EXIST,
    );
    assert.equal(
      (await conn.request(RequestCode.UNREGISTER_BROKER, identity)).code,
      ResponseCode.SUCCESS,
    );
    assert.deepEqual(server.routes.topicRoute("T")!.queueDatas.map((q) => q.brokerName), ["bb"]);
  } finally {
    await conn.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("NameServer refuses a bad CRC, a truncated body and a malformed header, and keeps serving", async () => {
  const { server, dir } = await startNamesrv();
  const conn = await Connection.connect({ endpoint: `127.0.0.1:${server.port}` });
  try {
    assert.equal((await register(conn, "a", ["T"])).code, ResponseCode.SUCCESS);
    const badCrc = await register(conn, "bad", ["X"], { crc: 12345 });
    assert.equal(badCrc.code, ResponseCode.SYSTEM_ERROR);
    assert.match(badCrc.remark ?? "", /crc32 not match/);
    const good = encodeRegisterBrokerBody({
      topicConfigTable: {},
      dataVersion: { stateVersion: 0, timestamp: 1, counter: 1 },
      filterServerList: [],
    }, true);
    const truncated = await register(conn, "bad", [], {
      compressed: true,
      body: good.subarray(0, good.length - 3),
    });
    assert.equal(truncated.code, ResponseCode.SYSTEM_ERROR);
    assert.match(truncated.remark ?? "", /RegisterBrokerBody/);
    const noHeader = await conn.request(RequestCode.REGISTER_BROKER, { brokerName: "x" });
    assert.equal(noHeader.code, ResponseCode.INVALID_PARAMETER);
    const unknown = await conn.request(999_999);
    assert.equal(unknown.code, ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
    assert.equal(server.routes.hasBroker("bad"), false);
    assert.deepEqual(server.routes.allTopics(), ["T"]);
    // A garbage frame closes only its own connection.
    const raw = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await raw.write(new Uint8Array([0, 0, 0, 8, 9, 9, 9, 9, 1, 2, 3, 4]));
    assert.equal(await raw.read(new Uint8Array(16)), null);
    raw.close();
    const still = await conn.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: "T" });
    assert.equal(still.code, ResponseCode.SUCCESS);
  } finally {
    await conn.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("NameServer removes a broker whose connection closes, and persists the KV config", async () => {
  const { server, dir } = await startNamesrv();
  try {
    const brokerConn = await Connection.connect({ endpoint: `127.0.0.1:${server.port}` });
    await register(brokerConn, "a", ["T"]);
    assert.equal(server.routes.liveBrokerCount, 1);
    await brokerConn.close();
    const deadline = Date.now() + 5_000;
    while (server.routes.liveBrokerCount > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(server.routes.liveBrokerCount, 0);
    assert.deepEqual(server.routes.allTopics(), []);
    await using conn = await Connection.connect({ endpoint: `127.0.0.1:${server.port}` });
    const kv = { namespace: "ORDER_TOPIC_CONFIG", key: "T" };
    assert.equal(
      (await conn.request(RequestCode.PUT_KV_CONFIG, { ...kv, value: "a:4" })).code,
      ResponseCode.SUCCESS,
    );
    const got = await conn.request(RequestCode.GET_KV_CONFIG, kv);
    assert.equal(got.extFields?.value, "a:4");
    const file = JSON.parse(await Deno.readTextFile(`${dir}/kvConfig.json`));
    assert.deepEqual(file.configTable.ORDER_TOPIC_CONFIG, { T: "a:4" });
    await conn.request(RequestCode.DELETE_KV_CONFIG, kv);
    assert.equal(
      (await conn.request(RequestCode.GET_KV_CONFIG, kv)).code,
      ResponseCode.QUERY_NOT_FOUND,
    );
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("NameServer's scan removes a broker silent past its expiry while its connection stays open", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmq_namesrv_" });
  const server = await NameServer.start({
    config: {
      ...NAMESRV_CONFIG_DEFAULTS,
      port: 0,
      dataDir: dir,
      brokerExpiryMs: 200,
      scanIntervalMs: 20,
    },
  });
  const conn = await Connection.connect({ endpoint: `127.0.0.1:${server.port}` });
  try {
    await register(conn, "quiet", ["Q"]);
    assert.equal(server.routes.liveBrokerCount, 1);
    const deadline = Date.now() + 10_000;
    while (server.routes.liveBrokerCount > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(server.routes.liveBrokerCount, 0);
    assert.deepEqual(server.routes.allTopics(), []);
    assert.equal(conn.isClosed, false);
  } finally {
    await conn.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
