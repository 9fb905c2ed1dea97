/**
 * The gRPC front as its own process in front of a cluster ("cluster mode"):
 * routes from the name servers, requests to the brokers over remoting.
 *
 * ```sh
 * deno task proxy --namesrv-addr 127.0.0.1:9876 [--grpc-port 8081] [--listen 127.0.0.1]
 * ```
 *
 * Prints one JSON line on stdout once it listens:
 * `{"event":"listening","host":"127.0.0.1","grpcPort":8081}`. Logs go to
 * stderr as JSON lines. SIGINT/SIGTERM: stop serving, close the broker
 * channels, exit 0.
 *
 * @module
 */

import { GrpcFront } from "./grpc_front.ts";
import { ClusterBackend } from "./infra/cluster_backend.ts";

/** Options of the proxy process. */
export interface ProxyConfig {
  /** Name servers, `host:port;host:port`. */
  readonly namesrvAddr: string;
  /** Address to listen on. */
  readonly listen: string;
  /** gRPC port; 0 picks a free one. */
  readonly grpcPort: number;
}

const USAGE = `Usage: deno task proxy --namesrv-addr host:port[;host:port] [options]

  --namesrv-addr <host:port;...>  (env RMQ_NAMESRV_ADDR)  name servers to route by; required
  --grpc-port <int>               (env RMQ_GRPC_PORT)     gRPC port; default 8081 (0 = any free port)
  --listen <addr>                                         address to listen on; default 127.0.0.1
  --help                                                  print this text`;

/**
 * Parse the command line and environment.
 *
 * @param args Command-line arguments.
 * @param env Environment lookup.
 * @returns The config, or the help text, or an error.
 */
export function parseProxyArgs(
  args: readonly string[],
  env: (name: string) => string | undefined,
): { status: "OK"; config: ProxyConfig } | { status: "HELP" | "ERROR"; text: string } {
  if (args.includes("--help")) return { status: "HELP", text: USAGE };
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    if (!["--namesrv-addr", "--grpc-port", "--listen"].includes(flag) || i + 1 >= args.length) {
      return { status: "ERROR", text: `unknown or incomplete option ${flag}\n${USAGE}` };
    }
    values.set(flag, args[++i]);
  }
  const namesrvAddr = values.get("--namesrv-addr") ?? env("RMQ_NAMESRV_ADDR") ?? "";
  if (namesrvAddr === "") return { status: "ERROR", text: `--namesrv-addr is required\n${USAGE}` };
  const portText = values.get("--grpc-port") ?? env("RMQ_GRPC_PORT") ?? "8081";
  const grpcPort = Number(portText);
  if (!Number.isInteger(grpcPort) || grpcPort < 0 || grpcPort > 65535) {
    return { status: "ERROR", text: `--grpc-port ${portText} is not a port` };
  }
  return {
    status: "OK",
    config: { namesrvAddr, grpcPort, listen: values.get("--listen") ?? "127.0.0.1" },
  };
}

/**
 * Run the proxy until SIGINT/SIGTERM.
 *
 * @param args Command-line arguments.
 * @returns The process exit code.
 */
export async function main(args: readonly string[]): Promise<number> {
  const parsed = parseProxyArgs(args, (name) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  });
  if (parsed.status !== "OK") {
    (parsed.status === "HELP" ? console.log : console.error)(parsed.text);
    return parsed.status === "HELP" ? 0 : 2;
  }
  const { config } = parsed;
  const log = (event: Readonly<Record<string, unknown>>): void => {
    console.error(JSON.stringify({ time: new Date().toISOString(), ...event }));
  };
  const backend = new ClusterBackend({ namesrvAddr: config.namesrvAddr });
  let front: GrpcFront;
  try {
    front = await GrpcFront.start({
      host: config.listen,
      port: config.grpcPort,
      backend,
      log,
    });
  } catch (error) {
    log({ event: "start_failed", error: String((error as Error)?.message ?? error) });
    await backend.close();
    return 1;
  }
  const stopped = new Promise<string>((resolve) => {
    Deno.addSignalListener("SIGINT", () => resolve("SIGINT"));
    Deno.addSignalListener("SIGTERM", () => resolve("SIGTERM"));
  });
  backend.onTransactionCheck((group, check) => front.checkTransaction(group, check));
  console.log(JSON.stringify({ event: "listening", host: config.listen, grpcPort: front.port }));
  log({ event: "shutdown", signal: await stopped });
  await front.close();
  await backend.close();
  log({ event: "stopped" });
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
