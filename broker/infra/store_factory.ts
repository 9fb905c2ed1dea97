/**
 * Builds the production MessageStore for a broker config.
 *
 * @module
 */

import * as storeModule from "../../store/mod.ts";
import type { HostAddress, MessageStore, MessageStoreConfig } from "../../store/mod.ts";
import type { BrokerConfig } from "../config.ts";

/** A store class with the constructor both implementations share. */
type StoreClass = new (config: MessageStoreConfig) => MessageStore;

/**
 * The store config a broker config implies.
 *
 * @param config Broker config.
 * @param storeHost The broker's advertised address (STOREHOST of every record).
 * @returns The store config.
 */
export function storeConfigFor(config: BrokerConfig, storeHost: HostAddress): MessageStoreConfig {
  return storeModule.defaultStoreConfig(config.dataDir, {
    flushMode: config.flush,
    storeHost,
    commitLogSegmentBytes: config.commitLogSegmentBytes,
    consumeQueueSegmentUnits: config.consumeQueueSegmentUnits,
    openFilesMax: config.openFilesMax,
  });
}

/**
 * The WorkerMessageStore class, when `store/mod.ts` exports it.
 *
 * @returns The class, or undefined.
 */
export function workerStoreClass(): StoreClass | undefined {
  return (storeModule as unknown as { WorkerMessageStore?: StoreClass }).WorkerMessageStore;
}

/**
 * Create (not yet open) the store a broker runs on: the worker-backed store
 * (production) when available and not ruled out by `config.store`, else the
 * in-process LocalMessageStore.
 *
 * @param config Broker config.
 * @param storeHost The broker's advertised address.
 * @returns The store; call `open()` before use.
 * @throws {TypeError} If `config.store` is `worker` and no WorkerMessageStore is available.
 */
export function createMessageStore(config: BrokerConfig, storeHost: HostAddress): MessageStore {
  const storeConfig = storeConfigFor(config, storeHost);
  const warning = storeModule.openFilesWarning(config.openFilesMax);
  if (warning !== undefined) {
    console.warn(
      JSON.stringify({ time: new Date().toISOString(), level: "warn", message: warning }),
    );
  }
  const worker = workerStoreClass();
  if (config.store === "worker" && worker === undefined) {
    throw new TypeError("Cannot create store: WorkerMessageStore is not available in store/mod.ts");
  }
  if (config.store !== "local" && worker !== undefined) return new worker(storeConfig);
  return new storeModule.LocalMessageStore(storeConfig);
}
