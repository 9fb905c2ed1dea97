/**
 * The broker: composition root of the server, controllers, domain services
 * and the store.
 *
 * @module
 */

import { UniqueIdGenerator } from "../client/protocol/message_id.ts";
import {
  FsStoreFileSystem,
  type HostAddress,
  type MessageStore,
  TIMER_LOG_PATH,
  TimerLog,
  TimerWheel,
} from "../store/mod.ts";
import { AdminController } from "./api/admin_controller.ts";
import type { BrokerContext, Channel } from "./api/broker_context.ts";
import { ClientController } from "./api/client_controller.ts";
import { OffsetController } from "./api/offset_controller.ts";
import { PullController } from "./api/pull_controller.ts";
import { QueryMessageController } from "./api/query_message_controller.ts";
import { RuntimeInfoController } from "./api/runtime_info_controller.ts";
import { SendController } from "./api/send_controller.ts";
import { LockController } from "./api/lock_controller.ts";
import { SendBackController } from "./api/send_back_controller.ts";
import { RebalanceLockManager } from "./domain/rebalance_lock_manager.ts";
import { createTimerAwarePut, SendBackService } from "./domain/retry/send_back.ts";
import { EndTransactionController } from "./api/end_transaction_controller.ts";
import { ChannelTransactionCheckSender } from "./api/transaction_check_sender.ts";
import { TransactionCheckService } from "./domain/transaction/transaction_check_service.ts";
import { TransactionService } from "./domain/transaction/transaction_service.ts";
import { TimerMessageService } from "./domain/timer/timer_service.ts";
import { type BrokerConfig, parseIpv4, splitNamesrvAddr, validateBrokerConfig } from "./config.ts";
import { ClientRegistry } from "./domain/client_registry.ts";
import type { CancelTimer, Clock } from "./domain/clock.ts";
import { PullHoldService } from "./domain/pull_hold.ts";
import { TopicTable } from "./domain/topic_table.ts";
import { createMessageStore } from "./infra/store_factory.ts";
import { NamesrvRegistrar } from "./infra/namesrv_registrar.ts";
import { HaModule } from "./ha/ha_module.ts";
import { SystemClock } from "./infra/system_clock.ts";
import { RemotingServer } from "./server/remoting_server.ts";
import type { GrpcFront } from "../proxy/mod.ts";
import { LocalGrpcBackend } from "./api/grpc_backend.ts";
import { DedupWindow } from "./domain/dedup/dedup_window.ts";
import { AssignmentController } from "./api/assignment_controller.ts";
import { ConsumerAdminController, resetOffsetByTime } from "./api/consumer_admin_controller.ts";
import { RequestModeTable } from "./domain/pop/assignment.ts";
import { GrpcPopBridge } from "./api/grpc_pop.ts";
import { grpcAccessHook } from "./api/grpc_access.ts";
import { startPop } from "./pop_module.ts";
import { type LogSink, RequestRouter } from "./server/request_router.ts";
import type { BrokerMetricsSource } from "./metrics/broker_metrics.ts";
import { prepareOperations } from "./operations.ts";
import { RemotingMetrics } from "./metrics/remoting_metrics.ts";

/** How often clients whose heartbeats stopped are looked for, ms. */
export const CLIENT_EXPIRY_SCAN_INTERVAL_MS = 10_000;

/** A background service the broker starts after its controllers and stops before its store. */
interface BrokerService {
  close(): Promise<void> | void;
}

/** Options of {@linkcode Broker.start}. */
export interface BrokerStartOptions {
  /** The broker config (see `loadBrokerConfig` and `BROKER_CONFIG_DEFAULTS`). */
  readonly config: BrokerConfig;
  /**
   * An already opened store to run on. The caller keeps ownership: the broker
   * neither opens nor closes it. When omitted the broker builds the production
   * store in `config.dataDir`, opens it, and closes it in `close()`.
   */
  readonly store?: MessageStore;
  /** Clock for timers (long polling, client expiry). Default: the system clock. */
  readonly clock?: Clock;
  /** Structured log sink (errors, refused connections). Default: discard. */
  readonly log?: LogSink;
  /** With `config.aclFile`: time between checks of the file for changes, ms. Default 1000. */
  readonly aclReloadCheckIntervalMs?: number;
}

/**
 * A single-node RocketMQ-protocol broker.
 *
 * Owns the TCP server (main thread), the topic table, client registry and
 * long-polling service, and — unless one was injected — the store. Lifecycle:
 * `start()` listens, opens the store, loads topics, then accepts; `close()`
 * stops accepting, answers held pulls, waits for in-flight requests (bounded
 * by `shutdownTimeoutMs`), closes connections, then closes an owned store.
 */
