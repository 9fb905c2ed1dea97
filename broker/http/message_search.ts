/**
 * Message lookups for the dashboard: by message id (offset id or unique id),
 * by key, by topic and store-time range; each found message with its
 * properties, a body preview and its delivery state per consumer group; and
 * resending a dead letter to its group's retry topic.
 *
 * @module
 */

import { decodeOffsetMessageId } from "../../client/protocol/message_id.ts";
import { decodeRecord, type MessageRecord } from "../../client/protocol/message_record.ts";
import { decodeProperties, MessageConst } from "../../client/protocol/properties.ts";
import type { MessageStore } from "../../store/mod.ts";
import { DLQ_TOPIC_PREFIX, RETRY_TOPIC_PREFIX } from "../domain/topic_config.ts";

/** Most messages one search returns. */
export const SEARCH_RESULTS_MAX = 64;
/** Body bytes shown in a preview. */
export const BODY_PREVIEW_BYTES = 1024;

/** A found message as the API returns it. */
export interface MessageView {
  readonly msgId: string;
  readonly uniqKey: string | undefined;
  readonly topic: string;
  readonly queueId: number;
  readonly queueOffset: number;
  readonly commitLogOffset: number;
  readonly tags: string | undefined;
  readonly keys: string | undefined;
  readonly bornTimestamp: number;
  readonly storeTimestamp: number;
  readonly reconsumeTimes: number;
  readonly bodyBytes: number;
  /** The first {@linkcode BODY_PREVIEW_BYTES} bytes as UTF-8 (replacement characters for bad bytes). */
  readonly bodyPreview: string;
  readonly properties: Record<string, string>;
  /** Per consumer group with a committed offset on the message's queue. */
  readonly deliveries: { group: string; state: "CONSUMED" | "NOT_CONSUMED" }[];
}

/** Outcome of a resend. */
export type ResendResult =
  | { readonly status: "PUT_OK"; readonly topic: string; readonly commitLogOffset: number }
  | { readonly status: "NOT_FOUND" | "NOT_DLQ" | "PUT_FAILED"; readonly remark: string };

/** Message lookups over one store. */
export class MessageSearch {
  readonly #store: MessageStore;
  readonly #hex: (offset: number) => string;

  /**
   * @param store The store.
   * @param offsetMessageId Builds this broker's offset message id for a CommitLog offset.
   */
  constructor(store: MessageStore, offsetMessageId: (offset: number) => string) {
    this.#store = store;
    this.#hex = offsetMessageId;
  }

  /**
   * Find by id: an offset message id (32/56 hex) or a unique id (UNIQ_KEY) within a topic.
   *
   * @param id The id.
   * @param topic Needed for unique ids.
   * @returns The messages found (empty if none).
   */
  async byId(id: string, topic: string | undefined): Promise<MessageView[]> {
    let commitLogOffset: number | undefined;
    try {
      commitLogOffset = decodeOffsetMessageId(id).commitLogOffset;
    } catch {
      commitLogOffset = undefined;
    }
    if (commitLogOffset !== undefined) {
      const stored = await this.#store.lookMessageByOffset(commitLogOffset);
      if (stored !== undefined) return [this.#view(decodeRecord(stored.record))];
    }
    if (topic === undefined || topic === "") return [];
    return (await this.byKey(topic, id)).filter((m) => m.uniqKey === id);
  }

  /**
   * Find by key (KEYS element or UNIQ_KEY) within a topic, newest first.
   *
   * @param topic Topic.
   * @param key Key.
   * @returns Up to {@linkcode SEARCH_RESULTS_MAX} messages.
   */
  async byKey(topic: string, key: string): Promise<MessageView[]> {
    const found = await this.#store.queryMessageByKey(
      topic,
      key,
      SEARCH_RESULTS_MAX,
      0,
      Number.MAX_SAFE_INTEGER,
    );
    return found.map((stored) => this.#view(decodeRecord(stored.record)));
  }

  /**
   * Messages of a topic stored within a time range, per queue from the first at `beginMs`.
   *
   * @param topic Topic.
   * @param beginMs Range start, epoch ms.
   * @param endMs Range end, epoch ms.
   * @returns Up to {@linkcode SEARCH_RESULTS_MAX} messages, oldest first.
   */
  async byTime(topic: string, beginMs: number, endMs: number): Promise<MessageView[]> {
    const out: MessageView[] = [];
    const queues = this.#store.listQueues().filter((q) => q.topic === topic);
    for (const { queueId } of queues) {
      let offset = await this.#store.getOffsetInQueueByTime(topic, queueId, beginMs);
      while (out.length < SEARCH_RESULTS_MAX) {
        const result = await this.#store.getMessage({
          group: "",
          topic,
          queueId,
          queueOffset: offset,
          maxCount: Math.min(32, SEARCH_RESULTS_MAX - out.length),
        });
        if (result.messages.length === 0) break;
        let past = false;
        for (const stored of result.messages) {
          const record = decodeRecord(stored.record);
          if (record.storeTimestamp > endMs) {
            past = true;
            break;
          }
          if (record.storeTimestamp >= beginMs) out.push(this.#view(record));
        }
        if (past || result.nextBeginOffset <= offset) break;
        offset = result.nextBeginOffset;
      }
    }
    return out.sort((a, b) => a.storeTimestamp - b.storeTimestamp);
  }

