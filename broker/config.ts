/**
 * Broker configuration: the options table, defaults, and the loader that
 * merges a JSON config file, environment variables and command-line flags.
 *
 * Precedence, lowest first: built-in defaults, the JSON config file
 * (`--config` / `RMQ_CONFIG`), environment variables, flags. Every option has
 * a flag (`--data-dir`); some have an environment variable (`RMQ_DATA_DIR`).
 * The JSON file uses the option keys (`{"dataDir": "/var/rmq", "port": 10911}`).
 *
 * This module does no I/O itself: the caller hands in the arguments, an
 * environment lookup and a file reader, so it is testable and runs anywhere.
 *
 * @module
 */

import {
  loadOptions,
  type LoadOptionsResult,
  optionsHelpText,
  type OptionSources,
  type OptionSpec,
  type OptionTable,
} from "./server/option_loader.ts";
import { TIMER_SLOT_COUNT_MAX } from "../store/mod.ts";

/** Flush policy of the store (`sync`: ack after fdatasync). */
export type BrokerFlushMode = "sync" | "async";

/** Which MessageStore the broker builds: `auto` = WorkerMessageStore when available, else LocalMessageStore. */
export type BrokerStoreKind = "auto" | "worker" | "local";

/** Everything configurable about a broker. Defaults in {@linkcode BROKER_CONFIG_DEFAULTS}. */
export interface BrokerConfig {
  /** Address to listen on. */
  readonly listen: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Root directory of the store. */
  readonly dataDir: string;
  /** Store flush policy. */
  readonly flush: BrokerFlushMode;
  /** Store implementation. */
  readonly store: BrokerStoreKind;
  /** Broker name in routes and message queues. */
  readonly brokerName: string;
  /** Cluster name (added to messages as property `CLUSTER`). */
  readonly clusterName: string;
  /** IPv4 address advertised in routes and message ids; empty means the listen address (or 127.0.0.1 for 0.0.0.0). */
  readonly brokerIp: string;
  /** Create unknown topics on first send. */
  readonly autoCreateTopicEnable: boolean;
  /** Queue count of auto-created topics (capped by the producer's request). */
  readonly defaultTopicQueueNums: number;
  /** Most read or write queues one topic may have. */
  readonly topicQueueNumsMax: number;
  /** Largest frame accepted, bytes. */
  readonly frameBytesMax: number;
  /** Largest message body (and whole batch body), bytes. */
  readonly messageBytesMax: number;
  /** Most open client connections; more are closed on accept. */
  readonly connectionsMax: number;
  /** Most requests one connection may have in flight; reading pauses at the limit. */
  readonly inFlightRequestsPerConnectionMax: number;
  /** Most response bytes queued for one connection before it is closed as too slow. */
  readonly outputBytesPerConnectionMax: number;
  /**
   * A connection's requests stop being read while its unsent output (plus the expected output of
   * its running requests, or their bodies) exceeds this; reading resumes at a quarter of it, bytes.
   */
  readonly outputHighWaterBytes: number;
  /** Most unsent response bytes of all connections together; beyond it the largest holder is closed. */
  readonly outputBytesTotalMax: number;
  /** Most bytes of requests being handled, all connections together; reading pauses beyond it. */
  readonly inFlightRequestBytesTotalMax: number;
  /** Longest a pull may be held for long polling, ms (caps the request's suspendTimeoutMillis). */
  readonly pullSuspendMaxMs: number;
  /** Most pulls held for long polling at once; beyond it pulls answer PULL_NOT_FOUND at once. */
  readonly heldPullsMax: number;
  /** Most messages one pull returns. */
  readonly pullMessagesMax: number;
  /** Clients silent for longer than this are dropped from their groups, ms. */
  readonly channelExpiredTimeoutMs: number;
  /** Longest a graceful shutdown waits for in-flight requests, ms. */
  readonly shutdownTimeoutMs: number;
  /** CommitLog segment size, bytes. */
  readonly commitLogSegmentBytes: number;
  /** ConsumeQueue segment size, 20-byte units. */
  readonly consumeQueueSegmentUnits: number;
  /** Most segment files the store keeps open (all threads); idle ones are closed and reopened on demand. */
  readonly openFilesMax: number;
  /** Age after which an unresolved transactional half message is checked, ms. */
  readonly transactionTimeoutMs: number;
  /** Time between transaction check rounds, ms. */
  readonly transactionCheckIntervalMs: number;
  /** Checks of one half message before it is discarded. */
  readonly transactionCheckMax: number;
  /** Timer wheel precision: a timed message is delivered at most this long after it is due, ms. */
  readonly timerPrecisionMs: number;
  /** Slots of the timer wheel; the wheel spans `timerSlotCount * timerPrecisionMs` (farther timers roll). */
  readonly timerSlotCount: number;
  /** Longest accepted delay, ms; 0 means no limit. */
  readonly timerMaxDelayMs: number;
  /** An orderly consumer's queue lock expires this long after its last renewal, ms. */
  readonly rebalanceLockExpiryMs: number;
  /** Deliveries of a failed message before it goes to the group's DLQ (a consumer may ask for another). */
  readonly retryMaxTimes: number;
  /** Name servers to register with, `host:port;host:port`; empty = standalone. */
  readonly namesrvAddr: string;
  /** Time between registrations with the name servers, ms. */
  readonly registerIntervalMs: number;
  /** Broker id in routes: 0 = master (slaves come with replication). */
  readonly brokerId: number;
  /** Port of the gRPC front for RocketMQ 5 clients (local-mode proxy); 0 turns it off. */
  readonly grpcPort: number;
  /** HTTP port of `/metrics`, the dashboard and `/api/` (on the listen address); 0 turns it off. */
  readonly httpPort: number;
  /** Plain ACL file (YAML or JSON); empty means access control is off. */
  readonly aclFile: string;
  /** Access key the broker signs its name-server requests with (empty = unsigned; for a name server with ACL on). */
  readonly namesrvAccessKey: string;
  /** Secret key of `namesrvAccessKey`; never logged, shown as `***` by GET_BROKER_CONFIG. */
  readonly namesrvSecretKey: string;
  /** Sends whose UNIQ_KEY was stored this recently are answered with the original, ms (0 = off; topic attribute `dedup.window.ms` overrides). */
  readonly dedupWindowMs: number;
  /** Most keys the dedup window remembers (oldest forgotten first). */
  readonly dedupKeysMax: number;
  /** Most parked pops per topic, group and queue (beyond: POLLING_FULL). */
  readonly popPollingPerKeyMax: number;
  /** Most parked pops overall (beyond: POLLING_FULL). */
  readonly popPollingTotalMax: number;
  /** HA role: `ASYNC_MASTER`, `SYNC_MASTER` or `SLAVE` (spec §10.1). */
  readonly brokerRole: string;
  /** HA listen port of a master; -1 = listen port + 1, 0 = any free port. */
  readonly haPort: number;
  /** A slave's master HA address `host:port` (empty: from the name server's answer). */
  readonly haMasterAddr: string;
  /** Longest wait of a SYNC_MASTER put for slave acks, ms (then FLUSH_SLAVE_TIMEOUT). */
  readonly slaveTimeoutMs: number;
  /** Copies, master included, a SYNC_MASTER put waits for. */
  readonly inSyncReplicas: number;
  /** A slave farther behind than this is not in sync, bytes. */
  readonly haMaxGapBytes: number;
  /** Longest a pop's checkpoint is held in memory for merging with acks, ms (async flush only; 0 = off). */
  readonly popBufferMergeMs: number;
}

