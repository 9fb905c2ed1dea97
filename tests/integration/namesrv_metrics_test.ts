// Goal: a name server started with --http-port serves its own /metrics (live brokers by cluster,
// topics, clusters, registration/unregistration/route-query/removal totals, RPC latency,
// connections, all labelled node_type="namesrv"), refuses other paths, writes and rebinding hosts,
// and `deno task namesrv`'s least-privilege flags are enough for it. Method: an in-process name
// server with a real broker and a raw remoting connection registering to it, scraped over HTTP;
// then the task's exact command line in a child process, stopped with SIGTERM.

import assert from "node:assert/strict";
import { Connection } from "../../client/connection.ts";
import { registerBrokerRequestHeader } from "../../client/protocol/namesrv_headers.ts";
import { brokerIdentityHeader } from "../../client/protocol/namesrv_headers.ts";
import { bodyCrc32, encodeRegisterBrokerBody } from "../../client/protocol/register_broker_body.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import { NAMESRV_CONFIG_DEFAULTS } from "../../namesrv/config.ts";
import { NamesrvHttpServer } from "../../namesrv/http/namesrv_http_server.ts";
import { NameServer } from "../../namesrv/namesrv.ts";
import { startTestBroker } from "../_helpers/broker.ts";
import { until } from "../_helpers/consume.ts";
import { freePort } from "../_helpers/free_port.ts";
import { makeTempDir } from "../_helpers/temp_dir.ts";

