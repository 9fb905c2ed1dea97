/**
 * POP_MESSAGE, PEEK_MESSAGE, ACK_MESSAGE, BATCH_ACK_MESSAGE,
 * CHANGE_MESSAGE_INVISIBLETIME and NOTIFICATION: a thin layer that checks
 * requests against the topic table, decodes RocketMQ's headers, calls the
 * pop domain services, and encodes their results.
 *
 * @module
 */

import {
  ackMessageRequestHeader,
  type BatchAckMessageRequestBody,
  changeInvisibleTimeRequestHeader,
  changeInvisibleTimeResponseHeader,
  encodeQueueInfo,
  notificationRequestHeader,
  notificationResponseHeader,
  peekMessageRequestHeader,
  POP_BATCH_MESSAGES_MAX,
  popMessageRequestHeader,
  popMessageResponseHeader,
} from "../../client/protocol/pop_headers.ts";
import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { createResponse } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type { MessageFilter } from "../../store/mod.ts";
import { compileSubscription } from "../domain/filter/message_filter.ts";
import type { AckResult, AckService } from "../domain/pop/ack_service.ts";
import type { PopContext } from "../domain/pop/pop_context.ts";
import type { PopService } from "../domain/pop/pop_service.ts";
import { popRetryTopicOf } from "../domain/pop/revive_record.ts";
import {
  checkGroupName,
  checkTopicName,
  isReadable,
  type TopicConfig,
} from "../domain/topic_config.ts";
import type { TopicTable } from "../domain/topic_table.ts";
import {
  type BrokerResponse,
  decodeHeader,
  RequestError,
  type RequestHandler,
  success,
} from "./broker_context.ts";

/** Longest pop or notification park the broker grants, ms. */
export const POP_POLL_TIME_MS_MAX = 60_000;

/** The pop request family over remoting. */
export class PopController {
  readonly #topics: TopicTable;
  readonly #pop: PopService;
  readonly #ack: AckService;
  readonly #ctx: PopContext;

  /**
   * @param topics The topic table.
   * @param pop The pop service.
   * @param ack The ack service.
   * @param ctx The shared pop state (long polling).
   */
  constructor(topics: TopicTable, pop: PopService, ack: AckService, ctx: PopContext) {
    this.#topics = topics;
    this.#pop = pop;
    this.#ack = ack;
    this.#ctx = ctx;
  }