/** How an option's text is parsed. */
export type OptionKind = "string" | "int" | "bool" | "flush" | "store";

/** One row of the options table. */
export interface BrokerOption extends OptionSpec<BrokerConfig> {
  /** Value kind. */
  readonly kind: OptionKind;
}

/** Built-in defaults of every option. */
export const BROKER_CONFIG_DEFAULTS: BrokerConfig = Object.freeze(
  {
    listen: "127.0.0.1",
    port: 10911,
    dataDir: "./data",
    flush: "sync",
    store: "auto",
    brokerName: "broker-a",
    clusterName: "DefaultCluster",
    brokerIp: "",
    autoCreateTopicEnable: false,
    defaultTopicQueueNums: 4,
    topicQueueNumsMax: 1024,
    frameBytesMax: 16 * 1024 * 1024,
    messageBytesMax: 4 * 1024 * 1024,
    connectionsMax: 1024,
    inFlightRequestsPerConnectionMax: 4096,
    outputBytesPerConnectionMax: 64 * 1024 * 1024,
    outputHighWaterBytes: 4 * 1024 * 1024,
    outputBytesTotalMax: 512 * 1024 * 1024,
    inFlightRequestBytesTotalMax: 256 * 1024 * 1024,
    pullSuspendMaxMs: 60_000,
    heldPullsMax: 100_000,
    pullMessagesMax: 1024,
    channelExpiredTimeoutMs: 120_000,
    shutdownTimeoutMs: 10_000,
    commitLogSegmentBytes: 1024 * 1024 * 1024,
    consumeQueueSegmentUnits: 300_000,
    openFilesMax: 512,
    transactionTimeoutMs: 6_000,
    transactionCheckIntervalMs: 30_000,
    transactionCheckMax: 15,
    timerPrecisionMs: 100,
    timerSlotCount: 131_072,
    timerMaxDelayMs: 0,
    rebalanceLockExpiryMs: 60_000,
    retryMaxTimes: 16,
    namesrvAddr: "",
    registerIntervalMs: 30_000,
    brokerId: 0,
    grpcPort: 8081,
    httpPort: 8080,
    aclFile: "",
    namesrvAccessKey: "",
    namesrvSecretKey: "",
    dedupWindowMs: 0,
    dedupKeysMax: 1_000_000,
    popPollingPerKeyMax: 1_024,
    popPollingTotalMax: 100_000,
    brokerRole: "ASYNC_MASTER",
    haPort: -1,
    haMasterAddr: "",
    slaveTimeoutMs: 3_000,
    inSyncReplicas: 2,
    haMaxGapBytes: 256 * 1024 * 1024,
    popBufferMergeMs: 5_000,
  } satisfies BrokerConfig,
);

