/**
 * The name server's HTTP port: `GET /metrics` in the Prometheus text format,
 * nothing else (404 elsewhere, 405 for any other method on `/metrics`).
 *
 * Started by `namesrv/main.ts` next to the name server when `--http-port` is
 * not 0, on the name server's listen address (loopback by default), with the
 * broker's DNS-rebinding guard (`Host` must name loopback when listening on
 * loopback). It owns its listener and closes it in `close()`.
 *
 * @module
 */

import { checkBrowserRequest } from "../../broker/http/request_guard.ts";
import type { MetricsExposition } from "../../broker/metrics/exposition.ts";
import type { NamesrvLog } from "../api/namesrv_context.ts";
import { createNamesrvMetrics, type NamesrvMetricsSource } from "../metrics/namesrv_metrics.ts";

/** Options of {@linkcode NamesrvHttpServer.start}. */
export interface NamesrvHttpServerOptions {
  /** The name server's state (`NameServer.operations`). */
  readonly source: NamesrvMetricsSource;
  /** Address to listen on. */
  readonly hostname: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
  /** Where request errors are reported. */
  readonly log?: NamesrvLog;
}

/** The HTTP listener of one name server: `/metrics`. */
export class NamesrvHttpServer implements AsyncDisposable {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  private constructor(server: Deno.HttpServer<Deno.NetAddr>) {
    this.#server = server;
  }

  /**
   * Listen and serve.
   *
   * @param options Source, address and port.
   * @returns The running server.
   * @throws {Deno.errors.AddrInUse} If the port is taken.
   */
  static start(options: NamesrvHttpServerOptions): NamesrvHttpServer {
    const log = options.log ?? (() => {});
    const metrics = createNamesrvMetrics(options.source);
    const server = Deno.serve({
      hostname: options.hostname,
      port: options.port,
      onListen: () => {},
      onError: (error) => {
        log({ event: "http_error", error: String((error as Error)?.stack ?? error) });
        return new Response("Internal Server Error", { status: 500 });
      },
    }, (request) => route(request, metrics, options.hostname));
    return new NamesrvHttpServer(server);
  }

  /** The port it listens on. */
  get port(): number {
    return this.#server.addr.port;
  }

  /** Stop listening; resolves when open requests are done. */
  close(): Promise<void> {
    return this.#server.shutdown();
  }

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

async function route(
  request: Request,
  metrics: MetricsExposition,
  listenHostname: string,
): Promise<Response> {
  const refused = checkBrowserRequest(request, listenHostname, false);
  if (refused !== undefined) return new Response(refused.reason, { status: refused.status });
  if (new URL(request.url).pathname !== "/metrics") {
    return new Response("Not Found", { status: 404 });
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("Method Not Allowed", { status: 405, headers: { allow: "GET, HEAD" } });
  }
  return new Response(request.method === "HEAD" ? null : await metrics.text(), {
    headers: { "content-type": metrics.contentType },
  });
}
