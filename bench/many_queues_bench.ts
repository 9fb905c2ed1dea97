/**
 * Many-queues benchmark (issue 13, store level): `topics × 8` queues (default
 * 10,000 × 8 = 80,000) on a `WorkerMessageStore` in a child process whose
 * file limit is `ulimit -n 1024`, with the default `openFilesMax` (512).
 *
 * Cases, one JSON line each:
 * - `many_queues_send`: one 1 KiB message to every queue, round robin, 256 in
 *   flight, `sync` flush; then every queue read back; the child then exits
 *   without closing (like SIGKILL).
 * - `many_queues_restart_after_kill` and `many_queues_restart_clean`: open
 *   time of the store with every queue, and every queue read back again.
 * - `four_queues_send`: the same number of messages over 4 queues, for the
 *   ratio `many_queues_send.sendsPerSec / four_queues_send.sendsPerSec`.
 *
 * This drives the store directly, not the broker: topic creation, the name
 * server registration and the network are not in it.
 *
 * Run: `deno run -A bench/many_queues_bench.ts [--topics N] [--quick]` (`--quick`: 500 topics).
 *
 * @module
 */

const args = Deno.args;
const quick = args.includes("--quick");
const topicsArg = args.indexOf("--topics");
const topics = topicsArg >= 0 ? Number(args[topicsArg + 1]) : quick ? 500 : 10_000;
const ULIMIT = 1024;
const OPEN_FILES_MAX = 512;
const root = Deno.env.get("RMQ_BENCH_DIR") ?? Deno.makeTempDirSync({ prefix: "rmq_many_queues_" });
const child = new URL("./many_queues_child.ts", import.meta.url).pathname;

async function run(name: string, dataDir: string, mode: string, kill = false) {
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit -n ${ULIMIT} && exec "${Deno.execPath()}" run -A "${child}" "$@"`,
      "child",
      dataDir,
      String(topics),
      String(OPEN_FILES_MAX),
      mode,
      kill ? "kill" : "",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  if (out.code !== 0 || !text.startsWith("{")) {
    throw new Error(`${name} failed (${out.code}): ${new TextDecoder().decode(out.stderr)}`);
  }
  const result = { case: name, ulimit: ULIMIT, openFilesMax: OPEN_FILES_MAX, ...JSON.parse(text) };
  console.log(JSON.stringify(result));
  return result;
}

try {
  const many = await run("many_queues_send", `${root}/many`, "send", true);
  await run("many_queues_restart_after_kill", `${root}/many`, "read");
  await run("many_queues_restart_clean", `${root}/many`, "read");
  const four = await run("four_queues_send", `${root}/four`, "send4");
  console.log(JSON.stringify({
    case: "many_queues_rate_ratio",
    ratio: Number((many.sendsPerSec / four.sendsPerSec).toFixed(3)),
  }));
} finally {
  if (Deno.env.get("RMQ_BENCH_DIR") === undefined) Deno.removeSync(root, { recursive: true });
}
