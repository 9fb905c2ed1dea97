/**
 * Where a consumer keeps its progress (RocketMQ's `OffsetStore`): on the
 * broker for clustering ({@linkcode RemoteOffsetStore}), in a local file for
 * broadcasting (`local_offset_store.ts`).
 *
 * @module
 */

import { type BrokerAccess, channelOf } from "./brokers.ts";
import type { MessageQueue } from "../message.ts";
import {
  offsetResponseHeader,
  queryConsumerOffsetRequestHeader,
  updateConsumerOffsetRequestHeader,
} from "../protocol/headers.ts";
import { RequestCode } from "../protocol/request_code.ts";
import { ResponseCode } from "../protocol/response_code.ts";

/** Timeout of an offset commit, ms. */
export const OFFSET_COMMIT_TIMEOUT_MS = 3_000;

/** The consumer's progress per queue. */
export interface OffsetStore {
  /**
   * True if a pull may carry the commit offset (the broker stores it with the
   * pull: `PullSysFlag.COMMIT_OFFSET`).
   */
  readonly commitsWithPull: boolean;
  /**
   * The stored offset of a queue.
   *
   * @param queue The queue.
   * @returns The next offset to consume, or undefined if none is stored.
   */
  read(queue: MessageQueue): Promise<number | undefined>;
  /**
   * Store the next offset to consume.
   *
   * @param queue The queue.
   * @param offset Next offset to consume.
   */
  commit(queue: MessageQueue, offset: number): Promise<void>;
  /** Flush whatever is pending (a no-op for the remote store). */
  flush(): Promise<void>;
}

/**
 * The clustering offset store: QUERY_CONSUMER_OFFSET and
 * UPDATE_CONSUMER_OFFSET against the broker that owns the queue.
 */
export class RemoteOffsetStore implements OffsetStore {
  readonly commitsWithPull = true;
  readonly #client: BrokerAccess;
  readonly #group: string;

  /**
   * @param client The broker channel.
   * @param group The consumer group.
   */
  constructor(client: BrokerAccess, group: string) {
    this.#client = client;
    this.#group = group;
  }

  /** @inheritdoc */
  async read(queue: MessageQueue): Promise<number | undefined> {
    const stored = await channelOf(this.#client, queue.brokerName).invoke(
      RequestCode.QUERY_CONSUMER_OFFSET,
      queryConsumerOffsetRequestHeader.encode({
        consumerGroup: this.#group,
        topic: queue.topic,
        queueId: queue.queueId,
      }),
      undefined,
      { acceptCodes: [ResponseCode.QUERY_NOT_FOUND] },
    );
    if (stored.code !== ResponseCode.SUCCESS) return undefined;
    const decoded = offsetResponseHeader.decode(stored.extFields);
    return decoded.ok && decoded.header.offset >= 0 ? decoded.header.offset : undefined;
  }

  /** @inheritdoc */
  async commit(queue: MessageQueue, offset: number): Promise<void> {
    await channelOf(this.#client, queue.brokerName).invoke(
      RequestCode.UPDATE_CONSUMER_OFFSET,
      updateConsumerOffsetRequestHeader.encode({
        consumerGroup: this.#group,
        topic: queue.topic,
        queueId: queue.queueId,
        commitOffset: offset,
      }),
      undefined,
      { timeoutMs: OFFSET_COMMIT_TIMEOUT_MS },
    );
  }

  /** @inheritdoc */
  flush(): Promise<void> {
    return Promise.resolve();
  }
}
