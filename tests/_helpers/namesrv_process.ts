/**
 * A real name server in a child process (`namesrv/main.ts`). The child prints
 * `{"event":"listening","port":N}` on stdout when ready.
 *
 * @module
 */

import { type ListeningChild, spawnListeningChild } from "./listening_child.ts";

/** A running name-server child process. */
export interface NamesrvProcess extends AsyncDisposable {
  /** The port it listens on. */
  readonly port: number;
  /** `127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** The child's process id. */
  readonly pid: number;
  /**
   * Send a signal and wait for the child to exit.
   *
   * @param signal E.g. `"SIGKILL"`.
   */
  kill(signal: Deno.Signal): Promise<void>;
}

/**
 * Start `namesrv/main.ts` on port 0 (or `port`) with a temp data dir.
 *
 * @param options Port, extra flags, and where the child's logs go.
 * @returns The running name server; disposing it stops it (SIGTERM) and removes its data.
 * @throws {Error} If the child exits or stays silent for 20 s.
 */
export async function spawnNamesrv(
  options: { port?: number; args?: readonly string[]; stderr?: "inherit" | "null" } = {},
): Promise<NamesrvProcess> {
  const dataDir = await Deno.makeTempDir({ prefix: "rmq_namesrv_proc_" });
  let child: ListeningChild;
  try {
    child = await spawnListeningChild("name server", [
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      new URL("../../namesrv/main.ts", import.meta.url).pathname,
      "--port",
      String(options.port ?? 0),
      "--data-dir",
      dataDir,
      "--http-port",
      "0",
      ...(options.args ?? []),
    ], options);
  } catch (error) {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    throw error;
  }
  return {
    port: child.port,
    endpoint: `127.0.0.1:${child.port}`,
    pid: child.pid,
    kill: child.kill,
    async [Symbol.asyncDispose]() {
      await child.kill("SIGTERM");
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}
