/**
 * The process lifecycle the broker and the name server share: load the
 * options from the real arguments, environment and config file, start the
 * server and its optional HTTP port, print one `listening` JSON line on
 * stdout, log JSON lines on stderr, and stop cleanly on SIGINT/SIGTERM.
 *
 * @module
 */

import type { LoadOptionsResult, OptionSources } from "./option_loader.ts";
import type { LogSink } from "./request_router.ts";

/** A started server (or its HTTP port): something to close. */
export interface Closeable {
  /** Stop serving and release everything. */
  close(): Promise<void>;
}

/** What {@linkcode runServerProcess} runs. */
export interface ServerProcess<C extends { readonly httpPort: number }, S extends Closeable> {
  /** Prefix of argument errors, e.g. `broker`. */
  readonly name: string;
  /** Merge defaults, the config file, the environment and the flags. */
  load(sources: OptionSources): LoadOptionsResult<C>;
  /** Start the server. */
  start(config: C, log: LogSink): Promise<S>;
  /** Start the HTTP port (called only when `httpPort` is not 0). */
  startHttp(server: S, config: C, log: LogSink): Closeable & { readonly port: number };
  /** The fields of the `listening` line besides `event` and `httpPort`. */
  listening(server: S, config: C): Readonly<Record<string, unknown>>;
}

/**
 * Option sources of this process: its arguments, environment variables
 * (those the permissions hide read as unset) and config files.
 *
 * @param args Command-line arguments.
 * @returns The sources.
 */
export function processOptionSources(args: readonly string[]): OptionSources {
  return {
    args,
    env: (name) => {
      try {
        return Deno.env.get(name);
      } catch {
        return undefined; // no --allow-env for this variable
      }
    },
    readTextFile: (path) => Deno.readTextFileSync(path),
  };
}

/**
 * Run a server until SIGINT/SIGTERM.
 *
 * @param process The server's options, start and `listening` line.
 * @param args Command-line arguments.
 * @returns The exit code: 0 after a clean stop or `--help`, 1 if it cannot start or stop, 2 on bad options.
 */
export async function runServerProcess<
  C extends { readonly httpPort: number },
  S extends Closeable,
>(process: ServerProcess<C, S>, args: readonly string[]): Promise<number> {
  let loaded: LoadOptionsResult<C>;
  try {
    loaded = process.load(processOptionSources(args));
  } catch (error) {
    console.error(`${process.name}: ${(error as Error).message}`);
    return 2;
  }
  if (loaded.status === "HELP") {
    console.log(loaded.text);
    return 0;
  }
  const config = loaded.config;
  const log: LogSink = (event) => {
    console.error(JSON.stringify({ time: new Date().toISOString(), ...event }));
  };
  let server: S;
  try {
    server = await process.start(config, log);
  } catch (error) {
    log({ event: "start_failed", error: String((error as Error)?.message ?? error) });
    return 1;
  }
  let http: (Closeable & { readonly port: number }) | undefined;
  if (config.httpPort !== 0) {
    try {
      http = process.startHttp(server, config, log);
    } catch (error) {
      log({ event: "start_failed", error: `HTTP port ${config.httpPort}: ${String(error)}` });
      await server.close();
      return 1;
    }
  }
  const stopped = new Promise<string>((resolve) => {
    Deno.addSignalListener("SIGINT", () => resolve("SIGINT"));
    Deno.addSignalListener("SIGTERM", () => resolve("SIGTERM"));
  });
  console.log(JSON.stringify({
    event: "listening",
    ...process.listening(server, config),
    httpPort: http?.port ?? 0,
  }));
  log({ event: "shutdown", signal: await stopped });
  try {
    await http?.close();
    await server.close();
  } catch (error) {
    log({ event: "shutdown_failed", error: String((error as Error)?.message ?? error) });
    return 1;
  }
  log({ event: "stopped" });
  return 0;
}
