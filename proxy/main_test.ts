import assert from "node:assert/strict";
import { parseProxyArgs } from "./main.ts";

Deno.test("parseProxyArgs() reads flags, falls back to the environment, and refuses bad input", () => {
  const none = () => undefined;
  assert.deepEqual(parseProxyArgs(["--namesrv-addr", "a:1;b:2", "--grpc-port", "0"], none), {
    status: "OK",
    config: { namesrvAddr: "a:1;b:2", grpcPort: 0, listen: "127.0.0.1" },
  });
  const env = (name: string) => ({ RMQ_NAMESRV_ADDR: "n:9876", RMQ_GRPC_PORT: "9000" })[name];
  assert.deepEqual(parseProxyArgs([], env), {
    status: "OK",
    config: { namesrvAddr: "n:9876", grpcPort: 9000, listen: "127.0.0.1" },
  });
  assert.equal(parseProxyArgs([], none).status, "ERROR");
  assert.equal(parseProxyArgs(["--namesrv-addr", "a:1", "--grpc-port", "x"], none).status, "ERROR");
  assert.equal(parseProxyArgs(["--bogus", "1"], none).status, "ERROR");
  assert.equal(parseProxyArgs(["--help"], none).status, "HELP");
});
