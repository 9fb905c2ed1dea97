/**
 * FIFO pop state (RocketMQ's `ConsumerOrderInfoManager`): per `topic@group`
 * and queue, the outstanding batch of an ordered pop. While it has unacked
 * offsets that are still invisible, the queue is blocked for the group; when
 * their invisible time ends the same messages are popped again with their
 * count raised; acks move the group's offset to the first unacked one.
 *
 * Persisted as `config/consumerOrderInfo.json` after every change (coalesced):
 * `{ "table": { "<topic>@<group>": { "<queueId>": OrderInfo } },
 *    "committed": { "<topic>@<group>": { "<queueId>": offset } } }`
 * with OrderInfo keys `popTime`, `i` invisible time, `o` offsets (`o[0]`
 * absolute, `o[k]` distance from it), `ot` next visible time per offset,
 * `oc` consume count per offset, `l` last consume time, `cm` commit bitmap,
 * `a` attempt id.
 *
 * @module
 */

import type { ConfigDocuments } from "../topic_table.ts";

/** Name of the persisted document. */
export const CONSUMER_ORDER_INFO_DOCUMENT = "consumerOrderInfo";

/** One outstanding ordered batch. */
export interface OrderInfo {
  /** Pop time of the outstanding batch. */
  popTime: number;
  /** Invisible time, ms. */
  i: number;
  /** Offsets: `o[0]` absolute, `o[k]` distance from `o[0]`. */
  readonly o: number[];
  /** Next visible time per offset (0 = popTime + i). */
  ot: number[];
  /** Consume count per offset. */
  oc: number[];
  /** Last consume time. */
  l: number;
  /** Commit bitmap: bit k = offset k acked. */
  cm: number;
  /** Attempt id. */
  a?: string;
}

/** Outcome of an ordered ack. */
export type OrderAck =
  | { readonly status: "OK"; readonly commitOffset: number }
  | { readonly status: "STALE"; readonly remark: string };

function offsetsOf(info: OrderInfo): number[] {
  return info.o.map((d, k) => (k === 0 ? d : info.o[0] + d));
}

/** The FIFO pop table. Lives on the broker's main thread. */
export class OrderInfoTable {
  readonly #documents: ConfigDocuments;
  #table: Record<string, Record<string, OrderInfo>> = {};
  #committed: Record<string, Record<string, number>> = {};
  #persisting: Promise<void> | undefined;
  #again = false;

  /** @param documents Where the table is persisted. */
  constructor(documents: ConfigDocuments) {
    this.#documents = documents;
  }

