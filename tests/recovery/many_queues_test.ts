/**
 * Thousands of queues under a low `ulimit -n`: one message to each of 4,000
 * queues and all read back, in a child whose file limit is 512 while the
 * store's handle cache holds at most 128 segment files; then a restart after
 * an exit without close (like SIGKILL) reads them all back again. Before the
 * handle cache the store died at about 580 queues under a limit of 1,024.
 *
 * @module
 */

import assert from "node:assert/strict";
import { makeTempDir } from "../_helpers/temp_dir.ts";

const TOPICS = 500; // × 8 queues
const OPEN_FILES_MAX = 128;
const ULIMIT = 512;

async function child(dataDir: string, mode: "send" | "read", kill = false) {
  const script = new URL("./many_queues_child.ts", import.meta.url).pathname;
  const command = new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit -n ${ULIMIT} && exec "${Deno.execPath()}" run -A "${script}" "$@"`,
      "child",
      dataDir,
      String(TOPICS),
      String(OPEN_FILES_MAX),
      mode,
      kill ? "kill" : "",
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const out = await command.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as {
    sendFailures: number;
    readBack: number;
    fdsMax: number;
    openMs: number;
  };
}

Deno.test({
  name:
    "4,000 queues under ulimit -n 512: every send succeeds, every queue reads back, also after a kill",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    await using dir = await makeTempDir("rmq_many_queues_");
    const sent = await child(dir.path, "send", true);
    assert.equal(sent.sendFailures, 0);
    assert.equal(sent.readBack, TOPICS * 8);
    assert.ok(sent.fdsMax < ULIMIT, `${sent.fdsMax} descriptors open`);
    const reread = await child(dir.path, "read");
    assert.equal(reread.readBack, TOPICS * 8);
    assert.ok(reread.fdsMax < ULIMIT, `${reread.fdsMax} descriptors open`);
  },
});