/** The options table: every option with its flag, environment variable and description. */
export const BROKER_OPTIONS: readonly BrokerOption[] = Object.freeze(
  [
    {
      key: "listen",
      flag: "--listen",
      env: "RMQ_LISTEN",
      kind: "string",
      description: "address to listen on",
    },
    {
      key: "port",
      flag: "--port",
      env: "RMQ_PORT",
      kind: "int",
      description: "TCP port (0 = any free port)",
    },
    {
      key: "dataDir",
      flag: "--data-dir",
      env: "RMQ_DATA_DIR",
      kind: "string",
      description: "store root directory",
    },
    {
      key: "flush",
      flag: "--flush",
      env: "RMQ_FLUSH",
      kind: "flush",
      description: "flush policy: sync (ack after fdatasync) or async",
    },
    {
      key: "store",
      flag: "--store",
      kind: "store",
      description: "store implementation: auto (worker when available), worker or local",
    },
    {
      key: "brokerName",
      flag: "--broker-name",
      kind: "string",
      description: "broker name in routes",
    },
    {
      key: "clusterName",
      flag: "--cluster-name",
      kind: "string",
      description: "cluster name (message property CLUSTER)",
    },
    {
      key: "brokerIp",
      flag: "--broker-ip",
      kind: "string",
      description: "IPv4 advertised in routes and message ids (default: listen address)",
    },
    {
      key: "autoCreateTopicEnable",
      flag: "--auto-create-topic",
      env: "RMQ_AUTO_CREATE_TOPIC",
      kind: "bool",
      description: "create unknown topics on first send",
    },
    {
      key: "defaultTopicQueueNums",
      flag: "--default-topic-queue-nums",
      kind: "int",
      description: "queues of an auto-created topic",
    },
    {
      key: "topicQueueNumsMax",
      flag: "--topic-queue-nums-max",
      kind: "int",
      description: "most queues per topic",
    },
    {
      key: "frameBytesMax",
      flag: "--frame-bytes-max",
      kind: "int",
      description: "largest frame accepted, bytes",
    },
    {
      key: "messageBytesMax",
      flag: "--message-bytes-max",
      kind: "int",
      description: "largest message or batch body, bytes",
    },
    {
      key: "connectionsMax",
      flag: "--connections-max",
      kind: "int",
      description: "most open client connections",
    },
    {
      key: "inFlightRequestsPerConnectionMax",
      flag: "--in-flight-requests-per-connection-max",
      kind: "int",
      description: "most requests in flight per connection",
    },
    {
      key: "outputBytesPerConnectionMax",
      flag: "--output-bytes-per-connection-max",
      kind: "int",
      description: "most queued response bytes per connection",
    },
    {
      key: "outputHighWaterBytes",
      flag: "--output-high-water-bytes",
      kind: "int",
      description: "a connection's reading pauses above this much unsent output",
    },
    {
      key: "outputBytesTotalMax",
      flag: "--output-bytes-total-max",
      kind: "int",
      description: "most unsent response bytes, all connections",
    },
    {
      key: "inFlightRequestBytesTotalMax",
      flag: "--in-flight-request-bytes-total-max",
      kind: "int",
      description: "most bytes of requests in flight, all connections",
    },
    {
      key: "pullSuspendMaxMs",
      flag: "--pull-suspend-max-ms",
      kind: "int",
      description: "longest long-polling hold, ms",
    },
    {
      key: "heldPullsMax",
      flag: "--held-pulls-max",
      kind: "int",
      description: "most pulls held at once",
    },
    {
      key: "pullMessagesMax",
      flag: "--pull-messages-max",
      kind: "int",
      description: "most messages per pull",
    },
    {
      key: "channelExpiredTimeoutMs",
      flag: "--channel-expired-timeout-ms",
      kind: "int",
      description: "drop clients silent this long, ms",
    },
    {
      key: "shutdownTimeoutMs",
      flag: "--shutdown-timeout-ms",
      kind: "int",
      description: "longest graceful shutdown wait, ms",
    },
    {
      key: "commitLogSegmentBytes",
      flag: "--commit-log-segment-bytes",
      kind: "int",
      description: "CommitLog segment size, bytes",
    },
    {
      key: "consumeQueueSegmentUnits",
      flag: "--consume-queue-segment-units",
      kind: "int",
      description: "ConsumeQueue segment size, units",
    },
    {
      key: "openFilesMax",
      flag: "--open-files-max",
      kind: "int",
      description: "most segment files the store keeps open (LRU); keep below ulimit -n",
    },
    {
      key: "transactionTimeoutMs",
      flag: "--transaction-timeout-ms",
      kind: "int",
      description: "check unresolved transactional messages older than this, ms",
    },
    {
      key: "transactionCheckIntervalMs",
      flag: "--transaction-check-interval-ms",
      kind: "int",
      description: "time between transaction check rounds, ms",
    },
    {
      key: "transactionCheckMax",
      flag: "--transaction-check-max",
      kind: "int",
      description: "checks of a transactional message before it is discarded",
    },
    {
      key: "timerPrecisionMs",
      flag: "--timer-precision-ms",
      kind: "int",
      description: "timer wheel precision: longest wait after a message is due, ms",
    },
    {
      key: "timerSlotCount",
      flag: "--timer-slot-count",
      kind: "int",
      description: "timer wheel slots (window = slots x precision; farther timers roll)",
    },
    {
      key: "timerMaxDelayMs",
      flag: "--timer-max-delay-ms",
      kind: "int",
      description: "longest accepted delay, ms (0 = no limit)",
    },
    {
      key: "rebalanceLockExpiryMs",
      flag: "--rebalance-lock-expiry-ms",
      kind: "int",
      description: "an orderly consumer's queue lock expires this long after its renewal, ms",
    },
    {
      key: "retryMaxTimes",
      flag: "--retry-max-times",
      kind: "int",
      description: "redeliveries of a failed message before it goes to the DLQ",
    },
    {
      key: "namesrvAddr",
      flag: "--namesrv-addr",
      env: "RMQ_NAMESRV_ADDR",
      kind: "string",
      description: "name servers to register with, host:port;host:port (empty = standalone)",
    },
    {
      key: "registerIntervalMs",
      flag: "--register-interval-ms",
      kind: "int",
      description: "time between registrations with the name servers, ms",
    },
    {
      key: "brokerId",
      flag: "--broker-id",
      kind: "int",
      description: "broker id in routes (0 = master)",
    },
    {
      key: "grpcPort",
      flag: "--grpc-port",
      env: "RMQ_GRPC_PORT",
      kind: "int",
      description: "gRPC port for RocketMQ 5 clients (0 = off)",
    },
    {
      key: "httpPort",
      flag: "--http-port",
      kind: "int",
      description: "HTTP port of /metrics, the dashboard and /api/ (0 = off)",
    },
    {
      key: "aclFile",
      flag: "--acl-file",
      kind: "string",
      description: "plain ACL file, YAML or JSON (empty = access control off)",
    },
    {
      key: "namesrvAccessKey",
      flag: "--namesrv-access-key",
      kind: "string",
      description: "access key signing requests to the name servers (empty = unsigned)",
    },
    {
      key: "namesrvSecretKey",
      flag: "--namesrv-secret-key",
      kind: "string",
      description: "secret key of --namesrv-access-key (better in the --config file)",
    },
    {
      key: "dedupWindowMs",
      flag: "--dedup-window-ms",
      kind: "int",
      description: "a UNIQ_KEY stored this recently is not stored again, ms (0 = off)",
    },
    {
      key: "dedupKeysMax",
      flag: "--dedup-keys-max",
      kind: "int",
      description: "most keys the dedup window remembers (oldest forgotten first)",
    },
    {
      key: "popPollingPerKeyMax",
      flag: "--pop-polling-per-key-max",
      kind: "int",
      description: "most parked pops per topic, group and queue (beyond: POLLING_FULL)",
    },
    {
      key: "popPollingTotalMax",
      flag: "--pop-polling-total-max",
      kind: "int",
      description: "most parked pops overall (beyond: POLLING_FULL)",
    },
    {
      key: "brokerRole",
      flag: "--broker-role",
      kind: "string",
      description: "HA role: ASYNC_MASTER, SYNC_MASTER or SLAVE",
    },
    {
      key: "haPort",
      flag: "--ha-port",
      kind: "int",
      description: "HA listen port of a master (-1 = listen port + 1, 0 = any free port)",
    },
    {
      key: "haMasterAddr",
      flag: "--ha-master-addr",
      kind: "string",
      description: "a slave's master HA address host:port (empty = from the name server)",
    },
    {
      key: "slaveTimeoutMs",
      flag: "--slave-timeout-ms",
      kind: "int",
      description: "longest SYNC_MASTER wait for slave acks, ms (then FLUSH_SLAVE_TIMEOUT)",
    },
    {
      key: "inSyncReplicas",
      flag: "--in-sync-replicas",
      kind: "int",
      description: "copies, master included, a SYNC_MASTER put waits for",
    },
    {
      key: "haMaxGapBytes",
      flag: "--ha-max-gap-bytes",
      kind: "int",
      description: "a slave farther behind than this is not in sync, bytes",
    },
    {
      key: "popBufferMergeMs",
      flag: "--pop-buffer-merge-ms",
      kind: "int",
      description: "ms a pop checkpoint may wait in memory for acks (async flush; 0 = off)",
    },
  ] satisfies BrokerOption[],
);

