/**
 * Runs the MessageStore contract against `LocalMessageStore`.
 *
 * @module
 */

import { defaultStoreConfig, LocalMessageStore } from "../../store/mod.ts";
import { messageStoreContract } from "./message_store_contract.ts";

messageStoreContract(
  "LocalMessageStore",
  (dataDir, overrides) =>
    new LocalMessageStore(defaultStoreConfig(dataDir, overrides), { diskUsedRatio: () => 0.1 }),
);