/** The value of the one sample of `name` whose labels include `labels`, or undefined. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) continue;
    const wanted = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (wanted) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
  return await response.text();
}

function register(conn: Connection, brokerName: string, clusterName: string, topics: string[]) {
  const body = encodeRegisterBrokerBody({
    topicConfigTable: Object.fromEntries(
      topics.map((t) => [t, { topicName: t, readQueueNums: 2, writeQueueNums: 2, perm: 6 }]),
    ),
    dataVersion: { stateVersion: 0, timestamp: 1, counter: 1 },
    filterServerList: [],
  }, false);
  return conn.request(
    RequestCode.REGISTER_BROKER,
    registerBrokerRequestHeader.encode({
      brokerName,
      brokerAddr: `127.0.0.1:${20000 + brokerName.length}`,
      clusterName,
      haServerAddr: "127.0.0.1:1",
      brokerId: 0,
      bodyCrc32: bodyCrc32(body),
    }),
    body,
  );
}

Deno.test("the name server's /metrics counts brokers, topics, registrations, queries and removals", async () => {
  await using dir = await makeTempDir("rmq_namesrv_metrics_");
  let now = Date.now();
  await using ns = await NameServer.start({
    config: {
      ...NAMESRV_CONFIG_DEFAULTS,
      port: 0,
      dataDir: `${dir.path}/ns`,
      brokerExpiryMs: 60_000,
      scanIntervalMs: 10,
    },
    nowMs: () => now,
  });
  await using http = NamesrvHttpServer.start({
    source: ns.operations,
    hostname: "127.0.0.1",
    port: 0,
  });
  await using broker = await startTestBroker({
    namesrvAddr: `127.0.0.1:${ns.port}`,
    brokerName: "a",
    clusterName: "C",
  });
  const conn = await Connection.connect({ endpoint: `127.0.0.1:${ns.port}` });
  try {
    assert.equal((await register(conn, "x", "D", ["T"])).code, ResponseCode.SUCCESS);
    assert.equal((await register(conn, "yy", "D", ["T"])).code, ResponseCode.SUCCESS);
    const yy = brokerIdentityHeader.encode({
      brokerName: "yy",
      brokerAddr: "127.0.0.1:20002",
      clusterName: "D",
      brokerId: 0,
    });
    assert.equal(
      (await conn.request(RequestCode.UNREGISTER_BROKER, yy)).code,
      ResponseCode.SUCCESS,
    );
    const found = await conn.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: "T" });
    assert.equal(found.code, ResponseCode.SUCCESS);
    const missing = await conn.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: "nope" });
    assert.equal(missing.code, ResponseCode.TOPIC_NOT_EXIST);

    const text = await scrape(http.port);
    for (const line of text.split("\n")) {
      if (line !== "" && !line.startsWith("#")) assert.match(line, /node_type="namesrv"/, line);
    }
    assert.match(text, new RegExp(`node_id="127\\.0\\.0\\.1:${ns.port}"`));
    assert.equal(sample(text, "rocketmq_namesrv_live_brokers", { cluster: "C" }), 1);
    assert.equal(sample(text, "rocketmq_namesrv_live_brokers", { cluster: "D" }), 1);
    assert.equal(sample(text, "rocketmq_namesrv_clusters"), 2);
    assert.equal(sample(text, "rocketmq_namesrv_topics"), ns.routes.allTopics().length);
    assert.ok(ns.routes.allTopics().includes("T"));
    assert.ok(sample(text, "rocketmq_namesrv_broker_registrations_total")! >= 3);
    assert.equal(sample(text, "rocketmq_namesrv_broker_unregistrations_total"), 1);
    assert.equal(sample(text, "rocketmq_namesrv_route_queries_total", { result: "found" }), 1);
    assert.equal(sample(text, "rocketmq_namesrv_route_queries_total", { result: "not_found" }), 1);
    assert.equal(sample(text, "rocketmq_namesrv_broker_removals_total", { reason: "expired" }), 0);
    assert.equal(
      sample(text, "rocketmq_rpc_latency_count", { request_code: "105", response_code: "17" }),
      1,
    );
    assert.equal(
      sample(text, "rocketmq_rpc_latency_bucket", {
        request_code: "104",
        response_code: "0",
        le: "+Inf",
      }),
      1,
    );
    assert.ok(sample(text, "rocketmq_remoting_connections")! >= 2);
  } finally {
    conn.close();
  }

  // The raw connection's broker goes with its connection; broker "a" expires once silent.
  await until(async () => {
    const text = await scrape(http.port);
    return sample(text, "rocketmq_namesrv_broker_removals_total", {
      reason: "connection_closed",
    }) === 1;
  }, "removal on connection close");
  now += 120_000;
  await until(async () => {
    const text = await scrape(http.port);
    return sample(text, "rocketmq_namesrv_broker_removals_total", { reason: "expired" }) === 1 &&
      sample(text, "rocketmq_namesrv_live_brokers") === undefined &&
      sample(text, "rocketmq_namesrv_clusters") === 0;
  }, "expiry of the silent broker");
  assert.ok(broker.port > 0);
});

Deno.test("the name server's HTTP port serves only GET /metrics, to loopback hosts", async () => {
  await using dir = await makeTempDir("rmq_namesrv_metrics_http_");
  await using ns = await NameServer.start({
    config: { ...NAMESRV_CONFIG_DEFAULTS, port: 0, dataDir: dir.path },
  });
  await using http = NamesrvHttpServer.start({
    source: ns.operations,
    hostname: "127.0.0.1",
    port: 0,
  });
  const base = `http://127.0.0.1:${http.port}`;
  const other = await fetch(`${base}/`);
  assert.equal(other.status, 404);
  await other.body?.cancel();
  const api = await fetch(`${base}/api/cluster`);
  assert.equal(api.status, 404);
  await api.body?.cancel();
  for (const method of ["POST", "PUT", "DELETE"]) {
    const write = await fetch(`${base}/metrics`, { method, body: "x" });
    assert.equal(write.status, 405, method);
    await write.body?.cancel();
  }
  const head = await fetch(`${base}/metrics`, { method: "HEAD" });
  assert.equal(head.status, 200);
  // DNS rebinding: fetch cannot set Host, so the request is written by hand.
  const statusWithHost = async (host: string) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: http.port });
    try {
      await conn.write(
        new TextEncoder().encode(
          `GET /metrics HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
        ),
      );
      const buffer = new Uint8Array(64);
      const n = await conn.read(buffer);
      return Number(new TextDecoder().decode(buffer.subarray(0, n ?? 0)).split(" ")[1]);
    } finally {
      conn.close();
    }
  };
  assert.equal(await statusWithHost("attacker.example:9880"), 403);
  assert.equal(await statusWithHost(`localhost:${http.port}`), 200);
  assert.equal(sample(await scrape(http.port), "rocketmq_namesrv_clusters"), 0);
});

Deno.test("`deno task namesrv` flags serve /metrics on --http-port and close it on SIGTERM", async () => {
  await using dir = await makeTempDir("rmq_namesrv_metrics_task_");
  const root = new URL("../../", import.meta.url);
  const denoJson = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  // The task's own words: "deno run <permission flags> namesrv/main.ts".
  const words: string[] = denoJson.tasks.namesrv.split(/\s+/);
  assert.equal(words[0], "deno");
  assert.equal(words.at(-1), "namesrv/main.ts");
  const httpPort = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      words[1],
      "--config",
      new URL("deno.json", root).pathname,
      ...words.slice(2, -1),
      new URL("namesrv/main.ts", root).pathname,
      "--port",
      "0",
      "--data-dir",
      "./data/namesrv",
      "--http-port",
      String(httpPort),
    ],
    cwd: dir.path, // the task's --allow-write=./data is relative to here
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    line += value;
  }
  try {
    const listening = JSON.parse(line.split("\n")[0] || "{}");
    assert.equal(listening.event, "listening", await Promise.race([stderr, line]));
    assert.equal(listening.httpPort, httpPort);
    const text = await scrape(httpPort);
    assert.equal(sample(text, "rocketmq_namesrv_clusters"), 0);
    assert.equal(sample(text, "rocketmq_remoting_connections"), 0);
  } finally {
    child.kill("SIGTERM");
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
  }
  const status = await child.status;
  assert.equal(status.code, 0, await stderr);
  await assert.rejects(fetch(`http://127.0.0.1:${httpPort}/metrics`));
});
