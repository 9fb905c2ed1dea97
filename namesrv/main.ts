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

import { runServerProcess } from "../broker/server/server_process.ts";
import { loadNamesrvConfig } from "./config.ts";
import { NameServer } from "./namesrv.ts";
import { NamesrvHttpServer } from "./http/namesrv_http_server.ts";

/**
 * Run the name server until SIGINT/SIGTERM.
 *
 * @param args Command-line arguments.
 * @returns The process exit code.
 */
export function main(args: readonly string[]): Promise<number> {
  return runServerProcess({
    name: "namesrv",
    load: loadNamesrvConfig,
    start: (config, log) => NameServer.start({ config, log }),
    startHttp: (server, config, log) =>
      NamesrvHttpServer.start({
        source: server.operations,
        hostname: config.listen,
        port: config.httpPort,
        log,
      }),
    listening: (server, config) => ({ host: config.listen, port: server.port }),
  }, args);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
