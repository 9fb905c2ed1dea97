/**
 * QUERY_MESSAGE (12): messages by key or unique id, through the store's index
 * (RocketMQ's `QueryMessageProcessor.queryMessage`).
 *
 * Request header `topic`, `key`, `maxNum`, `beginTimestamp`, `endTimestamp`;
 * extField `_UNIQUE_KEY_QUERY="true"` says `key` is a UNIQ_KEY (message id):
 * then `maxNum` is forced to `uniqueKeyQueryMax` and only records whose
 * UNIQ_KEY equals `key` are returned. Response header
 * `indexLastUpdateTimestamp`, `indexLastUpdatePhyoffset`; body = the matching
 * CommitLog records concatenated, newest first; none → QUERY_NOT_FOUND.
 *
 * @module
 */

import {
  queryMessageRequestHeader,
  queryMessageResponseHeader,
} from "../../client/protocol/headers.ts";
import { decodeRecord } from "../../client/protocol/message_record.ts";
import { getProperty, MessageConst } from "../../client/protocol/properties.ts";
import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { createResponse } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type { MessageStore } from "../../store/mod.ts";
import type { Clock } from "../domain/clock.ts";
import { checkTopicName } from "../domain/topic_config.ts";
import {
  type BrokerResponse,
  decodeHeader,
  RequestError,
  type RequestHandler,
  success,
} from "./broker_context.ts";

/** Most messages one QUERY_MESSAGE returns (RocketMQ `maxMsgsNumBatch`). */
export const QUERY_MESSAGE_MAX = 64;
/** `maxNum` of a unique-key query (RocketMQ `defaultQueryMaxNum`). */
export const UNIQUE_KEY_QUERY_MAX = 32;

/** How far the index has got, for the response header. */
export interface IndexStatus {
  /** Store time of the newest indexed entry, epoch ms. */
  readonly lastUpdateTimestamp: number;
  /** CommitLog offset of the newest indexed entry. */
  readonly lastUpdatePhyOffset: number;
}

/** What the controller needs (a `BrokerContext` has it all). */
export interface QueryMessageDeps {
  /** The store (lookups, and the dispatched offset for the default index status). */
  readonly store: Pick<MessageStore, "queryMessageByKey" | "stats">;
  /** Wall time for the default index status. */
  readonly clock: Pick<Clock, "nowMs">;
}

/** Options of a `QueryMessageController`. */
export interface QueryMessageControllerOptions {
  /**
   * The index's progress for the response header. Default: now and the
   * store's dispatched offset (dispatch feeds the index).
   */
  readonly indexStatus?: () => IndexStatus;
  /** Most messages per query. Default `QUERY_MESSAGE_MAX`. */
  readonly queryMessagesMax?: number;
  /** `maxNum` of unique-key queries. Default `UNIQUE_KEY_QUERY_MAX`. */
  readonly uniqueKeyQueryMax?: number;
}

/** Answers QUERY_MESSAGE from the store's key index. */
export class QueryMessageController {
  readonly #deps: QueryMessageDeps;
  readonly #indexStatus: () => IndexStatus;
  readonly #max: number;
  readonly #uniqueMax: number;

  /**
   * Build the controller.
   *
   * @param deps Store and clock (the broker context).
   * @param options Index status source and limits.
   * @throws {RangeError} If a limit is not a positive integer.
   */
  constructor(deps: QueryMessageDeps, options: QueryMessageControllerOptions = {}) {
    this.#deps = deps;
    this.#max = options.queryMessagesMax ?? QUERY_MESSAGE_MAX;
    this.#uniqueMax = options.uniqueKeyQueryMax ?? UNIQUE_KEY_QUERY_MAX;
    for (
      const [name, value] of [["queryMessagesMax", this.#max], [
        "uniqueKeyQueryMax",
        this.#uniqueMax,
      ]] as const
    ) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(
          `Cannot build QueryMessageController: ${name} is ${value}, expected >= 1`,
        );
      }
    }
    this.#indexStatus = options.indexStatus ?? (() => ({
      lastUpdateTimestamp: deps.clock.nowMs(),
      lastUpdatePhyOffset: deps.store.stats().dispatchedOffset,
    }));
  }

  /**
   * The handlers of this controller.
   *
   * @returns Request code and handler pairs.
   */
  handlers(): [number, RequestHandler][] {
    return [[RequestCode.QUERY_MESSAGE, (r) => this.queryMessage(r)]];
  }

  /**
   * QUERY_MESSAGE: records by key or unique id.
   *
   * @param request The request.
   * @returns SUCCESS with the records as body parts, or QUERY_NOT_FOUND.
   * @throws {RequestError} INVALID_PARAMETER for a bad header, topic, maxNum or window.
   */
  async queryMessage(request: RemotingCommand): Promise<BrokerResponse> {
    const h = decodeHeader(queryMessageRequestHeader, request);
    const problem = checkTopicName(h.topic);
    if (problem !== undefined) {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, `Cannot query message: ${problem}`);
    }
    if (h.key.length === 0) {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, "Cannot query message: key is empty");
    }
    if (h.endTimestamp < h.beginTimestamp) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot query message: endTimestamp ${h.endTimestamp} is before beginTimestamp ${h.beginTimestamp}`,
      );
    }
    const unique = h.uniqueKeyQuery === true;
    if (!unique && h.maxNum < 1) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot query message: maxNum is ${h.maxNum}, expected >= 1`,
      );
    }
    const maxNum = unique ? this.#uniqueMax : Math.min(h.maxNum, this.#max);
    let found = await this.#deps.store.queryMessageByKey(
      h.topic,
      h.key,
      maxNum,
      h.beginTimestamp,
      h.endTimestamp,
    );
    if (unique) {
      // The index holds keys and unique ids alike: keep only the id's own records.
      found = found.filter((m) =>
        getProperty(
          decodeRecord(m.record).properties,
          MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
        ) ===
          h.key
      );
    }
    const status = this.#indexStatus();
    const header = queryMessageResponseHeader.encode({
      indexLastUpdateTimestamp: status.lastUpdateTimestamp,
      indexLastUpdatePhyoffset: status.lastUpdatePhyOffset,
    });
    if (found.length === 0) {
      return createResponse(
        request,
        ResponseCode.QUERY_NOT_FOUND,
        `No message with ${unique ? "unique id" : "key"} ${h.key} in topic ${h.topic}`,
        header,
      );
    }
    const response: BrokerResponse = success(request, header);
    response.bodyParts = found.map((m) => m.record);
    return response;
  }
}
