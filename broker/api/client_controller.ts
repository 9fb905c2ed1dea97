/**
 * Client membership: HEART_BEAT (34), UNREGISTER_CLIENT (35),
 * GET_CONSUMER_LIST_BY_GROUP (38), and the broker-initiated
 * NOTIFY_CONSUMER_IDS_CHANGED (40).
 *
 * @module
 */

import {
  consumerGroupRequestHeader,
  unregisterClientRequestHeader,
} from "../../client/protocol/headers.ts";
import { encodeJsonBody, parseHeartbeatData } from "../../client/protocol/heartbeat.ts";
import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { createRequest } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type { GroupChange } from "../domain/client_registry.ts";
import { checkGroupName } from "../domain/topic_config.ts";
import { compileSubscription } from "../domain/filter/message_filter.ts";
import {
  type BrokerContext,
  type BrokerResponse,
  type Channel,
  decodeHeader,
  RequestError,
  type RequestHandler,
  success,
} from "./broker_context.ts";

/** Registers producers and consumers and tells consumer groups when their membership changes. */
export class ClientController {
  readonly #ctx: BrokerContext;

  /** @param ctx The broker's object graph. */
  constructor(ctx: BrokerContext) {
    this.#ctx = ctx;
  }

  /**
   * The handlers of this controller.
   *
   * @returns Request code and handler pairs.
   */
  handlers(): [number, RequestHandler][] {
    return [
      [RequestCode.HEART_BEAT, (r, c) => this.heartbeat(r, c)],
      [RequestCode.UNREGISTER_CLIENT, (r) => this.unregisterClient(r)],
      [RequestCode.GET_CONSUMER_LIST_BY_GROUP, (r) => this.consumerList(r)],
    ];
  }

  /**
   * HEART_BEAT: register the client's producer and consumer groups.
   *
   * @param request The request; body is HeartbeatData JSON.
   * @param channel The client's connection.
   * @returns SUCCESS.
   */
  heartbeat(request: RemotingCommand, channel: Channel): BrokerResponse {
    const parsed = parseHeartbeatData(request.body);
    if (!parsed.ok) throw new RequestError(ResponseCode.INVALID_PARAMETER, parsed.error);
    const data = parsed.value;
    if (data.clientID === "") {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, "HeartbeatData: clientID is empty");
    }
    for (const group of [...data.producerDataSet, ...data.consumerDataSet]) {
      const problem = checkGroupName(group.groupName);
      if (problem !== undefined) {
        throw new RequestError(ResponseCode.INVALID_PARAMETER, `HeartbeatData: ${problem}`);
      }
    }
    // A bad filter expression is refused at subscribe time, not at the first pull.
    for (const consumer of data.consumerDataSet) {
      for (const subscription of consumer.subscriptionDataSet) {
        const compiled = compileSubscription(subscription.expressionType, subscription.subString);
        if (!compiled.ok) {
          throw new RequestError(
            ResponseCode.SUBSCRIPTION_PARSE_FAILED,
            `Cannot subscribe ${consumer.groupName} to ${subscription.topic}: ${compiled.error}`,
          );
        }
      }
    }
    const { clients, clock } = this.#ctx;
    const now = clock.nowMs();
    for (const producer of data.producerDataSet) {
      clients.registerProducer(producer.groupName, data.clientID, channel, now);
    }
    for (const consumer of data.consumerDataSet) {
      const joined = clients.registerConsumer(
        {
          group: consumer.groupName,
          consumeType: consumer.consumeType,
          messageModel: consumer.messageModel,
          consumeFromWhere: consumer.consumeFromWhere,
          subscriptions: consumer.subscriptionDataSet.map((s) => ({
            topic: s.topic,
            subString: s.subString,
            expressionType: s.expressionType,
            subVersion: s.subVersion,
          })),
        },
        data.clientID,
        channel,
        now,
      );
      if (joined) {
        this.notifyChanged({
          group: consumer.groupName,
          channels: clients.consumerChannels(consumer.groupName),
        });
      }
    }
    return success(request);
  }

  /**
   * UNREGISTER_CLIENT: remove the client from the named groups.
   *
   * @param request The request.
   * @returns SUCCESS.
   */
  unregisterClient(request: RemotingCommand): BrokerResponse {
    const h = decodeHeader(unregisterClientRequestHeader, request);
    const { clients } = this.#ctx;
    if (h.producerGroup !== undefined) clients.unregisterProducer(h.producerGroup, h.clientID);
    if (h.consumerGroup !== undefined) {
      const change = clients.unregisterConsumer(h.consumerGroup, h.clientID);
      if (change !== undefined) this.notifyChanged(change);
    }
    return success(request);
  }

  /**
   * GET_CONSUMER_LIST_BY_GROUP: the group's client ids, sorted; an unknown
   * group answers SUCCESS with an empty list.
   *
   * @param request The request.
   * @returns SUCCESS with body `{"consumerIdList":[...]}`.
   */
  consumerList(request: RemotingCommand): BrokerResponse {
    const h = decodeHeader(consumerGroupRequestHeader, request);
    const consumerIdList = this.#ctx.clients.consumerIds(h.consumerGroup);
    return success(request, {}, encodeJsonBody({ consumerIdList }));
  }

  /**
   * Send NOTIFY_CONSUMER_IDS_CHANGED (oneway) to every remaining member of a group.
   *
   * @param change The group and its members.
   */
  notifyChanged(change: GroupChange<Channel>): void {
    for (const channel of change.channels) {
      if (channel.closed) continue;
      channel.send(
        createRequest(
          RequestCode.NOTIFY_CONSUMER_IDS_CHANGED,
          this.#ctx.nextOpaque(),
          { consumerGroup: change.group },
          undefined,
          true,
        ),
      );
    }
  }

  /**
   * Forget a closed connection's registrations and notify the groups it left.
   *
   * @param channel The closed connection.
   */
  channelClosed(channel: Channel): void {
    this.#ctx.pullHold.dropChannel(channel.id);
    for (const change of this.#ctx.clients.removeChannel(channel.id)) this.notifyChanged(change);
  }

  /** Drop clients whose heartbeats stopped, and notify their groups. */
  expireClients(): void {
    const { clients, clock, config } = this.#ctx;
    for (const change of clients.expire(clock.nowMs(), config.channelExpiredTimeoutMs)) {
      this.notifyChanged(change);
    }
  }
}
