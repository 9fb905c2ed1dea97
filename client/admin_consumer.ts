/**
 * Consumer administration on one broker: who is in a group
 * (GET_CONSUMER_CONNECTION_LIST), how far it is behind in messages and in
 * time, with pop in-flight counts (GET_CONSUME_STATS), and moving it to a
 * point in time (INVOKE_BROKER_TO_RESET_OFFSET; live members move too).
 * The `Admin` methods of the same names call these.
 *
 * @module
 */

import type { BrokerClient } from "./broker_client.ts";
import { MQClientError } from "./errors.ts";
import { RequestCode } from "./protocol/request_code.ts";

/** A member of a consumer group. */
export interface ConsumerMember {
  /** Client id. */
  readonly clientId: string;
  /** Its address as the broker sees it. */
  readonly clientAddr: string;
}

/** A consumer group's registration (RocketMQ's `ConsumerConnection`). */
export interface ConsumerConnection {
  /** Members. */
  readonly members: readonly ConsumerMember[];
  /** Subscribed topics with their expression. */
  readonly subscriptions: readonly {
    readonly topic: string;
    readonly expressionType: string;
    readonly expression: string;
  }[];
  /** `CONSUME_PASSIVELY` (push), `CONSUME_ACTIVELY` (pull) or `CONSUME_POP`. */
  readonly consumeType: string;
  /** `CLUSTERING` or `BROADCASTING`. */
  readonly messageModel: string;
  /** Start policy. */
  readonly consumeFromWhere: string;
}

/** Progress of a group on one queue. */
export interface QueueConsumeStats {
  /** Topic (a pop retry topic shows as such). */
  readonly topic: string;
  /** Queue. */
  readonly queueId: number;
  /** Next offset to be written. */
  readonly brokerOffset: number;
  /** The group's next offset (-1 = none). */
  readonly consumerOffset: number;
  /** Messages behind. */
  readonly lag: number;
  /** How far behind in time: now minus the store time of the oldest unconsumed message, ms (0 = none). */
  readonly lagMs: number;
}

/** A group's progress on one broker. */
export interface ConsumeStats {
  /** Per queue. */
  readonly queues: readonly QueueConsumeStats[];
  /** Sum of the lags. */
  readonly totalLag: number;
  /** Largest lag in time, ms. */
  readonly maxLagMs: number;
  /** Popped but not yet acked messages (pop consumers). */
  readonly popInFlight: number;
}

function parseJson(body: Uint8Array | undefined, what: string): Record<string, unknown> {
  try {
    return JSON.parse(new TextDecoder().decode(body ?? new Uint8Array()));
  } catch {
    throw new MQClientError(`Bad ${what} response body`);
  }
}

/**
 * GET_CONSUMER_CONNECTION_LIST.
 *
 * @param client The broker channel.
 * @param group Consumer group.
 * @returns Members, subscriptions and model.
 * @throws {MQBrokerError} CONSUMER_NOT_ONLINE (206) if no member is connected.
 */
export async function consumerConnection(
  client: BrokerClient,
  group: string,
): Promise<ConsumerConnection> {
  const response = await client.invoke(RequestCode.GET_CONSUMER_CONNECTION_LIST, {
    consumerGroup: group,
  });
  const body = parseJson(response.body, "consumer connection");
  const table = (body.subscriptionTable ?? {}) as Record<
    string,
    { topic: string; expressionType: string; subString: string }
  >;
  return {
    members: ((body.connectionSet ?? []) as ConsumerMember[]).map((m) => ({
      clientId: m.clientId,
      clientAddr: m.clientAddr,
    })).sort((a, b) => (a.clientId < b.clientId ? -1 : 1)),
    subscriptions: Object.values(table).map((s) => ({
      topic: s.topic,
      expressionType: s.expressionType,
      expression: s.subString,
    })),
    consumeType: String(body.consumeType),
    messageModel: String(body.messageModel),
    consumeFromWhere: String(body.consumeFromWhere),
  };
}

/**
 * GET_CONSUME_STATS: lag in messages and in time, and pop in-flight.
 *
 * @param client The broker channel.
 * @param group Consumer group.
 * @param topic Only this topic (and its pop retry topic).
 * @param nowMs Clock for the time lag.
 * @returns The stats.
 */
export async function consumeStats(
  client: BrokerClient,
  group: string,
  topic?: string,
  nowMs: number = Date.now(),
): Promise<ConsumeStats> {
  const response = await client.invoke(RequestCode.GET_CONSUME_STATS, {
    consumerGroup: group,
    ...(topic === undefined ? {} : { topic }),
  });
  const body = parseJson(response.body, "consume stats");
  const rows = (body.offsetTable ?? []) as {
    topic: string;
    queueId: number;
    brokerOffset: number;
    consumerOffset: number;
    oldestUnconsumedTimestamp: number;
  }[];
  const queues = rows.map((r) => ({
    topic: r.topic,
    queueId: r.queueId,
    brokerOffset: r.brokerOffset,
    consumerOffset: r.consumerOffset,
    lag: Math.max(0, r.brokerOffset - Math.max(0, r.consumerOffset)),
    lagMs: r.oldestUnconsumedTimestamp > 0 ? Math.max(0, nowMs - r.oldestUnconsumedTimestamp) : 0,
  }));
  return {
    queues,
    totalLag: queues.reduce((sum, q) => sum + q.lag, 0),
    maxLagMs: queues.reduce((max, q) => Math.max(max, q.lagMs), 0),
    popInFlight: Number(body.popInFlight ?? 0),
  };
}

/**
 * INVOKE_BROKER_TO_RESET_OFFSET: move a group's offsets of a topic to the
 * first message stored at or after `timestampMs`; connected members of the
 * group are told (RESET_CONSUMER_CLIENT_OFFSET) and continue from there.
 *
 * @param client The broker channel.
 * @param group Consumer group.
 * @param topic Topic.
 * @param timestampMs Epoch ms.
 * @param force Also move forward (default true); false only moves back.
 * @returns The new offset per queue id.
 */
export async function resetOffsetByTime(
  client: BrokerClient,
  group: string,
  topic: string,
  timestampMs: number,
  force = true,
): Promise<Map<number, number>> {
  const response = await client.invoke(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, {
    topic,
    group,
    timestamp: String(timestampMs),
    isForce: String(force),
  });
  const table = (parseJson(response.body, "reset offset").offsetTable ?? {}) as Record<
    string,
    number
  >;
  return new Map(
    Object.entries(table).map((
      [key, offset],
    ) => [Number(key.slice(key.lastIndexOf("@") + 1)), offset]),
  );
}