export class Broker implements AsyncDisposable {
  readonly #server: RemotingServer;
  readonly #store: MessageStore;
  readonly #ownsStore: boolean;
  readonly #ctx: BrokerContext;
  readonly #unsubscribe: () => void;
  readonly #cancelExpiryScan: { cancel: CancelTimer };
  readonly #services: readonly BrokerService[];
  readonly #grpc: GrpcFront | undefined;
  readonly #operations: BrokerMetricsSource;
  #closing: Promise<void> | undefined;

  private constructor(
    server: RemotingServer,
    store: MessageStore,
    ownsStore: boolean,
    ctx: BrokerContext,
    unsubscribe: () => void,
    cancelExpiryScan: { cancel: CancelTimer },
    services: readonly BrokerService[],
    grpc: GrpcFront | undefined,
    operations: BrokerMetricsSource,
  ) {
    this.#grpc = grpc;
    this.#server = server;
    this.#store = store;
    this.#ownsStore = ownsStore;
    this.#ctx = ctx;
    this.#unsubscribe = unsubscribe;
    this.#cancelExpiryScan = cancelExpiryScan;
    this.#services = services;
    this.#operations = operations;
  }

  /**
   * Start a broker: listen, open the store, load topics, accept connections.
   *
   * @param options Config, and optionally a store, clock and log sink.
   * @returns The running broker.
   * @throws {RangeError} / {TypeError} On an invalid config.
   * @throws Listen and store-open errors (the listener is closed again).
   */
  static async start(options: BrokerStartOptions): Promise<Broker> {
    const { config } = options;
    validateBrokerConfig(config);
    const clock = options.clock ?? new SystemClock();
    const log = options.log ?? (() => {});
    const router = new RequestRouter(log);
    const remoting = new RemotingMetrics();
    // Access control and the other operations features (broker/operations.ts).
    const ops = await prepareOperations({
      config,
      router,
      clock,
      log,
      aclReloadCheckIntervalMs: options.aclReloadCheckIntervalMs,
    });
    let clientController: ClientController | undefined;
    const server = new RemotingServer(config.listen, config.port, config, {
      dispatch: remoting.wrap(ops.dispatch),
      connectionClosed: (channel) => clientController?.channelClosed(channel),
    }, log);
    const ownsStore = options.store === undefined;
    let store: MessageStore | undefined = options.store;
    const services: BrokerService[] = [];
    try {
      const storeHost: HostAddress = { ip: advertisedIp(config), port: server.port };
      if (store === undefined) {
        store = createMessageStore(config, storeHost);
        await store.open();
      }
      // High availability: the role's put rules over the store, replication (broker/ha/).
      const ha = HaModule.start({ config, store, listenPort: server.port, router, log });
      services.push(ha);
      store = ha.store;
      const topics = new TopicTable(store, () => clock.nowMs());
      await topics.load(config.autoCreateTopicEnable ? 8 : undefined);
      ha.attachTopics(topics);
      let opaque = 0;
      // Dedup window of the send path, refilled from each windowed topic's tail.
      const dedup = new DedupWindow({
        windowMs: config.dedupWindowMs,
        keysMax: config.dedupKeysMax,
        topic: (name) => topics.get(name),
        nowMs: () => clock.nowMs(),
      });
      await dedup.rebuild(store, topics.list());
      const ctx: BrokerContext = {
        // Read per request: updateBrokerConfig swaps the run-time changeable options.
        get config() {
          return ops.runtime.current;
        },
        store,
        topics,
        clients: new ClientRegistry<Channel>(),
        pullHold: new PullHoldService(clock, config.heldPullsMax),
        clock,
        uniqueIds: new UniqueIdGenerator({ ip: storeHost.ip }),
        storeHost,
        brokerAddress: `${ipText(storeHost.ip)}:${storeHost.port}`,
        dedup,
        nextOpaque: () => (opaque = (opaque + 1) | 0),
      };
      const started = await ops.start({ store, router, remoting });
      services.push(started);
      clientController = new ClientController(ctx);
      router.register(new SendController(ctx).handlers());
      router.register(new PullController(ctx).handlers());
      router.register(new OffsetController(ctx).handlers());
      router.register(clientController.handlers());
      router.register(new AdminController(ctx).handlers());
      router.register(new QueryMessageController(ctx).handlers());
      router.register(new RuntimeInfoController(ctx).handlers());

      // FIFO: broker-side queue locks for orderly consumers.
      const locks = new RebalanceLockManager({
        nowMs: () => clock.nowMs(),
        lockExpiryMs: config.rebalanceLockExpiryMs,
      });
      router.register(new LockController(locks).handlers());

      // Retry and dead letters: send-back goes through the timer for its back-off.
      const sendBackStore = store;
      router.register(
        new SendBackController(
          new SendBackService({
            store: sendBackStore,
            put: createTimerAwarePut((m) => sendBackStore.putMessage(m), () => clock.nowMs()),
            topics,
            retryMaxTimesDefault: config.retryMaxTimes,
            groupRetryMaxTimes: (group) => started.groupRetryMaxTimes(group),
          }),
        ).handlers(),
      );

      const transactions = new TransactionService({ store, clock, storeHost });
      await transactions.open();
      router.register(new EndTransactionController(transactions, log).handlers());
      // The gRPC front starts after pop (below); transaction checks reach its producers too.
      let grpc: GrpcFront | undefined;
      const remotingChecks = new ChannelTransactionCheckSender(
        (group) => ctx.clients.producerChannels(group),
        ctx.nextOpaque,
      );
      const transactionCheck = new TransactionCheckService({
        store,
        clock,
        storeHost,
        sender: {
          send: (group, header, body) =>
            remotingChecks.send(group, header, body) ||
            (grpc?.checkTransaction(group, {
              record: body,
              commitLogOffset: header.commitLogOffset,
              halfQueueOffset: header.tranStateTableOffset,
            }) ?? false),
        },
        config: {
          transactionTimeoutMs: config.transactionTimeoutMs,
          transactionCheckIntervalMs: config.transactionCheckIntervalMs,
          transactionCheckMax: config.transactionCheckMax,
        },
        log,
      });
      services.push(transactionCheck);

      // Delay and timer messages: the wheel and its log live in the store's directory.
      const timerFs = new FsStoreFileSystem(config.dataDir);
      const timerWheel = new TimerWheel(new TimerLog(timerFs.segments(TIMER_LOG_PATH)), timerFs, {
        precisionMs: config.timerPrecisionMs,
        slotCount: config.timerSlotCount,
      });
      const timers = new TimerMessageService(store, timerWheel, clock, { log });
      services.push(timers);
      await timers.start();

      // Pop consumption: checkpoints and acks wait in the timer; revive re-puts what is unacked.
      const pop = await startPop({ config, store, topics, clock, storeHost, timers, log });
      services.push(pop);
      router.register(pop.handlers);
      router.register(new AssignmentController(ctx, new RequestModeTable()).handlers());
      router.register(new ConsumerAdminController(ctx, pop.ctx).handlers());

      // gRPC front for RocketMQ 5 clients ("local mode" proxy), when a port is configured.
      if (config.grpcPort !== 0) {
        // Loaded only when on: grpc-js reads its environment variables when imported.
        const { GrpcFront } = await import("../proxy/mod.ts");
        const dlq = new SendBackService({
          store,
          put: createTimerAwarePut((m) => sendBackStore.putMessage(m), () => clock.nowMs()),
          topics,
          retryMaxTimesDefault: config.retryMaxTimes,
          groupRetryMaxTimes: (group) => started.groupRetryMaxTimes(group),
        });
        const bridge = new GrpcPopBridge(topics, config.brokerName, pop.pop, pop.ack, dlq);
        const front = await GrpcFront.start({
          host: config.listen,
          port: config.grpcPort,
          advertisedHost: ipText(storeHost.ip),
          backend: new LocalGrpcBackend(ctx, transactions, bridge, started),
          authorize: ops.acl === undefined ? undefined : grpcAccessHook(ops.acl),
          bodyBytesMax: config.messageBytesMax,
          log,
        });
        grpc = front;
        services.push({ close: () => front.close(config.shutdownTimeoutMs) });
      }

      const unsubscribe = store.onArrival((arrival) => {
        ctx.pullHold.notifyArrival(
          arrival.topic,
          arrival.queueId,
          arrival.maxOffset,
          arrival.tagsCode,
        );
        pop.onArrival(arrival);
      });
      const expiry = { cancel: (() => {}) as CancelTimer };
      const controller = clientController;
      const scan = (): void => {
        controller.expireClients();
        expiry.cancel = clock.schedule(scan, CLIENT_EXPIRY_SCAN_INTERVAL_MS);
      };
      expiry.cancel = clock.schedule(scan, CLIENT_EXPIRY_SCAN_INTERVAL_MS);
      transactionCheck.start();
      server.serve();
      const namesrvAddrs = splitNamesrvAddr(config.namesrvAddr);
      if (namesrvAddrs.length > 0) {
        // Registered last, so it is closed first: routes drop this broker before it stops serving.
        const registrar = new NamesrvRegistrar({
          namesrvAddrs,
          clusterName: config.clusterName,
          brokerName: config.brokerName,
          get brokerId() {
            return haHooks.brokerId;
          },
          brokerAddr: ctx.brokerAddress,
          registerIntervalMs: config.registerIntervalMs,
          source: { topics: () => topics.list(), dataVersion: () => topics.dataVersion },
          log,
          credentials: config.namesrvAccessKey === ""
            ? undefined
            : { accessKey: config.namesrvAccessKey, secretKey: config.namesrvSecretKey },
          get haServerAddr() {
            return haHooks.haServerAddr;
          },
          onMaster: (masterAddr, haServerAddr) => haHooks.onMaster(masterAddr, haServerAddr),
        });
        const haHooks = ha.registrarHooks(ipText(storeHost.ip), () => {
          void registrar.registerAll(true);
        });
        const unsubscribeTopics = topics.onChange(() => registrar.topicsChanged());
        services.push({
          close: async () => {
            unsubscribeTopics();
            await registrar.close();
          },
        });
        await registrar.start();
      }
      const operations: BrokerMetricsSource = {
        get config() {
          return ops.runtime.current;
        },
        store,
        topics,
        clients: ctx.clients,
        remoting,
        address: ctx.brokerAddress,
        storeHost,
        connectionCount: () => server.connectionCount,
        timerStats: () => timers.stats(),
        nowMs: () => clock.nowMs(),
        acl: ops.acl,
        popInFlight: (group, topic) => pop.ctx.inFlight.countOf(group, topic),
        haStatus: () => ha.status(),
        resetOffsetByTime: async (group, topic, timestamp) => {
          const table = await resetOffsetByTime(ctx, pop.ctx, {
            group,
            topic,
            timestamp,
            force: true,
          });
          return new Map(
            Object.entries(table).map(([key, offset]) => [
              Number(key.slice(key.lastIndexOf("@") + 1)),
              offset,
            ]),
          );
        },
      };
      return new Broker(
        server,
        store,
        ownsStore,
        ctx,
        unsubscribe,
        expiry,
        services,
        grpc,
        operations,
      );
    } catch (error) {
      for (const service of services.toReversed()) await service.close();
      await server.close(0);
      if (ownsStore && store !== undefined) await store.close().catch(() => {});
      throw error;
    }
  }

