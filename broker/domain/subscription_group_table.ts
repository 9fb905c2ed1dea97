/**
 * The broker's subscription groups (RocketMQ `SubscriptionGroupManager`):
 * per consumer group settings an operator sets with `updateSubGroup`.
 *
 * Enforced here: `retryMaxTimes` (attempts before a failed message goes to
 * `%DLQ%group`, used by send-back when the consumer does not ask for its own)
 * and `consumeEnable` (false: the group's pulls are refused). The other
 * fields of RocketMQ's `SubscriptionGroupConfig` are kept and reported so
 * RocketMQ tools read the same JSON, but nothing acts on them yet.
 *
 * Persisted as the `subscriptionGroups` document:
 * `{"subscriptionGroupTable": {name: config}, "dataVersion": {...}}`.
 * Lives on the main thread.
 *
 * @module
 */

import type { ConfigDocuments, DataVersion } from "./topic_table.ts";

/** Name of the subscription groups document (`config/subscriptionGroups.json`). */
export const SUBSCRIPTION_GROUPS_DOCUMENT = "subscriptionGroups";

/** Most subscription groups one broker keeps. */
export const SUBSCRIPTION_GROUPS_MAX = 100_000;

/** One group's settings, RocketMQ's `SubscriptionGroupConfig` JSON. */
export interface SubscriptionGroupConfig {
  readonly groupName: string;
  /** False: pulls of the group are refused (NO_PERMISSION). */
  readonly consumeEnable: boolean;
  readonly consumeFromMinEnable: boolean;
  readonly consumeBroadcastEnable: boolean;
  readonly consumeMessageOrderly: boolean;
  /** Queues of `%RETRY%group` (informational). */
  readonly retryQueueNums: number;
  /** Attempts before the DLQ; -1 means the broker default (`--retry-max-times`). */
  readonly retryMaxTimes: number;
  readonly brokerId: number;
  readonly whichBrokerWhenConsumeSlowly: number;
  readonly notifyConsumerIdsChangedEnable: boolean;
}

/** Outcome of {@linkcode parseSubscriptionGroupConfig}. */
export type SubscriptionGroupResult =
  | { readonly ok: true; readonly config: SubscriptionGroupConfig }
  | { readonly ok: false; readonly error: string };

/**
 * Validate a group config from JSON, filling RocketMQ's defaults.
 *
 * @param raw The parsed JSON object.
 * @returns The config, or the first bad field.
 */
export function parseSubscriptionGroupConfig(raw: unknown): SubscriptionGroupResult {
  if (typeof raw !== "object" || raw === null) return { ok: false, error: "not an object" };
  const r = raw as Record<string, unknown>;
  const groupName = r.groupName;
  if (typeof groupName !== "string" || !/^[A-Za-z0-9_%|-]{1,120}$/.test(groupName)) {
    return { ok: false, error: `groupName "${groupName}" is not a valid group name` };
  }
  const bool = (key: string, fallback: boolean) =>
    r[key] === undefined ? fallback : r[key] === true || r[key] === "true";
  const int = (key: string, fallback: number, min: number, max: number): number | string => {
    const value = r[key] === undefined ? fallback : Number(r[key]);
    return Number.isSafeInteger(value) && value >= min && value <= max
      ? value
      : `${key} is ${r[key]}, allowed ${min}..${max}`;
  };
  const retryQueueNums = int("retryQueueNums", 1, 1, 1024);
  const retryMaxTimes = int("retryMaxTimes", 16, -1, 1_000_000);
  const brokerId = int("brokerId", 0, 0, 1_000_000);
  const slowly = int("whichBrokerWhenConsumeSlowly", 1, 0, 1_000_000);
  for (const value of [retryQueueNums, retryMaxTimes, brokerId, slowly]) {
    if (typeof value === "string") return { ok: false, error: value };
  }
  return {
    ok: true,
    config: Object.freeze({
      groupName,
      consumeEnable: bool("consumeEnable", true),
      consumeFromMinEnable: bool("consumeFromMinEnable", true),
      consumeBroadcastEnable: bool("consumeBroadcastEnable", true),
      consumeMessageOrderly: bool("consumeMessageOrderly", false),
      retryQueueNums: retryQueueNums as number,
      retryMaxTimes: retryMaxTimes as number,
      brokerId: brokerId as number,
      whichBrokerWhenConsumeSlowly: slowly as number,
      notifyConsumerIdsChangedEnable: bool("notifyConsumerIdsChangedEnable", true),
    }),
  };
}

