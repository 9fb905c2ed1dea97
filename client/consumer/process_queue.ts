/**
 * The client-side state of one owned queue (RocketMQ's `ProcessQueue`): where
 * the next pull starts, which offsets are done, held for a retry or out with
 * the caller, and what may be committed.
 *
 * @module
 */

import { MQClientError } from "../errors.ts";
import type { MessageQueue, ReceivedMessage } from "../message.ts";
import type { Subscription } from "./subscription.ts";

/** A message waiting to be delivered again from this client. */
export interface PendingRetry {
  /** The message (with its updated `reconsumeTimes`). */
  readonly message: ReceivedMessage;
  /** When it may go out again (performance.now() ms); 0 = at once. */
  readonly dueMs: number;
}

/**
 * The key of a queue in maps: `topic/brokerName/queueId`.
 *
 * @param queue The queue.
 * @returns Its key.
 */
export function queueKey(queue: MessageQueue): string {
  return `${queue.topic}/${queue.brokerName}/${queue.queueId}`;
}

/**
 * Pull and progress state of one owned queue. Lives on the consumer's event
 * loop; the pull loop, the delivery buffer and the rebalance service share it.
 *
 * Invariant: `committedOffset <= consumedOffset <= nextPullOffset`;
 * `consumedOffset` = the smallest held offset if any, else `maxDone` (one past
 * the highest processed offset).
 */
export class ProcessQueue {
  /** The queue. */
  readonly queue: MessageQueue;
  /** {@linkcode queueKey} of the queue. */
  readonly key: string;
  /** The subscription the queue was assigned under. */
  readonly subscription: Subscription;
  /** Aborted when the queue is given up; cancels its parked pull. */
  readonly controller: AbortController = new AbortController();
  /** False once the queue is given up. */
  active = true;
  /** Queue offset of the next pull. */
  nextPullOffset: number;
  /** The offset that may be committed now. */
  consumedOffset: number;
  /** The offset the broker last stored for us (-1 = none yet). */
  committedOffset = -1;
  /** One past the highest processed offset. */
  maxDone: number;
  /** Offsets of messages waiting for local redelivery. */
  readonly holds: Set<number> = new Set();
  /** Messages to deliver again before (orderly) or besides (concurrent) the buffer. */
  readonly retries: PendingRetry[] = [];
  /** Pulled messages not yet delivered. */
  buffered = 0;
  /** A message of this queue is out with the caller. */
  inFlight = false;
  /** Orderly: when the broker last confirmed our lock (performance.now() ms). */
  lockedAtMs: number = performance.now();
  /** Set while the pull loop waits for the buffer to drain. */
  resume: (() => void) | undefined;
  /** The running pull loop. */
  loop: Promise<void> = Promise.resolve();
  #idleWaiters: (() => void)[] = [];

  /**
   * @param queue The owned queue.
   * @param subscription Its subscription.
   * @param offset Where consumption starts.
   */
  constructor(queue: MessageQueue, subscription: Subscription, offset: number) {
    this.queue = queue;
    this.key = queueKey(queue);
    this.subscription = subscription;
    this.nextPullOffset = offset;
    this.consumedOffset = offset;
    this.maxDone = offset;
  }

  /** Nothing buffered, nothing waiting for a retry, nothing out with the caller. */
  get drained(): boolean {
    return this.buffered === 0 && this.retries.length === 0 && !this.inFlight;
  }

  /**
   * Record that everything below `offset` is processed.
   *
   * @param offset One past the processed offset.
   */
  markDone(offset: number): void {
    if (offset > this.maxDone) this.maxDone = offset;
    this.updateConsumed();
  }

  /** Recompute `consumedOffset` from `holds` and `maxDone`. */
  updateConsumed(): void {
    if (this.holds.size === 0) {
      this.consumedOffset = this.maxDone;
      return;
    }
    let held = Infinity;
    for (const offset of this.holds) if (offset < held) held = offset;
    this.consumedOffset = held === Infinity ? this.maxDone : Math.min(held, this.maxDone);
  }

  /**
   * The caller finished `message` (unless it was held for a retry).
   *
   * @param message The delivered message.
   * @param heldForRetry True if the message will be delivered again locally.
   */
  finish(message: ReceivedMessage, heldForRetry: boolean): void {
    if (!heldForRetry) {
      if (this.holds.size > 0) this.holds.delete(message.queueOffset);
      this.markDone(message.queueOffset + 1);
    }
    this.idle();
  }

  /**
   * Put a message the caller did not finish back at the head, unchanged.
   *
   * @param message The delivered message.
   * @param heldForRetry True if it is already held for a retry.
   */
  requeue(message: ReceivedMessage, heldForRetry: boolean): void {
    if (!heldForRetry && this.active) {
      this.holds.add(message.queueOffset);
      this.retries.unshift({ message, dueMs: 0 });
      this.updateConsumed();
    }
    this.idle();
  }

  /**
   * Keep `message` uncommitted and deliver it again at `dueMs`.
   *
   * @param message The message, with its new `reconsumeTimes`.
   * @param queueOffset Its queue offset.
   * @param dueMs performance.now() ms of the redelivery.
   */
  holdForRetry(message: ReceivedMessage, queueOffset: number, dueMs: number): void {
    if (!this.active) return;
    this.holds.add(queueOffset);
    this.updateConsumed();
    this.retries.push({ message, dueMs });
  }

  /** No message of this queue is out with the caller any more. */
  idle(): void {
    this.inFlight = false;
    if (this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const waiter of waiters) waiter();
  }

  /**
   * Wait until no message is out with the caller, at most `limitMs`.
   *
   * @param limitMs Longest wait, ms.
   * @returns True if idle, false on timeout.
   */
  waitIdle(limitMs: number): Promise<boolean> {
    if (!this.inFlight) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), limitMs);
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Give the queue up: stop its pull loop and cancel a parked pull. */
  deactivate(): void {
    this.active = false;
    this.controller.abort(new MQClientError(`Queue ${this.key} released`));
    this.resume?.();
  }
}