/** Outcome of {@linkcode loadBrokerConfig}: a config, or a request for the help text. */
export type LoadBrokerConfigResult = LoadOptionsResult<BrokerConfig>;

/** Inputs of {@linkcode loadBrokerConfig}: arguments, environment lookup, config-file reader. */
export type BrokerConfigSources = OptionSources;

const BROKER_OPTION_TABLE: OptionTable<BrokerConfig> = {
  usage: "deno run --allow-net --allow-read --allow-write --allow-env broker/main.ts [options]",
  options: BROKER_OPTIONS,
  defaults: BROKER_CONFIG_DEFAULTS,
  configEnv: "RMQ_CONFIG",
  configExample: '{"port": 10911}',
  parseKind: (kind, text, source) => {
    if (kind === "flush") {
      if (text === "sync" || text === "async") return text;
      throw new TypeError(`Cannot parse ${source}: "${text}" is not "sync" or "async"`);
    }
    if (kind === "store") {
      if (text === "auto" || text === "worker" || text === "local") return text;
      throw new TypeError(`Cannot parse ${source}: "${text}" is not "auto", "worker" or "local"`);
    }
    return undefined;
  },
  validate: (config) => validateBrokerConfig(config),
};

/**
 * Merge defaults, the JSON config file, the environment and flags into a config.
 *
 * Flags take `--name value` or `--name=value`; boolean flags may omit the value
 * (`--auto-create-topic`). `--help` / `-h` returns the help text instead.
 *
 * @param sources Arguments, environment lookup and file reader.
 * @returns The validated config, or the help text.
 * @throws {TypeError} On an unknown flag, a bad value, an unreadable or invalid config file.
 * @throws {RangeError} On a value outside its allowed range.
 */
