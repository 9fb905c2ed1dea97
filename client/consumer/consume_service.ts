/**
 * The port between the consumer and its delivery mode (RocketMQ's
 * `ConsumeMessageService`): concurrent ({@link ./consume_concurrently.ts}) or
 * orderly ({@link ./consume_orderly.ts}).
 *
 * @module
 */

import type { ReceivedMessage } from "../message.ts";
import type { ProcessQueue } from "./process_queue.ts";

/** A message out with the caller. */
export interface Delivery {
  /** Its queue's state. */
  readonly pq: ProcessQueue;
  /** The message. */
  readonly message: ReceivedMessage;
  /** Set by reconsumeLater when the message will be delivered again locally. */
  heldForRetry: boolean;
  /** Set by reconsumeLater once the broker took the message back (retry topic or DLQ). */
  handedBack: boolean;
}

/** How messages go out and come back. */
export interface ConsumeService {
  /** True for strict per-queue order under broker locks. */
  readonly orderly: boolean;
  /**
   * May messages of this queue go out (and be pulled) now?
   *
   * @param pq The queue's state.
   * @param nowMs performance.now() ms.
   */
  deliverable(pq: ProcessQueue, nowMs: number): boolean;
  /**
   * Give a message back for a later attempt.
   *
   * @param message The message.
   * @param delivery Its delivery if it is the one out with the caller.
   * @param delayLevel Concurrent mode's delay level (0 = broker's choice).
   */
  reconsumeLater(
    message: ReceivedMessage,
    delivery: Delivery | undefined,
    delayLevel: number,
  ): Promise<void>;
}

/**
 * Keep a delivered message uncommitted and deliver it again locally after
 * `suspendMs`, with `reconsumeTimes` set. Idempotent per delivery.
 *
 * @param delivery The message out with the caller.
 * @param reconsumeTimes Its reconsume count for the next delivery.
 * @param suspendMs Pause before the redelivery, ms.
 */
export function holdForLocalRetry(
  delivery: Delivery,
  reconsumeTimes: number,
  suspendMs: number,
): void {
  if (delivery.heldForRetry) return;
  delivery.heldForRetry = true;
  const { pq, message } = delivery;
  pq.holdForRetry(
    message.withReconsumeTimes(reconsumeTimes),
    message.queueOffset,
    performance.now() + suspendMs,
  );
}