  /**
   * Load the persisted table.
   *
   * @returns Committed offsets to re-apply (`[topic, group, queueId, offset]`).
   */
  async load(): Promise<[string, string, number, number][]> {
    const text = await this.#documents.loadConfig(CONSUMER_ORDER_INFO_DOCUMENT);
    if (text === undefined) return [];
    try {
      const parsed = JSON.parse(text);
      this.#table = parsed.table ?? {};
      this.#committed = parsed.committed ?? {};
    } catch {
      return [];
    }
    const out: [string, string, number, number][] = [];
    for (const [key, queues] of Object.entries(this.#committed)) {
      const at = key.lastIndexOf("@");
      for (const [queueId, offset] of Object.entries(queues)) {
        out.push([key.slice(0, at), key.slice(at + 1), Number(queueId), offset]);
      }
    }
    return out;
  }

  /**
   * The outstanding batch of a queue, if any offset of it is unacked.
   *
   * @param topic Topic.
   * @param group Group.
   * @param queueId Queue.
   * @returns The batch and its unacked offsets with consume counts.
   */
  outstanding(
    topic: string,
    group: string,
    queueId: number,
  ):
    | { info: OrderInfo; unacked: { offset: number; count: number; visibleMs: number }[] }
    | undefined {
    const info = this.#table[`${topic}@${group}`]?.[String(queueId)];
    if (info === undefined) return undefined;
    const unacked = offsetsOf(info).flatMap((offset, k) =>
      (info.cm & (1 << k)) !== 0
        ? []
        : [{ offset, count: info.oc[k] ?? 0, visibleMs: info.ot[k] || info.popTime + info.i }]
    );
    return unacked.length === 0 ? undefined : { info, unacked };
  }

  /**
   * Is the queue blocked for the group at `nowMs`?
   *
   * @returns True while an unacked offset of the batch is invisible.
   */
  blocked(topic: string, group: string, queueId: number, nowMs: number): boolean {
    const out = this.outstanding(topic, group, queueId);
    return out !== undefined && out.unacked.some((u) => u.visibleMs > nowMs);
  }

  /**
   * Record an ordered pop: a new batch, or the same batch popped again.
   *
   * @param offsets Popped offsets, ascending.
   * @returns The consume count of each popped offset.
   */
  record(
    topic: string,
    group: string,
    queueId: number,
    offsets: readonly number[],
    popTime: number,
    invisibleTime: number,
    attemptId: string | undefined,
  ): number[] {
    const key = `${topic}@${group}`;
    const queues = this.#table[key] ??= {};
    const previous = this.outstanding(topic, group, queueId);
    if (previous !== undefined) {
      const all = offsetsOf(previous.info);
      const counts: number[] = [];
      for (const offset of offsets) {
        const k = all.indexOf(offset);
        if (k < 0) continue;
        previous.info.oc[k] = (previous.info.oc[k] ?? 0) + 1;
        previous.info.ot[k] = 0;
        counts.push(previous.info.oc[k]);
      }
      previous.info.popTime = popTime;
      previous.info.i = invisibleTime;
      previous.info.l = popTime;
      this.#persist();
      return counts;
    }
    queues[String(queueId)] = {
      popTime,
      i: invisibleTime,
      o: offsets.map((o, k) => (k === 0 ? o : o - offsets[0])),
      ot: offsets.map(() => 0),
      oc: offsets.map(() => 0),
      l: popTime,
      cm: 0,
      a: attemptId,
    };
    this.#persist();
    return offsets.map(() => 0);
  }

  /**
   * Ack one offset of the outstanding batch.
   *
   * @param popTime Pop time of the handle (must be the batch's latest).
   * @returns The group's new offset, or STALE if the handle is not the current batch's.
   */
  ack(topic: string, group: string, queueId: number, offset: number, popTime: number): OrderAck {
    const key = `${topic}@${group}`;
    const info = this.#table[key]?.[String(queueId)];
    if (info === undefined || info.popTime !== popTime) {
      return {
        status: "STALE",
        remark:
          `receipt handle of ${topic} queue ${queueId} offset ${offset} is not the current ordered batch (popped again or acked)`,
      };
    }
    const all = offsetsOf(info);
    const k = all.indexOf(offset);
    if (k < 0) {
      return { status: "STALE", remark: `offset ${offset} is not in the ordered batch` };
    }
    info.cm |= 1 << k;
    const firstUnacked = all.findIndex((_, j) => (info.cm & (1 << j)) === 0);
    const commitOffset = firstUnacked < 0 ? all[all.length - 1] + 1 : all[firstUnacked];
    if (firstUnacked < 0) delete this.#table[key][String(queueId)];
    (this.#committed[key] ??= {})[String(queueId)] = commitOffset;
    this.#persist();
    return { status: "OK", commitOffset };
  }

  /**
   * Set when one offset of the outstanding batch becomes visible again.
   *
   * @returns False if the handle is stale.
   */
  changeInvisible(
    topic: string,
    group: string,
    queueId: number,
    offset: number,
    popTime: number,
    visibleMs: number,
  ): boolean {
    const info = this.#table[`${topic}@${group}`]?.[String(queueId)];
    if (info === undefined || info.popTime !== popTime) return false;
    const k = offsetsOf(info).indexOf(offset);
    if (k < 0 || (info.cm & (1 << k)) !== 0) return false;
    info.ot[k] = visibleMs;
    this.#persist();
    return true;
  }

  /** Resolves when every change so far is persisted. */
  async flushed(): Promise<void> {
    while (this.#persisting !== undefined) await this.#persisting;
  }

  #persist(): void {
    if (this.#persisting !== undefined) {
      this.#again = true;
      return;
    }
    this.#persisting = (async () => {
      try {
        do {
          this.#again = false;
          await this.#documents.persistConfig(
            CONSUMER_ORDER_INFO_DOCUMENT,
            JSON.stringify({ table: this.#table, committed: this.#committed }),
          ).catch(() => {});
        } while (this.#again);
      } finally {
        this.#persisting = undefined;
      }
    })();
  }
}
