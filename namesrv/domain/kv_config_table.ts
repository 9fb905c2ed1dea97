/**
 * The name server's KV config (RocketMQ `KVConfigManager`): namespace → key →
 * value, persisted as `kvConfig.json` `{"configTable": {namespace: {key: value}}}`.
 *
 * @module
 */

/** Where the KV document lives (the name server's infra implements it). */
export interface KvConfigDocument {
  /** Read the document; undefined when it does not exist yet. */
  load(): Promise<string | undefined>;
  /** Atomically replace the document. */
  persist(text: string): Promise<void>;
}

/**
 * The KV table. Lives on the name server's main thread. Every change is
 * persisted before its promise resolves; persists run one at a time in
 * change order, each writing the whole latest table.
 */
export class KvConfigTable {
  readonly #table = new Map<string, Map<string, string>>();
  readonly #document: KvConfigDocument;
  #persisting: Promise<void> = Promise.resolve();
  #version = 0;

  /** @param document Where the table is persisted. */
  constructor(document: KvConfigDocument) {
    this.#document = document;
  }

  /** Grows on every change. */
  get version(): number {
    return this.#version;
  }

  /**
   * Load the persisted table.
   *
   * @throws {TypeError} If the document exists but is not a valid table.
   */
  async load(): Promise<void> {
    const text = await this.#document.load();
    if (text === undefined || text.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new TypeError(`Cannot load KV config: ${(error as Error).message}`, { cause: error });
    }
    const table = (parsed as { configTable?: unknown } | null)?.configTable;
    if (typeof table !== "object" || table === null) {
      throw new TypeError("Cannot load KV config: configTable is missing");
    }
    for (const [namespace, entries] of Object.entries(table as Record<string, unknown>)) {
      const map = new Map<string, string>();
      for (const [key, value] of Object.entries((entries ?? {}) as Record<string, unknown>)) {
        map.set(key, String(value));
      }
      this.#table.set(namespace, map);
    }
  }

  /**
   * A value.
   *
   * @param namespace Namespace.
   * @param key Key.
   * @returns The value, or undefined.
   */
  get(namespace: string, key: string): string | undefined {
    return this.#table.get(namespace)?.get(key);
  }

  /**
   * Every entry of a namespace.
   *
   * @param namespace Namespace.
   * @returns Key → value (empty when the namespace is unknown).
   */
  namespace(namespace: string): Record<string, string> {
    return Object.fromEntries(this.#table.get(namespace) ?? []);
  }

  /**
   * Set a value and persist.
   *
   * @param namespace Namespace.
   * @param key Key.
   * @param value Value.
   * @returns Resolves once persisted.
   */
  put(namespace: string, key: string, value: string): Promise<void> {
    let map = this.#table.get(namespace);
    if (map === undefined) this.#table.set(namespace, map = new Map());
    map.set(key, value);
    return this.#persist();
  }

  /**
   * Delete a value and persist.
   *
   * @param namespace Namespace.
   * @param key Key.
   * @returns Whether it existed; resolves once persisted.
   */
  async delete(namespace: string, key: string): Promise<boolean> {
    const map = this.#table.get(namespace);
    if (map === undefined || !map.delete(key)) return false;
    if (map.size === 0) this.#table.delete(namespace);
    await this.#persist();
    return true;
  }

  #persist(): Promise<void> {
    this.#version++;
    const next = this.#persisting.catch(() => {}).then(() => {
      const configTable: Record<string, Record<string, string>> = {};
      for (const [namespace, map] of this.#table) configTable[namespace] = Object.fromEntries(map);
      return this.#document.persist(JSON.stringify({ configTable }, null, 2));
    });
    this.#persisting = next;
    return next;
  }
}
