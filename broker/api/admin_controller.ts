/**
 * Admin and metadata requests: UPDATE_AND_CREATE_TOPIC (17),
 * DELETE_TOPIC_IN_BROKER (215), GET_ALL_TOPIC_CONFIG (21),
 * GET_ROUTEINFO_BY_TOPIC (105), VIEW_MESSAGE_BY_ID (33) and
 * GET_ALL_CONSUMER_OFFSET (43). QUERY_MESSAGE (12) is `QueryMessageController`.
 *
 * @module
 */

import {
  createTopicRequestHeader,
  getRouteInfoRequestHeader,
  topicRequestHeader,
  viewMessageRequestHeader,
} from "../../client/protocol/headers.ts";
import { encodeJsonBody } from "../../client/protocol/heartbeat.ts";
import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { createResponse } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import {
  checkGroupName,
  checkTopicName,
  checkTopicNotReserved,
  createTopicConfig,
} from "../domain/topic_config.ts";
import {
  type BrokerContext,
  type BrokerResponse,
  decodeHeader,
  RequestError,
  type RequestHandler,
  success,
} from "./broker_context.ts";

/** One queue's progress for a consumer group, in the GET_ALL_CONSUMER_OFFSET body. */
export interface QueueProgress {
  readonly group: string;
  readonly topic: string;
  readonly queueId: number;
  /** The group's committed next offset. */
  readonly consumerOffset: number;
  readonly brokerMinOffset: number;
  /** One past the newest message. */
  readonly brokerMaxOffset: number;
  /** `brokerMaxOffset - consumerOffset`, at least 0. */
  readonly lag: number;
}

