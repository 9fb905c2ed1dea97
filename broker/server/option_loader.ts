/**
 * The options scheme the broker and the name server share: a table of
 * options (key, flag, environment variable, kind, description), built-in
 * defaults, and a loader that merges a JSON config file, environment
 * variables and command-line flags, in that order of precedence over the
 * defaults. No I/O here: the caller hands in the arguments, an environment
 * lookup and a file reader.
 *
 * Flags take `--name value` or `--name=value`; `bool` flags may omit the
 * value. Each process adds its own value kinds (the broker's `flush`,
 * `store`) through `parseKind` and checks ranges in `validate`.
 *
 * @module
 */

/** One row of an options table. */
export interface OptionSpec<C> {
  /** Key in the config and in the JSON config file. */
  readonly key: keyof C & string;
  /** Command-line flag, e.g. `--port`. */
  readonly flag: string;
  /** Environment variable, if any. */
  readonly env?: string;
  /** Value kind: `string`, `int`, `bool`, or one the table's `parseKind` knows. */
  readonly kind: string;
  /** One-line description. */
  readonly description: string;
}

/** Everything the loader needs to know about one process's options. */
export interface OptionTable<C> {
  /** The usage line of the help text, e.g. `deno task namesrv [options]`. */
  readonly usage: string;
  /** The options. */
  readonly options: readonly OptionSpec<C>[];
  /** Built-in defaults of every option. */
  readonly defaults: C;
  /** Environment variable naming the JSON config file, e.g. `RMQ_CONFIG`. */
  readonly configEnv: string;
  /** An example JSON config file for the help text, e.g. `{"port": 10911}`. */
  readonly configExample: string;
  /**
   * Parse a value of a kind beyond `string`, `int` and `bool`.
   *
   * @returns The value, or undefined for a kind it does not know.
   * @throws {TypeError} If the text is not a value of the kind.
   */
  readonly parseKind?: (kind: string, text: string, source: string) => unknown;
  /**
   * Check ranges and relations.
   *
   * @throws {RangeError | TypeError} On a bad config.
   */
  readonly validate: (config: C) => void;
}

/** Inputs of {@linkcode loadOptions}. */
export interface OptionSources {
  /** Command-line arguments (without the program name). */
  readonly args?: readonly string[];
  /** Environment lookup, e.g. `(name) => Deno.env.get(name)`. */
  readonly env?: (name: string) => string | undefined;
  /** Reads the JSON config file, e.g. `Deno.readTextFileSync`. */
  readonly readTextFile?: (path: string) => string;
}

/** Outcome of {@linkcode loadOptions}: a config, or a request for the help text. */
export type LoadOptionsResult<C> =
  | { readonly status: "OK"; readonly config: C }
  | { readonly status: "HELP"; readonly text: string };

/** The flag naming the JSON config file. */
export const CONFIG_FLAG = "--config";

/**
 * Merge defaults, the JSON config file, the environment and flags into a config.
 *
 * @param table The process's options.
 * @param sources Arguments, environment lookup and file reader.
 * @returns The validated, frozen config, or the help text for `--help` / `-h`.
 * @throws {TypeError} On an unknown flag or key, a bad value, an unreadable or invalid config file.
 * @throws {RangeError} On a value outside its allowed range.
 */
export function loadOptions<C>(
  table: OptionTable<C>,
  sources: OptionSources,
): LoadOptionsResult<C> {
  const args = sources.args ?? [];
  const env = sources.env ?? (() => undefined);
  const flagValues = new Map<string, string>();
  let configPath = env(table.configEnv);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") return { status: "HELP", text: optionsHelpText(table) };
    if (!arg.startsWith("--")) throw new TypeError(`Cannot parse arguments: unexpected "${arg}"`);
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const option = table.options.find((o) => o.flag === flag);
    if (flag !== CONFIG_FLAG && option === undefined) {
      throw new TypeError(`Cannot parse arguments: unknown flag "${flag}" (see --help)`);
    }
    let value: string;
    if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else if (option?.kind === "bool" && (i + 1 >= args.length || args[i + 1].startsWith("--"))) {
      value = "true";
    } else {
      if (i + 1 >= args.length) {
        throw new TypeError(`Cannot parse arguments: ${flag} needs a value`);
      }
      value = args[++i];
    }
    if (flag === CONFIG_FLAG) configPath = value;
    else flagValues.set(flag, value);
  }

  const merged = { ...table.defaults } as Record<string, unknown>;
  if (configPath !== undefined && configPath !== "") {
    for (const [key, value] of Object.entries(readConfigFile(configPath, sources.readTextFile))) {
      const option = table.options.find((o) => o.key === key);
      if (option === undefined) {
        throw new TypeError(`Cannot read config file "${configPath}": unknown option "${key}"`);
      }
      const text = typeof value === "string" ? value : JSON.stringify(value);
      merged[key] = parseOptionValue(table, option, text, configPath);
    }
  }
  for (const option of table.options) {
    const text = option.env === undefined ? undefined : env(option.env);
    if (text !== undefined && text !== "") {
      merged[option.key] = parseOptionValue(table, option, text, option.env!);
    }
  }
  for (const option of table.options) {
    const text = flagValues.get(option.flag);
    if (text !== undefined) merged[option.key] = parseOptionValue(table, option, text, option.flag);
  }
  const config = merged as unknown as C;
  table.validate(config);
  return { status: "OK", config: Object.freeze(config) };
}

/**
 * The `--help` text: usage, then every option with its flag, environment variable and default.
 *
 * @param table The process's options.
 * @returns The text.
 */
export function optionsHelpText<C>(table: OptionTable<C>): string {
  const lines = [
    `Usage: ${table.usage}`,
    "",
    "Options (precedence: defaults < --config file < environment < flags):",
    `  ${CONFIG_FLAG} <file>  (env ${table.configEnv})  JSON file with option keys, e.g. ${table.configExample}`,
  ];
  for (const option of table.options) {
    const value = table.defaults[option.key];
    const shown = value === "" ? '""' : String(value);
    const env = option.env === undefined ? "" : `  (env ${option.env})`;
    lines.push(`  ${option.flag} <${option.kind}>${env}  ${option.description}; default ${shown}`);
  }
  lines.push("  --help  print this text");
  return lines.join("\n");
}

function readConfigFile(
  path: string,
  readTextFile: ((path: string) => string) | undefined,
): Record<string, unknown> {
  let parsed: unknown;
  try {
    if (readTextFile === undefined) throw new Error("no file reader given");
    parsed = JSON.parse(readTextFile(path));
  } catch (error) {
    throw new TypeError(`Cannot read config file "${path}": ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new TypeError(`Cannot read config file "${path}": not a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

function parseOptionValue<C>(
  table: OptionTable<C>,
  option: OptionSpec<C>,
  text: string,
  source: string,
): unknown {
  switch (option.kind) {
    case "string":
      return text;
    case "int": {
      const value = /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
      if (!Number.isSafeInteger(value)) {
        throw new TypeError(`Cannot parse ${source}: "${text}" is not an integer`);
      }
      return value;
    }
    case "bool": {
      const lower = text.trim().toLowerCase();
      if (lower === "true" || lower === "1" || lower === "yes") return true;
      if (lower === "false" || lower === "0" || lower === "no") return false;
      throw new TypeError(`Cannot parse ${source}: "${text}" is not a boolean`);
    }
  }
  const value = table.parseKind?.(option.kind, text, source);
  if (value === undefined) {
    throw new TypeError(`Cannot parse ${source}: option kind "${option.kind}" is unknown`);
  }
  return value;
}
