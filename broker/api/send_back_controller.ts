/**
 * CONSUMER_SEND_MSG_BACK (36): a consumer returns a failed message for retry
 * or dead-lettering.
 *
 * @module
 */

import { consumerSendMsgBackRequestHeader } from "../../client/protocol/headers.ts";
import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type { SendBackService } from "../domain/retry/send_back.ts";
import { checkGroupName } from "../domain/topic_config.ts";
import {
  type BrokerResponse,
  decodeHeader,
  RequestError,
  type RequestHandler,
  success,
} from "./broker_context.ts";

/**
 * Decodes CONSUMER_SEND_MSG_BACK (header: offset, group, delayLevel,
 * originMsgId, originTopic, unitMode, maxReconsumeTimes; no body) and hands
 * it to the {@linkcode SendBackService}. Answers SUCCESS once the copy is
 * stored, SYSTEM_ERROR when the offset names no message or the put fails,
 * INVALID_PARAMETER on a bad header.
 */
export class SendBackController {
  readonly #service: SendBackService;

  /** @param service The broker's send-back service. */
  constructor(service: SendBackService) {
    this.#service = service;
  }

  /**
   * The handlers of this controller.
   *
   * @returns Request code and handler pairs.
   */
  handlers(): [number, RequestHandler][] {
    return [[RequestCode.CONSUMER_SEND_MSG_BACK, (r) => this.sendBack(r)]];
  }

  /**
   * Handle one send-back.
   *
   * @param request The request.
   * @returns SUCCESS once stored.
   * @throws {RequestError} INVALID_PARAMETER or SYSTEM_ERROR, turned into the response.
   */
  async sendBack(request: RemotingCommand): Promise<BrokerResponse> {
    const header = decodeHeader(consumerSendMsgBackRequestHeader, request);
    const problem = checkGroupName(header.group);
    if (problem !== undefined) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot send message back: ${problem}`,
      );
    }
    if (header.offset < 0) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot send message back: offset ${header.offset} is negative`,
      );
    }
    const result = await this.#service.sendBack({
      commitLogOffset: header.offset,
      group: header.group,
      delayLevel: header.delayLevel,
      originMsgId: header.originMsgId,
      maxReconsumeTimes: header.maxReconsumeTimes,
    });
    if (result.status !== "PUT_OK") {
      throw new RequestError(ResponseCode.SYSTEM_ERROR, result.remark);
    }
    return success(request);
  }
}
