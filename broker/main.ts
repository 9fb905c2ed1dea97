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

/**
 * Run the broker until SIGINT/SIGTERM.
 *
 * @param args Command-line arguments.
 * @returns The process exit code.
 */
export async function main(args: readonly string[]): Promise<number> {
  let loaded;
  try {
    loaded = loadBrokerConfig({
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
    console.error(`broker: ${(error as Error).message}`);
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
  let broker: Broker;
  try {
    broker = await Broker.start({ config, log });
  } catch (error) {
    log({ event: "start_failed", error: String((error as Error)?.message ?? error) });
    return 1;
  }
  let http: BrokerHttpServer | undefined;
  if (config.httpPort !== 0) {
    try {
      http = BrokerHttpServer.start({
        source: broker.operations,
        hostname: config.listen,
        port: config.httpPort,
        log,
      });
    } catch (error) {
      log({ event: "start_failed", error: `HTTP port ${config.httpPort}: ${String(error)}` });
      await broker.close();
      return 1;
    }
  }
  const stopped = new Promise<string>((resolve) => {
    const stop = (signal: string) => () => resolve(signal);
    Deno.addSignalListener("SIGINT", stop("SIGINT"));
    Deno.addSignalListener("SIGTERM", stop("SIGTERM"));
  });
  console.log(JSON.stringify({
    event: "listening",
    host: config.listen,
    port: broker.port,
    grpcPort: broker.grpcPort ?? 0,
    httpPort: http?.port ?? 0,
    dataDir: config.dataDir,
  }));
  const signal = await stopped;
  log({ event: "shutdown", signal });
  try {
    await http?.close();
    await broker.close();
  } catch (error) {
    log({ event: "shutdown_failed", error: String((error as Error)?.message ?? error) });
    return 1;
  }
  log({ event: "stopped" });
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