  /** The port the broker listens on (the real one when started with port 0). */
  get port(): number {
    return this.#server.port;
  }

  /** The gRPC front's port, or undefined when it is off (`grpcPort` 0). */
  get grpcPort(): number | undefined {
    return this.#grpc?.port;
  }

  /** The advertised `ip:port` (routes, message ids). */
  get address(): string {
    return this.#ctx.brokerAddress;
  }

  /** The config the broker runs with. */
  get config(): BrokerConfig {
    return this.#ctx.config;
  }

  /** The store the broker runs on. */
  get store(): MessageStore {
    return this.#store;
  }

  /**
   * The state and counters the metrics and the HTTP API read (see `broker/http/`).
   *
   * @ignore
   */
  get operations(): BrokerMetricsSource {
    return this.#operations;
  }

  /** Open client connections. */
  get connectionCount(): number {
    return this.#server.connectionCount;
  }

  /** Unsent response bytes held for all connections together (bounded by `outputBytesTotalMax`). */
  get heldOutputBytes(): number {
    return this.#server.heldOutputBytes;
  }

  /**
   * Graceful shutdown; idempotent.
   *
   * @returns Resolves when connections are closed and an owned store is closed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#cancelExpiryScan.cancel();
    // Services may still put messages (check-backs, due timers): stop them while the store is open.
    for (const service of this.#services.toReversed()) await service.close();
    this.#unsubscribe();
    // Held pulls answer now (PULL_NOT_FOUND) so in-flight work can drain.
    this.#ctx.pullHold.close();
    await this.#server.close(this.#ctx.config.shutdownTimeoutMs);
    if (this.#ownsStore) await this.#store.close();
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function advertisedIp(config: BrokerConfig): Uint8Array {
  if (config.brokerIp !== "") return parseIpv4(config.brokerIp)!;
  const listen = parseIpv4(config.listen);
  if (listen === undefined || listen.every((b) => b === 0)) return new Uint8Array([127, 0, 0, 1]);
  return listen;
}

function ipText(ip: Uint8Array): string {
  return Array.from(ip).join(".");
}
