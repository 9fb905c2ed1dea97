/**
 * The broker's HTTP port: `/metrics` (Prometheus text format), the dashboard
 * at `/` and its JSON API under `/api/` (see docs/http_api.md).
 *
 * Started by `broker/main.ts` next to the broker when `--http-port` is not 0,
 * on the broker's listen address (loopback by default). It only reads the
 * broker's state and calls the same domain objects the remoting controllers
 * use; it owns its listener and closes it in `close()`.
 *
 * @module
 */

import type { LogSink } from "../server/request_router.ts";
import type { AccessValidator } from "../domain/acl/access_validator.ts";
import { type BrokerMetricsSource, createBrokerMetrics } from "../metrics/broker_metrics.ts";
import type { MetricsExposition } from "../metrics/exposition.ts";
import { DashboardApi } from "./dashboard_api.ts";
import type { TpsHistory } from "./tps_history.ts";
import { staticAsset } from "./static_assets.ts";
import { checkBrowserRequest } from "./request_guard.ts";

/** Options of {@linkcode BrokerHttpServer.start}. */
export interface BrokerHttpServerOptions {
  /** The broker's state (`broker.operations`). */
  readonly source: BrokerMetricsSource;
  /** Address to listen on. */
  readonly hostname: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
  /** Where request errors are reported. */
  readonly log?: LogSink;
}

/** The HTTP listener of one broker: metrics, dashboard and JSON API. */
export class BrokerHttpServer implements AsyncDisposable {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #api: DashboardApi;

  private constructor(server: Deno.HttpServer<Deno.NetAddr>, api: DashboardApi) {
    this.#server = server;
    this.#api = api;
  }

  /**
   * Listen and serve.
   *
   * @param options Source, address and port.
   * @returns The running server.
   * @throws {Deno.errors.AddrInUse} If the port is taken.
   */
  static start(options: BrokerHttpServerOptions): BrokerHttpServer {
    const log = options.log ?? (() => {});
    const metrics = createBrokerMetrics(options.source);
    const api = new DashboardApi(options.source);
    const server = Deno.serve({
      hostname: options.hostname,
      port: options.port,
      onListen: () => {},
      onError: (error) => {
        log({ event: "http_error", error: String((error as Error)?.stack ?? error) });
        return Response.json({ error: "internal error" }, { status: 500 });
      },
    }, (request) => route(request, metrics, api, options.source, options.hostname));
    return new BrokerHttpServer(server, api);
  }

  /** The TPS and lag history behind the dashboard's charts (sampled every 5 s). */
  get history(): TpsHistory {
    return this.#api.history;
  }

  /** The port it listens on. */
  get port(): number {
    return this.#server.addr.port;
  }

  /** Stop listening; resolves when open requests are done. */
  async close(): Promise<void> {
    await this.#api.close();
    await this.#server.shutdown();
  }

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

async function route(
  request: Request,
  metrics: MetricsExposition,
  api: DashboardApi,
  source: BrokerMetricsSource,
  listenHostname: string,
): Promise<Response> {
  const url = new URL(request.url);
  const refused = checkBrowserRequest(request, listenHostname, url.pathname.startsWith("/api/"));
  if (refused !== undefined) return new Response(refused.reason, { status: refused.status });
  if (url.pathname === "/metrics") {
    if (request.method !== "GET") return new Response("Method Not Allowed", { status: 405 });
    return new Response(await metrics.text(), { headers: { "content-type": metrics.contentType } });
  }
  // With access control on, the dashboard and its API need an admin account (HTTP Basic:
  // accessKey and secretKey); /metrics stays open for scrapers.
  if (source.acl !== undefined && !isAdmin(request, source.acl.validator)) {
    return new Response("Admin account required", {
      status: 401,
      headers: { "www-authenticate": 'Basic realm="broker", charset="UTF-8"' },
    });
  }
  if (url.pathname.startsWith("/api/")) return await api.handle(request, url);
  if (request.method !== "GET") return new Response("Method Not Allowed", { status: 405 });
  const asset = staticAsset(url.pathname);
  if (asset === undefined) return new Response("Not Found", { status: 404 });
  return new Response(asset.body, {
    headers: { "content-type": asset.contentType, "cache-control": "no-cache" },
  });
}

function isAdmin(request: Request, validator: AccessValidator): boolean {
  const header = request.headers.get("authorization") ?? "";
  if (!header.startsWith("Basic ")) return false;
  let decoded: string;
  try {
    decoded = new TextDecoder().decode(
      Uint8Array.from(atob(header.slice(6).trim()), (c) => c.charCodeAt(0)),
    );
  } catch {
    return false;
  }
  const colon = decoded.indexOf(":");
  return colon > 0 && validator.checkAdmin(decoded.slice(0, colon), decoded.slice(colon + 1));
}
