/**
 * Where a producer's request goes and what happens when it fails: queue
 * choice over every broker of the topic, retry on another broker with
 * latency-fault avoidance, and reconnection with back-off.
 *
 * @module
 */

import type { SessionCredentials } from "./protocol/acl_signature.ts";
import type { BrokerClient } from "./broker_client.ts";
import { BrokerPool, type BrokerPoolOptions, FaultAvoidance } from "./broker_pool.ts";
import { MQBrokerError, MQClientError, MQConnectionClosedError } from "./errors.ts";
import type { Message, MessageQueue } from "./message.ts";
import type { TopicRouteData } from "./protocol/heartbeat.ts";
import type { RemotingCommand } from "./protocol/remoting_command.ts";
import { ResponseCode } from "./protocol/response_code.ts";
import { pickQueue, RouteCache, type RouteEntry } from "./topic_route.ts";

/** Default time a broker whose send failed is avoided, ms. */
export const FAULT_ISOLATION_MS_DEFAULT = 10_000;
/** First wait before reconnecting to a broker that refused the connection, ms. */
export const RECONNECT_BACKOFF_MS_MIN = 20;
/** Longest wait between reconnect attempts, ms (the send's timeout bounds the total). */
export const RECONNECT_BACKOFF_MS_MAX = 500;

/** Response codes stored (and so not retried). */
const STORED_CODES: ReadonlySet<number> = new Set([
  ResponseCode.SUCCESS,
  ResponseCode.FLUSH_DISK_TIMEOUT,
  ResponseCode.FLUSH_SLAVE_TIMEOUT,
  ResponseCode.SLAVE_NOT_AVAILABLE,
]);

/** Options of {@linkcode SendRouter}. */
export interface SendRouterOptions {
  /** A standalone broker, `host:port`. */
  readonly endpoint?: string;
  /** Name servers, `host:port;host:port`. */
  readonly nameServer?: string;
  /** Default request timeout, ms. */
  readonly requestTimeoutMs: number;
  /** Extra attempts after a retriable broker answer. */
  readonly retryTimes: number;
  /** Response codes worth another attempt. */
  readonly retriableCodes: readonly number[];
  /** Route cache lifetime, ms. */
  readonly routeTtlMs: number;
  /** How long a failed broker is avoided, ms. */
  readonly faultIsolationMs?: number;
  /** Broker-initiated requests, with the channel they came on. */
  readonly onRequest?: BrokerPoolOptions["onRequest"];
  /** Run on each broker channel's first use and reconnects (heartbeats). */
  readonly onBrokerConnect?: (client: BrokerClient) => Promise<void>;
  /** ACL credentials; every request is signed with them. */
  readonly credentials?: SessionCredentials;
}

/** One request to send: its code, body, and header for the chosen queue. */
export interface RoutedRequest {
  /** Request code. */
  readonly code: number;
  /** Topic. */
  readonly topic: string;
  /** Body. */
  readonly body: Uint8Array;
  /** The header for a queue. */
  header(queue: MessageQueue): Record<string, string>;
  /** A FIFO send: its queue is chosen once by `selector` and never moved to another. */
  readonly fifo?: {
    readonly message: Message;
    readonly selector: (queues: readonly MessageQueue[], message: Message) => MessageQueue;
  };
  /** Total budget, ms. */
  readonly timeoutMs: number;
  /** Aborts the send. */
  readonly signal?: AbortSignal;
}

/**
 * Routes producer requests over a topic's brokers.
 *
 * Attempts go round-robin over the writable queues of every broker of the
 * topic, skipping brokers that failed within `faultIsolationMs` while
 * another broker is available. A retriable broker answer moves the next
 * attempt to another broker (up to `retryTimes` more attempts); a broken or
 * refused connection does too, and when no other broker is left (or the
 * queue is a FIFO queue) the send waits with exponential back-off and
 * reconnects, until the send's timeout — so a broker restart shorter than the
 * timeout costs latency, not an error. Each failure also refreshes the
 * topic's route in the background. Lives on the caller's event loop.
 */
export class SendRouter {
  /** Broker channels and the route source. */
  readonly pool: BrokerPool;
  /** Cached routes. */
  readonly routes: RouteCache;
  readonly #faults: FaultAvoidance;
  readonly #options: SendRouterOptions;
  readonly #avoided: (brokerName: string) => boolean;
  #closed = false;

  /** @param options Endpoint or name servers, retries, timeouts and hooks. */
  constructor(options: SendRouterOptions) {
    this.#options = options;
    this.pool = new BrokerPool(options);
    this.routes = new RouteCache(
      (topic, signal) => this.pool.fetchRoute(topic, signal).then(writableRoute),
      options.routeTtlMs,
      options.nameServer !== undefined,
    );
    this.#faults = new FaultAvoidance(options.faultIsolationMs ?? FAULT_ISOLATION_MS_DEFAULT);
    this.#avoided = (brokerName) => this.#faults.avoided(brokerName);
  }

