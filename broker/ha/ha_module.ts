/**
 * The HA part of the broker's composition root (as `pop_module.ts` is pop's):
 * the role (`startHa`), its admin handlers, the slave's metadata copy, and
 * the hooks the name-server registrar needs (broker id, HA address, the
 * master's addresses from the answer). Keeps `broker.ts` to a few lines.
 *
 * @module
 */

import type { MessageStore } from "../../store/mod.ts";
import type { BrokerConfig } from "../config.ts";
import type { TopicTable } from "../domain/topic_table.ts";
import type { LogSink, RequestRouter } from "../server/request_router.ts";
import {
  haAddress,
  type HaService,
  type HaStatus,
  haStatusHandlers,
  remotingAddrOfHa,
  startHa,
} from "./ha_service.ts";
import { SlaveSynchronize } from "./slave_synchronize.ts";

/** Options of {@linkcode HaModule.start}. */
export interface HaModuleOptions {
  /** Broker config. */
  readonly config: BrokerConfig;
  /** The opened store. */
  readonly store: MessageStore;
  /** The broker's listen port. */
  readonly listenPort: number;
  /** Where the HA admin handlers go. */
  readonly router: RequestRouter;
  /** Structured log. */
  readonly log: LogSink;
}

/** What the name-server registrar reads from HA on every registration. */
export interface RegistrarHaHooks {
  /** 0 for a master (also after a promotion), else the configured id. */
  readonly brokerId: number;
  /** This master's HA address, undefined on a slave. */
  readonly haServerAddr: string | undefined;
  /** A name server named this slave's master. */
  onMaster(masterAddr: string, haServerAddr: string): void;
}

/** The broker's HA wiring. */
export class HaModule {
  readonly #options: HaModuleOptions;
  readonly #ha: HaService;
  readonly #learned = { masterAddr: "", haServerAddr: "" };
  readonly #afterPromotion: (() => void)[] = [];
  #slaveSync: SlaveSynchronize | undefined;

  private constructor(options: HaModuleOptions) {
    this.#options = options;
    this.#ha = startHa({
      config: options.config,
      store: options.store,
      listenPort: options.listenPort,
      log: options.log,
      learnedMasterAddr: () => this.#learned.haServerAddr,
      onSlaveConnected: () => this.#slaveSync?.syncSoon(),
    });
    options.router.register(
      haStatusHandlers(this.#ha, () => this.#afterPromotion.forEach((f) => f())),
    );
  }

  /**
   * Start the configured role and register `haStatus` / `promote`.
   *
   * @param options Config, store, listen port, router, log.
   * @returns The module; run the broker on its `store`.
   */
  static start(options: HaModuleOptions): HaModule {
    return new HaModule(options);
  }

  /** The store with the role's put rules. */
  get store(): MessageStore {
    return this.#ha.store;
  }

  /**
   * Replication state (`haStatus`, metrics).
   *
   * @returns The role with its slaves' progress, or a slave's own.
   */
  status(): HaStatus {
    return this.#ha.status();
  }

  /**
   * On a slave, start copying the master's metadata into these tables.
   *
   * @param topics The broker's topic table.
   */
  attachTopics(topics: TopicTable): void {
    if (this.#options.config.brokerRole !== "SLAVE") return;
    const sync = new SlaveSynchronize({
      masterAddr: () =>
        this.#learned.masterAddr || remotingAddrOfHa(this.#options.config.haMasterAddr),
      topics,
      store: this.#ha.store,
      log: this.#options.log,
    });
    this.#slaveSync = sync;
    this.#afterPromotion.push(() => void sync.close());
    sync.syncSoon();
  }

  /**
   * The registrar's HA hooks.
   *
   * @param host The advertised host.
   * @param reregister Register again at once (called after a promotion).
   * @returns Getters and the answer callback.
   */
  registrarHooks(host: string, reregister: () => void): RegistrarHaHooks {
    this.#afterPromotion.push(reregister);
    const ha = this.#ha;
    const learned = this.#learned;
    return {
      get brokerId() {
        return ha.brokerId;
      },
      get haServerAddr() {
        return haAddress(ha, host);
      },
      onMaster(masterAddr, haServerAddr) {
        learned.masterAddr = masterAddr;
        learned.haServerAddr = haServerAddr;
      },
    };
  }

  /** Stop replication and the metadata copy. */
  async close(): Promise<void> {
    await this.#slaveSync?.close();
    await this.#ha.close();
  }
}
