/**
 * The clustering push consumer: a facade over RocketMQ's parts in
 * `client/consumer/` — rebalance (allocation strategies), the pull loop and
 * per-queue process state, the offset store, and the concurrent or orderly
 * consume service.
 *
 * @module
 */

import type { BrokerClient } from "./broker_client.ts";
import { BrokerPool } from "./broker_pool.ts";
import { type BrokerAccess, channelOf } from "./consumer/brokers.ts";
import { unregisterAndClose } from "./client_registration.ts";
import {
  DELAY_LEVEL_MAX,
  type MessageQueue,
  type ReceivedMessage,
  RETRY_TOPIC_PREFIX,
  validateName,
} from "./message.ts";
import type { RemotingCommand } from "./protocol/remoting_command.ts";
import { RequestCode } from "./protocol/request_code.ts";
import { allocateStrategy } from "./consumer/allocate_strategy.ts";
import { BroadcastConsumeService } from "./consumer/consume_broadcasting.ts";
import { ConcurrentConsumeService } from "./consumer/consume_concurrently.ts";
import { LOCAL_OFFSET_STORE_DIR_DEFAULT, LocalOffsetStore } from "./consumer/local_offset_store.ts";
import { OrderlyConsumeService } from "./consumer/consume_orderly.ts";
import type { ConsumeService, Delivery } from "./consumer/consume_service.ts";
import { DeliveryBuffer } from "./consumer/delivery_buffer.ts";
import { checkSubscription, sendConsumerHeartbeat } from "./consumer/heartbeat.ts";
import { type OffsetStore, RemoteOffsetStore } from "./consumer/offset_store.ts";
import {
  type ConsumerOptions,
  resolveConsumerOptions,
  type ResolvedConsumerOptions,
} from "./consumer/options.ts";
import { PopPushService } from "./consumer/pop_push.ts";
import { ProcessQueue } from "./consumer/process_queue.ts";
import { resetQueues } from "./consumer/reset_offsets.ts";
import { type PullContext, pullLoop } from "./consumer/pull_service.ts";
import { RebalanceService } from "./consumer/rebalance.ts";
import { startOffset } from "./consumer/start_offset.ts";
import { parseSubscription, subscribeAll, type Subscription } from "./consumer/subscription.ts";

export {
  COMMIT_INTERVAL_MS_DEFAULT,
  CONSUME_TIMESTAMP_LOOKBACK_MS,
  type ConsumerOptions,
  HEARTBEAT_INTERVAL_MS_DEFAULT,
  LOCK_RENEW_INTERVAL_MS_DEFAULT,
  MAX_RECONSUME_TIMES_DEFAULT,
  PULL_BATCH_SIZE_DEFAULT,
  PULL_TIMEOUT_MS_DEFAULT,
  QUEUE_BUFFERED_MESSAGES_MAX_DEFAULT,
  REBALANCE_INTERVAL_MS_DEFAULT,
  RETRY_SUSPEND_MS_DEFAULT,
  SUSPEND_TIMEOUT_MS_DEFAULT,
} from "./consumer/options.ts";
export type { SubscriptionExpression } from "./consumer/subscription.ts";
export type { AllocateStrategyName } from "./consumer/allocate_strategy.ts";
export { LOCK_CLIENT_EXPIRY_MS_DEFAULT } from "./consumer/consume_orderly.ts";
export { LOCK_RETRY_INTERVAL_MS } from "./consumer/rebalance.ts";
export { PULL_ERROR_BACKOFF_MS } from "./consumer/pull_service.ts";
export { CLIENT_INNER_PRODUCER_GROUP } from "./consumer/send_back.ts";

/** Longest a rebalance or close waits for the message being processed before releasing its queue, ms. */
export const IN_FLIGHT_WAIT_MS = 1_000;

/** Options of {@linkcode Consumer.messages}. */
export interface MessagesOptions {
  /** Ends the iteration when aborted. */
  readonly signal?: AbortSignal;
}

/** Options of {@linkcode Consumer.reconsumeLater}. */
export interface ReconsumeOptions {
  /**
   * Concurrent mode: delay level of the redelivery, 1..18 (1 s ... 2 h).
   * Default 0: the broker picks 3 + reconsumeTimes (10 s, 30 s, 1 min, ...).
   * Ignored in orderly mode, where the message is retried in place after
   * `retrySuspendMs`.
   */
  readonly delayLevel?: number;
}

