/**
 * Giving a failed message back to the broker: CONSUMER_SEND_MSG_BACK, and
 * the client's fallback of re-sending it to `%RETRY%<group>` itself.
 *
 * @module
 */

import type { BrokerClient } from "../broker_client.ts";
import { DELAY_LEVEL_MAX, type ReceivedMessage, RETRY_TOPIC_PREFIX } from "../message.ts";
import {
  consumerSendMsgBackRequestHeader,
  DEFAULT_TOPIC,
  DEFAULT_TOPIC_QUEUE_NUMS,
  sendMessageRequestHeaderV2,
} from "../protocol/headers.ts";
import { encodeProperties, MessageConst } from "../protocol/properties.ts";
import { RequestCode } from "../protocol/request_code.ts";

/** Producer group of messages the consumer re-sends itself (RocketMQ `CLIENT_INNER_PRODUCER`). */
export const CLIENT_INNER_PRODUCER_GROUP = "CLIENT_INNER_PRODUCER";
/** The broker's first retry delay level (level = this + reconsumeTimes). */
export const RETRY_DELAY_LEVEL_BASE = 3;
/** Timeout of a send-back or re-send, ms. */
export const SEND_BACK_TIMEOUT_MS = 3_000;

/**
 * CONSUMER_SEND_MSG_BACK for a delivered message.
 *
 * @param client The broker channel.
 * @param group The consumer group.
 * @param message The message.
 * @param delayLevel Delay level; 0 = broker's choice, negative = straight to the DLQ.
 * @param maxReconsumeTimes Attempts before the DLQ.
 */
export async function sendMessageBack(
  client: BrokerClient,
  group: string,
  message: ReceivedMessage,
  delayLevel: number,
  maxReconsumeTimes: number,
): Promise<void> {
  await client.invoke(
    RequestCode.CONSUMER_SEND_MSG_BACK,
    consumerSendMsgBackRequestHeader.encode({
      offset: message.commitLogOffset,
      group,
      delayLevel,
      originMsgId: message.msgId,
      originTopic: message.topic,
      unitMode: false,
      maxReconsumeTimes,
    }),
    undefined,
    { timeoutMs: SEND_BACK_TIMEOUT_MS },
  );
}

/**
 * The client's fallback: store the retry copy in `%RETRY%<group>` with a
 * plain send (RECONSUME_TIME + 1, delay level by attempt).
 *
 * @param client The broker channel.
 * @param group The consumer group.
 * @param message The message.
 * @param delayLevel Delay level; 0 = 3 + reconsumeTimes.
 * @param maxReconsumeTimes Attempts before the DLQ.
 */
export async function resendToRetryTopic(
  client: BrokerClient,
  group: string,
  message: ReceivedMessage,
  delayLevel: number,
  maxReconsumeTimes: number,
): Promise<void> {
  const reconsumeTimes = message.reconsumeTimes + 1;
  const properties: Record<string, string> = message.properties;
  for (
    const stale of [
      MessageConst.TIMER_DELIVER_MS,
      MessageConst.TIMER_DELAY_MS,
      MessageConst.TIMER_DELAY_SEC,
      MessageConst.TIMER_OUT_MS,
      MessageConst.REAL_TOPIC,
      MessageConst.REAL_QUEUE_ID,
    ]
  ) {
    delete properties[stale];
  }
  properties[MessageConst.RETRY_TOPIC] ??= message.topic;
  properties[MessageConst.ORIGIN_MESSAGE_ID] ??= message.msgId;
  properties[MessageConst.RECONSUME_TIME] = String(reconsumeTimes);
  properties[MessageConst.MAX_RECONSUME_TIMES] = String(maxReconsumeTimes);
  properties[MessageConst.DELAY_TIME_LEVEL] = String(
    Math.min(
      delayLevel > 0 ? delayLevel : RETRY_DELAY_LEVEL_BASE + message.reconsumeTimes,
      DELAY_LEVEL_MAX,
    ),
  );
  await client.invoke(
    RequestCode.SEND_MESSAGE_V2,
    sendMessageRequestHeaderV2.encode({
      producerGroup: CLIENT_INNER_PRODUCER_GROUP,
      topic: RETRY_TOPIC_PREFIX + group,
      defaultTopic: DEFAULT_TOPIC,
      defaultTopicQueueNums: DEFAULT_TOPIC_QUEUE_NUMS,
      queueId: -1,
      sysFlag: 0,
      bornTimestamp: message.bornTimestamp,
      flag: message.flag,
      properties: encodeProperties(properties),
      reconsumeTimes,
      unitMode: false,
      batch: false,
      maxReconsumeTimes,
    }),
    message.body,
    { timeoutMs: SEND_BACK_TIMEOUT_MS },
  );
}
