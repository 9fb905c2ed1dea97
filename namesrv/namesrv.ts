/**
 * The name server: composition root of the route tables, the KV config, the
 * controllers and the remoting server.
 *
 * @module
 */

import { type Dispatch, guardWithAcl } from "../broker/api/acl_guard.ts";
import { AccessValidator } from "../broker/domain/acl/access_validator.ts";
import { AclFailureLog } from "../broker/domain/acl/acl_failure_log.ts";
import { AclFileWatcher, readAclFile } from "../broker/infra/acl_file.ts";
import { RemotingServer } from "../broker/server/remoting_server.ts";
import { type LogSink, RequestRouter } from "../broker/server/request_router.ts";
import { RemotingMetrics } from "../broker/metrics/remoting_metrics.ts";
import { BrokerRequestController } from "./api/broker_request_controller.ts";
import { ClientRequestController } from "./api/client_request_controller.ts";
import type { NamesrvContext } from "./api/namesrv_context.ts";
import {
  NAMESRV_IN_FLIGHT_REQUEST_BYTES_TOTAL_MAX,
  NAMESRV_IN_FLIGHT_REQUESTS_PER_CONNECTION_MAX,
  NAMESRV_OUTPUT_BYTES_PER_CONNECTION_MAX,
  NAMESRV_OUTPUT_BYTES_TOTAL_MAX,
  NAMESRV_OUTPUT_HIGH_WATER_BYTES,
  type NamesrvConfig,
  validateNamesrvConfig,
} from "./config.ts";
import { KvConfigTable } from "./domain/kv_config_table.ts";
import { NAMESRV_ACCESS_RULES } from "./domain/namesrv_access_rules.ts";
import { RouteInfoManager } from "./domain/route_info_manager.ts";
import { FsKvConfigDocument } from "./infra/fs_kv_config_document.ts";
import type { NamesrvMetricsSource } from "./metrics/namesrv_metrics.ts";
import { NamesrvStats } from "./metrics/namesrv_stats.ts";

/** Options of {@linkcode NameServer.start}. */
export interface NameServerStartOptions {
  /** The config (see `loadNamesrvConfig`, `NAMESRV_CONFIG_DEFAULTS`). */
  readonly config: NamesrvConfig;
  /** Clock, epoch ms. Default `Date.now`. */
  readonly nowMs?: () => number;
  /** Structured log sink. Default: discard. */
  readonly log?: LogSink;
  /** Time between checks of `aclFile` for changes, ms (tests shorten it). Default 1000. */
  readonly aclReloadCheckIntervalMs?: number;
}

/**
 * A RocketMQ-protocol name server (spec §9).
 *
 * Owns the listener (main thread), the route tables and the KV config.
 * Lifecycle: `start()` loads the KV config, listens and starts the liveness
 * scan; `close()` stops the scan and closes every connection. A broker's
 * connection closing removes it from every table at once.
 */
export class NameServer implements AsyncDisposable {
  readonly #server: RemotingServer;
  readonly #ctx: NamesrvContext;
  readonly #scan: ReturnType<typeof setInterval>;
  readonly #aclWatcher: AclFileWatcher | undefined;
  readonly #operations: NamesrvMetricsSource;
  #closing: Promise<void> | undefined;

