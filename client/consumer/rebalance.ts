/**
 * Rebalance (RocketMQ's `RebalanceImpl`): find every queue of the subscribed
 * topics and the group's live members, take this member's share with the
 * allocation strategy, give up queues no longer ours (commit, unlock) and
 * start pulling new ones (after locking them in orderly mode).
 *
 * @module
 */

import { type BrokerAccess, channelOf, routeOf } from "./brokers.ts";
import { MQBrokerError, MQClientError } from "../errors.ts";
import type { MessageQueue } from "../message.ts";
import { consumerGroupRequestHeader } from "../protocol/headers.ts";
import { parseConsumerListBody } from "../protocol/heartbeat.ts";
import { RequestCode } from "../protocol/request_code.ts";
import { ResponseCode } from "../protocol/response_code.ts";
import { readQueues } from "../topic_route.ts";
import type { AllocateStrategy } from "./allocate_strategy.ts";
import type { OrderlyConsumeService } from "./consume_orderly.ts";
import { type ProcessQueue, queueKey } from "./process_queue.ts";
import type { Subscription } from "./subscription.ts";

/** How soon an orderly consumer retries locking assigned queues it could not lock, ms. */
export const LOCK_RETRY_INTERVAL_MS = 1_000;

/** A queue this member should own, with the subscription it belongs to. */
export interface Assigned {
  /** The queue. */
  readonly queue: MessageQueue;
  /** Its subscription. */
  readonly subscription: Subscription;
}

/**
 * This member's share of every subscribed topic.
 *
 * @param clientId This member.
 * @param clientIds All live members (this one is added if missing).
 * @param perTopic Queues of each subscription, same order as `subscriptions`.
 * @param subscriptions The subscriptions.
 * @param strategy The allocation strategy; undefined = every queue (broadcasting).
 * @returns Queue key to assignment.
 */
export function assignQueues(
  clientId: string,
  clientIds: readonly string[],
  perTopic: readonly (readonly MessageQueue[])[],
  subscriptions: readonly Subscription[],
  strategy: AllocateStrategy | undefined,
): Map<string, Assigned> {
  const ids = clientIds.includes(clientId) ? clientIds : [...clientIds, clientId];
  const wanted = new Map<string, Assigned>();
  for (const [i, queues] of perTopic.entries()) {
    const mine = strategy === undefined ? queues : strategy(clientId, queues, ids);
    for (const queue of mine) {
      wanted.set(queueKey(queue), { queue, subscription: subscriptions[i] });
    }
  }
  return wanted;
}

/** What the rebalance needs from its consumer. */
export interface RebalanceHost {
  /** True once the consumer is closing. */
  isClosed(): boolean;
  /** Give up queues: stop pulling, commit, unlock. */
  release(queues: readonly ProcessQueue[]): Promise<void>;
  /** Where a newly owned queue starts. */
  startOffset(queue: MessageQueue): Promise<number>;
  /** Start the pull loop of a newly owned queue (already in the map). */
  startPulling(pq: ProcessQueue): void;
  /** Called after each completed rebalance. */
  onRebalanced(): void;
}

/** Settings of a {@linkcode RebalanceService}. */
export interface RebalanceOptions {
  /** The broker channel. */
  readonly client: BrokerAccess;
  /** The consumer group. */
  readonly group: string;
  /** This member. */
  readonly clientId: string;
  /** Subscriptions; the first is the main topic, later ones (retry topics) may not exist yet. */
  readonly subscriptions: readonly Subscription[];
  /** Allocation; undefined = broadcasting (every queue, no member list). */
  readonly strategy: AllocateStrategy | undefined;
  /** Orderly mode's lock service. */
  readonly orderly: OrderlyConsumeService | undefined;
  /** The owned queues (shared with the consumer). */
  readonly queues: Map<string, ProcessQueue>;
  /** The consumer side. */
  readonly host: RebalanceHost;
  /** Builds the state of a newly owned queue. */
  readonly createQueue: (assigned: Assigned, offset: number) => ProcessQueue;
}

