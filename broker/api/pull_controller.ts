/**
 * PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361), with long polling.
 *
 * @module
 */

import { pullMessageRequestHeader, PullSysFlag } from "../../client/protocol/headers.ts";
import type { PullMessageRequestHeader } from "../../client/protocol/headers.ts";
import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { createResponse } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type { GetMessageResult, MessageFilter } from "../../store/mod.ts";
import { compileSubscription } from "../domain/filter/message_filter.ts";
import { checkGroupName, checkTopicName, isReadable } from "../domain/topic_config.ts";
import type { ResumeReason } from "../domain/pull_hold.ts";
import {
  type BrokerContext,
  type BrokerResponse,
  type Channel,
  decodeHeader,
  RequestError,
  type RequestHandler,
} from "./broker_context.ts";

/** Most compiled subscriptions kept for reuse. */
export const FILTER_CACHE_ENTRIES_MAX = 1024;

interface PullPlan {
  readonly request: RemotingCommand;
  readonly header: PullMessageRequestHeader;
  readonly filter: MessageFilter | undefined;
  readonly maxCount: number;
  readonly topicSysFlag: number;
  readonly channel: Channel;
}

/**
 * Handles pulls: reads from the store, maps the read status to a pull
 * response code (spec §3.10), stores a piggy-backed commit offset, and parks
 * a pull that found nothing (suspend flag) until dispatch makes a matching
 * message visible or its `suspendTimeoutMillis` runs out.
 */