export function loadBrokerConfig(sources: BrokerConfigSources = {}): LoadBrokerConfigResult {
  return loadOptions(BROKER_OPTION_TABLE, sources);
}

/**
 * Check a config's ranges and the relations between its limits.
 *
 * @param config The config to check.
 * @throws {RangeError} On a value outside its range.
 * @throws {TypeError} On a malformed address.
 */
export function validateBrokerConfig(config: BrokerConfig): void {
  const range = (key: keyof BrokerConfig, min: number, max: number): void => {
    const value = config[key] as number;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new RangeError(`Invalid broker config: ${key} is ${value}, allowed ${min}..${max}`);
    }
  };
  range("port", 0, 65535);
  range("defaultTopicQueueNums", 1, config.topicQueueNumsMax);
  range("topicQueueNumsMax", 1, 65535);
  range("frameBytesMax", 1024, 2 ** 31 - 1);
  range("messageBytesMax", 1, config.frameBytesMax - 1024);
  range("connectionsMax", 1, 1_000_000);
  range("inFlightRequestsPerConnectionMax", 1, 1_000_000);
  range("outputBytesPerConnectionMax", config.frameBytesMax, Number.MAX_SAFE_INTEGER);
  range("outputHighWaterBytes", 64 * 1024, config.outputBytesPerConnectionMax);
  range("outputBytesTotalMax", config.outputBytesPerConnectionMax, Number.MAX_SAFE_INTEGER);
  range("inFlightRequestBytesTotalMax", config.frameBytesMax, Number.MAX_SAFE_INTEGER);
  range("pullSuspendMaxMs", 0, 3_600_000);
  range("heldPullsMax", 0, 10_000_000);
  range("pullMessagesMax", 1, 65536);
  range("channelExpiredTimeoutMs", 1000, Number.MAX_SAFE_INTEGER);
  range("shutdownTimeoutMs", 0, 3_600_000);
  range("commitLogSegmentBytes", 4096, 2 ** 40);
  range("consumeQueueSegmentUnits", 1, 2 ** 31 - 1);
  range("openFilesMax", 32, 1_000_000);
  range("transactionTimeoutMs", 1, Number.MAX_SAFE_INTEGER);
  range("transactionCheckIntervalMs", 1, Number.MAX_SAFE_INTEGER);
  range("transactionCheckMax", 1, 1_000_000);
  range("timerPrecisionMs", 1, 60_000);
  range("timerSlotCount", 64, TIMER_SLOT_COUNT_MAX);
  range("timerMaxDelayMs", 0, Number.MAX_SAFE_INTEGER);
  range("rebalanceLockExpiryMs", 1, Number.MAX_SAFE_INTEGER);
  range("retryMaxTimes", 0, 1_000_000);
  range("registerIntervalMs", 1_000, 3_600_000);
  range("brokerId", 0, 1_000_000);
  for (const addr of splitNamesrvAddr(config.namesrvAddr)) {
    if (!/^[^\s:;]+:\d{1,5}$/.test(addr)) {
      throw new TypeError(`Invalid broker config: namesrvAddr "${addr}" is not host:port`);
    }
  }
  if ((config.namesrvAccessKey === "") !== (config.namesrvSecretKey === "")) {
    throw new RangeError(
      "Invalid broker config: give both namesrvAccessKey and namesrvSecretKey, or neither",
    );
  }
  range("grpcPort", 0, 65535);
  range("httpPort", 0, 65535);
  range("dedupWindowMs", 0, 7 * 24 * 3_600_000);
  range("dedupKeysMax", 1, 100_000_000);
  range("popPollingPerKeyMax", 1, 10_000_000);
  range("popPollingTotalMax", 1, 10_000_000);
  if (!["ASYNC_MASTER", "SYNC_MASTER", "SLAVE"].includes(config.brokerRole)) {
    throw new RangeError(
      `Invalid broker config: brokerRole is "${config.brokerRole}", allowed ASYNC_MASTER, SYNC_MASTER, SLAVE`,
    );
  }
  range("haPort", -1, 65535);
  range("slaveTimeoutMs", 1, 3_600_000);
  range("inSyncReplicas", 1, 16);
  range("haMaxGapBytes", 0, Number.MAX_SAFE_INTEGER);
  if (config.haMasterAddr !== "" && !/^[^\s:;]+:\d{1,5}$/.test(config.haMasterAddr)) {
    throw new TypeError(
      `Invalid broker config: haMasterAddr "${config.haMasterAddr}" is not host:port`,
    );
  }
  range("popBufferMergeMs", 0, 60_000);
  if (config.brokerName === "" || config.clusterName === "") {
    throw new RangeError("Invalid broker config: brokerName and clusterName must not be empty");
  }
  if (config.brokerIp !== "" && parseIpv4(config.brokerIp) === undefined) {
    throw new TypeError(
      `Invalid broker config: brokerIp "${config.brokerIp}" is not an IPv4 address`,
    );
  }
}

/**
 * The name-server addresses of a `host:port;host:port` list.
 *
 * @param text The list (empty = none).
 * @returns The addresses, trimmed, empty items dropped.
 */
export function splitNamesrvAddr(text: string): string[] {
  return text.split(";").map((a) => a.trim()).filter((a) => a !== "");
}

/**
 * Parse a dotted IPv4 address.
 *
 * @param text e.g. `"127.0.0.1"`.
 * @returns The 4 address bytes, or undefined if `text` is not an IPv4 address.
 */
export function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i])) return undefined;
    const n = Number(parts[i]);
    if (n > 255) return undefined;
    bytes[i] = n;
  }
  return bytes;
}

/**
 * The `--help` text.
 *
 * @returns Usage and every option with its flag, environment variable and default.
 */
export function brokerHelpText(): string {
  return optionsHelpText(BROKER_OPTION_TABLE);
}
