/**
 * Pulled batches waiting for the caller, and the choice of the next message
 * to deliver: due local retries first, then buffered batches in arrival
 * order; in orderly mode nothing later of a queue passes a waiting retry.
 *
 * @module
 */

import type { ReceivedMessage } from "../message.ts";
import type { ConsumeService } from "./consume_service.ts";
import type { ProcessQueue } from "./process_queue.ts";

interface Batch {
  readonly pq: ProcessQueue;
  readonly messages: ReceivedMessage[];
  index: number;
}

/** The next message, or how long to wait for one (undefined = until woken). */
export type NextDelivery =
  | { readonly pq: ProcessQueue; readonly message: ReceivedMessage }
  | { readonly waitMs: number | undefined };

/**
 * The consumer's delivery buffer. Lives on the consumer's event loop; one
 * iteration at a time takes from it.
 */
export class DeliveryBuffer {
  readonly #service: ConsumeService;
  readonly #bufferedMax: number;
  #batches: Batch[] = [];
  #wake: (() => void) | undefined;

  /**
   * @param service The delivery mode (orderly gate).
   * @param bufferedMax Per-queue buffered count below which a paused pull resumes.
   */
  constructor(service: ConsumeService, bufferedMax: number) {
    this.#service = service;
    this.#bufferedMax = bufferedMax;
  }

  /**
   * Add a pulled batch and wake a waiting iteration.
   *
   * @param pq The queue's state.
   * @param messages The batch (non-empty).
   */
  push(pq: ProcessQueue, messages: ReceivedMessage[]): void {
    pq.buffered += messages.length;
    this.#batches.push({ pq, messages, index: 0 });
    this.wake();
  }

  /**
   * Take the next deliverable message.
   *
   * @param queues The owned queues' states.
   * @returns A message with its queue, or how long to wait.
   */
  takeNext(queues: Iterable<ProcessQueue>): NextDelivery {
    const service = this.#service;
    // The clock is read only when a retry or an orderly lock needs it (not per plain message).
    let now = -1;
    let waitMs: number | undefined;
    for (const pq of queues) {
      if (!pq.active || pq.retries.length === 0) continue;
      if (now < 0) now = performance.now();
      if (!service.deliverable(pq, now)) continue;
      const retry = pq.retries[0];
      if (retry.dueMs <= now) {
        pq.retries.shift();
        return { pq, message: retry.message };
      }
      waitMs = Math.min(waitMs ?? Infinity, retry.dueMs - now);
    }
    for (let i = 0; i < this.#batches.length;) {
      const batch = this.#batches[i];
      const pq = batch.pq;
      if (!pq.active || batch.index >= batch.messages.length) {
        this.#batches.splice(i, 1);
        continue;
      }
      // Orderly: nothing later of a queue goes out while one of its messages waits for a retry.
      if (
        service.orderly &&
        (pq.retries.length > 0 ||
          !service.deliverable(pq, now < 0 ? (now = performance.now()) : now))
      ) {
        i++;
        continue;
      }
      const message = batch.messages[batch.index++];
      pq.buffered--;
      if (pq.resume !== undefined && pq.buffered < this.#bufferedMax) pq.resume();
      return { pq, message };
    }
    return { waitMs };
  }

  /**
   * Wait until woken or `waitMs` passed.
   *
   * @param waitMs Longest wait, ms; undefined = until woken.
   */
  sleep(waitMs: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      if (waitMs !== undefined) timer = setTimeout(() => this.#wake?.(), Math.ceil(waitMs));
    });
  }

  /** Wake a sleeping iteration. */
  wake(): void {
    this.#wake?.();
  }

  /** Drop every buffered batch. */
  clear(): void {
    this.#batches = [];
  }
}
