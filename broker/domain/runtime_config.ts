/**
 * The broker config as it may change at run time (`updateBrokerConfig`).
 *
 * Only options every reader looks up per request can change without a
 * restart: {@linkcode RUNTIME_CHANGEABLE_OPTIONS}. An update is validated as a
 * whole (ranges and relations, `validateBrokerConfig`) and swapped in at once.
 * Changes live in memory: put them in the config file or flags to keep them
 * across restarts. Lives on the main thread.
 *
 * @module
 */

import { BROKER_OPTIONS, type BrokerConfig, validateBrokerConfig } from "../config.ts";

/** Options `updateBrokerConfig` may change; the rest need a restart. */
export const RUNTIME_CHANGEABLE_OPTIONS: readonly (keyof BrokerConfig)[] = Object.freeze([
  "autoCreateTopicEnable",
  "defaultTopicQueueNums",
  "topicQueueNumsMax",
  "messageBytesMax",
  "pullMessagesMax",
  "pullSuspendMaxMs",
  "channelExpiredTimeoutMs",
]);

/** Outcome of {@linkcode RuntimeBrokerConfig.update}. */
export type ConfigUpdateResult =
  | { readonly ok: true; readonly changed: readonly string[] }
  | { readonly ok: false; readonly error: string };

/** Holds the current config; readers call `current` each time they need a value. */
export class RuntimeBrokerConfig {
  #current: BrokerConfig;

  /** @param initial The config the broker started with. */
  constructor(initial: BrokerConfig) {
    this.#current = initial;
  }

  /** The config in force. */
  get current(): BrokerConfig {
    return this.#current;
  }

  /**
   * Apply `key=value` changes (RocketMQ's properties text).
   *
   * @param changes Option keys to textual values.
   * @returns The keys changed, or why nothing was.
   */
  update(changes: Readonly<Record<string, string>>): ConfigUpdateResult {
    const next: Record<string, unknown> = { ...this.#current };
    const changed: string[] = [];
    for (const [key, text] of Object.entries(changes)) {
      const option = BROKER_OPTIONS.find((o) => o.key === key);
      if (option === undefined) return { ok: false, error: `Unknown broker option "${key}"` };
      if (!RUNTIME_CHANGEABLE_OPTIONS.includes(option.key)) {
        return {
          ok: false,
          error: `Broker option "${key}" needs a restart; changeable at run time: ${
            RUNTIME_CHANGEABLE_OPTIONS.join(", ")
          }`,
        };
      }
      const value = option.kind === "bool"
        ? (text === "true" ? true : text === "false" ? false : undefined)
        : (/^-?\d+$/.test(text.trim()) ? Number(text.trim()) : undefined);
      if (value === undefined) {
        return { ok: false, error: `Broker option "${key}": "${text}" is not a ${option.kind}` };
      }
      next[key] = value;
      changed.push(key);
    }
    try {
      validateBrokerConfig(next as unknown as BrokerConfig);
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
    this.#current = Object.freeze(next as unknown as BrokerConfig);
    return { ok: true, changed };
  }
}

/**
 * Render a config as RocketMQ's properties text (`key=value` lines, sorted);
 * a set `namesrvSecretKey` is shown as `***`.
 *
 * @param config The config.
 * @returns The text.
 */
export function configToProperties(config: BrokerConfig): string {
  return Object.entries(config).sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${k === "namesrvSecretKey" && v !== "" ? "***" : v}`).join("\n") + "\n";
}

/**
 * Parse RocketMQ's properties text (`key=value` lines; `#` comments).
 *
 * @param text The text.
 * @returns Keys to values.
 */
export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const eq = trimmed.indexOf("=");
    if (eq <= 0) continue;
    out[trimmed.slice(0, eq).trim()] = trimmed.slice(eq + 1).trim();
  }
  return out;
}
