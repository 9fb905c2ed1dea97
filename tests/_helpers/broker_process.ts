/**
 * A real broker in a child process (`broker/main.ts`), for crash tests (SIGKILL)
 * and benchmarks (the broker must not share the client's thread). The child
 * prints `{"event":"listening","port":N,...}` on stdout when ready.
 *
 * @module
 */

import { type ListeningChild, spawnListeningChild } from "./listening_child.ts";

/** Options of {@linkcode spawnBroker}. */
export interface BrokerProcessOptions {
  /** Data directory; a temp dir (removed on dispose) when omitted. */
  readonly dataDir?: string;
  /** Extra broker flags, e.g. `["--flush", "async"]`. */
  readonly args?: readonly string[];
  /** Extra `deno run` flags, e.g. `["--inspect=127.0.0.1:9229"]`. */
  readonly denoFlags?: readonly string[];
  /** Another entry point than `broker/main.ts` (profiling harnesses). */
  readonly brokerMain?: string;
  /** Where the child's log lines go. Default: discarded. */
  readonly stderr?: "inherit" | "null";
  /** Longest wait for the listening line, ms. Default 20,000. */
  readonly startTimeoutMs?: number;
}

/** A running broker child process. */
export interface BrokerProcess extends AsyncDisposable {
  /** The port it listens on. */
  readonly port: number;
  /** `127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** The child's process id (for CPU accounting). */
  readonly pid: number;
  /** Its data directory. */
  readonly dataDir: string;
  /**
   * Send a signal and wait for the child to exit.
   *
   * @param signal E.g. `"SIGKILL"` for a crash, `"SIGTERM"` for a graceful stop.
   */
  kill(signal: Deno.Signal): Promise<void>;
}

/**
 * Start `broker/main.ts` on port 0 in a child process and wait until it listens.
 *
 * Disposing it stops the broker gracefully (SIGTERM) and removes a temp data dir.
 *
 * @param options Data dir, flags, log routing.
 * @returns The running broker.
 * @throws {Error} If the child exits or stays silent past `startTimeoutMs`.
 */
export async function spawnBroker(options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "rmq_broker_proc_" });
  const main = options.brokerMain ?? new URL("../../broker/main.ts", import.meta.url).pathname;
  const removeDataDir = async () => {
    if (ownsDataDir) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  };
  let child: ListeningChild;
  try {
    child = await spawnListeningChild("broker", [
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      ...(options.denoFlags ?? []),
      main,
      "--port",
      "0",
      "--data-dir",
      dataDir,
      "--grpc-port",
      "0",
      "--http-port",
      "0",
      ...(options.args ?? []),
    ], options);
  } catch (error) {
    await removeDataDir();
    throw error;
  }
  return {
    port: child.port,
    endpoint: `127.0.0.1:${child.port}`,
    pid: child.pid,
    dataDir,
    kill: child.kill,
    async [Symbol.asyncDispose]() {
      await child.kill("SIGTERM");
      await removeDataDir();
    },
  };
}
