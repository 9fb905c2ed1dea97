/**
 * A real name server in a child process (`namesrv/main.ts`). The child prints
 * `{"event":"listening","port":N}` on stdout when ready.
 *
 * @module
 */

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
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
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
    ],
    stdout: "piped",
    stderr: options.stderr ?? "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const deadline = setTimeout(() => child.kill("SIGKILL"), 20_000);
  let port: number | undefined;
  try {
    let text = "";
    while (port === undefined) {
      const { value, done } = await reader.read();
      if (done) throw new Error("The name server exited before it was listening");
      text += value;
      const match = /"event":"listening".*?"port":(\d+)/.exec(text);
      if (match !== null) port = Number(match[1]);
    }
  } catch (error) {
    await child.status;
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    throw error;
  } finally {
    clearTimeout(deadline);
  }
  const drain = (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })();
  let exited = false;
  const kill = async (signal: Deno.Signal): Promise<void> => {
    if (!exited) {
      try {
        child.kill(signal);
      } catch { /* already exited */ }
    }
    await child.status;
    exited = true;
    await drain.catch(() => {});
  };
  return {
    port,
    endpoint: `127.0.0.1:${port}`,
    pid: child.pid,
    kill,
    async [Symbol.asyncDispose]() {
      await kill("SIGTERM");
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}
