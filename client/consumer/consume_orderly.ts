/**
 * Orderly delivery (RocketMQ's `ConsumeMessageOrderlyService` with the
 * rebalance lock calls): each owned queue is locked on the broker
 * (LOCK_BATCH_MQ), renewed periodically, unlocked when given up; its messages
 * go out strictly in queue order, and a failed one is retried in place.
 *
 * @module
 */

import { type BrokerAccess, channelOf } from "./brokers.ts";
import { MQClientError } from "../errors.ts";
import type { MessageQueue, ReceivedMessage } from "../message.ts";
import { encodeJsonBody, parseLockBatchResponseBody } from "../protocol/heartbeat.ts";
import { RequestCode } from "../protocol/request_code.ts";
import { type ConsumeService, type Delivery, holdForLocalRetry } from "./consume_service.ts";
import { type ProcessQueue, queueKey } from "./process_queue.ts";
import { SEND_BACK_TIMEOUT_MS, sendMessageBack } from "./send_back.ts";

/** An orderly consumer stops delivering a queue whose lock it could not renew for this long, ms. */
export const LOCK_CLIENT_EXPIRY_MS_DEFAULT = 30_000;

/** Settings of an {@linkcode OrderlyConsumeService}. */
export interface OrderlyConsumeOptions {
  /** The broker channel. */
  readonly client: BrokerAccess;
  /** The consumer group. */
  readonly group: string;
  /** This client's id (the lock owner). */
  readonly clientId: string;
  /** Attempts before the DLQ. */
  readonly maxReconsumeTimes: number;
  /** Pause before a failed message is delivered again, ms. */
  readonly retrySuspendMs: number;
}

/** Orderly delivery under broker queue locks. */
export class OrderlyConsumeService implements ConsumeService {
  readonly orderly = true;
  readonly #options: OrderlyConsumeOptions;

  /** @param options Channel, group, owner and retry settings. */
  constructor(options: OrderlyConsumeOptions) {
    this.#options = options;
  }

  /** A queue is deliverable while its lock was confirmed within the client expiry. */
  deliverable(pq: ProcessQueue, nowMs: number): boolean {
    return nowMs - pq.lockedAtMs < LOCK_CLIENT_EXPIRY_MS_DEFAULT;
  }

  /**
   * Retry the message in place after `retrySuspendMs` with reconsumeTimes + 1;
   * once `maxReconsumeTimes` is reached, dead-letter it (send-back level -1).
   *
   * @throws {TypeError} If `message` is not the one out with the caller.
   */
  async reconsumeLater(message: ReceivedMessage, delivery: Delivery | undefined): Promise<void> {
    if (delivery === undefined) {
      throw new TypeError(
        "Cannot reconsume message: an orderly consumer can only reconsume the message being processed",
      );
    }
    const { group, maxReconsumeTimes, retrySuspendMs } = this.#options;
    const client = channelOf(this.#options.client, message.brokerName);
    if (message.reconsumeTimes >= maxReconsumeTimes) {
      try {
        await sendMessageBack(client, group, message, -1, maxReconsumeTimes);
        delivery.handedBack = true; // Dead-lettered: the message counts as processed.
      } catch {
        // Keep it in place (never skip) and try the DLQ again on the next failure.
        holdForLocalRetry(delivery, message.reconsumeTimes, retrySuspendMs);
      }
      return;
    }
    holdForLocalRetry(delivery, message.reconsumeTimes + 1, retrySuspendMs);
  }

  /**
   * LOCK_BATCH_MQ: lock (or renew) queues, one request per broker that owns some.
   *
   * @param queues The queues.
   * @returns The ones the brokers granted.
   * @throws {MQClientError} On a malformed answer.
   */
  async lock(queues: readonly MessageQueue[]): Promise<MessageQueue[]> {
    const granted = await Promise.all(
      [...byBroker(queues)].map(([brokerName, own]) => this.#lockOn(brokerName, own)),
    );
    return granted.flat();
  }

  async #lockOn(brokerName: string, queues: readonly MessageQueue[]): Promise<MessageQueue[]> {
    const response = await channelOf(this.#options.client, brokerName).invoke(
      RequestCode.LOCK_BATCH_MQ,
      {},
      encodeJsonBody({
        consumerGroup: this.#options.group,
        clientId: this.#options.clientId,
        onlyThisBroker: true,
        mqSet: queues,
      }),
    );
    const parsed = parseLockBatchResponseBody(response.body);
    if (!parsed.ok) throw new MQClientError(`Bad lock response: ${parsed.error}`);
    return parsed.value.lockOKMQSet.map((q) => ({
      topic: q.topic,
      brokerName: q.brokerName,
      queueId: q.queueId,
    }));
  }

  /**
   * Renew the locks of owned queues.
   *
   * @param queues The owned queues' states; renewed ones get `lockedAtMs` updated.
   * @returns The states whose lock the broker no longer grants.
   */
  async renew(queues: readonly ProcessQueue[]): Promise<ProcessQueue[]> {
    const before = performance.now();
    const granted = new Set((await this.lock(queues.map((s) => s.queue))).map(queueKey));
    const lost: ProcessQueue[] = [];
    for (const pq of queues) {
      if (granted.has(pq.key)) pq.lockedAtMs = before;
      else lost.push(pq);
    }
    return lost;
  }

  /**
   * UNLOCK_BATCH_MQ, best effort.
   *
   * @param queues The queues to unlock.
   */
  async unlock(queues: readonly MessageQueue[]): Promise<void> {
    if (queues.length === 0) return;
    await Promise.all(
      [...byBroker(queues)].map(([brokerName, own]) =>
        channelOf(this.#options.client, brokerName).invoke(
          RequestCode.UNLOCK_BATCH_MQ,
          {},
          encodeJsonBody({
            consumerGroup: this.#options.group,
            clientId: this.#options.clientId,
            onlyThisBroker: true,
            mqSet: own,
          }),
          { timeoutMs: SEND_BACK_TIMEOUT_MS },
        ).catch(() => {})
      ),
    );
  }
}

/** Queues grouped by the broker that owns them (locks live on that broker). */
function byBroker(queues: readonly MessageQueue[]): Map<string, MessageQueue[]> {
  const out = new Map<string, MessageQueue[]>();
  for (const q of queues) {
    const list = out.get(q.brokerName);
    if (list === undefined) out.set(q.brokerName, [q]);
    else list.push(q);
  }
  return out;
}