  /**
   * The handlers of this controller.
   *
   * @returns Request code and handler pairs.
   */
  handlers(): [number, RequestHandler][] {
    return [
      [RequestCode.POP_MESSAGE, (r) => this.#popMessage(r)],
      [RequestCode.PEEK_MESSAGE, (r) => this.#peekMessage(r)],
      [RequestCode.ACK_MESSAGE, (r) => this.#ackMessage(r)],
      [RequestCode.BATCH_ACK_MESSAGE, (r) => this.#batchAck(r)],
      [RequestCode.CHANGE_MESSAGE_INVISIBLETIME, (r) => this.#changeInvisible(r)],
      [RequestCode.NOTIFICATION, (r) => this.#notification(r)],
    ];
  }

  #readableTopic(verb: string, topic: string, group: string, queueId: number): TopicConfig {
    const problem = checkTopicName(topic) ?? checkGroupName(group);
    if (problem !== undefined) {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, `Cannot ${verb}: ${problem}`);
    }
    const config = this.#topics.get(topic);
    if (config === undefined) {
      throw new RequestError(
        ResponseCode.TOPIC_NOT_EXIST,
        `Cannot ${verb}: topic ${topic} does not exist`,
      );
    }
    if (!isReadable(config.perm)) {
      throw new RequestError(
        ResponseCode.NO_PERMISSION,
        `Cannot ${verb}: topic ${topic} is not readable`,
      );
    }
    if (queueId < -1 || queueId >= config.readQueueNums) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot ${verb}: queueId ${queueId} is not -1 or in [0, ${config.readQueueNums}) of ${topic}`,
      );
    }
    return config;
  }

  async #popMessage(request: RemotingCommand): Promise<BrokerResponse> {
    const h = decodeHeader(popMessageRequestHeader, request);
    const config = this.#readableTopic("pop", h.topic, h.consumerGroup, h.queueId);
    if (h.maxMsgNums < 1 || h.maxMsgNums > POP_BATCH_MESSAGES_MAX) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot pop: maxMsgNums ${h.maxMsgNums} is not in [1, ${POP_BATCH_MESSAGES_MAX}]`,
      );
    }
    if (h.invisibleTime <= 0 || h.pollTime < 0) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot pop: invisibleTime ${h.invisibleTime} must be > 0 and pollTime ${h.pollTime} >= 0`,
      );
    }
    const result = await this.#pop.pop({
      group: h.consumerGroup,
      topic: h.topic,
      queueId: h.queueId,
      readQueueNums: config.readQueueNums,
      maxCount: h.maxMsgNums,
      invisibleTimeMs: h.invisibleTime,
      pollTimeMs: Math.min(h.pollTime, POP_POLL_TIME_MS_MAX),
      initMode: h.initMode,
      filter: filterOf(h.expType, h.exp),
      order: h.order ?? false,
      attemptId: h.attemptId,
    });
    const header = {
      popTime: result.popTime,
      invisibleTime: result.invisibleTime,
      reviveQid: result.reviveQid,
      restNum: result.restNum,
    };
    if (result.status !== "FOUND") {
      const code = result.status === "NOT_FOUND"
        ? ResponseCode.PULL_NOT_FOUND
        : ResponseCode[result.status];
      return createResponse(request, code, undefined, popMessageResponseHeader.encode(header));
    }
    const response: BrokerResponse = success(
      request,
      popMessageResponseHeader.encode({
        ...header,
        startOffsetInfo: encodeQueueInfo(result.startOffsetInfo),
        msgOffsetInfo: encodeQueueInfo(result.msgOffsetInfo),
        orderCountInfo: result.orderCountInfo.length > 0
          ? encodeQueueInfo(result.orderCountInfo)
          : undefined,
      }),
    );
    response.bodyParts = result.messages.map((m) => m.record);
    return response;
  }

  async #peekMessage(request: RemotingCommand): Promise<BrokerResponse> {
    const h = decodeHeader(peekMessageRequestHeader, request);
    const config = this.#readableTopic("peek", h.topic, h.consumerGroup, h.queueId);
    const queueIds = h.queueId >= 0 ? [h.queueId] : [...Array(config.readQueueNums).keys()];
    const max = Math.min(Math.max(1, h.maxMsgNums), POP_BATCH_MESSAGES_MAX);
    const messages = await this.#pop.peek(h.consumerGroup, h.topic, queueIds, max);
    const header = popMessageResponseHeader.encode({
      popTime: this.#ctx.clock.nowMs(),
      invisibleTime: 0,
      reviveQid: 0,
      restNum: 0,
    });
    if (messages.length === 0) {
      return createResponse(request, ResponseCode.PULL_NOT_FOUND, undefined, header);
    }
    const response: BrokerResponse = success(request, header);
    response.bodyParts = messages.map((m) => m.record);
    return response;
  }

  async #ackMessage(request: RemotingCommand): Promise<BrokerResponse> {
    const h = decodeHeader(ackMessageRequestHeader, request);
    this.#checkNames("ack", h.topic, h.consumerGroup);
    const result = await this.#ack.ack({
      group: h.consumerGroup,
      topic: h.topic,
      queueId: h.queueId,
      extraInfo: h.extraInfo,
      offset: h.offset,
    });
    return ackResponse(request, result);
  }

  async #batchAck(request: RemotingCommand): Promise<BrokerResponse> {
    let body: BatchAckMessageRequestBody;
    try {
      body = JSON.parse(new TextDecoder().decode(request.body ?? new Uint8Array()));
    } catch {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, "Cannot batch-ack: body is not JSON");
    }
    if (typeof body?.brokerName !== "string" || !Array.isArray(body.acks)) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        "Cannot batch-ack: body needs brokerName and acks",
      );
    }
    return ackResponse(request, await this.#ack.batchAck(body.brokerName, body.acks));
  }

  async #changeInvisible(request: RemotingCommand): Promise<BrokerResponse> {
    const h = decodeHeader(changeInvisibleTimeRequestHeader, request);
    this.#checkNames("change invisible time", h.topic, h.consumerGroup);
    if (h.invisibleTime < 0) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot change invisible time: invisibleTime ${h.invisibleTime} is negative`,
      );
    }
    const result = await this.#ack.changeInvisible({
      group: h.consumerGroup,
      topic: h.topic,
      queueId: h.queueId,
      extraInfo: h.extraInfo,
      offset: h.offset,
    }, h.invisibleTime);
    if (result.status !== "OK") return ackResponse(request, result);
    return success(request, changeInvisibleTimeResponseHeader.encode(result));
  }

  async #notification(request: RemotingCommand): Promise<BrokerResponse> {
    const h = decodeHeader(notificationRequestHeader, request);
    const config = this.#readableTopic("notify", h.topic, h.consumerGroup, h.queueId);
    const queueIds = h.queueId >= 0 ? [h.queueId] : [...Array(config.readQueueNums).keys()];
    const order = h.order ?? false;
    const has = () => this.#pop.hasMessage(h.consumerGroup, h.topic, queueIds, order);
    let hasMsg = has();
    const deadline = this.#ctx.clock.nowMs() + Math.min(h.pollTime, POP_POLL_TIME_MS_MAX);
    while (!hasMsg) {
      const left = deadline - this.#ctx.clock.nowMs();
      if (left <= 0) break;
      const parked = await this.#ctx.polling.park({
        topics: [h.topic, popRetryTopicOf(h.consumerGroup, h.topic)],
        group: h.consumerGroup,
        queueId: h.queueId,
        timeoutMs: left,
      });
      hasMsg = has();
      if (parked === "FULL") {
        return createResponse(request, ResponseCode.POLLING_FULL, "too many parked requests");
      }
      if (parked !== "WOKEN") break;
    }
    return success(request, notificationResponseHeader.encode({ hasMsg }));
  }

  #checkNames(verb: string, topic: string, group: string): void {
    const problem = checkTopicName(topic) ?? checkGroupName(group);
    if (problem !== undefined) {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, `Cannot ${verb}: ${problem}`);
    }
  }
}

function ackResponse(request: RemotingCommand, result: AckResult): BrokerResponse {
  switch (result.status) {
    case "OK":
      return success(request);
    case "NO_MESSAGE":
      return createResponse(request, ResponseCode.NO_MESSAGE, result.remark);
    case "INVALID_HANDLE":
      return createResponse(request, ResponseCode.INVALID_PARAMETER, result.remark);
    case "PUT_FAILED":
      return createResponse(request, ResponseCode.SYSTEM_ERROR, result.remark);
  }
}

function filterOf(
  type: string | undefined,
  expression: string | undefined,
): MessageFilter | undefined {
  const kind = type === undefined || type === "" ? "TAG" : type;
  const text = expression?.trim() ?? "";
  if (kind === "TAG" && (text === "" || text === "*")) return undefined;
  const compiled = compileSubscription(kind, expression);
  if (!compiled.ok) throw new RequestError(ResponseCode.SUBSCRIPTION_PARSE_FAILED, compiled.error);
  return compiled.filter;
}