  /**
   * Put a dead letter back on its group's retry topic (`%RETRY%<group>`), so
   * only the group that gave up on it consumes it again.
   *
   * @param commitLogOffset The DLQ message's CommitLog offset.
   * @returns Where it went, or why not.
   */
  async resendDeadLetter(commitLogOffset: number): Promise<ResendResult> {
    const stored = await this.#store.lookMessageByOffset(commitLogOffset);
    if (stored === undefined) {
      return { status: "NOT_FOUND", remark: `No message at CommitLog offset ${commitLogOffset}` };
    }
    const record = decodeRecord(stored.record);
    if (!record.topic.startsWith(DLQ_TOPIC_PREFIX)) {
      return { status: "NOT_DLQ", remark: `Message is in ${record.topic}, not a DLQ topic` };
    }
    const topic = RETRY_TOPIC_PREFIX + record.topic.slice(DLQ_TOPIC_PREFIX.length);
    const result = await this.#store.putMessage({
      topic,
      queueId: 0,
      flag: record.flag,
      body: record.body,
      properties: record.properties,
      sysFlag: record.sysFlag,
      bornTimestamp: record.bornTimestamp,
      bornHost: record.bornHost,
      reconsumeTimes: 0,
      preparedTransactionOffset: 0,
    });
    if (result.status !== "PUT_OK" && result.status !== "FLUSH_DISK_TIMEOUT") {
      return { status: "PUT_FAILED", remark: `Store answered ${result.status}` };
    }
    return { status: "PUT_OK", topic, commitLogOffset: result.commitLogOffset };
  }

  #view(record: MessageRecord): MessageView {
    const properties = Object.fromEntries(decodeProperties(record.properties));
    const deliveries: MessageView["deliveries"] = [];
    for (const entry of this.#store.listConsumerOffsets()) {
      if (entry.topic !== record.topic || entry.queueId !== record.queueId) continue;
      deliveries.push({
        group: entry.group,
        state: entry.offset > record.queueOffset ? "CONSUMED" : "NOT_CONSUMED",
      });
    }
    return {
      msgId: this.#hex(record.commitLogOffset),
      uniqKey: properties[MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX],
      topic: record.topic,
      queueId: record.queueId,
      queueOffset: record.queueOffset,
      commitLogOffset: record.commitLogOffset,
      tags: properties[MessageConst.TAGS],
      keys: properties[MessageConst.KEYS],
      bornTimestamp: record.bornTimestamp,
      storeTimestamp: record.storeTimestamp,
      reconsumeTimes: record.reconsumeTimes,
      bodyBytes: record.body.length,
      bodyPreview: new TextDecoder().decode(record.body.subarray(0, BODY_PREVIEW_BYTES)),
      properties,
      deliveries,
    };
  }
}
