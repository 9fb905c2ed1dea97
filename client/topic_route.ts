/**
 * Topic routes: which broker queues a topic has, from GET_ROUTEINFO_BY_TOPIC.
 *
 * @module
 */

import { BrokerClient } from "./broker_client.ts";
import { MQBrokerError, MQClientError } from "./errors.ts";
import {
  DEFAULT_TOPIC,
  DEFAULT_TOPIC_QUEUE_NUMS,
  getRouteInfoRequestHeader,
  PermName,
} from "./protocol/headers.ts";
import { parseTopicRouteData, type TopicRouteData } from "./protocol/heartbeat.ts";
import { RequestCode } from "./protocol/request_code.ts";
import { ResponseCode } from "./protocol/response_code.ts";
import type { MessageQueue } from "./message.ts";

/**
 * Ask the broker for a topic's route.
 *
 * @param client The broker channel.
 * @param topic Topic name.
 * @param signal Aborts the wait.
 * @returns The route.
 * @throws {MQBrokerError} If the broker refuses (e.g. TOPIC_NOT_EXIST).
 * @throws {MQClientError} If the body cannot be parsed.
 */
export async function fetchTopicRoute(
  client: BrokerClient,
  topic: string,
  signal?: AbortSignal,
): Promise<TopicRouteData> {
  const response = await client.invoke(
    RequestCode.GET_ROUTEINFO_BY_TOPIC,
    getRouteInfoRequestHeader.encode({ topic, acceptStandardJsonOnly: true }),
    undefined,
    { signal },
  );
  const parsed = parseTopicRouteData(response.body);
  if (!parsed.ok) throw new MQClientError(`Bad route for topic ${topic}: ${parsed.error}`);
  return parsed.value;
}

function queuesOf(
  route: TopicRouteData,
  topic: string,
  pick: "readQueueNums" | "writeQueueNums",
  perm: number,
): MessageQueue[] {
  const out: MessageQueue[] = [];
  const datas = [...route.queueDatas].sort((a, b) => a.brokerName.localeCompare(b.brokerName));
  for (const data of datas) {
    if ((data.perm & perm) === 0) continue;
    for (let queueId = 0; queueId < data[pick]; queueId++) {
      out.push({ topic, brokerName: data.brokerName, queueId });
    }
  }
  return out;
}

/**
 * The queues a producer may write, in broker-name then queue-id order.
 *
 * @param route The topic route.
 * @param topic Topic name.
 * @returns Writable queues.
 */
export function writeQueues(route: TopicRouteData, topic: string): MessageQueue[] {
  return queuesOf(route, topic, "writeQueueNums", PermName.PERM_WRITE);
}

/**
 * The queues a consumer may read, in broker-name then queue-id order.
 *
 * @param route The topic route.
 * @param topic Topic name.
 * @returns Readable queues.
 */
export function readQueues(route: TopicRouteData, topic: string): MessageQueue[] {
  return queuesOf(route, topic, "readQueueNums", PermName.PERM_READ);
}

/** A topic's writable queues, when they expire, and the round-robin position. */
export interface RouteEntry {
  /** Writable queues, sorted; empty when the broker has no route (it picks the queue). */
  readonly queues: readonly MessageQueue[];
  /** `performance.now()` after which the entry is refreshed. */
  readonly expiresAt: number;
  /** Round-robin position. */
  next: number;
}

/** How long a "no route" answer is cached before asking again, ms. */
const MISSING_ROUTE_TTL_MS = 1_000;

/** Fetches a topic's route (from a broker or the name servers). */
export type RouteFetcher = (topic: string, signal?: AbortSignal) => Promise<TopicRouteData>;

/**
 * Topic routes cached per topic for a TTL, with one fetch in flight per topic.
 * A topic that does not exist yet is cached briefly: with `autoCreateFallback`
 * (name-server mode) as the route of the auto-create template `TBW102`
 * (at most {@linkcode DEFAULT_TOPIC_QUEUE_NUMS} queues per broker, so a broker
 * that auto-creates topics creates it on the first send), else with no queues,
 * so the standalone broker picks the queue.
 */
export class RouteCache {
  readonly #fetch: RouteFetcher;
  readonly #ttlMs: number;
  readonly #autoCreateFallback: boolean;
  readonly #routes = new Map<string, RouteEntry>();
  readonly #fetches = new Map<string, Promise<RouteEntry>>();

  /**
   * @param source The broker channel, or a route fetcher.
   * @param ttlMs How long a route is reused, ms.
   * @param autoCreateFallback Route unknown topics by `TBW102`'s route.
   */
  constructor(source: BrokerClient | RouteFetcher, ttlMs: number, autoCreateFallback = false) {
    this.#fetch = source instanceof BrokerClient
      ? (topic, signal) => fetchTopicRoute(source, topic, signal)
      : source;
    this.#ttlMs = ttlMs;
    this.#autoCreateFallback = autoCreateFallback;
  }