/** Topic, route and lookup requests for admin tools and clients. */
export class AdminController {
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
      [RequestCode.UPDATE_AND_CREATE_TOPIC, (r) => this.createTopic(r)],
      [RequestCode.DELETE_TOPIC_IN_BROKER, (r) => this.deleteTopic(r)],
      [RequestCode.GET_ALL_TOPIC_CONFIG, (r) => this.allTopicConfig(r)],
      [RequestCode.GET_ROUTEINFO_BY_TOPIC, (r) => this.routeInfo(r)],
      [RequestCode.VIEW_MESSAGE_BY_ID, (r) => this.viewMessage(r)],
      [RequestCode.GET_ALL_CONSUMER_OFFSET, (r) => this.allConsumerOffsets(r)],
    ];
  }

  /**
   * UPDATE_AND_CREATE_TOPIC: create a topic or replace its config; persisted before answering.
   *
   * @param request The request.
   * @returns SUCCESS.
   */
  async createTopic(request: RemotingCommand): Promise<BrokerResponse> {
    const h = decodeHeader(createTopicRequestHeader, request);
    const problem = checkTopicName(h.topic) ?? checkTopicNotReserved(h.topic);
    if (problem !== undefined) {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, `Cannot create topic: ${problem}`);
    }
    const max = this.#ctx.config.topicQueueNumsMax;
    for (
      const [name, value] of [["readQueueNums", h.readQueueNums], [
        "writeQueueNums",
        h.writeQueueNums,
      ]] as const
    ) {
      if (value < 1 || value > max) {
        throw new RequestError(
          ResponseCode.INVALID_PARAMETER,
          `Cannot create topic: ${name} is ${value}, allowed 1..${max}`,
        );
      }
    }
    if (h.perm < 0 || h.perm > 15) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot create topic: perm is ${h.perm}, allowed 0..15`,
      );
    }
    await this.#ctx.topics.put(createTopicConfig(h.topic, {
      readQueueNums: h.readQueueNums,
      writeQueueNums: h.writeQueueNums,
      perm: h.perm,
      topicFilterType: h.topicFilterType,
      topicSysFlag: h.topicSysFlag ?? 0,
      order: h.order,
      attributes: parseAttributes(h.attributes),
    }));
    return success(request);
  }

  /**
   * DELETE_TOPIC_IN_BROKER: remove the topic, its ConsumeQueues and offsets.
   *
   * @param request The request.
   * @returns SUCCESS (also for a topic that did not exist).
   */
  async deleteTopic(request: RemotingCommand): Promise<BrokerResponse> {
    const h = decodeHeader(topicRequestHeader, request);
    const problem = checkTopicName(h.topic) ?? checkTopicNotReserved(h.topic);
    if (problem !== undefined) {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, `Cannot delete topic: ${problem}`);
    }
    await this.#ctx.topics.delete(h.topic);
    await this.#ctx.store.deleteTopic(h.topic);
    return success(request);
  }

  /**
   * GET_ALL_TOPIC_CONFIG: the topic table as JSON
   * `{"topicConfigTable":{...},"dataVersion":{...}}`.
   *
   * @param request The request.
   * @returns SUCCESS with the JSON body.
   */
  allTopicConfig(request: RemotingCommand): BrokerResponse {
    return success(request, {}, new TextEncoder().encode(this.#ctx.topics.toJson(true)));
  }

  /**
   * GET_ROUTEINFO_BY_TOPIC, answered for this broker alone.
   *
   * @param request The request.
   * @returns SUCCESS with TopicRouteData JSON, or TOPIC_NOT_EXIST.
   */
  routeInfo(request: RemotingCommand): BrokerResponse {
    const h = decodeHeader(getRouteInfoRequestHeader, request);
    const { topics, config, brokerAddress } = this.#ctx;
    const topic = topics.get(h.topic);
    if (topic === undefined) {
      return createResponse(
        request,
        ResponseCode.TOPIC_NOT_EXIST,
        `No topic route info for ${h.topic} on ${config.brokerName}`,
      );
    }
    return success(
      request,
      {},
      encodeJsonBody({
        queueDatas: [{
          brokerName: config.brokerName,
          readQueueNums: topic.readQueueNums,
          writeQueueNums: topic.writeQueueNums,
          perm: topic.perm,
          topicSysFlag: topic.topicSysFlag,
        }],
        brokerDatas: [{
          cluster: config.clusterName,
          brokerName: config.brokerName,
          brokerAddrs: { "0": brokerAddress },
        }],
      }),
    );
  }

  /**
   * VIEW_MESSAGE_BY_ID: one record by CommitLog offset.
   *
   * @param request The request.
   * @returns SUCCESS with the record as body, or QUERY_NOT_FOUND.
   */
  async viewMessage(request: RemotingCommand): Promise<BrokerResponse> {
    const h = decodeHeader(viewMessageRequestHeader, request);
    if (h.offset < 0) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot view message: offset ${h.offset} is negative`,
      );
    }
    const message = await this.#ctx.store.lookMessageByOffset(h.offset);
    if (message === undefined) {
      return createResponse(
        request,
        ResponseCode.QUERY_NOT_FOUND,
        `No message at CommitLog offset ${h.offset}`,
      );
    }
    const response: BrokerResponse = success(request);
    response.bodyParts = [message.record];
    return response;
  }

  /**
   * GET_ALL_CONSUMER_OFFSET: every committed offset, with queue progress and lag.
   *
   * Optional header fields `consumerGroup` and `topic` narrow the answer. Body:
   * `{"offsetTable":{"topic@group":{"0":5}}, "progress":[QueueProgress...]}` —
   * `offsetTable` is RocketMQ's ConsumerOffsetSerializeWrapper form, `progress`
   * adds the broker's min/max offsets and the lag per queue, sorted by group,
   * topic and queue.
   *
   * @param request The request.
   * @returns SUCCESS with the JSON body.
   */
  allConsumerOffsets(request: RemotingCommand): BrokerResponse {
    const group = request.extFields?.consumerGroup;
    const topic = request.extFields?.topic;
    if (group !== undefined && checkGroupName(group) !== undefined) {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, checkGroupName(group)!);
    }
    const { store } = this.#ctx;
    const offsetTable: Record<string, Record<string, number>> = {};
    const progress: QueueProgress[] = [];
    for (const entry of store.listConsumerOffsets()) {
      if (group !== undefined && entry.group !== group) continue;
      if (topic !== undefined && entry.topic !== topic) continue;
      const key = `${entry.topic}@${entry.group}`;
      (offsetTable[key] ??= {})[String(entry.queueId)] = entry.offset;
      const brokerMaxOffset = store.getMaxOffsetInQueue(entry.topic, entry.queueId);
      progress.push({
        group: entry.group,
        topic: entry.topic,
        queueId: entry.queueId,
        consumerOffset: entry.offset,
        brokerMinOffset: store.getMinOffsetInQueue(entry.topic, entry.queueId),
        brokerMaxOffset,
        lag: Math.max(0, brokerMaxOffset - entry.offset),
      });
    }
    progress.sort((a, b) =>
      a.group < b.group
        ? -1
        : a.group > b.group
        ? 1
        : a.topic < b.topic
        ? -1
        : a.topic > b.topic
        ? 1
        : a.queueId - b.queueId
    );
    return success(request, {}, encodeJsonBody({ offsetTable, progress }));
  }
}

/** Parse RocketMQ's attribute change string `+k=v,+k2=v2,-k3` into the attributes to set. */
function parseAttributes(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (text === undefined || text.trim() === "") return out;
  for (const piece of text.split(",")) {
    const item = piece.trim();
    if (!item.startsWith("+")) continue;
    const eq = item.indexOf("=");
    if (eq > 1) out[item.slice(1, eq)] = item.slice(eq + 1);
  }
  return out;
}
