/**
 * Broadcasting delivery: every member consumes every message; a failed
 * message is not retried (RocketMQ's broadcasting semantics: no retry topic,
 * no send-back) — `reconsumeLater` just counts it as done.
 *
 * @module
 */

import type { ConsumeService, Delivery } from "./consume_service.ts";

/** Broadcasting: always deliverable; failures are dropped. */
export class BroadcastConsumeService implements ConsumeService {
  readonly orderly = false;

  /** @inheritdoc */
  deliverable(): boolean {
    return true;
  }

  /** Nothing is retried in broadcasting: the message counts as processed. */
  reconsumeLater(_message: unknown, delivery: Delivery | undefined): Promise<void> {
    if (delivery !== undefined) delivery.handedBack = true;
    return Promise.resolve();
  }
}
