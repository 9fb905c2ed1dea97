/**
 * Recall of timer messages (RocketMQ 5's RecallMessage): cancel a delayed
 * message that has not been delivered yet.
 *
 * A recall puts a small marker into the timer queue: a timer message with
 * `TIMER_DEL_UNIQKEY` = the recalled message's `UNIQ_KEY`, due at the same
 * time. The timer service does not link markers into the wheel; it records
 * their keys in a {@linkcode RecalledSet} and skips a due message whose key is
 * in it. The set is saved in the timer checkpoint, so a recall survives a
 * restart; markers after the checkpoint are read again from the timer queue.
 *
 * @module
 */

import {
  encodeProperties,
  getProperty,
  MessageConst,
} from "../../../client/protocol/properties.ts";
import type { HostAddress, MessageToPut } from "../../../store/mod.ts";
import { TIMER_QUEUE_ID, TIMER_TOPIC } from "./timer_transform.ts";

/** Most recalled keys remembered at once (oldest dropped first). */
export const RECALLED_KEYS_MAX = 100_000;

/**
 * The recall a marker's properties carry, if they are a marker's.
 *
 * @param properties Encoded properties of a timer record.
 * @returns The recalled key and its due time, or undefined.
 */
export function recallMarkerOf(
  properties: string,
): { readonly uniqKey: string; readonly deliverMs: number } | undefined {
  if (!properties.includes(MessageConst.TIMER_DEL_UNIQKEY)) return undefined;
  const uniqKey = getProperty(properties, MessageConst.TIMER_DEL_UNIQKEY);
  if (uniqKey === undefined || uniqKey === "") return undefined;
  const deliverMs = Number(getProperty(properties, MessageConst.TIMER_OUT_MS));
  return { uniqKey, deliverMs: Number.isSafeInteger(deliverMs) ? deliverMs : 0 };
}

/** What a recall marker names. */
export interface RecallMarker {
  /** The recalled message's topic. */
  readonly topic: string;
  /** Its `UNIQ_KEY`. */
  readonly uniqKey: string;
  /** Its due time, epoch ms. */
  readonly deliverMs: number;
  /** Who recalls it. */
  readonly bornHost: HostAddress;
  /** Now, epoch ms. */
  readonly nowMs: number;
}

/**
 * The marker to put into the timer queue for a recall.
 *
 * @param marker What is recalled.
 * @returns The timer message to put.
 */
export function createRecallMarker(marker: RecallMarker): MessageToPut {
  return {
    topic: TIMER_TOPIC,
    queueId: TIMER_QUEUE_ID,
    flag: 0,
    body: new Uint8Array([0]),
    properties: encodeProperties(
      new Map([
        [MessageConst.REAL_TOPIC, marker.topic],
        [MessageConst.REAL_QUEUE_ID, "0"],
        [MessageConst.TIMER_OUT_MS, String(marker.deliverMs)],
        [MessageConst.TIMER_DEL_UNIQKEY, marker.uniqKey],
      ]),
    ),
    sysFlag: 0,
    bornTimestamp: marker.nowMs,
    bornHost: marker.bornHost,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  };
}

/** Keys of recalled messages not yet due, with their due times. */
export class RecalledSet {
  readonly #keys = new Map<string, number>();

  /**
   * Remember a recall.
   *
   * @param uniqKey The recalled message's key.
   * @param deliverMs Its due time.
   */
  add(uniqKey: string, deliverMs: number): void {
    this.#keys.delete(uniqKey);
    this.#keys.set(uniqKey, deliverMs);
    if (this.#keys.size > RECALLED_KEYS_MAX) {
      const oldest = this.#keys.keys().next().value;
      if (oldest !== undefined) this.#keys.delete(oldest);
    }
  }

  /**
   * Whether a due message was recalled; forgets the key when it was.
   *
   * @param uniqKey The due message's key.
   * @returns True when it must not be delivered.
   */
  take(uniqKey: string | undefined): boolean {
    if (uniqKey === undefined || !this.#keys.has(uniqKey)) return false;
    this.#keys.delete(uniqKey);
    return true;
  }

  /**
   * Forget recalls due before a time (their messages' ticks are done).
   *
   * @param beforeMs Epoch ms.
   */
  prune(beforeMs: number): void {
    for (const [key, deliverMs] of this.#keys) {
      if (deliverMs < beforeMs) this.#keys.delete(key);
    }
  }

  /** The entries, for the checkpoint. */
  entries(): [string, number][] {
    return [...this.#keys];
  }

  /**
   * Restore entries from a checkpoint (bad entries are ignored).
   *
   * @param entries Saved entries.
   */
  restore(entries: unknown): void {
    if (!Array.isArray(entries)) return;
    for (const entry of entries) {
      if (
        Array.isArray(entry) && typeof entry[0] === "string" && Number.isSafeInteger(entry[1])
      ) this.add(entry[0], entry[1]);
    }
  }

  /** Keys remembered. */
  get size(): number {
    return this.#keys.size;
  }
}

/**
 * The `UNIQ_KEY` of a timer record's properties.
 *
 * @param properties Encoded properties.
 * @returns The key or undefined.
 */
export function uniqKeyOf(properties: string): string | undefined {
  return getProperty(properties, MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX);
}
