/**
 * Concurrent delivery (RocketMQ's `ConsumeMessageConcurrentlyService`): any
 * message may go out at any time; a failed one goes back to the broker's
 * retry topic with a growing delay, or to the DLQ after `maxReconsumeTimes`.
 *
 * @module
 */

import { type BrokerAccess, channelOf } from "./brokers.ts";
import { MQClientError } from "../errors.ts";
import { type ReceivedMessage, RETRY_TOPIC_PREFIX } from "../message.ts";
import { type ConsumeService, type Delivery, holdForLocalRetry } from "./consume_service.ts";
import { resendToRetryTopic, sendMessageBack } from "./send_back.ts";

/** Settings of a {@linkcode ConcurrentConsumeService}. */
export interface ConcurrentConsumeOptions {
  /** The broker channel. */
  readonly client: BrokerAccess;
  /** The consumer group. */
  readonly group: string;
  /** Attempts before the DLQ. */
  readonly maxReconsumeTimes: number;
  /** Pause before a local redelivery (when the broker cannot take the message back), ms. */
  readonly retrySuspendMs: number;
  /** Called after the broker took a message back (the retry topic may be new). */
  readonly onRetryTopicUsed: () => void;
}

/** Concurrent delivery: every queue is always deliverable; failures go to `%RETRY%<group>`. */
export class ConcurrentConsumeService implements ConsumeService {
  readonly orderly = false;
  readonly #options: ConcurrentConsumeOptions;

  /** @param options Channel, group and retry settings. */
  constructor(options: ConcurrentConsumeOptions) {
    this.#options = options;
  }

  /** @inheritdoc */
  deliverable(): boolean {
    return true;
  }

  /**
   * Send back; if the broker refuses, re-send to the retry topic; if that
   * fails too and the message is the one out with the caller, deliver it
   * again locally.
   *
   * @inheritdoc
   */
  async reconsumeLater(
    message: ReceivedMessage,
    delivery: Delivery | undefined,
    delayLevel: number,
  ): Promise<void> {
    const { group, maxReconsumeTimes } = this.#options;
    const client = channelOf(this.#options.client, message.brokerName);
    let failure: unknown;
    try {
      await sendMessageBack(client, group, message, delayLevel, maxReconsumeTimes);
      if (delivery !== undefined) delivery.handedBack = true;
      this.#options.onRetryTopicUsed();
      return;
    } catch (error) {
      failure = error;
    }
    try {
      await resendToRetryTopic(client, group, message, delayLevel, maxReconsumeTimes);
      if (delivery !== undefined) delivery.handedBack = true;
      this.#options.onRetryTopicUsed();
      return;
    } catch (error) {
      if (delivery !== undefined) {
        holdForLocalRetry(delivery, message.reconsumeTimes + 1, this.#options.retrySuspendMs);
        return;
      }
      throw new MQClientError(
        `Cannot reconsume message ${message.msgId}: send-back failed (${
          (failure as Error)?.message
        }) and re-sending to ${RETRY_TOPIC_PREFIX + group} failed`,
        { cause: error },
      );
    }
  }
}
