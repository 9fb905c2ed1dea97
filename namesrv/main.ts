/**
 * Name-server entry point: `deno task namesrv [options]`.
 *
 * Prints one JSON line on stdout once it accepts connections:
 * `{"event":"listening","host":"127.0.0.1","port":9876,"httpPort":9880}`
 * (`httpPort` 0 when `/metrics` is off). Logs go to stderr
 * as JSON lines. SIGINT/SIGTERM close it and exit 0.
 *
 * @module
 */

import { loadNamesrvConfig } from "./config.ts";
import { NameServer } from "./namesrv.ts";
import { NamesrvHttpServer } from "./http/namesrv_http_server.ts";

/**
 * Run the name server until SIGINT/SIGTERM.
 *
 * @param args Command-line arguments.
 * @returns The process exit code.
 */
export async function main(args: readonly string[]): Promise<number> {
  let loaded;
  try {
    loaded = loadNamesrvConfig({
      args,
      env: (name) => {
        try {
          return Deno.env.get(name);
        } catch {
          return undefined; // no --allow-env for this variable
        }
      },
      readTextFile: (path) => Deno.readTextFileSync(path),
    });
  } catch (error) {
    console.error(`namesrv: ${(error as Error).message}`);
    return 2;
  }
  if (loaded.status === "HELP") {
    console.log(loaded.text);
    return 0;
  }
  const config = loaded.config;
  const log = (event: Readonly<Record<string, unknown>>): void => {
    console.error(JSON.stringify({ time: new Date().toISOString(), ...event }));
  };
  let server: NameServer;
  try {
    server = await NameServer.start({ config, log });
  } catch (error) {
    log({ event: "start_failed", error: String((error as Error)?.message ?? error) });
    return 1;
  }
  let http: NamesrvHttpServer | undefined;
  if (config.httpPort !== 0) {
    try {
      http = NamesrvHttpServer.start({
        source: server.operations,
        hostname: config.listen,
        port: config.httpPort,
        log,
      });
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
    host: config.listen,
    port: server.port,
    httpPort: http?.port ?? 0,
  }));
  log({ event: "shutdown", signal: await stopped });
  await http?.close();
  await server.close();
  log({ event: "stopped" });
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
