/**
 * A slave's copy of its master's metadata (RocketMQ's `SlaveSynchronize`):
 * every `SLAVE_SYNC_INTERVAL_MS` and on each HA (re)connection it asks the
 * master's remoting port for its topics (GET_ALL_TOPIC_CONFIG, applied to the
 * live topic table), consumer offsets (GET_ALL_CONSUMER_OFFSET, committed to
 * the store) and subscription groups (GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
 * written to the slave's `subscriptionGroups` document: live on the next
 * start, e.g. after a promotion). Timer progress is not copied: the timer's
 * wheel and log are not replicated, a slave runs no timer.
 *
 * @module
 */

import { BrokerClient } from "../../client/broker_client.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import type { MessageStore } from "../../store/mod.ts";
import { createTopicConfig, type TopicConfig } from "../domain/topic_config.ts";
import { SUBSCRIPTION_GROUPS_DOCUMENT } from "../domain/subscription_group_table.ts";
import type { TopicTable } from "../domain/topic_table.ts";
import type { LogSink } from "../server/request_router.ts";

/** Time between metadata copies, ms (RocketMQ: 10 s). */
export const SLAVE_SYNC_INTERVAL_MS = 10_000;
/** Timeout of one metadata request, ms. */
const SYNC_REQUEST_TIMEOUT_MS = 5_000;

/** Options of {@linkcode SlaveSynchronize}. */
export interface SlaveSynchronizeOptions {
  /** The master's remoting address `host:port` ("" while unknown). */
  readonly masterAddr: () => string;
  /** The slave's topic table. */
  readonly topics: TopicTable;
  /** The slave's store (consumer offsets, config documents). */
  readonly store: MessageStore;
  /** Structured log. */
  readonly log: LogSink;
}

/** Copies a master's metadata to this slave, periodically and on demand. */
export class SlaveSynchronize {
  readonly #options: SlaveSynchronizeOptions;
  #client: BrokerClient | undefined;
  #clientAddr = "";
  #timer: ReturnType<typeof setInterval>;
  #running: Promise<void> | undefined;
  #closed = false;

  /** @param options Master address, tables, log. */
  constructor(options: SlaveSynchronizeOptions) {
    this.#options = options;
    this.#timer = setInterval(() => this.syncSoon(), SLAVE_SYNC_INTERVAL_MS);
  }

  /** Start a copy now unless one is running. */
  syncSoon(): void {
    if (this.#closed || this.#running !== undefined) return;
    this.#running = this.syncAll().finally(() => this.#running = undefined);
  }

  /** Copy topics, consumer offsets and subscription groups once; failures are logged. */
  async syncAll(): Promise<void> {
    const addr = this.#options.masterAddr();
    if (addr === "") return;
    if (this.#client === undefined || this.#clientAddr !== addr) {
      await this.#client?.close();
      this.#client = new BrokerClient({
        endpoint: addr,
        requestTimeoutMs: SYNC_REQUEST_TIMEOUT_MS,
      });
      this.#clientAddr = addr;
    }
    const client = this.#client;
    try {
      const topics = await client.invoke(RequestCode.GET_ALL_TOPIC_CONFIG);
      await this.#applyTopics(parse(topics.body));
      const offsets = await client.invoke(RequestCode.GET_ALL_CONSUMER_OFFSET);
      this.#applyOffsets(parse(offsets.body));
      const groups = await client.invoke(RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG);
      if (groups.body !== undefined && groups.body.length > 0) {
        await this.#options.store.persistConfig(
          SUBSCRIPTION_GROUPS_DOCUMENT,
          new TextDecoder().decode(groups.body),
        );
      }
    } catch (error) {
      this.#options.log({
        event: "ha_slave_sync_failed",
        master: addr,
        error: String((error as Error)?.message ?? error),
      });
    }
  }

  async #applyTopics(json: unknown): Promise<void> {
    const table = (json as { topicConfigTable?: Record<string, Partial<TopicConfig>> })
      ?.topicConfigTable;
    if (table === undefined || table === null) return;
    const { topics } = this.#options;
    for (const [name, raw] of Object.entries(table)) {
      const config = createTopicConfig(name, {
        readQueueNums: Number(raw.readQueueNums ?? 16),
        writeQueueNums: Number(raw.writeQueueNums ?? 16),
        perm: Number(raw.perm ?? 6),
        topicFilterType: String(raw.topicFilterType ?? "SINGLE_TAG"),
        topicSysFlag: Number(raw.topicSysFlag ?? 0),
        order: Boolean(raw.order ?? false),
        attributes: (raw.attributes ?? {}) as Record<string, string>,
      });
      const current = topics.get(name);
      if (current === undefined || JSON.stringify(current) !== JSON.stringify(config)) {
        await topics.put(config);
      }
    }
  }

  #applyOffsets(json: unknown): void {
    const table = (json as { offsetTable?: Record<string, Record<string, number>> })?.offsetTable;
    if (table === undefined || table === null) return;
    for (const [key, queues] of Object.entries(table)) {
      const at = key.lastIndexOf("@");
      if (at <= 0) continue;
      const topic = key.slice(0, at);
      const group = key.slice(at + 1);
      for (const [queueId, offset] of Object.entries(queues)) {
        this.#options.store.commitConsumerOffset(group, topic, Number(queueId), Number(offset));
      }
    }
  }

  /** Stop copying. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running;
    await this.#client?.close();
  }
}

function parse(body: Uint8Array | undefined): unknown {
  if (body === undefined || body.length === 0) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    return undefined;
  }
}