export class PullController {
  readonly #ctx: BrokerContext;
  readonly #filters = new Map<string, MessageFilter | undefined>();

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
    const pull: RequestHandler = (request, channel) => this.pull(request, channel);
    return [[RequestCode.PULL_MESSAGE, pull], [RequestCode.LITE_PULL_MESSAGE, pull]];
  }

  /**
   * Handle one pull.
   *
   * @param request The PULL_MESSAGE request.
   * @param channel The consumer's connection.
   * @returns The pull response (possibly after a long-polling hold).
   */
  pull(request: RemotingCommand, channel: Channel): Promise<BrokerResponse> {
    const header = decodeHeader(pullMessageRequestHeader, request);
    const { topics, store, config } = this.#ctx;
    const topicProblem = checkTopicName(header.topic) ?? checkGroupName(header.consumerGroup);
    if (topicProblem !== undefined) {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, `Cannot pull: ${topicProblem}`);
    }
    const topic = topics.get(header.topic);
    if (topic === undefined) {
      throw new RequestError(
        ResponseCode.TOPIC_NOT_EXIST,
        `Cannot pull: topic ${header.topic} does not exist on ${config.brokerName}`,
      );
    }
    if (!isReadable(topic.perm)) {
      throw new RequestError(
        ResponseCode.NO_PERMISSION,
        `Cannot pull: topic ${header.topic} is not readable (perm ${topic.perm})`,
      );
    }
    if (header.queueId < 0 || header.queueId >= topic.readQueueNums) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot pull: queueId ${header.queueId} is not in [0, ${topic.readQueueNums}) of ${header.topic}`,
      );
    }
    if (header.queueOffset < 0 || header.maxMsgNums <= 0) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot pull: queueOffset ${header.queueOffset} and maxMsgNums ${header.maxMsgNums} must be >= 0 and > 0`,
      );
    }
    const filter = this.#filterFor(header);
    if ((header.sysFlag & PullSysFlag.COMMIT_OFFSET) !== 0 && header.commitOffset >= 0) {
      store.commitConsumerOffset(
        header.consumerGroup,
        header.topic,
        header.queueId,
        header.commitOffset,
      );
    }
    const plan: PullPlan = {
      request,
      header,
      filter,
      maxCount: Math.min(header.maxMsgNums, config.pullMessagesMax),
      topicSysFlag: topic.topicSysFlag,
      channel,
    };
    return this.#execute(plan, (header.sysFlag & PullSysFlag.SUSPEND) !== 0);
  }

  async #execute(plan: PullPlan, allowSuspend: boolean): Promise<BrokerResponse> {
    const { header } = plan;
    const result = await this.#ctx.store.getMessage({
      group: header.consumerGroup,
      topic: header.topic,
      queueId: header.queueId,
      queueOffset: header.queueOffset,
      maxCount: plan.maxCount,
      maxBytes: header.maxMsgBytes !== undefined && header.maxMsgBytes > 0
        ? header.maxMsgBytes
        : undefined,
      filter: plan.filter,
    });
    const response = this.#respond(plan, result);
    if (response.code !== ResponseCode.PULL_NOT_FOUND || !allowSuspend) return response;
    const timeoutMs = Math.min(header.suspendTimeoutMillis, this.#ctx.config.pullSuspendMaxMs);
    if (timeoutMs <= 0 || plan.channel.closed) return response;
    return this.#hold(plan, response, timeoutMs);
  }

  #hold(plan: PullPlan, notFound: BrokerResponse, timeoutMs: number): Promise<BrokerResponse> {
    const { header } = plan;
    const { pullHold, store } = this.#ctx;
    return new Promise<BrokerResponse>((resolve, reject) => {
      const resume = (reason: ResumeReason): void => {
        plan.channel.pullHeld?.(false);
        // At shutdown the store may be closing: answer with what we know.
        if (reason === "SHUTDOWN") resolve(notFound);
        else this.#execute(plan, false).then(resolve, reject);
      };
      const filter = plan.filter;
      const held = pullHold.hold({
        topic: header.topic,
        queueId: header.queueId,
        queueOffset: header.queueOffset,
        channelId: plan.channel.id,
        matchesTagsCode: filter === undefined ? undefined : (code) => filter.matchesTagsCode(code),
        timeoutMs,
      }, resume);
      if (held !== "HELD") {
        resolve(notFound);
        return;
      }
      plan.channel.pullHeld?.(true);
      // A message may have been dispatched between the read and the hold: recheck once.
      const maxOffset = store.getMaxOffsetInQueue(header.topic, header.queueId);
      if (maxOffset > header.queueOffset) {
        pullHold.wakeQueue(header.topic, header.queueId, maxOffset);
      }
    });
  }

  #respond(plan: PullPlan, result: GetMessageResult): BrokerResponse {
    let code: number;
    switch (result.status) {
      case "FOUND":
        code = ResponseCode.SUCCESS;
        break;
      case "NO_MESSAGE_IN_QUEUE":
      case "NO_MATCHED_LOGIC_QUEUE":
        code = plan.header.queueOffset !== 0
          ? ResponseCode.PULL_OFFSET_MOVED
          : ResponseCode.PULL_NOT_FOUND;
        break;
      case "OFFSET_TOO_SMALL":
      case "OFFSET_OVERFLOW_BADLY":
        code = ResponseCode.PULL_OFFSET_MOVED;
        break;
      case "OFFSET_OVERFLOW_ONE":
        code = ResponseCode.PULL_NOT_FOUND;
        break;
      case "NO_MATCHED_MESSAGE":
      case "MESSAGE_WAS_REMOVING":
      case "OFFSET_FOUND_NULL":
        code = ResponseCode.PULL_RETRY_IMMEDIATELY;
        break;
    }
    const response: BrokerResponse = createResponse(plan.request, code, undefined, {
      suggestWhichBrokerId: 0,
      nextBeginOffset: result.nextBeginOffset,
      minOffset: result.minOffset,
      maxOffset: result.maxOffset,
      topicSysFlag: plan.topicSysFlag,
      groupSysFlag: 0,
    });
    if (code === ResponseCode.SUCCESS) response.bodyParts = result.messages.map((m) => m.record);
    return response;
  }

  #filterFor(header: PullMessageRequestHeader): MessageFilter | undefined {
    let expressionType: string | undefined;
    let expression: string | undefined;
    if ((header.sysFlag & PullSysFlag.SUBSCRIPTION) !== 0) {
      expressionType = header.expressionType;
      expression = header.subscription;
    } else {
      const subscription = this.#ctx.clients.subscription(header.consumerGroup, header.topic);
      if (subscription === undefined) return undefined;
      expressionType = subscription.expressionType;
      expression = subscription.subString;
    }
    const type = expressionType === undefined || expressionType === "" ? "TAG" : expressionType;
    const text = expression?.trim() ?? "";
    if (type === "TAG" && (text === "" || text === "*")) return undefined;
    const key = type + "\u0000" + text;
    if (this.#filters.has(key)) return this.#filters.get(key);
    const compiled = compileSubscription(type, expression);
    if (!compiled.ok) {
      throw new RequestError(ResponseCode.SUBSCRIPTION_PARSE_FAILED, compiled.error);
    }
    if (this.#filters.size >= FILTER_CACHE_ENTRIES_MAX) this.#filters.clear();
    this.#filters.set(key, compiled.filter);
    return compiled.filter;
  }
}
