import assert from "node:assert/strict";
import {
  loadNamesrvConfig,
  NAMESRV_CONFIG_DEFAULTS,
  NAMESRV_OPTIONS,
  namesrvHelpText,
} from "./config.ts";

function load(
  args: string[],
  env: Record<string, string> = {},
  files: Record<string, string> = {},
) {
  const result = loadNamesrvConfig({
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

Deno.test("loadNamesrvConfig() returns RocketMQ's defaults with no input", () => {
  const config = load([]);
  assert.deepEqual(config, NAMESRV_CONFIG_DEFAULTS);
  assert.equal(config.port, 9876);
  assert.equal(config.brokerExpiryMs, 120_000);
  assert.equal(config.scanIntervalMs, 5_000);
});

Deno.test("loadNamesrvConfig() applies file < env < flags", () => {
  const config = load(
    ["--config", "n.json", "--port", "0", "--scan-interval-ms=50"],
    { RMQ_NAMESRV_PORT: "9000", RMQ_NAMESRV_DATA_DIR: "/env/ns" },
    { "n.json": JSON.stringify({ port: 8000, dataDir: "/file/ns", brokerExpiryMs: 1000 }) },
  );
  assert.equal(config.port, 0);
  assert.equal(config.dataDir, "/env/ns");
  assert.equal(config.brokerExpiryMs, 1000);
  assert.equal(config.scanIntervalMs, 50);
  assert.equal(load([], { RMQ_NAMESRV_CONFIG: "x.json" }, { "x.json": '{"port": 1}' }).port, 1);
});

Deno.test("loadNamesrvConfig() rejects unknown flags, bad values and broken limits", () => {
  assert.throws(() => load(["--nope"]), /unknown flag "--nope"/);
  assert.throws(() => load(["--port", "x"]), /not an integer/);
  assert.throws(() => load(["--port", "70000"]), RangeError);
  assert.throws(() => load(["--port"]), /needs a value/);
  assert.throws(
    () => load(["--scan-interval-ms", "5000", "--broker-expiry-ms", "1000"]),
    RangeError,
  );
  assert.throws(() => load(["--config", "missing.json"]), /Cannot read config file/);
  assert.throws(
    () => load(["--config", "k.json"], {}, { "k.json": '{"nope":1}' }),
    /unknown option/,
  );
});

Deno.test("loadNamesrvConfig() answers --help with every option", () => {
  const result = loadNamesrvConfig({ args: ["--help"] });
  assert.equal(result.status, "HELP");
  const text = result.status === "HELP" ? result.text : "";
  assert.equal(text, namesrvHelpText());
  for (const option of NAMESRV_OPTIONS) assert.ok(text.includes(option.flag), option.flag);
});

Deno.test("loadNamesrvConfig() turns access control on with --acl-file (off by default)", () => {
  assert.equal(load([]).aclFile, "");
  assert.equal(load(["--acl-file", "/etc/rmq/plain_acl.yml"]).aclFile, "/etc/rmq/plain_acl.yml");
});

Deno.test("loadNamesrvConfig() serves /metrics on 9880 by default; --http-port 0 turns it off", () => {
  assert.equal(load([]).httpPort, 9880);
  assert.equal(load(["--http-port", "0"]).httpPort, 0);
  assert.equal(load(["--http-port=19880"]).httpPort, 19880);
  assert.throws(() => load(["--http-port", "65536"]), /httpPort is 65536/);
});
