/**
 * `deno task bench`: runs every benchmark, each in its own process so that one
 * case's memory and threads cannot skew the next. Every benchmark prints one
 * JSON line per case to stdout; this runner passes them through unchanged.
 *
 * Usage: `deno task bench [--only store,e2e,timer,txn,foreign,cluster,grpc,pop,queues,ha] [--quick]`
 * `--quick` asks each benchmark for its small configuration (for smoke runs);
 * figures in BENCHMARKS.md come from full runs.
 *
 * @module
 */

/** The benchmarks, in the order they run. */
const BENCHES = [
  { name: "store", file: "store_bench.ts", quick: ["--quick"] },
  { name: "e2e", file: "e2e_bench.ts", quick: ["--messages", "20000", "--latency-sends", "500"] },
  { name: "timer", file: "timer_bench.ts", quick: ["--quick"] },
  { name: "txn", file: "txn_bench.ts", quick: ["--messages=2000"] },
  {
    name: "foreign",
    file: "foreign_bench.ts",
    quick: ["--messages", "20000", "--warmup", "2000", "--latency-sends", "500"],
  },
  { name: "cluster", file: "cluster_bench.ts", quick: ["--quick"] },
  {
    name: "grpc",
    file: "grpc_bench.ts",
    quick: ["--messages", "2000", "--latency-sends", "200"],
  },
  {
    name: "pop",
    file: "pop_bench.ts",
    quick: ["--messages", "20000", "--outstanding", "20000", "--dedup-keys", "100000"],
  },
  { name: "queues", file: "many_queues_bench.ts", quick: ["--quick"] },
  { name: "ha", file: "ha_bench.ts", quick: ["--quick"] },
] as const;

const args = Deno.args;
const only = args.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
const quick = args.includes("--quick");
const unknown = only?.filter((name) => !BENCHES.some((b) => b.name === name)) ?? [];
if (unknown.length > 0) {
  console.error(
    `Unknown benchmark(s): ${unknown.join(", ")}; known: ${BENCHES.map((b) => b.name).join(", ")}`,
  );
  Deno.exit(2);
}

let failures = 0;
for (const bench of BENCHES) {
  if (only !== undefined && !only.includes(bench.name)) continue;
  const script = new URL(`./${bench.file}`, import.meta.url).pathname;
  console.error(`# ${bench.name}: ${bench.file}${quick ? " (quick)" : ""}`);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      // All access: Deno lets only such a process read /proc (per-process CPU and RSS figures).
      "--allow-all",
      script,
      ...(quick ? bench.quick : []),
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const status = await child.status;
  if (!status.success) {
    failures++;
    console.error(`# ${bench.name} failed with exit code ${status.code}`);
  }
}
Deno.exit(failures === 0 ? 0 : 1);
