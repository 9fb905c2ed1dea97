/**
 * A server child process that prints `{"event":"listening",...,"port":N}` on
 * stdout once it accepts connections (`broker/main.ts`, `namesrv/main.ts`).
 *
 * @module
 */

/** A started child: its port and process id, and a signal-and-wait. */
export interface ListeningChild {
  /** The port from its `listening` line. */
  readonly port: number;
  /** The child's process id. */
  readonly pid: number;
  /**
   * Send a signal (once the child is gone, only wait) and wait for it to exit.
   *
   * @param signal E.g. `"SIGKILL"` for a crash, `"SIGTERM"` for a graceful stop.
   */
  kill(signal: Deno.Signal): Promise<void>;
}

/**
 * Run `deno run <args>` and wait for the child's `listening` line.
 *
 * @param what The server's name, for errors (`broker`, `name server`).
 * @param args Arguments after `deno run`.
 * @param options Where its logs go, longest wait for the line (default 20 s).
 * @returns The running child; its stdout keeps being drained so it never blocks.
 * @throws {Error} If the child exits (or is killed at the deadline) before it listens.
 */
export async function spawnListeningChild(
  what: string,
  args: readonly string[],
  options: { stderr?: "inherit" | "null"; startTimeoutMs?: number } = {},
): Promise<ListeningChild> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...args],
    stdout: "piped",
    stderr: options.stderr ?? "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let port: number | undefined;
  const deadline = setTimeout(() => child.kill("SIGKILL"), options.startTimeoutMs ?? 20_000);
  try {
    let text = "";
    while (port === undefined) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`The ${what} exited before it was listening`);
      text += value;
      const match = /"event":"listening".*?"port":(\d+)/.exec(text);
      if (match !== null) port = Number(match[1]);
    }
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
    throw error;
  } finally {
    clearTimeout(deadline);
  }
  // Keep draining stdout so the child never blocks on a full pipe.
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
  return { port, pid: child.pid, kill };
}