  /**
   * The cached route if it has not expired (the synchronous fast path).
   *
   * @param topic Topic name.
   * @returns The entry, or undefined when missing or stale.
   */
  fresh(topic: string): RouteEntry | undefined {
    const cached = this.#routes.get(topic);
    return cached !== undefined && cached.expiresAt > performance.now() ? cached : undefined;
  }

  /**
   * The route, fetched when missing or stale.
   *
   * @param topic Topic name.
   * @param signal Aborts the wait.
   * @returns The entry.
   * @throws {MQBrokerError} If the broker refuses for another reason than an unknown topic.
   */
  get(topic: string, signal?: AbortSignal): Promise<RouteEntry> {
    const fresh = this.fresh(topic);
    if (fresh !== undefined) return Promise.resolve(fresh);
    let fetching = this.#fetches.get(topic);
    if (fetching === undefined) {
      const previous = this.#routes.get(topic);
      fetching = (async () => {
        try {
          let entry: RouteEntry;
          try {
            const route = await this.#fetch(topic, signal);
            entry = {
              queues: writeQueues(route, topic),
              expiresAt: performance.now() + this.#ttlMs,
              next: previous?.next ?? Math.floor(Math.random() * 1024),
            };
          } catch (error) {
            if (!(error instanceof MQBrokerError) && previous !== undefined) {
              // The route source is unreachable: keep using the last known route for a while.
              entry = { ...previous, expiresAt: performance.now() + MISSING_ROUTE_TTL_MS };
              this.#routes.set(topic, entry);
              return entry;
            }
            if (!(error instanceof MQBrokerError) || error.code !== ResponseCode.TOPIC_NOT_EXIST) {
              throw error;
            }
            entry = {
              queues: await this.#fallbackQueues(topic, signal),
              expiresAt: performance.now() + MISSING_ROUTE_TTL_MS,
              next: previous?.next ?? Math.floor(Math.random() * 1024),
            };
          }
          this.#routes.set(topic, entry);
          return entry;
        } finally {
          this.#fetches.delete(topic);
        }
      })();
      this.#fetches.set(topic, fetching);
    }
    return fetching;
  }

  async #fallbackQueues(topic: string, signal?: AbortSignal): Promise<MessageQueue[]> {
    if (!this.#autoCreateFallback) return [];
    try {
      const template = await this.#fetch(DEFAULT_TOPIC, signal);
      return writeQueues({
        ...template,
        queueDatas: template.queueDatas.map((q) => ({
          ...q,
          writeQueueNums: Math.min(q.writeQueueNums, DEFAULT_TOPIC_QUEUE_NUMS),
        })),
      }, topic);
    } catch {
      return [];
    }
  }

  /**
   * Refresh a topic's route in the background (after a send failure); the
   * cached entry stays in use until the new one arrives. At most one fetch
   * per topic is in flight.
   *
   * @param topic Topic name.
   */
  refresh(topic: string): void {
    if (this.#fetches.has(topic)) return;
    const cached = this.#routes.get(topic);
    if (cached !== undefined) this.#routes.set(topic, { ...cached, expiresAt: 0 });
    this.get(topic).catch(() => {
      // Keep using the old entry; the next send asks again.
    });
  }

  /**
   * Forget a topic's route (e.g. after TOPIC_NOT_EXIST), so the next send asks again.
   *
   * @param topic Topic name.
   */
  invalidate(topic: string): void {
    this.#routes.delete(topic);
  }
}

/**
 * The next queue of a route, round-robin; with no known queues, "any queue"
 * (queueId -1) so the broker picks one.
 *
 * With `avoided`, queues of avoided brokers (and of `notBroker`, the broker
 * that just failed) are skipped while another broker has a queue; when every
 * broker is avoided, a queue not on `notBroker` is preferred, then any.
 *
 * @param route The route entry (its position advances).
 * @param topic Topic name.
 * @param avoided Whether a broker is being avoided (latency-fault avoidance).
 * @param notBroker A broker to move away from (the one the last attempt failed on).
 * @returns The queue.
 */
export function pickQueue(
  route: RouteEntry,
  topic: string,
  avoided?: (brokerName: string) => boolean,
  notBroker?: string,
): MessageQueue {
  const queues = route.queues;
  if (queues.length === 0) return { topic, brokerName: "", queueId: -1 };
  const start = route.next;
  route.next = (route.next + 1) % 0x4000_0000;
  const first = queues[start % queues.length];
  if (avoided === undefined && notBroker === undefined) return first;
  let fallback: MessageQueue | undefined;
  for (let i = 0; i < queues.length; i++) {
    const queue = queues[(start + i) % queues.length];
    if (queue.brokerName === notBroker) continue;
    if (avoided === undefined || !avoided(queue.brokerName)) return queue;
    fallback ??= queue;
  }
  return fallback ?? first;
}
