/**
 * High availability with static roles (RocketMQ 4 style, spec §10.1–10.3):
 * builds the HA master or slave for a broker config and wraps the store's
 * put path with the role's rules.
 *
 * - `ASYNC_MASTER`: puts are acknowledged as the store answers; slaves copy
 *   behind (loss window: whatever the slave has not acked when the master's
 *   disk is lost).
 * - `SYNC_MASTER`: a put that the store appended is acknowledged only when
 *   `inSyncReplicas - 1` slaves acked past it: `SLAVE_NOT_AVAILABLE` when too
 *   few slaves are in sync, `FLUSH_SLAVE_TIMEOUT` after `slaveTimeoutMs`.
 *   The store's own flush status comes first (`FLUSH_DISK_TIMEOUT`).
 * - `SLAVE`: puts answer `SERVICE_NOT_AVAILABLE`; the store is fed only by
 *   replication; reads are served as on a master.
 *
 * @module
 */

import type { MessageStore, MessageToPut, PutMessageResult } from "../../store/mod.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import { createResponse } from "../../client/protocol/remoting_command.ts";
import { type RequestHandler, success } from "../api/broker_context.ts";
import type { BrokerConfig } from "../config.ts";
import type { LogSink } from "../server/request_router.ts";
import { HaMaster, type HaSlaveStatus } from "./ha_master.ts";
import { HaSlave, type HaSlaveProgress } from "./ha_slave.ts";

/** What `haStatus` reports. */
export type HaStatus =
  | {
    readonly role: "ASYNC_MASTER" | "SYNC_MASTER";
    /** HA port listened on (undefined when the default port was taken). */
    readonly haPort: number | undefined;
    readonly maxOffset: number;
    readonly slaves: readonly HaSlaveStatus[];
  }
  | ({ readonly role: "SLAVE" } & HaSlaveProgress);

/** Outcome of {@linkcode HaService.promote}. */
export type PromoteResult = { readonly ok: true } | { readonly ok: false; readonly error: string };

/** A running HA role. */
export interface HaService {
  /** The store to run the broker on: the role's put rules over the real store. */
  readonly store: MessageStore;
  /** Replication state. */
  status(): HaStatus;
  /** The broker id to register with: 0 for a master (also after a promotion). */
  readonly brokerId: number;
  /**
   * Manual failover in static mode: a slave stops replicating and becomes a
   * master (its QueueOffsets continue from the replicated records).
   */
  promote(role: "ASYNC_MASTER" | "SYNC_MASTER"): Promise<PromoteResult>;
  /** Stop replicating (the store itself is closed by its owner). */
  close(): Promise<void>;
}

/** Options of {@linkcode startHa}. */
export interface StartHaOptions {
  /** Broker config (role, HA port, timeouts). */
  readonly config: BrokerConfig;
  /** The opened store. */
  readonly store: MessageStore;
  /** The broker's listen port (the HA port defaults to it + 1). */
  readonly listenPort: number;
  /** Structured log. */
  readonly log: LogSink;
  /** A slave's master HA address when `haMasterAddr` is empty (from the name server). */
  readonly learnedMasterAddr?: () => string;
  /** Called when a slave (re)connects to its master. */
  readonly onSlaveConnected?: () => void;
}

/**
 * Start the broker's HA role.
 *
 * @param options Config, store, listen port, log.
 * @returns The running role.
 * @throws {Deno.errors.AddrInUse} If an explicit `haPort` is taken.
 */
export function startHa(options: StartHaOptions): HaService {
  return new HaRoles(options);
}

/** A master role word. */
type MasterRole = "ASYNC_MASTER" | "SYNC_MASTER";

/** The role state: a slave with its HA client, or a master with its HA server. */
class HaRoles implements HaService {
  readonly store: MessageStore;
  readonly #options: StartHaOptions;
  #role: MasterRole | "SLAVE";
  #master: HaMaster | undefined;
  #slave: HaSlave | undefined;
  readonly #unsubscribe: () => void;

