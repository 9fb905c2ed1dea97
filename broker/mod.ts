/**
 * A single-node broker speaking Apache RocketMQ's remoting protocol over TCP.
 *
 * ```ts ignore
 * import { Broker, BROKER_CONFIG_DEFAULTS } from "@rmq/broker/broker";
 *
 * await using broker = await Broker.start({
 *   config: { ...BROKER_CONFIG_DEFAULTS, port: 0, dataDir: "/tmp/rmq" },
 * });
 * console.log(`listening on ${broker.port}`);
 * ```
 *
 * @module
 */

export { Broker, type BrokerStartOptions } from "./broker.ts";
export {
  BROKER_CONFIG_DEFAULTS,
  BROKER_OPTIONS,
  type BrokerConfig,
  type BrokerConfigSources,
  type BrokerFlushMode,
  brokerHelpText,
  type BrokerOption,
  type BrokerStoreKind,
  loadBrokerConfig,
  type LoadBrokerConfigResult,
  type OptionKind,
  validateBrokerConfig,
} from "./config.ts";
export type { CancelTimer, Clock } from "./domain/clock.ts";
export type { LogSink } from "./server/request_router.ts";
export type {
  ConsumerOffsetEntry,
  GetMessageRequest,
  GetMessageResult,
  GetStatus,
  HostAddress,
  MessageArrival,
  MessageFilter,
  MessageStore,
  MessageToPut,
  PutMessageResult,
  PutStatus,
  ReplicaAppendResult,
  StoredMessage,
  StoreStats,
} from "../store/mod.ts";
