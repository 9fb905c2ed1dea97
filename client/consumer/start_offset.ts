/**
 * Where a newly owned queue starts (RocketMQ's `computePullFromWhere`): the
 * stored offset if any, else the group's `consumeFromWhere` policy.
 *
 * @module
 */

import type { BrokerClient } from "../broker_client.ts";
import { MQClientError } from "../errors.ts";
import { type MessageQueue, RETRY_TOPIC_PREFIX } from "../message.ts";
import {
  offsetResponseHeader,
  queueRequestHeader,
  searchOffsetRequestHeader,
} from "../protocol/headers.ts";
import type { ConsumeFromWhere } from "../protocol/heartbeat.ts";
import { RequestCode } from "../protocol/request_code.ts";
import type { OffsetStore } from "./offset_store.ts";

/** The start policy of a group with no stored offset. */
export interface StartPolicy {
  /** Where to start. */
  readonly consumeFromWhere: ConsumeFromWhere;
  /** Epoch ms for `CONSUME_FROM_TIMESTAMP`. */
  readonly consumeTimestamp: number;
}

/**
 * The offset a newly owned queue is consumed from.
 *
 * @param client The broker channel (min/max/timestamp look-ups).
 * @param store The offset store (stored progress wins).
 * @param queue The queue.
 * @param policy The group's start policy; retry topics always start at their first offset.
 * @returns The queue offset to pull from.
 * @throws {MQClientError} On a malformed broker answer.
 */
export async function startOffset(
  client: BrokerClient,
  store: OffsetStore,
  queue: MessageQueue,
  policy: StartPolicy,
): Promise<number> {
  const stored = await store.read(queue);
  if (stored !== undefined) return stored;
  const fields = { topic: queue.topic, queueId: queue.queueId };
  // A retry topic is always read from its start: everything in it was sent back by this group.
  const where = queue.topic.startsWith(RETRY_TOPIC_PREFIX)
    ? "CONSUME_FROM_FIRST_OFFSET"
    : policy.consumeFromWhere;
  const response = where === "CONSUME_FROM_TIMESTAMP"
    ? await client.invoke(
      RequestCode.SEARCH_OFFSET_BY_TIMESTAMP,
      searchOffsetRequestHeader.encode({ ...fields, timestamp: policy.consumeTimestamp }),
    )
    : await client.invoke(
      where === "CONSUME_FROM_FIRST_OFFSET"
        ? RequestCode.GET_MIN_OFFSET
        : RequestCode.GET_MAX_OFFSET,
      queueRequestHeader.encode(fields),
    );
  const decoded = offsetResponseHeader.decode(response.extFields);
  if (!decoded.ok) throw new MQClientError(`Bad offset response: ${decoded.error}`);
  return decoded.header.offset;
}
