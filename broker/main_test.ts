// Goal: broker/main.ts prints the ready line with the real port and exits 0 on
// SIGTERM after a clean store close. Method: spawn it as a child process.

import assert from "node:assert/strict";

Deno.test("broker/main.ts prints the listening line and exits 0 on SIGTERM", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "rmq_main_test_" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      new URL("./main.ts", import.meta.url).pathname,
      "--port",
      "0",
      "--data-dir",
      dataDir,
      "--flush",
      "async",
      "--commit-log-segment-bytes",
      String(1024 * 1024),
      "--grpc-port",
      "0",
      "--http-port",
      "0",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const timeout = setTimeout(() => child.kill("SIGKILL"), 20_000);
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    clearTimeout(timeout);
    const ready = JSON.parse(text.split("\n")[0]);
    assert.equal(ready.event, "listening");
    assert.equal(ready.host, "127.0.0.1");
    assert.equal(ready.dataDir, dataDir);
    assert.ok(ready.port > 0);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: ready.port });
    conn.close();
    child.kill("SIGTERM");
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    const status = await child.status;
    await child.stderr.cancel().catch(() => {});
    assert.equal(status.code, 0);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("broker/main.ts --help prints the options and exits 0", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", new URL("./main.ts", import.meta.url).pathname, "--help"],
  }).output();
  assert.equal(output.code, 0);
  assert.match(new TextDecoder().decode(output.stdout), /--data-dir/);
});