/**
 * A clustering consumer of one topic (and its group's retry topic).
 *
 * Members of a group split the topic's queues with the `allocateStrategy`
 * (default average: contiguous blocks over sorted queues and sorted client
 * ids). A rebalance
 * runs at start, every `rebalanceIntervalMs`, and at once when the broker
 * sends NOTIFY_CONSUMER_IDS_CHANGED. Each owned queue has a long-polling pull
 * loop; pulled messages wait in a buffer until {@linkcode Consumer.messages}
 * yields them. A message counts as processed when the iterator advances past
 * it, unless {@linkcode Consumer.reconsumeLater} was called for it; the
 * processed offset is committed to the broker every `commitIntervalMs`, on
 * each pull, when the queue is handed to another member, and on close.
 * Delivery is at least once: a message being processed when the iteration
 * stops, or during a rebalance, may be delivered again.
 *
 * Retries (concurrent mode): `reconsumeLater(message)` sends the message back
 * (CONSUMER_SEND_MSG_BACK); the broker stores it in `%RETRY%<group>` with a
 * growing delay, or in `%DLQ%<group>` after `maxReconsumeTimes` attempts. The
 * consumer also consumes `%RETRY%<group>`; such messages report the original
 * `topic` and a `reconsumeTimes` one higher per attempt.
 *
 * Pop mode (`mode: "pop"`): the broker hands out messages (POP_MESSAGE) to
 * any member; advancing acks, `reconsumeLater` keeps the message invisible
 * for its back-off, after which it comes back with reconsumeTimes + 1.
 *
 * Broadcasting (`messageModel: "BROADCASTING"`): every member takes every
 * queue and so gets every message; offsets live in a local file under
 * `offsetStoreDir`, survive a restart and are never committed to the
 * broker; `reconsumeLater` does not retry (no retry topic), as in RocketMQ.
 *
 * Orderly mode (`orderly: true`): before pulling a queue the consumer locks
 * it on the broker (LOCK_BATCH_MQ), renews its locks every
 * `lockRenewIntervalMs`, and unlocks queues it gives up (after committing
 * their offset) and on close, so no two members consume one queue at once.
 * Messages of a queue are delivered strictly in queue order; after
 * `reconsumeLater(message)` the same message is delivered again after
 * `retrySuspendMs` before anything later of its queue, with `reconsumeTimes`
 * one higher, until `maxReconsumeTimes`; then it goes to the DLQ. An orderly
 * consumer does not subscribe to the retry topic.
 *
 * @example
 * ```ts ignore
 * import { createConsumer } from "./consumer.ts";
 * await using consumer = await createConsumer({
 *   endpoint: "127.0.0.1:10911",
 *   group: "billing",
 *   topic: "Orders",
 *   consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
 * });
 * for await (const message of consumer.messages()) {
 *   try {
 *     console.log(message.queueId, message.queueOffset, message.text());
 *   } catch {
 *     await consumer.reconsumeLater(message); // redelivered later, reconsumeTimes + 1
 *   }
 * }
 * ```
 */
export class Consumer implements AsyncDisposable {
  /** Consumer group. */
  readonly group: string;
  /** Subscribed topic. */
  readonly topic: string;
  /** Client id. */
  readonly clientId: string;
  /** True for an orderly consumer. */
  readonly orderly: boolean;
  /** `CLUSTERING` or `BROADCASTING`. */
  readonly messageModel: "CLUSTERING" | "BROADCASTING";
  readonly #pool: BrokerPool;
  /** The standalone broker's channel, or (with name servers) the pool of brokers. */
  readonly #client: BrokerAccess;
  readonly #subscription: Subscription;
  readonly #subscriptions: readonly Subscription[];
  readonly #subVersion = Date.now();
  readonly #options: ResolvedConsumerOptions;
  readonly #onRebalance: ((queues: readonly MessageQueue[]) => void) | undefined;
  readonly #queues = new Map<string, ProcessQueue>();
  readonly #service: ConsumeService;
  readonly #orderlyService: OrderlyConsumeService | undefined;
  readonly #buffer: DeliveryBuffer;
  readonly #offsets: OffsetStore;
  readonly #rebalancer: RebalanceService;
  readonly #pull: PullContext;
  readonly #timers: Array<ReturnType<typeof setInterval>> = [];
  readonly #popPush: PopPushService | undefined;
  #current: Delivery | undefined;
  #iterating = false;
  #closed = false;
  #closing: Promise<void> | undefined;

