/**
 * The push consumer's pop mode (`mode: "pop"`, RocketMQ's
 * `ConsumeMessagePopConcurrentlyService` shape): the broker assigns
 * messages, so there is no rebalance, no queue lock and no offset to commit.
 * The iterator pops batches; advancing past a message acks it;
 * `reconsumeLater` makes it invisible for the retry back-off instead (it
 * then comes back through the pop retry topic with reconsumeTimes + 1); a
 * message the iteration stopped on is made visible again at once.
 *
 * @module
 */

import type { ReceivedMessage } from "../message.ts";
import type { SessionCredentials } from "../protocol/acl_signature.ts";
import { DELAY_LEVEL_MS } from "../protocol/delay_levels.ts";
import { createSimpleConsumer, type SimpleConsumer } from "../simple_consumer.ts";
import type { SubscriptionExpression } from "./subscription.ts";

/** Invisible time of messages popped by a pop-mode push consumer, ms (`popInvisibleTime`). */
export const POP_INVISIBLE_TIME_MS_DEFAULT = 60_000;

/** Settings of a {@linkcode PopPushService}. */
export interface PopPushOptions {
  /** A standalone broker's address (or give `nameServer`). */
  readonly endpoint?: string;
  /** Name servers, `host:port;host:port`: pops take turns over every broker of the topic. */
  readonly nameServer?: string;
  /** Group. */
  readonly group: string;
  /** Topic. */
  readonly topic: string;
  /** Filter. */
  readonly subscription?: string | SubscriptionExpression;
  /** Client id. */
  readonly clientId: string;
  /** Messages per pop (≤ 32). */
  readonly batchSize: number;
  /** Broker park time per pop, ms. */
  readonly pollTimeMs: number;
  /** FIFO pop. */
  readonly orderly: boolean;
  /** Start at the first message (else the latest) when the group has no offset. */
  readonly fromFirst: boolean;
  /** ACL credentials; every request is signed with them. */
  readonly credentials?: SessionCredentials;
}

/** A pop-driven delivery loop. Lives on the consumer's event loop. */
export class PopPushService {
  readonly #options: PopPushOptions;
  #consumer: SimpleConsumer | undefined;
  readonly #retried = new WeakSet<ReceivedMessage>();
  #current: ReceivedMessage | undefined;
  #closed = false;
  #abort = new AbortController();

  /** @param options Endpoint, group, topic and tuning. */
  constructor(options: PopPushOptions) {
    this.#options = options;
  }

  /** Register with the broker. */
  async start(): Promise<void> {
    const o = this.#options;
    this.#consumer = await createSimpleConsumer({
      endpoint: o.endpoint,
      nameServer: o.nameServer,
      group: o.group,
      subscriptions: { [o.topic]: o.subscription ?? "*" },
      awaitDuration: o.pollTimeMs,
      consumeFrom: o.fromFirst ? "FIRST" : "LAST",
      fifo: o.orderly,
      clientId: o.clientId,
      credentials: o.credentials,
    });
  }

  /**
   * Pop and yield messages until closed or aborted; advancing acks.
   *
   * @param signal Ends the iteration.
   */
  async *messages(signal: AbortSignal | undefined): AsyncGenerator<ReceivedMessage> {
    const consumer = this.#consumer!;
    const stop = AbortSignal.any([this.#abort.signal, ...(signal ? [signal] : [])]);
    let batch: ReceivedMessage[] = [];
    try {
      while (!this.#closed && !stop.aborted) {
        if (batch.length === 0) {
          try {
            batch = await consumer.receive(
              Math.min(this.#options.batchSize, 32),
              POP_INVISIBLE_TIME_MS_DEFAULT,
              { signal: stop },
            );
          } catch (error) {
            if (stop.aborted || this.#closed) return;
            throw error;
          }
          continue;
        }
        const message = batch.shift()!;
        this.#current = message;
        yield message;
        this.#current = undefined;
        if (!this.#retried.has(message)) await consumer.ack(message).catch(() => {});
      }
    } finally {
      // Not processed: the stopped-on message and the rest of the batch become visible now.
      const left = this.#current === undefined ? batch : [this.#current, ...batch];
      this.#current = undefined;
      await Promise.all(left.map((m) => consumer.changeInvisibleDuration(m, 0).catch(() => {})));
    }
  }

  /**
   * Give a message back: it stays invisible for the back-off of
   * `delayLevel` (0 = by its reconsumeTimes) and then comes back.
   *
   * @param message A delivered message.
   * @param delayLevel 0..18.
   */
  async reconsumeLater(message: ReceivedMessage, delayLevel: number): Promise<void> {
    const level = delayLevel > 0 ? delayLevel : Math.min(3 + message.reconsumeTimes, 18);
    await this.#consumer!.changeInvisibleDuration(message, DELAY_LEVEL_MS[level - 1]);
    this.#retried.add(message);
  }

  /** Stop and close the simple consumer. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#abort.abort();
    await this.#consumer?.close();
  }
}
