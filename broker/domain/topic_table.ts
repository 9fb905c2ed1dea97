/**
 * The broker's topic table (RocketMQ `TopicConfigManager`).
 *
 * @module
 */

import {
  AUTO_CREATE_TEMPLATE_TOPIC,
  createTopicConfig,
  Perm,
  PERM_READ_WRITE,
  type TopicConfig,
} from "./topic_config.ts";

/** Where named metadata documents live (the MessageStore satisfies it). */
export interface ConfigDocuments {
  /** Read a document, undefined when it does not exist. */
  loadConfig(name: string): Promise<string | undefined>;
  /** Atomically replace a document. */
  persistConfig(name: string, text: string): Promise<void>;
}

/** RocketMQ's `DataVersion`: bumped on every change of the table. */
export interface DataVersion {
  readonly stateVersion: number;
  readonly timestamp: number;
  readonly counter: number;
}

/** Name of the topics document (`config/topics.json`). */
export const TOPICS_DOCUMENT = "topics";

/**
 * Every topic this broker serves, persisted as the `topics` document:
 * `{"topicConfigTable": {name: TopicConfig}, "dataVersion": {...}}`.
 *
 * Lives on the main thread. Depends on a {@linkcode ConfigDocuments} store and
 * a clock. Invariant: every persisted change bumps `dataVersion.counter`;
 * persists run one at a time in change order, so the last write wins on disk.
 * The auto-create template `TBW102` is kept in memory only (when enabled).
 */
export class TopicTable {
  readonly #topics = new Map<string, TopicConfig>();
  readonly #documents: ConfigDocuments;
  readonly #nowMs: () => number;
  #dataVersion: DataVersion;
  #persisting: Promise<void> = Promise.resolve();
  readonly #changeListeners = new Set<() => void>();

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
   * @param templateQueueNums When set, also create the in-memory auto-create
   *   template `TBW102` with this many queues.
   * @throws {TypeError} If the document exists but is not a valid topic table.
   */
  async load(templateQueueNums?: number): Promise<void> {
    const text = await this.#documents.loadConfig(TOPICS_DOCUMENT);
    if (text !== undefined && text.trim() !== "") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        throw new TypeError(`Cannot load topics: ${(error as Error).message}`, { cause: error });
      }
      const table = (parsed as { topicConfigTable?: unknown })?.topicConfigTable;
      if (typeof table !== "object" || table === null) {
        throw new TypeError("Cannot load topics: topicConfigTable is missing");
      }
      for (const [name, raw] of Object.entries(table as Record<string, unknown>)) {
        const r = raw as Partial<TopicConfig>;
        this.#topics.set(
          name,
          createTopicConfig(name, {
            readQueueNums: Number(r.readQueueNums ?? 16),
            writeQueueNums: Number(r.writeQueueNums ?? 16),
            perm: Number(r.perm ?? PERM_READ_WRITE),
            topicFilterType: String(r.topicFilterType ?? "SINGLE_TAG"),
            topicSysFlag: Number(r.topicSysFlag ?? 0),
            order: Boolean(r.order ?? false),
            attributes: (r.attributes ?? {}) as Record<string, string>,
          }),
        );
      }
      const version = (parsed as { dataVersion?: Partial<DataVersion> }).dataVersion;
      if (version !== undefined) {
        this.#dataVersion = {
          stateVersion: Number(version.stateVersion ?? 0),
          timestamp: Number(version.timestamp ?? this.#nowMs()),
          counter: Number(version.counter ?? 0),
        };
      }
    }
    if (templateQueueNums !== undefined) {
      this.#topics.set(
        AUTO_CREATE_TEMPLATE_TOPIC,
        createTopicConfig(AUTO_CREATE_TEMPLATE_TOPIC, {
          readQueueNums: templateQueueNums,
          writeQueueNums: templateQueueNums,
          perm: PERM_READ_WRITE | Perm.INHERIT,
        }),
      );
    }
  }

  /**
   * A topic's config.
   *
   * @param topic Topic name.
   * @returns The config, or undefined if the topic does not exist here.
   */
  get(topic: string): TopicConfig | undefined {
    return this.#topics.get(topic);
  }

  /**
   * Every topic, sorted by name.
   *
   * @returns The configs.
   */
  list(): TopicConfig[] {
    return [...this.#topics.values()].sort((a, b) => a.topicName < b.topicName ? -1 : 1);
  }

  /** The current data version. */
  get dataVersion(): DataVersion {
    return this.#dataVersion;
  }

  /**
   * Create or replace a topic's config and persist the table.
   *
   * @param config The new config (names must be validated by the caller).
   * @returns Resolves once the table is persisted.
   */
  put(config: TopicConfig): Promise<void> {
    this.#topics.set(config.topicName, config);
    return this.#persist();
  }

  /**
   * Remove a topic and persist the table.
   *
   * @param topic Topic name.
   * @returns Whether the topic existed; resolves once persisted.
   */
  async delete(topic: string): Promise<boolean> {
    const existed = this.#topics.delete(topic);
    if (existed) await this.#persist();
    return existed;
  }

  /**
   * The JSON document of the table, as RocketMQ's `TopicConfigSerializeWrapper`
   * (the in-memory template topic included, as GET_ALL_TOPIC_CONFIG shows it).
   *
   * @param includeTemplate Include `TBW102`.
   * @returns Pretty JSON.
   */
  toJson(includeTemplate = false): string {
    const topicConfigTable: Record<string, TopicConfig> = {};
    for (const config of this.list()) {
      if (!includeTemplate && config.topicName === AUTO_CREATE_TEMPLATE_TOPIC) continue;
      topicConfigTable[config.topicName] = config;
    }
    return JSON.stringify({ topicConfigTable, dataVersion: this.#dataVersion }, null, 2);
  }

  /**
   * Be told after each change of the table (e.g. to register with the name servers at once).
   *
   * @param listener Called synchronously after the change, before it is persisted.
   * @returns Unsubscribes.
   */
  onChange(listener: () => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  #persist(): Promise<void> {
    this.#dataVersion = {
      stateVersion: this.#dataVersion.stateVersion,
      timestamp: this.#nowMs(),
      counter: this.#dataVersion.counter + 1,
    };
    // Chain persists so documents reach the store in change order; each writes the latest table.
    const next = this.#persisting.catch(() => {}).then(() =>
      this.#documents.persistConfig(TOPICS_DOCUMENT, this.toJson())
    );
    this.#persisting = next;
    for (const listener of this.#changeListeners) listener();
    return next;
  }
}