  private constructor(
    server: RemotingServer,
    ctx: NamesrvContext,
    scanIntervalMs: number,
    aclWatcher: AclFileWatcher | undefined,
    operations: NamesrvMetricsSource,
  ) {
    this.#server = server;
    this.#ctx = ctx;
    this.#aclWatcher = aclWatcher;
    this.#operations = operations;
    this.#scan = setInterval(() => {
      const expired = ctx.routes.scanNotActiveBroker();
      operations.stats.brokersRemoved("expired", expired.length);
      for (const gone of expired) {
        ctx.log({ event: "broker_expired", broker: gone.brokerName, addr: gone.brokerAddr });
      }
    }, scanIntervalMs);
  }

  /**
   * Start a name server.
   *
   * @param options Config, clock and log.
   * @returns The running name server.
   * @throws {RangeError} On an invalid config; listen and KV-load errors.
   * @throws {TypeError} When `aclFile` cannot be read or parsed.
   */
  static async start(options: NameServerStartOptions): Promise<NameServer> {
    const { config } = options;
    validateNamesrvConfig(config);
    const log = options.log ?? (() => {});
    const kv = new KvConfigTable(new FsKvConfigDocument(config.dataDir));
    await kv.load();
    const ctx: NamesrvContext = {
      routes: new RouteInfoManager(options.nowMs ?? Date.now, config.brokerExpiryMs),
      kv,
      log,
    };
    const router = new RequestRouter(log);
    router.register(new BrokerRequestController(ctx).handlers());
    router.register(new ClientRequestController(ctx).handlers());
    let dispatch: Dispatch = (request, channel) => router.dispatch(request, channel);
    let validator: AccessValidator | undefined;
    if (config.aclFile !== "") {
      // Same file format, guard and reload as the broker's; the rules are the name server's own.
      const loaded = await readAclFile(config.aclFile);
      if (!loaded.ok) throw new TypeError(loaded.error);
      validator = new AccessValidator(loaded.config, NAMESRV_ACCESS_RULES);
      dispatch = guardWithAcl(
        dispatch,
        validator,
        new AclFailureLog(log, options.nowMs ?? Date.now),
      );
    }
    // Outermost, so refused requests are timed too (as on the broker).
    const stats = new NamesrvStats();
    const remoting = new RemotingMetrics();
    dispatch = stats.wrap(remoting.wrap(dispatch));
    const server = new RemotingServer(config.listen, config.port, {
      frameBytesMax: config.frameBytesMax,
      connectionsMax: config.connectionsMax,
      inFlightRequestsPerConnectionMax: NAMESRV_IN_FLIGHT_REQUESTS_PER_CONNECTION_MAX,
      outputBytesPerConnectionMax: Math.max(
        NAMESRV_OUTPUT_BYTES_PER_CONNECTION_MAX,
        config.frameBytesMax,
      ),
      outputHighWaterBytes: NAMESRV_OUTPUT_HIGH_WATER_BYTES,
      outputBytesTotalMax: NAMESRV_OUTPUT_BYTES_TOTAL_MAX,
      inFlightRequestBytesTotalMax: NAMESRV_IN_FLIGHT_REQUEST_BYTES_TOTAL_MAX,
    }, {
      dispatch,
      connectionClosed: (channel) => {
        const removed = ctx.routes.channelClosed(channel.id);
        stats.brokersRemoved("connection_closed", removed.length);
        for (const gone of removed) {
          log({ event: "broker_channel_closed", broker: gone.brokerName, addr: gone.brokerAddr });
        }
      },
    }, log);
    server.serve();
    let aclWatcher: AclFileWatcher | undefined;
    if (validator !== undefined) {
      const guarded = validator;
      aclWatcher = await AclFileWatcher.start({
        path: config.aclFile,
        onReload: (changed) => guarded.update(changed),
        log,
        reloadCheckIntervalMs: options.aclReloadCheckIntervalMs,
      });
      log({ event: "acl_enabled", path: config.aclFile, accounts: guarded.accountCount });
    }
    const operations: NamesrvMetricsSource = {
      nodeId: `${config.listen}:${server.port}`,
      routes: ctx.routes,
      stats,
      remoting,
      connectionCount: () => server.connectionCount,
    };
    return new NameServer(server, ctx, config.scanIntervalMs, aclWatcher, operations);
  }

  /** The bound port. */
  get port(): number {
    return this.#server.port;
  }

  /** The route tables (for tests and status). */
  get routes(): RouteInfoManager {
    return this.#ctx.routes;
  }

  /** What `/metrics` reads: route tables, counters, RPC latency, connections. */
  get operations(): NamesrvMetricsSource {
    return this.#operations;
  }

  /**
   * Stop scanning and close every connection; idempotent.
   *
   * @returns Resolves when closed.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#scan);
      this.#aclWatcher?.close();
      await this.#server.close(1_000);
    })();
    return this.#closing;
  }

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
