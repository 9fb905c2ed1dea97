/**
 * Broker entry point.
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-write --allow-env broker/main.ts --port 0 --data-dir /tmp/rmq
 * ```
 *
 * Prints one JSON line on stdout once it accepts connections:
 * `{"event":"listening","host":"127.0.0.1","port":10911,"dataDir":"./data"}`.
 * Logs go to stderr as JSON lines. SIGINT/SIGTERM: stop accepting, finish
 * in-flight requests, close the store (flush, checkpoint, clean marker), exit 0.
 *
 * @module
 */

import { Broker } from "./broker.ts";
import { loadBrokerConfig } from "./config.ts";
import { BrokerHttpServer } from "./http/http_server.ts";
import { runServerProcess } from "./server/server_process.ts";

/**
 * Run the broker until SIGINT/SIGTERM.
 *
 * @param args Command-line arguments.
 * @returns The process exit code.
 */
export function main(args: readonly string[]): Promise<number> {
  return runServerProcess({
    name: "broker",
    load: loadBrokerConfig,
    start: (config, log) => Broker.start({ config, log }),
    startHttp: (broker, config, log) =>
      BrokerHttpServer.start({
        source: broker.operations,
        hostname: config.listen,
        port: config.httpPort,
        log,
      }),
    listening: (broker, config) => ({
      host: config.listen,
      port: broker.port,
      grpcPort: broker.grpcPort ?? 0,
      dataDir: config.dataDir,
    }),
  }, args);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
