/**
 * A consumer's registration with the broker: the HEART_BEAT that announces
 * its group, model and subscriptions, and the up-front check of an SQL92
 * expression.
 *
 * @module
 */

import type { BrokerClient } from "../broker_client.ts";
import { MQBrokerError } from "../errors.ts";
import { pullMessageRequestHeader, PullSysFlag } from "../protocol/headers.ts";
import {
  type ConsumeFromWhere,
  encodeJsonBody,
  type HeartbeatData,
} from "../protocol/heartbeat.ts";
import type { RemotingCommand } from "../protocol/remoting_command.ts";
import { RequestCode } from "../protocol/request_code.ts";
import { ResponseCode } from "../protocol/response_code.ts";
import { fetchTopicRoute, readQueues } from "../topic_route.ts";
import { type Subscription, toSubscriptionData } from "./subscription.ts";

/** What a consumer announces in its heartbeat. */
export interface ConsumerRegistration {
  /** Client id. */
  readonly clientId: string;
  /** Consumer group. */
  readonly group: string;
  /** `CONSUME_PASSIVELY` for push consumers, `CONSUME_POP` for pop consumers. */
  readonly consumeType?: "CONSUME_PASSIVELY" | "CONSUME_ACTIVELY" | "CONSUME_POP";
  /** `CLUSTERING` or `BROADCASTING`. */
  readonly messageModel: "CLUSTERING" | "BROADCASTING";
  /** Start policy. */
  readonly consumeFromWhere: ConsumeFromWhere;
  /** Subscriptions (main topic first). */
  readonly subscriptions: readonly Subscription[];
  /** Subscription version. */
  readonly subVersion: number;
}

function badSubscription(
  subscription: Subscription,
  response: RemotingCommand,
  requestCode: number,
): MQBrokerError {
  return new MQBrokerError(
    response.code,
    `${subscription.type} subscription ${JSON.stringify(subscription.expression)} is invalid: ${
      response.remark ?? "parse failed"
    }`,
    requestCode,
  );
}

/**
 * Send one HEART_BEAT for a consumer.
 *
 * @param client The broker channel.
 * @param registration What to announce.
 * @throws {MQBrokerError} If the broker refuses (SUBSCRIPTION_PARSE_FAILED names the expression).
 */
export async function sendConsumerHeartbeat(
  client: BrokerClient,
  registration: ConsumerRegistration,
): Promise<void> {
  const data: HeartbeatData = {
    clientID: registration.clientId,
    producerDataSet: [],
    consumerDataSet: [{
      groupName: registration.group,
      consumeType: registration.consumeType ?? "CONSUME_PASSIVELY",
      messageModel: registration.messageModel,
      consumeFromWhere: registration.consumeFromWhere,
      subscriptionDataSet: registration.subscriptions.map((s) =>
        toSubscriptionData(s, registration.subVersion)
      ),
      unitMode: false,
    }],
  };
  const response = await client.request(RequestCode.HEART_BEAT, {}, encodeJsonBody(data));
  if (response.code === ResponseCode.SUBSCRIPTION_PARSE_FAILED) {
    throw badSubscription(registration.subscriptions[0], response, RequestCode.HEART_BEAT);
  }
  if (response.code !== ResponseCode.SUCCESS) {
    throw new MQBrokerError(response.code, response.remark, RequestCode.HEART_BEAT);
  }
}

/**
 * Have the broker compile an SQL92 expression: a pull of one message that
 * neither waits nor commits; SUBSCRIPTION_PARSE_FAILED means it is bad.
 *
 * @param client The broker channel.
 * @param group The consumer group.
 * @param subscription The SQL92 subscription.
 * @param subVersion Subscription version.
 * @throws {MQBrokerError} If the expression is invalid.
 */
export async function checkSubscription(
  client: BrokerClient,
  group: string,
  subscription: Subscription,
  subVersion: number,
): Promise<void> {
  const topic = subscription.topic;
  const queues = readQueues(await fetchTopicRoute(client, topic), topic);
  if (queues.length === 0) return;
  const response = await client.request(
    RequestCode.PULL_MESSAGE,
    pullMessageRequestHeader.encode({
      consumerGroup: group,
      topic,
      queueId: queues[0].queueId,
      queueOffset: 0,
      maxMsgNums: 1,
      sysFlag: PullSysFlag.SUBSCRIPTION,
      commitOffset: 0,
      suspendTimeoutMillis: 0,
      subscription: subscription.expression,
      subVersion,
      expressionType: subscription.type,
    }),
  );
  if (response.code === ResponseCode.SUBSCRIPTION_PARSE_FAILED) {
    throw badSubscription(subscription, response, RequestCode.PULL_MESSAGE);
  }
}
