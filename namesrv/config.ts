/**
 * Name-server configuration: the options table, defaults, and the loader that
 * merges a JSON config file, environment variables and command-line flags —
 * the same scheme as the broker's (`broker/config.ts`).
 *
 * Precedence, lowest first: defaults, the JSON file (`--config` /
 * `RMQ_NAMESRV_CONFIG`), environment variables, flags. No I/O here: the
 * caller hands in the arguments, an environment lookup and a file reader.
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
} from "../broker/server/option_loader.ts";

/** Everything configurable about a name server. Defaults in {@linkcode NAMESRV_CONFIG_DEFAULTS}. */
export interface NamesrvConfig {
  /** Address to listen on. */
  readonly listen: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Directory of `kvConfig.json`. */
  readonly dataDir: string;
  /** A broker silent this long is removed (when it names no timeout itself), ms. */
  readonly brokerExpiryMs: number;
  /** Time between scans for silent brokers, ms. */
  readonly scanIntervalMs: number;
  /** Largest frame accepted, bytes. */
  readonly frameBytesMax: number;
  /** Most open connections. */
  readonly connectionsMax: number;
  /** Plain ACL file (YAML or JSON, reloaded on change); empty = access control off. */
  readonly aclFile: string;
}

/** Value kind of a name-server option. */
export type NamesrvOptionKind = "string" | "int";

/** One row of the options table. */
export interface NamesrvOption extends OptionSpec<NamesrvConfig> {
  /** Value kind. */
  readonly kind: NamesrvOptionKind;
}

/** Built-in defaults (RocketMQ's port 9876, 120 s expiry, 5 s scan). */
export const NAMESRV_CONFIG_DEFAULTS: NamesrvConfig = Object.freeze({
  listen: "127.0.0.1",
  port: 9876,
  dataDir: "./data/namesrv",
  brokerExpiryMs: 120_000,
  scanIntervalMs: 5_000,
  frameBytesMax: 16 * 1024 * 1024,
  connectionsMax: 10_000,
  aclFile: "",
});

/** Most requests in flight per connection (not an option: name-server requests are small). */
export const NAMESRV_IN_FLIGHT_REQUESTS_PER_CONNECTION_MAX = 1024;
/** Most queued response bytes per connection before it is closed as too slow. */
export const NAMESRV_OUTPUT_BYTES_PER_CONNECTION_MAX = 64 * 1024 * 1024;
/** Unsent bytes above which a connection stops being read until it drains. */
export const NAMESRV_OUTPUT_HIGH_WATER_BYTES = 4 * 1024 * 1024;
/** Unsent response bytes of all connections together. */
export const NAMESRV_OUTPUT_BYTES_TOTAL_MAX = 256 * 1024 * 1024;
/** Bytes of requests being handled, all connections together. */
export const NAMESRV_IN_FLIGHT_REQUEST_BYTES_TOTAL_MAX = 256 * 1024 * 1024;

/** The options table. */
export const NAMESRV_OPTIONS: readonly NamesrvOption[] = Object.freeze(
  [
    {
      key: "listen",
      flag: "--listen",
      env: "RMQ_NAMESRV_LISTEN",
      kind: "string",
      description: "address to listen on",
    },
    {
      key: "port",
      flag: "--port",
      env: "RMQ_NAMESRV_PORT",
      kind: "int",
      description: "TCP port (0 = any free port)",
    },
    {
      key: "dataDir",
      flag: "--data-dir",
      env: "RMQ_NAMESRV_DATA_DIR",
      kind: "string",
      description: "directory of kvConfig.json",
    },
    {
      key: "brokerExpiryMs",
      flag: "--broker-expiry-ms",
      kind: "int",
      description: "remove a broker silent this long, ms",
    },
    {
      key: "scanIntervalMs",
      flag: "--scan-interval-ms",
      kind: "int",
      description: "time between scans for silent brokers, ms",
    },
    {
      key: "frameBytesMax",
      flag: "--frame-bytes-max",
      kind: "int",
      description: "largest frame accepted, bytes",
    },
    {
      key: "connectionsMax",
      flag: "--connections-max",
      kind: "int",
      description: "most open connections",
    },
    {
      key: "aclFile",
      flag: "--acl-file",
      kind: "string",
      description: "plain ACL file, YAML or JSON; empty = off",
    },
  ] satisfies NamesrvOption[],
);

/** Outcome of {@linkcode loadNamesrvConfig}: a config, or a request for the help text. */
export type LoadNamesrvConfigResult = LoadOptionsResult<NamesrvConfig>;

/** Inputs of {@linkcode loadNamesrvConfig}: arguments, environment lookup, config-file reader. */
export type NamesrvConfigSources = OptionSources;

const NAMESRV_OPTION_TABLE: OptionTable<NamesrvConfig> = {
  usage: "deno task namesrv [options]",
  options: NAMESRV_OPTIONS,
  defaults: NAMESRV_CONFIG_DEFAULTS,
  configEnv: "RMQ_NAMESRV_CONFIG",
  configExample: '{"port": 9876}',
  validate: (config) => validateNamesrvConfig(config),
};

/**
 * Merge defaults, the JSON file, the environment and flags (the broker's scheme:
 * `broker/server/option_loader.ts`).
 *
 * @param sources Arguments, environment lookup and file reader.
 * @returns The validated config, or the help text for `--help`.
 * @throws {TypeError} On an unknown flag or key, a bad value or an unreadable file.
 * @throws {RangeError} On a value outside its range.
 */
export function loadNamesrvConfig(sources: NamesrvConfigSources = {}): LoadNamesrvConfigResult {
  return loadOptions(NAMESRV_OPTION_TABLE, sources);
}

/**
 * Check ranges.
 *
 * @param config The config.
 * @throws {RangeError} On a value outside its range.
 */
export function validateNamesrvConfig(config: NamesrvConfig): void {
  const range = (key: keyof NamesrvConfig, min: number, max: number): void => {
    const value = config[key] as number;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new RangeError(
        `Invalid name server config: ${key} is ${value}, allowed ${min}..${max}`,
      );
    }
  };
  range("port", 0, 65535);
  range("brokerExpiryMs", 100, Number.MAX_SAFE_INTEGER);
  range("scanIntervalMs", 10, config.brokerExpiryMs);
  range("frameBytesMax", 1024, 2 ** 31 - 1);
  range("connectionsMax", 1, 1_000_000);
}

/**
 * The `--help` text.
 *
 * @returns Usage and every option with its flag, environment variable and default.
 */
export function namesrvHelpText(): string {
  return optionsHelpText(NAMESRV_OPTION_TABLE);
}