  /**
   * Use {@linkcode createConsumer}.
   *
   * @param options Consumer options.
   */
  constructor(options: ConsumerOptions) {
    validateName("group", options.group, "create consumer");
    validateName("topic", options.topic, "create consumer");
    this.group = options.group;
    this.topic = options.topic;
    this.orderly = options.orderly ?? false;
    this.#options = resolveConsumerOptions(options);
    this.messageModel = this.#options.messageModel;
    const broadcasting = this.messageModel === "BROADCASTING";
    this.clientId = options.clientId ?? `consumer@${Deno.pid}@${crypto.randomUUID().slice(0, 8)}`;
    this.#subscription = parseSubscription(this.topic, options.subscription);
    this.#subscriptions = this.orderly || broadcasting
      ? [this.#subscription]
      : [this.#subscription, subscribeAll(RETRY_TOPIC_PREFIX + this.group)];
    this.#popPush = options.mode === "pop"
      ? new PopPushService({
        endpoint: options.endpoint,
        nameServer: options.nameServer,
        group: this.group,
        topic: this.topic,
        subscription: options.subscription,
        clientId: this.clientId,
        batchSize: this.#options.pullBatchSize,
        pollTimeMs: this.#options.suspendTimeoutMs,
        orderly: this.orderly,
        fromFirst: this.#options.consumeFromWhere === "CONSUME_FROM_FIRST_OFFSET",
        credentials: options.credentials,
      })
      : undefined;
    const strategy = broadcasting ? undefined : allocateStrategy(options.allocateStrategy);
    this.#onRebalance = options.onRebalance;
    // A broker channel that (re)connects gets the heartbeat, then the group rebalances.
    this.#pool = new BrokerPool({
      endpoint: options.endpoint,
      nameServer: options.nameServer,
      credentials: options.credentials,
      onRequest: (request) => this.#onBrokerRequest(request),
      onBrokerConnect: (client) =>
        this.#heartbeatTo(client)
          .then(() => this.orderly ? this.#renewLocks() : undefined)
          .then(() => this.#rebalancer.run()),
    });
    this.#client = this.#pool.standalone ?? this.#pool;
    const { maxReconsumeTimes, retrySuspendMs } = this.#options;
    const common = { client: this.#client, group: this.group, maxReconsumeTimes, retrySuspendMs };
    this.#orderlyService = this.orderly
      ? new OrderlyConsumeService({ ...common, clientId: this.clientId })
      : undefined;
    this.#service = this.#orderlyService ??
      (broadcasting ? new BroadcastConsumeService() : new ConcurrentConsumeService({
        ...common,
        onRetryTopicUsed: () => this.#rebalancer.noteRetryTopicUsed(),
      }));
    this.#buffer = new DeliveryBuffer(this.#service, this.#options.bufferedMax);
    this.#offsets = broadcasting
      ? new LocalOffsetStore(options.offsetStoreDir ?? LOCAL_OFFSET_STORE_DIR_DEFAULT, this.group)
      : new RemoteOffsetStore(this.#client, this.group);
    this.#rebalancer = new RebalanceService({
      client: this.#client,
      group: this.group,
      clientId: this.clientId,
      subscriptions: this.#subscriptions,
      strategy,
      orderly: this.#orderlyService,
      queues: this.#queues,
      createQueue: ({ queue, subscription }, offset) =>
        new ProcessQueue(queue, subscription, offset),
      host: {
        isClosed: () => this.#closed,
        release: (queues) => this.#release(queues),
        startOffset: (queue) =>
          startOffset(
            channelOf(this.#client, queue.brokerName),
            this.#offsets,
            queue,
            this.#options,
          ),
        startPulling: (pq) => void (pq.loop = pullLoop(this.#pull, pq)),
        onRebalanced: () => this.#onRebalance?.(this.assignment),
      },
    });
    this.#pull = {
      client: this.#client,
      group: this.group,
      subVersion: this.#subVersion,
      pullBatchSize: this.#options.pullBatchSize,
      suspendTimeoutMs: this.#options.suspendTimeoutMs,
      pullTimeoutMs: this.#options.pullTimeoutMs,
      bufferedMax: this.#options.bufferedMax,
      commitWithPull: this.#offsets.commitsWithPull,
      isClosed: () => this.#closed,
      deliverable: (pq, nowMs) => this.#service.deliverable(pq, nowMs),
      deliver: (pq, messages) => this.#buffer.push(pq, messages),
      commit: (pq) => this.#commit(pq),
    };
  }

  /** The queues this consumer owns now (topic queues and retry-topic queues). */
  get assignment(): MessageQueue[] {
    return [...this.#queues.values()].map((s) => s.queue);
  }

  /** The group's retry topic this consumer also consumes, or undefined (orderly, broadcasting). */
  get retryTopic(): string | undefined {
    return this.#subscriptions[1]?.topic;
  }

  /**
   * Connect, register with a heartbeat, check an SQL92 subscription, take a
   * share of the queues (locking them in orderly mode), and start pulling.
   *
   * @throws {MQConnectionClosedError} If the broker cannot be reached.
   * @throws {MQBrokerError} If the broker refuses the heartbeat, the route,
   *   the subscription (SUBSCRIPTION_PARSE_FAILED) or, in orderly mode, the locks.
   */
  async start(): Promise<void> {
    if (this.#popPush !== undefined) return await this.#popPush.start();
    if (this.#offsets instanceof LocalOffsetStore) await this.#offsets.load();
    await this.#heartbeat();
    if (this.#subscription.type === "SQL92") {
      const broker = this.#pool.standalone ?? await this.#anyBrokerOf(this.topic);
      if (broker !== undefined) {
        await checkSubscription(broker, this.group, this.#subscription, this.#subVersion);
      }
    }
    await this.#rebalancer.run();
    const { heartbeatIntervalMs, rebalanceIntervalMs, commitIntervalMs } = this.#options;
    this.#timers.push(
      setInterval(() => void this.#heartbeat().catch(() => {}), heartbeatIntervalMs),
      setInterval(() => void this.#rebalancer.run().catch(() => {}), rebalanceIntervalMs),
      setInterval(() => void this.#commitAll().catch(() => {}), commitIntervalMs),
    );
    if (this.orderly) {
      this.#timers.push(
        setInterval(
          () => void this.#renewLocks().catch(() => {}),
          this.#options.lockRenewIntervalMs,
        ),
      );
    }
  }

  /**
   * Iterate over received messages. Advancing the iterator marks the previous
   * message processed (unless it was given to {@linkcode Consumer.reconsumeLater}).
   * Only one iteration may be active at a time; it ends when the consumer
   * closes or the signal aborts. A message the iteration stopped on is
   * delivered again by the next iteration.
   *
   * @param options Abort signal.
   * @returns An async iterator of messages.
   * @throws {TypeError} If another iteration is active.
   */
  messages(options?: MessagesOptions): AsyncIterableIterator<ReceivedMessage> {
    if (this.#iterating) {
      throw new TypeError("Cannot iterate messages: another iteration is active");
    }
    this.#iterating = true;
    if (this.#popPush !== undefined) return this.#iteratePop(options?.signal);
    return this.#iterate(options?.signal);
  }

  /**
   * Say a message failed and should be consumed again later.
   *
   * Concurrent mode: the message is sent back to the broker
   * (CONSUMER_SEND_MSG_BACK with its CommitLog offset, `delayLevel`, its
   * msgId and topic, and `maxReconsumeTimes`), which redelivers it through
   * `%RETRY%<group>` after the delay, or dead-letters it in `%DLQ%<group>`
   * once it was consumed `maxReconsumeTimes` times. If the broker refuses,
   * the consumer re-sends the message to `%RETRY%<group>` itself (with
   * `RECONSUME_TIME` + 1); if that fails too and `message` is the one being
   * processed, it is delivered again locally after `retrySuspendMs`.
   *
   * Orderly mode: only the message being processed may be given back. It is
   * delivered again after `retrySuspendMs`, before any later message of its
   * queue, with `reconsumeTimes` + 1; once `reconsumeTimes` reached
   * `maxReconsumeTimes` it is sent to the DLQ instead (send-back with a
   * negative level) and counts as processed. A message is never skipped: if
   * the DLQ send fails it is retried in place again.
   *
   * @param message A message this consumer delivered.
   * @param options Delay level (concurrent mode).
   * @throws {TypeError} In orderly mode, if `message` is not the one being processed.
   * @throws {RangeError} On a delay level outside 0..18.
   * @throws {MQClientError} Concurrent mode, if the message could not be given
   *   back and is not the one being processed.
   */
  async reconsumeLater(message: ReceivedMessage, options?: ReconsumeOptions): Promise<void> {
    const delayLevel = options?.delayLevel ?? 0;
    if (!Number.isInteger(delayLevel) || delayLevel < 0 || delayLevel > DELAY_LEVEL_MAX) {
      throw new RangeError(
        `Cannot reconsume message: delayLevel must be an integer from 0 to ${DELAY_LEVEL_MAX}, got ${delayLevel}`,
      );
    }
    if (this.#popPush !== undefined) return await this.#popPush.reconsumeLater(message, delayLevel);
    const current = this.#current?.message === message ? this.#current : undefined;
    await this.#service.reconsumeLater(message, current, delayLevel);
  }

  async *#iteratePop(signal: AbortSignal | undefined): AsyncGenerator<ReceivedMessage> {
    try {
      yield* this.#popPush!.messages(signal);
    } finally {
      this.#iterating = false;
    }
  }

  async *#iterate(signal: AbortSignal | undefined): AsyncGenerator<ReceivedMessage> {
    let onAbort: (() => void) | undefined;
    if (signal !== undefined) {
      onAbort = () => this.#buffer.wake();
      signal.addEventListener("abort", onAbort, { once: true });
    }
    try {
      while (!this.#closed && !signal?.aborted) {
        const next = this.#buffer.takeNext(this.#queues.values());
        if ("waitMs" in next) {
          await this.#buffer.sleep(next.waitMs);
          continue;
        }
        const current: Delivery = {
          pq: next.pq,
          message: next.message,
          heldForRetry: false,
          handedBack: false,
        };
        this.#current = current;
        next.pq.inFlight = true;
        try {
          yield next.message;
        } catch (error) {
          // The caller threw into the iterator: the message is not processed.
          this.#requeue(current);
          throw error;
        }
        // The caller asked for the next message, so this one is processed.
        this.#finish(current);
      }
    } finally {
      // Stopped on a message (break, return, close): hand it to the next iteration.
      const current = this.#current;
      if (current !== undefined) this.#requeue(current);
      if (onAbort !== undefined) signal!.removeEventListener("abort", onAbort);
      this.#iterating = false;
    }
  }

  #finish(current: Delivery): void {
    this.#current = undefined;
    current.pq.finish(current.message, current.heldForRetry);
  }

  /** Put a message the caller did not finish back at the head of its queue, unchanged. */
  #requeue(current: Delivery): void {
    // A message already given back to the broker is done with here, finished or not.
    if (current.handedBack) return this.#finish(current);
    this.#current = undefined;
    current.pq.requeue(current.message, current.heldForRetry);
  }

  /**
   * Stop pulling, commit offsets, release queue locks (orderly), unregister
   * from the group, and close the connection. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Same as {@linkcode Consumer.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#closed = true;
    if (this.#popPush !== undefined) {
      await this.#popPush.close();
      return await this.#pool.close((client) => client.close());
    }
    for (const timer of this.#timers) clearInterval(timer);
    this.#rebalancer.close();
    this.#buffer.wake();
    await this.#rebalancer.running?.catch(() => {});
    const queues = [...this.#queues.values()];
    await this.#release(queues);
    this.#queues.clear();
    this.#buffer.clear();
    await this.#offsets.flush().catch(() => {});
    await this.#pool.close((client) =>
      unregisterAndClose(client, this.clientId, { consumerGroup: this.group })
    );
  }

  /**
   * Give up queues: stop their pulls, wait (bounded) for a message out with
   * the caller, commit, and unlock the ones no message is still out for.
   */
  async #release(queues: readonly ProcessQueue[]): Promise<void> {
    for (const pq of queues) pq.deactivate();
    const idle = await Promise.all(queues.map((pq) => pq.waitIdle(IN_FLIGHT_WAIT_MS)));
    await Promise.all(queues.map((pq) => pq.loop));
    await Promise.all(queues.map((pq) => this.#commit(pq, true).catch(() => {})));
    // A queue whose message is still being processed keeps its broker lock until it expires,
    // so no other member starts on the queue's next message meanwhile.
    await this.#orderlyService?.unlock(queues.filter((_, i) => idle[i]).map((pq) => pq.queue));
  }

  /** Renew every owned queue's lock; a queue the broker no longer grants is given up. */
  async #renewLocks(): Promise<void> {
    if (this.#closed || this.#queues.size === 0 || this.#orderlyService === undefined) return;
    const lost = await this.#orderlyService.renew([...this.#queues.values()]);
    for (const pq of lost) {
      // Another member holds it now: stop at once, without committing over its progress.
      if (this.#queues.get(pq.key) === pq) this.#queues.delete(pq.key);
      pq.deactivate();
    }
    this.#buffer.wake();
    if (lost.length > 0) void this.#rebalancer.run().catch(() => {});
  }

  async #commit(pq: ProcessQueue, releasing = false): Promise<void> {
    const offset = pq.consumedOffset;
    if (offset <= pq.committedOffset || offset < 0) return;
    if (!releasing && !pq.active) return;
    await this.#offsets.commit(pq.queue, offset);
    if (offset > pq.committedOffset) pq.committedOffset = offset;
  }

  async #commitAll(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((pq) => this.#commit(pq)));
  }

  #onBrokerRequest(request: RemotingCommand): undefined {
    if (request.code === RequestCode.NOTIFY_CONSUMER_IDS_CHANGED && !this.#closed) {
      void this.#rebalancer.run().catch(() => {});
    }
    if (request.code === RequestCode.RESET_CONSUMER_CLIENT_OFFSET && !this.#closed) {
      void this.#resetOffsets(request).catch(() => {});
    }
    return undefined;
  }

  /** RESET_CONSUMER_CLIENT_OFFSET: restart each reset queue from its new offset. */
  async #resetOffsets(request: RemotingCommand): Promise<void> {
    const reset = await resetQueues(this.#queues, request.body, this.#offsets);
    if (reset > 0) await this.#rebalancer.run();
  }

  /**
   * Heartbeat to every broker: the standalone one, or every broker of the
   * subscribed topics' routes (their channels are opened on the way).
   */
  async #heartbeat(): Promise<void> {
    const standalone = this.#pool.standalone;
    if (standalone !== undefined) return this.#heartbeatTo(standalone);
    const names = new Set<string>();
    for (const subscription of this.#subscriptions) {
      try {
        const route = await this.#pool.fetchRoute(subscription.topic);
        for (const data of route.brokerDatas) names.add(data.brokerName);
      } catch {
        // The retry topic exists only after the first send-back; a missing route has no brokers.
      }
    }
    for (const name of names) if (this.#pool.hasMaster(name)) this.#pool.client(name);
    await Promise.all(this.#pool.clients().map((client) => this.#heartbeatTo(client)));
  }

  /** A broker hosting the topic (name-server mode), for group-wide checks. */
  async #anyBrokerOf(topic: string): Promise<BrokerClient | undefined> {
    const route = await this.#pool.fetchRoute(topic);
    const name = route.queueDatas[0]?.brokerName;
    return name === undefined || !this.#pool.hasMaster(name) ? undefined : this.#pool.client(name);
  }

  #heartbeatTo(client: BrokerClient): Promise<void> {
    return sendConsumerHeartbeat(client, {
      clientId: this.clientId,
      group: this.group,
      messageModel: this.messageModel,
      consumeFromWhere: this.#options.consumeFromWhere,
      subscriptions: this.#subscriptions,
      subVersion: this.#subVersion,
    });
  }
}

/**
 * Create a clustering consumer, join its group, and start pulling.
 *
 * @param options Endpoint, group, topic, subscription, mode and tuning.
 * @returns A started consumer; iterate `messages()`, close with `await using` or `close()`.
 * @throws {TypeError} On an invalid group, topic or option.
 * @throws {RangeError} On an out-of-range option.
 * @throws {MQConnectionClosedError} If the broker cannot be reached.
 * @throws {MQBrokerError} If the broker refuses the group, the topic, the
 *   subscription (code SUBSCRIPTION_PARSE_FAILED, 23) or, for an orderly
 *   consumer, the queue locks.
 *
 * @example
 * ```ts ignore
 * import { createConsumer } from "./consumer.ts";
 * await using consumer = await createConsumer({ endpoint: "127.0.0.1:10911", group: "g", topic: "T" });
 * for await (const message of consumer.messages()) console.log(message.msgId);
 * ```
 */
export async function createConsumer(options: ConsumerOptions): Promise<Consumer> {
  const consumer = new Consumer(options);
  try {
    await consumer.start();
  } catch (error) {
    await consumer.close();
    throw error;
  }
  return consumer;
}