/** Runs rebalances one at a time; calls made while one runs coalesce into one more run. */
export class RebalanceService {
  readonly #options: RebalanceOptions;
  #running: Promise<void> | undefined;
  #again = false;
  #retryTopicSeen = false;
  #lockRetryTimer: ReturnType<typeof setTimeout> | undefined;

  /** @param options Channel, membership, strategy and consumer hooks. */
  constructor(options: RebalanceOptions) {
    this.#options = options;
  }

  /** The rebalance in progress, if any. */
  get running(): Promise<void> | undefined {
    return this.#running;
  }

  /** Run a rebalance (or join the one running, which then runs once more). */
  run(): Promise<void> {
    if (this.#options.host.isClosed()) return Promise.resolve();
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#runOnce();
        } while (this.#again && !this.#options.host.isClosed());
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  /** The first send-back creates the retry topic; pick up its queue without waiting for the timer. */
  noteRetryTopicUsed(): void {
    if (!this.#retryTopicSeen) void this.run().catch(() => {});
  }

  /** Stop the lock retry timer. */
  close(): void {
    clearTimeout(this.#lockRetryTimer);
  }

  async #runOnce(): Promise<void> {
    const { client, group, clientId, subscriptions, host, queues, orderly } = this.#options;
    const perTopic = await Promise.all(subscriptions.map((s, i) => this.#queuesOf(s, i > 0)));
    let ids: readonly string[] = [clientId];
    // Every member heartbeats to every broker of the topic, so any of them knows the group.
    const memberBroker = perTopic.flat()[0]?.brokerName;
    if (this.#options.strategy !== undefined && memberBroker !== undefined) {
      const response = await channelOf(client, memberBroker).invoke(
        RequestCode.GET_CONSUMER_LIST_BY_GROUP,
        consumerGroupRequestHeader.encode({ consumerGroup: group }),
      );
      const list = parseConsumerListBody(response.body);
      if (!list.ok) throw new MQClientError(`Bad consumer list: ${list.error}`);
      ids = list.value.consumerIdList;
    }
    if (host.isClosed()) return;
    if (perTopic.length > 1 && perTopic[1].length > 0) this.#retryTopicSeen = true;
    const wanted = assignQueues(clientId, ids, perTopic, subscriptions, this.#options.strategy);
    const dropped: ProcessQueue[] = [];
    for (const [key, pq] of queues) {
      if (wanted.has(key)) continue;
      queues.delete(key);
      dropped.push(pq);
    }
    await host.release(dropped);
    let added = [...wanted].filter(([key]) => !queues.has(key)).map(([, v]) => v);
    if (orderly !== undefined && added.length > 0 && !host.isClosed()) {
      const locked = new Set((await orderly.lock(added.map((a) => a.queue))).map(queueKey));
      if (locked.size < added.length) this.#scheduleLockRetry();
      added = added.filter((a) => locked.has(queueKey(a.queue)));
    }
    for (const assigned of added) {
      const key = queueKey(assigned.queue);
      if (queues.has(key) || host.isClosed()) continue;
      const offset = await host.startOffset(assigned.queue);
      if (host.isClosed() || queues.has(key)) continue;
      const pq = this.#options.createQueue(assigned, offset);
      queues.set(key, pq);
      host.startPulling(pq);
    }
    host.onRebalanced();
  }

  #scheduleLockRetry(): void {
    if (this.#lockRetryTimer !== undefined || this.#options.host.isClosed()) return;
    this.#lockRetryTimer = setTimeout(() => {
      this.#lockRetryTimer = undefined;
      void this.run().catch(() => {});
    }, LOCK_RETRY_INTERVAL_MS);
  }

  async #queuesOf(subscription: Subscription, optional: boolean): Promise<MessageQueue[]> {
    try {
      const route = await routeOf(this.#options.client, subscription.topic);
      return readQueues(route, subscription.topic);
    } catch (error) {
      // The retry topic exists only after the group's first send-back.
      if (
        optional && error instanceof MQBrokerError && error.code === ResponseCode.TOPIC_NOT_EXIST
      ) {
        return [];
      }
      throw error;
    }
  }
}
