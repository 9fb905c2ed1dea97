/**
 * Transactional messages benchmark: the real broker as a child process and
 * the client's transactional producer over one connection, 1 KiB bodies.
 *
 * One case, one JSON line: `txn_send_commit`. N transactions run with up to
 * `inFlight` in progress; each sends a half message, runs an empty local
 * transaction that answers COMMIT, and sends END_TRANSACTION (oneway). The
 * clock stops when every committed message is visible in the real topic
 * (sum of the topic's queue max offsets, polled through the admin client).
 * Reports `msgsPerSec` (committed and visible) and `sendMsgsPerSec` (until
 * the last END_TRANSACTION was queued), and for scale `plainMsgsPerSec`: the
 * same number of ordinary sends with the same window on the same broker.
 *
 * Run: `deno run -A bench/txn_bench.ts [--messages=20000] [--in-flight=256] [--flush=sync|async]`
 *
 * @module
 */

import { createAdmin } from "../client/admin.ts";
import { createProducer } from "../client/producer.ts";
import { createTransactionProducer } from "../client/transaction_producer.ts";
import { spawnBroker } from "../tests/_helpers/broker_process.ts";

/** Options of {@linkcode runTxnBench}; every field has a default. */
export interface TxnBenchOptions {
  /** Measured transactions. Default 20,000. */
  readonly messages?: number;
  /** Transactions in progress at once. Default 256. */
  readonly inFlight?: number;
  /** Body size, bytes. Default 1,024. */
  readonly bodyBytes?: number;
  /** Queues of the bench topic. Default 4. */
  readonly queues?: number;
  /** Broker flush policy. Default `sync`. */
  readonly flush?: "sync" | "async";
  /** Longest wait for the committed messages to become visible, ms. Default 120,000. */
  readonly visibleTimeoutMs?: number;
  /** Receives each result line. Default: `console.log` of its JSON. */
  readonly report?: (result: Record<string, unknown>) => void;
}

/**
 * Run the transactional send + commit benchmark and report one result object.
 *
 * @param options Sizes, flush policy and the reporter.
 * @returns The result.
 * @throws {Error} If the committed messages do not all become visible in time.
 */
export async function runTxnBench(options: TxnBenchOptions = {}): Promise<Record<string, unknown>> {
  const messages = options.messages ?? 20_000;
  const inFlight = options.inFlight ?? 256;
  const bodyBytes = options.bodyBytes ?? 1_024;
  const queues = options.queues ?? 4;
  const flush = options.flush ?? "sync";
  const visibleTimeoutMs = options.visibleTimeoutMs ?? 120_000;
  const report = options.report ?? ((r) => console.log(JSON.stringify(r)));
  const body = new Uint8Array(bodyBytes).fill(0x61);
  const warmup = Math.min(1_000, messages);
  const topic = "TxnBench";

  await using broker = await spawnBroker({ args: ["--flush", flush], stderr: "inherit" });
  await using admin = await createAdmin({ endpoint: broker.endpoint });
  await admin.createTopic(topic, { readQueueNums: queues, writeQueueNums: queues });
  await using producer = await createTransactionProducer({
    endpoint: broker.endpoint,
    group: "txn_bench",
    sendTimeoutMs: 30_000,
    checker: () => "COMMIT",
  });
  const commit = () => "COMMIT" as const;
  const run = async (count: number): Promise<void> => {
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(inFlight, count) }, async () => {
      while (next < count) {
        next++;
        await producer.sendInTransaction({ topic, body }, commit);
      }
    }));
  };
  const visible = async (): Promise<number> =>
    (await admin.topicStatus(topic)).reduce((sum, q) => sum + q.maxOffset, 0);
  const waitVisible = async (target: number): Promise<void> => {
    const deadline = performance.now() + visibleTimeoutMs;
    while ((await visible()) < target) {
      if (performance.now() > deadline) {
        throw new Error(`Only ${await visible()} of ${target} committed messages visible`);
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };

  // Warm-up, not measured.
  await run(warmup);
  await waitVisible(warmup);

  // Baseline: ordinary sends, same window and body, same broker.
  let plainMsgsPerSec: number;
  {
    await admin.createTopic("PlainBench", { readQueueNums: queues, writeQueueNums: queues });
    await using plain = await createProducer({ endpoint: broker.endpoint, sendTimeoutMs: 30_000 });
    let next = 0;
    const plainStarted = performance.now();
    await Promise.all(Array.from({ length: Math.min(inFlight, messages) }, async () => {
      while (next < messages) {
        next++;
        await plain.send({ topic: "PlainBench", body });
      }
    }));
    plainMsgsPerSec = Math.round(messages / ((performance.now() - plainStarted) / 1000));
  }

  const started = performance.now();
  await run(messages);
  const sentSeconds = (performance.now() - started) / 1000;
  await waitVisible(warmup + messages);
  const seconds = (performance.now() - started) / 1000;
  const result = {
    case: "txn_send_commit",
    flush,
    messages,
    inFlight,
    bodyBytes,
    msgsPerSec: Math.round(messages / seconds),
    sendMsgsPerSec: Math.round(messages / sentSeconds),
    plainMsgsPerSec,
    seconds: Number(seconds.toFixed(3)),
  };
  report(result);
  return result;
}

/** A flag's value, given as `--name value` or `--name=value`. */
function flagValue(args: readonly string[], name: string): string | undefined {
  const joined = args.find((a) => a.startsWith(`${name}=`));
  if (joined !== undefined) return joined.slice(name.length + 1);
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

if (import.meta.main) {
  const args = Deno.args;
  const number = (name: string): number | undefined => {
    const text = flagValue(args, name);
    return text === undefined ? undefined : Number(text);
  };
  const flush = flagValue(args, "--flush");
  if (flush !== undefined && flush !== "sync" && flush !== "async") {
    console.error(`txn_bench: --flush must be sync or async, got ${flush}`);
    Deno.exit(2);
  }
  const messages = number("--messages");
  if (messages !== undefined && (!Number.isInteger(messages) || messages < 1)) {
    console.error(`txn_bench: --messages must be a positive integer`);
    Deno.exit(2);
  }
  await runTxnBench({
    messages,
    inFlight: number("--in-flight"),
    bodyBytes: number("--body-bytes"),
    flush,
  });
}
