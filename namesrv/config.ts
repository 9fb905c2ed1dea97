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
export interface NamesrvOption {
  /** Key in {@linkcode NamesrvConfig} and in the JSON file. */
  readonly key: keyof NamesrvConfig;
  /** Command-line flag. */
  readonly flag: string;
  /** Environment variable, if any. */
  readonly env?: string;
  /** Value kind. */
  readonly kind: NamesrvOptionKind;
  /** One-line description. */
  readonly description: string;
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

/** Outcome of {@linkcode loadNamesrvConfig}. */
export type LoadNamesrvConfigResult =
  | { readonly status: "OK"; readonly config: NamesrvConfig }
  | { readonly status: "HELP"; readonly text: string };

/** Inputs of {@linkcode loadNamesrvConfig}. */
export interface NamesrvConfigSources {
  /** Command-line arguments. */
  readonly args?: readonly string[];
  /** Environment lookup. */
  readonly env?: (name: string) => string | undefined;
  /** Reads the JSON config file. */
  readonly readTextFile?: (path: string) => string;
}

const CONFIG_FLAG = "--config";
const CONFIG_ENV = "RMQ_NAMESRV_CONFIG";

/**
 * Merge defaults, the JSON file, the environment and flags.
 *
 * @param sources Arguments, environment lookup and file reader.
 * @returns The validated config, or the help text for `--help`.
 * @throws {TypeError} On an unknown flag or key, a bad value or an unreadable file.
 * @throws {RangeError} On a value outside its range.
 */
export function loadNamesrvConfig(sources: NamesrvConfigSources = {}): LoadNamesrvConfigResult {
  const args = sources.args ?? [];
  const env = sources.env ?? (() => undefined);
  const flags = new Map<string, string>();
  let configPath = env(CONFIG_ENV);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") return { status: "HELP", text: namesrvHelpText() };
    if (!arg.startsWith("--")) throw new TypeError(`Cannot parse arguments: unexpected "${arg}"`);
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    if (flag !== CONFIG_FLAG && !NAMESRV_OPTIONS.some((o) => o.flag === flag)) {
      throw new TypeError(`Cannot parse arguments: unknown flag "${flag}" (see --help)`);
    }
    if (eq === -1 && i + 1 >= args.length) {
      throw new TypeError(`Cannot parse arguments: ${flag} needs a value`);
    }
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (flag === CONFIG_FLAG) configPath = value;
    else flags.set(flag, value);
  }
  const merged: Record<string, unknown> = { ...NAMESRV_CONFIG_DEFAULTS };
  if (configPath !== undefined && configPath !== "") {
    let parsed: unknown;
    try {
      if (sources.readTextFile === undefined) throw new Error("no file reader given");
      parsed = JSON.parse(sources.readTextFile(configPath));
    } catch (error) {
      throw new TypeError(`Cannot read config file "${configPath}": ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new TypeError(`Cannot read config file "${configPath}": not a JSON object`);
    }
    for (const [key, value] of Object.entries(parsed)) {
      const option = NAMESRV_OPTIONS.find((o) => o.key === key);
      if (option === undefined) {
        throw new TypeError(`Cannot read config file "${configPath}": unknown option "${key}"`);
      }
      merged[key] = parseValue(option, String(value), configPath);
    }
  }
  for (const option of NAMESRV_OPTIONS) {
    const text = option.env === undefined ? undefined : env(option.env);
    if (text !== undefined && text !== "") {
      merged[option.key] = parseValue(option, text, option.env!);
    }
  }
  for (const option of NAMESRV_OPTIONS) {
    const text = flags.get(option.flag);
    if (text !== undefined) merged[option.key] = parseValue(option, text, option.flag);
  }
  const config = merged as unknown as NamesrvConfig;
  validateNamesrvConfig(config);
  return { status: "OK", config: Object.freeze(config) };
}

function parseValue(option: NamesrvOption, text: string, source: string): string | number {
  if (option.kind === "string") return text;
  const value = /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new TypeError(`Cannot parse ${source}: "${text}" is not an integer`);
  }
  return value;
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
  const lines = [
    "Usage: deno task namesrv [options]",
    "",
    "Options (precedence: defaults < --config file < environment < flags):",
    `  ${CONFIG_FLAG} <file>  (env ${CONFIG_ENV})  JSON file with option keys, e.g. {"port": 9876}`,
  ];
  for (const option of NAMESRV_OPTIONS) {
    const env = option.env === undefined ? "" : `  (env ${option.env})`;
    lines.push(
      `  ${option.flag} <${option.kind}>${env}  ${option.description}; default ${
        NAMESRV_CONFIG_DEFAULTS[option.key]
      }`,
    );
  }
  lines.push("  --help  print this text");
  return lines.join("\n");
}
