/**
 * How the consumer's parts reach brokers: one standalone broker channel, or
 * (with name servers) routes plus one channel per broker, so pulls, offset
 * commits, send-backs and queue locks go to the broker that owns the queue.
 *
 * @module
 */

import type { BrokerClient } from "../broker_client.ts";
import type { TopicRouteData } from "../protocol/heartbeat.ts";
import { fetchTopicRoute } from "../topic_route.ts";

/** Routes and per-broker channels (the client's `BrokerPool` is one). */
export interface ConsumerBrokers {
  /**
   * A topic's route.
   *
   * @param topic Topic name.
   * @returns The route.
   */
  fetchRoute(topic: string): Promise<TopicRouteData>;
  /**
   * The channel of a broker.
   *
   * @param brokerName Broker name.
   * @returns Its channel.
   */
  client(brokerName: string): BrokerClient;
}

/** A single broker channel, or several brokers. */
export type BrokerAccess = BrokerClient | ConsumerBrokers;

/**
 * The channel of the broker that owns a queue (or sent a message).
 *
 * @param access One channel or several brokers.
 * @param brokerName Broker name.
 * @returns The channel.
 */
export function channelOf(access: BrokerAccess, brokerName: string): BrokerClient {
  return isSeveral(access) ? access.client(brokerName) : access;
}

/** Several brokers are told apart from one channel by their route source. */
function isSeveral(access: BrokerAccess): access is ConsumerBrokers {
  return typeof (access as Partial<ConsumerBrokers>).fetchRoute === "function";
}

/**
 * A topic's route: asked of the one broker, or of the name servers.
 *
 * @param access One channel or several brokers.
 * @param topic Topic name.
 * @returns The route.
 */
export function routeOf(access: BrokerAccess, topic: string): Promise<TopicRouteData> {
  return isSeveral(access) ? access.fetchRoute(topic) : fetchTopicRoute(access, topic);
}