/** Every subscription group of this broker. Persists run one at a time in change order. */
export class SubscriptionGroupTable {
  readonly #groups = new Map<string, SubscriptionGroupConfig>();
  readonly #documents: ConfigDocuments;
  readonly #nowMs: () => number;
  #dataVersion: DataVersion;
  #persisting: Promise<void> = Promise.resolve();

  /**
   * @param documents Where the table is persisted.
   * @param nowMs Clock, epoch ms.
   */
  constructor(documents: ConfigDocuments, nowMs: () => number) {
    this.#documents = documents;
    this.#nowMs = nowMs;
    this.#dataVersion = { stateVersion: 0, timestamp: nowMs(), counter: 0 };
  }

  /**
   * Load the persisted table.
   *
   * @throws {TypeError} If the document exists but is not a valid table.
   */
  async load(): Promise<void> {
    const text = await this.#documents.loadConfig(SUBSCRIPTION_GROUPS_DOCUMENT);
    if (text === undefined || text.trim() === "") return;
    let parsed: { subscriptionGroupTable?: Record<string, unknown>; dataVersion?: DataVersion };
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new TypeError(`Cannot load subscription groups: ${(error as Error).message}`, {
        cause: error,
      });
    }
    for (const raw of Object.values(parsed.subscriptionGroupTable ?? {})) {
      const result = parseSubscriptionGroupConfig(raw);
      if (!result.ok) throw new TypeError(`Cannot load subscription groups: ${result.error}`);
      this.#groups.set(result.config.groupName, result.config);
    }
    if (parsed.dataVersion !== undefined) this.#dataVersion = parsed.dataVersion;
  }

  /**
   * A group's settings.
   *
   * @param group Group name.
   * @returns The config, undefined when the group has none.
   */
  get(group: string): SubscriptionGroupConfig | undefined {
    return this.#groups.get(group);
  }

  /**
   * Every group, sorted by name.
   *
   * @returns The configs.
   */
  list(): SubscriptionGroupConfig[] {
    return [...this.#groups.values()].sort((a, b) => a.groupName.localeCompare(b.groupName));
  }

  /**
   * Create or replace a group's settings and persist.
   *
   * @param config The settings.
   * @throws {RangeError} Past {@linkcode SUBSCRIPTION_GROUPS_MAX} groups.
   */
  put(config: SubscriptionGroupConfig): Promise<void> {
    if (!this.#groups.has(config.groupName) && this.#groups.size >= SUBSCRIPTION_GROUPS_MAX) {
      throw new RangeError(
        `Cannot add subscription group: ${this.#groups.size} groups, limit is ${SUBSCRIPTION_GROUPS_MAX}`,
      );
    }
    this.#groups.set(config.groupName, config);
    return this.#persist();
  }

  /**
   * Remove a group's settings and persist.
   *
   * @param group Group name.
   * @returns True if the group existed.
   */
  async delete(group: string): Promise<boolean> {
    if (!this.#groups.delete(group)) return false;
    await this.#persist();
    return true;
  }

  /**
   * The table as RocketMQ's JSON.
   *
   * @returns `{"subscriptionGroupTable": {...}, "dataVersion": {...}}`.
   */
  toJson(): string {
    const subscriptionGroupTable = Object.fromEntries(this.list().map((g) => [g.groupName, g]));
    return JSON.stringify({ subscriptionGroupTable, dataVersion: this.#dataVersion }, null, 2);
  }

  #persist(): Promise<void> {
    this.#dataVersion = {
      stateVersion: this.#dataVersion.stateVersion,
      timestamp: this.#nowMs(),
      counter: this.#dataVersion.counter + 1,
    };
    const next = this.#persisting.catch(() => {}).then(() =>
      this.#documents.persistConfig(SUBSCRIPTION_GROUPS_DOCUMENT, this.toJson())
    );
    this.#persisting = next;
    return next;
  }
}
