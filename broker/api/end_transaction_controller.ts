/**
 * END_TRANSACTION (37): a producer commits or rolls back a half message
 * (spec §6.2). Usually oneway; a two-way request gets the outcome as its
 * response code.
 *
 * @module
 */

import { endTransactionRequestHeader, TransactionState } from "../../client/protocol/headers.ts";
import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { createResponse } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type {
  EndTransactionResult,
  TransactionService,
} from "../domain/transaction/transaction_service.ts";
import {
  type BrokerResponse,
  decodeHeader,
  RequestError,
  type RequestHandler,
} from "./broker_context.ts";

/** A structured log sink: one object per event. */
export type EndTransactionLog = (event: Readonly<Record<string, unknown>>) => void;

/**
 * Handles END_TRANSACTION: decodes the header, hands it to the
 * {@linkcode TransactionService} and answers with the outcome's response code.
 * Refusals of oneway requests (which get no response) are logged.
 */
export class EndTransactionController {
  readonly #service: TransactionService;
  readonly #log: EndTransactionLog;

  /**
   * Build the controller.
   *
   * @param service Commits and rolls back half messages.
   * @param log Where refused oneway requests are reported.
   */
  constructor(service: TransactionService, log: EndTransactionLog = () => {}) {
    this.#service = service;
    this.#log = log;
  }

  /**
   * The handlers of this controller.
   *
   * @returns Request code and handler pairs.
   */
  handlers(): [number, RequestHandler][] {
    return [[RequestCode.END_TRANSACTION, (request) => this.endTransaction(request)]];
  }

  /**
   * Handle one END_TRANSACTION.
   *
   * @param request The request.
   * @returns The response (the router drops it for oneway requests).
   * @throws {RequestError} INVALID_PARAMETER on a missing or malformed header field.
   */
  async endTransaction(request: RemotingCommand): Promise<BrokerResponse> {
    const header = decodeHeader(endTransactionRequestHeader, request);
    const type = header.commitOrRollback;
    if (
      type !== TransactionState.UNKNOWN && type !== TransactionState.COMMIT &&
      type !== TransactionState.ROLLBACK
    ) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `EndTransactionRequestHeader: field "commitOrRollback" is ${type}, expected 0, 8 or 12`,
      );
    }
    if (header.commitLogOffset < 0 || header.tranStateTableOffset < 0) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        "EndTransactionRequestHeader: offsets must not be negative",
      );
    }
    const result = await this.#service.endTransaction({
      commitLogOffset: header.commitLogOffset,
      tranStateTableOffset: header.tranStateTableOffset,
      producerGroup: header.producerGroup,
      commitOrRollback: type,
      fromTransactionCheck: header.fromTransactionCheck ?? false,
      msgId: header.msgId,
    });
    const { code, remark } = endTransactionResponse(result);
    if (code !== ResponseCode.SUCCESS) {
      this.#log({
        event: "end_transaction_refused",
        status: result.status,
        code,
        remark,
        producerGroup: header.producerGroup,
        commitLogOffset: header.commitLogOffset,
        msgId: header.msgId,
      });
    }
    return createResponse(request, code, remark);
  }
}

/**
 * The response code and remark for an END_TRANSACTION outcome.
 *
 * @param result The outcome.
 * @returns SUCCESS for commits, rollbacks, ignored UNKNOWNs and harmless
 *   duplicates; TRANSACTION_FAILED for a duplicate asking the opposite
 *   outcome; otherwise the refusal's code.
 */
export function endTransactionResponse(
  result: EndTransactionResult,
): { code: number; remark: string | undefined } {
  switch (result.status) {
    case "COMMITTED":
    case "ROLLED_BACK":
      return { code: ResponseCode.SUCCESS, remark: undefined };
    case "UNKNOWN_IGNORED":
      return { code: ResponseCode.SUCCESS, remark: "state UNKNOWN: left for the check" };
    case "ALREADY_RESOLVED":
      return result.conflict
        ? {
          code: ResponseCode.TRANSACTION_FAILED,
          remark: `transaction was already resolved as ${result.resolution}`,
        }
        : { code: ResponseCode.SUCCESS, remark: `already resolved as ${result.resolution}` };
    case "HALF_NOT_FOUND":
      return {
        code: ResponseCode.SYSTEM_ERROR,
        remark: `Cannot end transaction: ${result.remark}`,
      };
    case "GROUP_WRONG":
      return {
        code: ResponseCode.TRANSACTION_STATE_GROUP_WRONG,
        remark: `Cannot end transaction: ${result.remark}`,
      };
    case "OFFSET_WRONG":
    case "INVALID_TYPE":
      return {
        code: ResponseCode.INVALID_PARAMETER,
        remark: `Cannot end transaction: ${result.remark}`,
      };
    case "ILLEGAL_OPERATION":
      return {
        code: ResponseCode.ILLEGAL_OPERATION,
        remark: `Cannot end transaction: ${result.remark}`,
      };
    case "PUT_FAILED": {
      const code = result.putStatus === "MESSAGE_ILLEGAL" ||
          result.putStatus === "PROPERTIES_SIZE_EXCEEDED"
        ? ResponseCode.MESSAGE_ILLEGAL
        : result.putStatus === "SERVICE_NOT_AVAILABLE"
        ? ResponseCode.SERVICE_NOT_AVAILABLE
        : result.putStatus === "OS_PAGE_CACHE_BUSY"
        ? ResponseCode.SYSTEM_BUSY
        : ResponseCode.SYSTEM_ERROR;
      return { code, remark: `Cannot end transaction: ${result.putStatus}: ${result.remark}` };
    }
  }
}
