/**
 * Consumer offsets and queue offsets: QUERY_CONSUMER_OFFSET (14),
 * UPDATE_CONSUMER_OFFSET (15), SEARCH_OFFSET_BY_TIMESTAMP (29),
 * GET_MAX_OFFSET (30), GET_MIN_OFFSET (31).
 *
 * @module
 */

import {
  queryConsumerOffsetRequestHeader,
  queueRequestHeader,
  searchOffsetRequestHeader,
  updateConsumerOffsetRequestHeader,
} from "../../client/protocol/headers.ts";
import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { createResponse } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import { checkGroupName, checkTopicName } from "../domain/topic_config.ts";
import {
  type BrokerContext,
  type BrokerResponse,
  decodeHeader,
  RequestError,
  type RequestHandler,
  success,
} from "./broker_context.ts";

/** Answers offset queries and stores consumer offsets. */
export class OffsetController {
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
      [RequestCode.QUERY_CONSUMER_OFFSET, (r) => this.queryConsumerOffset(r)],
      [RequestCode.UPDATE_CONSUMER_OFFSET, (r) => this.updateConsumerOffset(r)],
      [RequestCode.GET_MAX_OFFSET, (r) => this.getMaxOffset(r)],
      [RequestCode.GET_MIN_OFFSET, (r) => this.getMinOffset(r)],
      [RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, (r) => this.searchOffsetByTimestamp(r)],
    ];
  }

  /**
   * QUERY_CONSUMER_OFFSET: the group's committed offset; with none stored,
   * 0 when the queue still starts at 0 (unless `setZeroIfNotFound=false`),
   * else QUERY_NOT_FOUND.
   *
   * @param request The request.
   * @returns The response with header `offset`.
   */
  queryConsumerOffset(request: RemotingCommand): BrokerResponse {
    const h = decodeHeader(queryConsumerOffsetRequestHeader, request);
    checkNames(h.topic, h.consumerGroup);
    const { store } = this.#ctx;
    const offset = store.queryConsumerOffset(h.consumerGroup, h.topic, h.queueId);
    if (offset !== undefined) return success(request, { offset });
    if (h.setZeroIfNotFound !== false && store.getMinOffsetInQueue(h.topic, h.queueId) <= 0) {
      return success(request, { offset: 0 });
    }
    return createResponse(
      request,
      ResponseCode.QUERY_NOT_FOUND,
      `No offset stored for group ${h.consumerGroup} on ${h.topic}:${h.queueId}`,
    );
  }

  /**
   * UPDATE_CONSUMER_OFFSET: store the group's next offset.
   *
   * @param request The request.
   * @returns SUCCESS.
   */
  updateConsumerOffset(request: RemotingCommand): BrokerResponse {
    const h = decodeHeader(updateConsumerOffsetRequestHeader, request);
    checkNames(h.topic, h.consumerGroup);
    if (h.queueId < 0 || h.commitOffset < 0) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot update consumer offset: queueId ${h.queueId} and commitOffset ${h.commitOffset} must be >= 0`,
      );
    }
    this.#ctx.store.commitConsumerOffset(h.consumerGroup, h.topic, h.queueId, h.commitOffset);
    return success(request);
  }

  /**
   * GET_MAX_OFFSET: one past the newest message of a queue.
   *
   * @param request The request.
   * @returns The response with header `offset`.
   */
  getMaxOffset(request: RemotingCommand): BrokerResponse {
    const h = decodeHeader(queueRequestHeader, request);
    checkNames(h.topic);
    return success(request, { offset: this.#ctx.store.getMaxOffsetInQueue(h.topic, h.queueId) });
  }

  /**
   * GET_MIN_OFFSET: the oldest retained offset of a queue.
   *
   * @param request The request.
   * @returns The response with header `offset`.
   */
  getMinOffset(request: RemotingCommand): BrokerResponse {
    const h = decodeHeader(queueRequestHeader, request);
    checkNames(h.topic);
    return success(request, { offset: this.#ctx.store.getMinOffsetInQueue(h.topic, h.queueId) });
  }

  /**
   * SEARCH_OFFSET_BY_TIMESTAMP: the first offset stored at or after a time.
   *
   * @param request The request.
   * @returns The response with header `offset`.
   */
  async searchOffsetByTimestamp(request: RemotingCommand): Promise<BrokerResponse> {
    const h = decodeHeader(searchOffsetRequestHeader, request);
    checkNames(h.topic);
    const offset = await this.#ctx.store.getOffsetInQueueByTime(h.topic, h.queueId, h.timestamp);
    return success(request, { offset });
  }
}

function checkNames(topic: string, group?: string): void {
  const problem = checkTopicName(topic) ??
    (group === undefined ? undefined : checkGroupName(group));
  if (problem !== undefined) throw new RequestError(ResponseCode.INVALID_PARAMETER, problem);
}