  constructor(options: StartHaOptions) {
    this.#options = options;
    const { config, store } = options;
    if (config.brokerRole === "SLAVE") {
      this.#role = "SLAVE";
      this.#slave = HaSlave.start({
        masterAddr: () =>
          config.haMasterAddr !== "" ? config.haMasterAddr : options.learnedMasterAddr?.() ?? "",
        store,
        onConnected: options.onSlaveConnected,
        log: options.log,
      });
    } else {
      this.#role = config.brokerRole === "SYNC_MASTER" ? "SYNC_MASTER" : "ASYNC_MASTER";
      this.#master = listenMaster(options);
    }
    // Records are shipped once dispatched, in parallel with the master's flush (spec §10.3).
    this.#unsubscribe = store.onArrival(() => this.#master?.notifyAppended());
    this.store = withPuts(
      store,
      (m) => this.#put(() => store.putMessage(m)),
      (ms) => this.#put(() => store.putMessages(ms)),
    );
  }

  /** The broker id to register with: 0 for a master, the configured id for a slave. */
  get brokerId(): number {
    return this.#role === "SLAVE" ? this.#options.config.brokerId : 0;
  }

  async #put(put: () => Promise<PutMessageResult>): Promise<PutMessageResult> {
    if (this.#role === "SLAVE") {
      return { status: "SERVICE_NOT_AVAILABLE", remark: "this broker is a slave" };
    }
    const result = await put();
    if (!("commitLogOffset" in result)) return result;
    const master = this.#master;
    master?.notifyAppended();
    const acksNeeded = this.#options.config.inSyncReplicas - 1;
    if (this.#role !== "SYNC_MASTER" || acksNeeded <= 0 || result.status !== "PUT_OK") {
      return result;
    }
    if (master === undefined || master.inSyncSlaveCount() < acksNeeded) {
      return { ...result, status: "SLAVE_NOT_AVAILABLE" };
    }
    const end = result.commitLogOffset + result.wroteBytes;
    const acked = await master.waitForAcks(end, acksNeeded, this.#options.config.slaveTimeoutMs);
    return acked ? result : { ...result, status: "FLUSH_SLAVE_TIMEOUT" };
  }

  status(): HaStatus {
    if (this.#role === "SLAVE") return { role: "SLAVE", ...this.#slave!.progress() };
    return {
      role: this.#role,
      haPort: this.#master?.port,
      maxOffset: this.#options.store.stats().commitLogMaxOffset,
      slaves: this.#master?.slaves() ?? [],
    };
  }

  async promote(role: MasterRole): Promise<PromoteResult> {
    if (this.#role !== "SLAVE") return { ok: false, error: `already ${this.#role}` };
    const slave = this.#slave!;
    this.#slave = undefined;
    await slave.close();
    this.#master = listenMaster(this.#options);
    this.#role = role;
    this.#options.log({ event: "ha_promoted", role });
    return { ok: true };
  }

  async close(): Promise<void> {
    this.#unsubscribe();
    await this.#slave?.close();
    await this.#master?.close();
  }
}

function listenMaster(options: StartHaOptions): HaMaster | undefined {
  const { config, store, log } = options;
  const port = config.haPort === -1 ? options.listenPort + 1 : config.haPort;
  try {
    const master = HaMaster.start({
      host: config.listen,
      port,
      store,
      segmentBytes: config.commitLogSegmentBytes,
      maxGapBytes: config.haMaxGapBytes,
      log,
    });
    log({ event: "ha_listening", port: master.port, role: config.brokerRole });
    return master;
  } catch (error) {
    // The default port (listen + 1) may be taken, e.g. by another broker on port 0: run alone.
    if (config.haPort !== -1 || !(error instanceof Deno.errors.AddrInUse)) throw error;
    log({ event: "ha_listen_failed", port, error: String(error) });
    return undefined;
  }
}

/**
 * The store with its two put methods replaced; every other member is the
 * store's own, called on the store itself (its private fields need that).
 */
function withPuts(
  store: MessageStore,
  putMessage: (message: MessageToPut) => Promise<PutMessageResult>,
  putMessages: (messages: readonly MessageToPut[]) => Promise<PutMessageResult>,
): MessageStore {
  return new Proxy(store, {
    get(target, key) {
      if (key === "putMessage") return putMessage;
      if (key === "putMessages") return putMessages;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * The master's remoting address implied by its HA address under the default
 * HA port (listen port + 1), for a slave given only `--ha-master-addr`.
 *
 * @param haAddr `host:port` of the master's HA port ("" when unknown).
 * @returns `host:(port - 1)`, or "".
 */
export function remotingAddrOfHa(haAddr: string): string {
  const colon = haAddr.lastIndexOf(":");
  if (colon <= 0) return "";
  return `${haAddr.slice(0, colon)}:${Number(haAddr.slice(colon + 1)) - 1}`;
}

/**
 * The HA request handlers: GET_BROKER_HA_STATUS (907, the role's `HaStatus`
 * as JSON) and HA_PROMOTE_TO_MASTER (920, header `role` = `ASYNC_MASTER`
 * (default) or `SYNC_MASTER`; refused on a master).
 *
 * @param ha The running role.
 * @param onPromoted Called after a promotion (re-register, stop the metadata copy).
 * @returns Code and handler pairs for the request router.
 */
export function haStatusHandlers(
  ha: HaService,
  onPromoted: () => void = () => {},
): [number, RequestHandler][] {
  return [
    [
      RequestCode.GET_BROKER_HA_STATUS,
      (request) => success(request, {}, new TextEncoder().encode(JSON.stringify(ha.status()))),
    ],
    [RequestCode.HA_PROMOTE_TO_MASTER, async (request) => {
      const role = request.extFields?.role ?? "ASYNC_MASTER";
      if (role !== "ASYNC_MASTER" && role !== "SYNC_MASTER") {
        return createResponse(request, ResponseCode.INVALID_PARAMETER, `bad role ${role}`);
      }
      const promoted = await ha.promote(role);
      if (!promoted.ok) {
        return createResponse(
          request,
          ResponseCode.SYSTEM_ERROR,
          `Cannot promote: ${promoted.error}`,
        );
      }
      onPromoted();
      return success(request);
    }],
  ];
}

/**
 * A master's HA address for its name-server registrations.
 *
 * @param ha The running role.
 * @param host The advertised host.
 * @returns `host:haPort`, or undefined on a slave or without an HA listener.
 */
export function haAddress(ha: HaService, host: string): string | undefined {
  const status = ha.status();
  return status.role !== "SLAVE" && status.haPort !== undefined
    ? `${host}:${status.haPort}`
    : undefined;
}
