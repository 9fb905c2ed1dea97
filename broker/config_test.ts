import assert from "node:assert/strict";
import {
  BROKER_CONFIG_DEFAULTS,
  BROKER_OPTIONS,
  brokerHelpText,
  loadBrokerConfig,
  parseIpv4,
  splitNamesrvAddr,
} from "./config.ts";

function load(
  args: string[],
  env: Record<string, string> = {},
  files: Record<string, string> = {},
) {
  const result = loadBrokerConfig({
    args,
    env: (name) => env[name],
    readTextFile: (path) => {
      if (!(path in files)) throw new Error(`No such file ${path}`);
      return files[path];
    },
  });
  if (result.status !== "OK") throw new Error("expected a config");
  return result.config;
}

Deno.test("loadBrokerConfig() returns the documented defaults with no input", () => {
  const config = load([]);
  assert.deepEqual(config, BROKER_CONFIG_DEFAULTS);
  assert.equal(config.listen, "127.0.0.1");
  assert.equal(config.port, 10911);
  assert.equal(config.dataDir, "./data");
  assert.equal(config.flush, "sync");
  assert.equal(config.brokerName, "broker-a");
  assert.equal(config.clusterName, "DefaultCluster");
  assert.equal(config.autoCreateTopicEnable, false);
  assert.equal(config.defaultTopicQueueNums, 4);
  assert.equal(config.frameBytesMax, 16 * 1024 * 1024);
});

Deno.test("loadBrokerConfig() applies file < env < flags", () => {
  const config = load(
    ["--config", "c.json", "--port", "0", "--flush=async", "--auto-create-topic"],
    { RMQ_PORT: "9000", RMQ_DATA_DIR: "/env/data", RMQ_LISTEN: "0.0.0.0" },
    {
      "c.json": JSON.stringify({
        port: 8000,
        dataDir: "/file/data",
        brokerName: "b1",
        connectionsMax: 7,
      }),
    },
  );
  assert.equal(config.port, 0);
  assert.equal(config.dataDir, "/env/data");
  assert.equal(config.listen, "0.0.0.0");
  assert.equal(config.brokerName, "b1");
  assert.equal(config.connectionsMax, 7);
  assert.equal(config.flush, "async");
  assert.equal(config.autoCreateTopicEnable, true);
});

Deno.test("loadBrokerConfig() reads RMQ_CONFIG and RMQ_AUTO_CREATE_TOPIC", () => {
  const config = load([], {
    RMQ_CONFIG: "x.json",
    RMQ_AUTO_CREATE_TOPIC: "true",
    RMQ_FLUSH: "async",
  }, {
    "x.json": '{"defaultTopicQueueNums": 8}',
  });
  assert.equal(config.defaultTopicQueueNums, 8);
  assert.equal(config.autoCreateTopicEnable, true);
  assert.equal(config.flush, "async");
});

Deno.test("loadBrokerConfig() rejects unknown flags, bad values and broken limits with clear errors", () => {
  assert.throws(() => load(["--nope"]), /unknown flag "--nope"/);
  assert.throws(() => load(["--port", "abc"]), /--port: "abc" is not an integer/);
  assert.throws(() => load(["--port", "70000"]), RangeError);
  assert.throws(() => load(["--flush", "sometimes"]), /not "sync" or "async"/);
  assert.throws(() => load(["--port"]), /needs a value/);
  assert.throws(() => load(["--config", "missing.json"]), /Cannot read config file/);
  assert.throws(
    () => load(["--config", "bad.json"], {}, { "bad.json": "[1]" }),
    /not a JSON object/,
  );
  assert.throws(
    () => load(["--config", "k.json"], {}, { "k.json": '{"nope":1}' }),
    /unknown option "nope"/,
  );
  assert.throws(() => load(["--message-bytes-max", String(32 * 1024 * 1024)]), /messageBytesMax/);
  assert.throws(() => load(["--broker-ip", "example.com"]), TypeError);
});

Deno.test("loadBrokerConfig() answers --help with every option", () => {
  const result = loadBrokerConfig({ args: ["--help"] });
  assert.equal(result.status, "HELP");
  const text = result.status === "HELP" ? result.text : "";
  assert.equal(text, brokerHelpText());
  for (const option of BROKER_OPTIONS) assert.ok(text.includes(option.flag), option.flag);
  assert.ok(text.includes("RMQ_DATA_DIR"));
});

Deno.test("loadBrokerConfig() reads the name-server list and broker identity for a cluster", () => {
  const config = load(
    ["--broker-id", "0", "--register-interval-ms", "10000"],
    { RMQ_NAMESRV_ADDR: "127.0.0.1:9876; 10.0.0.2:9876" },
  );
  assert.deepEqual(splitNamesrvAddr(config.namesrvAddr), ["127.0.0.1:9876", "10.0.0.2:9876"]);
  assert.equal(config.registerIntervalMs, 10_000);
  assert.equal(load([]).namesrvAddr, "");
  assert.throws(() => load(["--namesrv-addr", "nohost"]), /not host:port/);
  assert.throws(() => load(["--register-interval-ms", "10"]), RangeError);
  assert.throws(() => load(["--broker-id", "-1"]), RangeError);
});

Deno.test("parseIpv4() accepts dotted quads only", () => {
  assert.deepEqual(parseIpv4("10.0.0.255"), new Uint8Array([10, 0, 0, 255]));
  for (const bad of ["", "1.2.3", "1.2.3.256", "a.b.c.d", "::1"]) {
    assert.equal(parseIpv4(bad), undefined);
  }
});
