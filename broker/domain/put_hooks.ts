/**
 * The rewrites a sent message goes through before the store, in RocketMQ's
 * order (its put hooks): a transactional prepare is parked in the half topic;
 * a delayed or timed message is parked in the timer topic; anything else is
 * stored as sent.
 *
 * @module
 */

import { MessageConst } from "../../client/protocol/properties.ts";
import type { MessageToPut } from "../../store/mod.ts";
import { transformTimerBatch, transformTimerMessage } from "./timer/timer_transform.ts";
import { isTransactionPrepare, toHalfMessage } from "./transaction/half_message.ts";

/** The shared prefix of the timer properties (`TIMER_DELAY_SEC`, `TIMER_DELAY_MS`, `TIMER_DELIVER_MS`). */
const TIMER_PROPERTY_PREFIX = "TIMER_";

/** Outcome of preparing one message or a batch for the store. */
export type PutPreparation<T> =
  | { readonly kind: "put"; readonly value: T }
  | { readonly kind: "illegal"; readonly remark: string };

/** Limits the put hooks enforce. */
export interface PutHookOptions {
  /** Longest accepted delay, ms; undefined means no limit. */
  readonly timerMaxDelayMs?: number;
}

/**
 * Whether any put hook might act on properties containing `text`: false
 * only when `text` holds none of the property names the hooks look for
 * (`TRAN_MSG`, `DELAY`, `TIMER_*`). A caller may test a whole batch's
 * properties, concatenated, at once and skip `prepareBatchForStore` when
 * this is false (the messages would come back unchanged).
 *
 * @param text Encoded properties (of one message or several, concatenated).
 * @returns False if no hook can rewrite or refuse such messages.
 */
export function mayTriggerPutHooks(text: string): boolean {
  return text.includes(MessageConst.TRANSACTION_PREPARED) ||
    text.includes(MessageConst.DELAY_TIME_LEVEL) || text.includes(TIMER_PROPERTY_PREFIX);
}

/**
 * Prepare one sent message for the store.
 *
 * @param message The message as sent (already enriched with UNIQ_KEY).
 * @param producerGroup The sending producer's group (half messages record it).
 * @param nowMs The broker clock.
 * @param options Limits.
 * @returns The message to put, or why it is illegal.
 */
export function prepareForStore(
  message: MessageToPut,
  producerGroup: string | undefined,
  nowMs: number,
  options: PutHookOptions = {},
): PutPreparation<MessageToPut> {
  if (isTransactionPrepare(message.properties)) {
    try {
      return { kind: "put", value: toHalfMessage(message, producerGroup) };
    } catch (error) {
      return { kind: "illegal", remark: (error as Error).message };
    }
  }
  const timer = transformTimerMessage(message, nowMs, { maxDelayMs: options.timerMaxDelayMs });
  if (timer.kind === "illegal") return timer;
  return { kind: "put", value: timer.kind === "scheduled" ? timer.message : message };
}

/**
 * Prepare a batch for the store: batches may not be transactional, and must
 * be all delayed or all immediate.
 *
 * @param messages The batch, as sent.
 * @param nowMs The broker clock.
 * @param options Limits.
 * @returns The messages to put, or why the batch is illegal.
 */
export function prepareBatchForStore(
  messages: readonly MessageToPut[],
  nowMs: number,
  options: PutHookOptions = {},
): PutPreparation<readonly MessageToPut[]> {
  const index = messages.findIndex((m) => isTransactionPrepare(m.properties));
  if (index >= 0) {
    return {
      kind: "illegal",
      remark: `Cannot send batch: message ${index} is transactional; batches cannot be`,
    };
  }
  const timer = transformTimerBatch(messages, nowMs, { maxDelayMs: options.timerMaxDelayMs });
  if (timer.kind === "illegal") return timer;
  return { kind: "put", value: timer.kind === "scheduled" ? timer.messages : messages };
}