  /**
   * The next queue for a non-FIFO message.
   *
   * @param route The topic's route entry.
   * @param topic Topic name.
   * @returns A queue, avoiding recently failed brokers.
   */
  pick(route: RouteEntry, topic: string): MessageQueue {
    return pickQueue(route, topic, this.#avoided);
  }

  /**
   * The channel of the broker that hosts a queue.
   *
   * @param queue The queue.
   * @returns The channel.
   * @throws {MQBrokerError} TOPIC_NOT_EXIST when the topic has no route (name-server mode).
   */
  clientFor(queue: MessageQueue): BrokerClient {
    if (queue.brokerName === "" && this.pool.nameServer !== undefined) {
      throw new MQBrokerError(
        ResponseCode.TOPIC_NOT_EXIST,
        `No route info of topic ${queue.topic} on the name servers`,
      );
    }
    return this.pool.client(queue.brokerName);
  }

  /**
   * Send with retries and reconnection (see the class doc).
   *
   * @param r The request.
   * @returns The stored response and the queue it went to.
   * @throws {MQBrokerError} On a non-retriable answer, or the last retriable one.
   * @throws {MQConnectionClosedError} If no broker could be reached in time.
   * @throws {MQTimeoutError} If a broker did not answer in time.
   */
  async send(r: RoutedRequest): Promise<{ response: RemotingCommand; queue: MessageQueue }> {
    const deadline = performance.now() + r.timeoutMs;
    let route = this.routes.fresh(r.topic);
    let fixedQueue: MessageQueue | undefined;
    let lastError: unknown;
    let lastBroker: string | undefined;
    let refusals = 0;
    let backoffMs = RECONNECT_BACKOFF_MS_MIN;
    const backOff = async (): Promise<void> => {
      await sleep(Math.min(backoffMs, deadline - performance.now()), r.signal);
      backoffMs = Math.min(backoffMs * 2, RECONNECT_BACKOFF_MS_MAX);
    };
    while (!this.#closed) {
      const remainingMs = Math.floor(deadline - performance.now());
      if (remainingMs <= 0) break;
      if (route === undefined) {
        try {
          route = await this.routes.get(r.topic, r.signal);
        } catch (error) {
          // No route source reachable yet (e.g. the only broker is restarting): wait and ask again.
          if (!(error instanceof MQConnectionClosedError)) throw error;
          lastError = error;
          await backOff();
          continue;
        }
      }
      if (r.fifo !== undefined) {
        fixedQueue ??= selectFifoQueue(route, r.topic, r.fifo.message, r.fifo.selector);
      }
      const queue = fixedQueue ?? pickQueue(route, r.topic, this.#avoided, lastBroker);
      let response: RemotingCommand;
      try {
        response = await this.clientFor(queue).request(r.code, r.header(queue), r.body, {
          timeoutMs: remainingMs,
          signal: r.signal,
        });
      } catch (error) {
        if (!(error instanceof MQConnectionClosedError)) throw error;
        lastError = error;
        this.#failed(r.topic, queue.brokerName);
        route = this.routes.fresh(r.topic) ?? route;
        if (fixedQueue !== undefined || !hasOtherBroker(route, queue.brokerName)) {
          // Nowhere else to go: wait, then reconnect to the same broker.
          await backOff();
          lastBroker = undefined;
        } else {
          lastBroker = queue.brokerName;
        }
        continue;
      }
      if (STORED_CODES.has(response.code)) {
        this.#faults.succeeded(queue.brokerName);
        return { response, queue };
      }
      lastError = new MQBrokerError(response.code, response.remark, r.code);
      if (!this.#options.retriableCodes.includes(response.code)) throw lastError;
      if (++refusals > this.#options.retryTimes) break;
      this.#failed(r.topic, queue.brokerName);
      if (response.code === ResponseCode.TOPIC_NOT_EXIST) this.routes.invalidate(r.topic);
      lastBroker = queue.brokerName;
    }
    if (lastError !== undefined) throw lastError;
    if (this.#closed) throw new MQConnectionClosedError("Cannot send: producer is closed");
    throw new MQClientError(`Cannot send to ${r.topic}: send timeout of ${r.timeoutMs} ms used up`);
  }

  #failed(topic: string, brokerName: string): void {
    this.#faults.failed(brokerName);
    this.routes.refresh(topic);
  }

  /**
   * Close every broker channel (after `each`, e.g. unregister) and the name-server channels.
   *
   * @param each Called per broker channel; must close it.
   */
  async close(each: (client: BrokerClient) => Promise<void>): Promise<void> {
    this.#closed = true;
    await this.pool.close(each);
  }
}

/** Only brokers with a master take sends (a slave-only broker name is read-only). */
function writableRoute(route: TopicRouteData): TopicRouteData {
  const masters = new Set(
    route.brokerDatas.filter((d) => d.brokerAddrs["0"] !== undefined).map((d) => d.brokerName),
  );
  if (masters.size === route.brokerDatas.length) return route;
  return { ...route, queueDatas: route.queueDatas.filter((q) => masters.has(q.brokerName)) };
}

function hasOtherBroker(route: RouteEntry, brokerName: string): boolean {
  return route.queues.some((q) => q.brokerName !== brokerName);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener("abort", aborted);
      resolve();
    }
    function aborted(): void {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener("abort", aborted, { once: true });
  });
}

/**
 * Choose a FIFO message's queue with a selector and check the choice.
 *
 * @param route The route entry.
 * @param topic Topic name.
 * @param message The message (has a `messageGroup`).
 * @param selector The queue selector.
 * @returns The queue from the route's list.
 * @throws {MQClientError} If the topic has no writable queues.
 * @throws {TypeError} If the selector returns a queue not in the list.
 */
export function selectFifoQueue(
  route: RouteEntry,
  topic: string,
  message: Message,
  selector: (queues: readonly MessageQueue[], message: Message) => MessageQueue,
): MessageQueue {
  if (route.queues.length === 0) {
    throw new MQClientError(
      `Cannot send FIFO message: topic ${topic} has no writable queues (create the topic first)`,
    );
  }
  const chosen = selector(route.queues, message);
  const queue = route.queues.find((q) =>
    q.queueId === chosen?.queueId && q.brokerName === chosen.brokerName
  );
  if (queue === undefined) {
    throw new TypeError("Cannot send FIFO message: queueSelector returned a queue not in the list");
  }
  return queue;
}
