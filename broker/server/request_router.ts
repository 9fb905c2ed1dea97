/**
 * Routes requests to handlers by request code and turns every failure into
 * a response.
 *
 * @module
 */

import {
  createResponse,
  isOneway,
  type RemotingCommand,
} from "../../client/protocol/remoting_command.ts";
import { requestCodeName } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import {
  type BrokerResponse,
  type Channel,
  RequestError,
  type RequestHandler,
} from "../api/broker_context.ts";

/** A structured log sink: one object per event. */
export type LogSink = (event: Readonly<Record<string, unknown>>) => void;

/**
 * Maps request codes to handlers.
 *
 * Unknown codes answer REQUEST_CODE_NOT_SUPPORTED; a `RequestError` answers
 * with its code and message; any other exception answers SYSTEM_ERROR (and is
 * logged). Oneway requests never get a response. Never throws or rejects.
 */
export class RequestRouter {
  readonly #handlers = new Map<number, RequestHandler>();
  readonly #log: LogSink;

  /** @param log Where unexpected handler errors are reported. */
  constructor(log: LogSink = () => {}) {
    this.#log = log;
  }

  /**
   * Register handlers.
   *
   * @param pairs Request code and handler pairs.
   * @throws {TypeError} If a code already has a handler.
   */
  register(pairs: Iterable<readonly [number, RequestHandler]>): void {
    for (const [code, handler] of pairs) {
      if (this.#handlers.has(code)) {
        throw new TypeError(`Cannot register handler: ${requestCodeName(code)} already has one`);
      }
      this.#handlers.set(code, handler);
    }
  }

  /**
   * Handle one request.
   *
   * @param request The request.
   * @param channel The connection it arrived on.
   * @returns The response (synchronously when the handler is synchronous), or
   *   undefined for oneway requests.
   */
  dispatch(
    request: RemotingCommand,
    channel: Channel,
  ): BrokerResponse | undefined | Promise<BrokerResponse | undefined> {
    const oneway = isOneway(request);
    const handler = this.#handlers.get(request.code);
    if (handler === undefined) {
      return oneway ? undefined : createResponse(
        request,
        ResponseCode.REQUEST_CODE_NOT_SUPPORTED,
        `Request code ${request.code} (${requestCodeName(request.code)}) is not supported`,
      );
    }
    let result: BrokerResponse | undefined | Promise<BrokerResponse | undefined>;
    try {
      result = handler(request, channel);
    } catch (error) {
      return oneway ? undefined : this.#failure(request, error);
    }
    if (result instanceof Promise) {
      return result.then(
        (response) => oneway ? undefined : response,
        (error) => oneway ? undefined : this.#failure(request, error),
      );
    }
    return oneway ? undefined : result;
  }

  #failure(request: RemotingCommand, error: unknown): BrokerResponse {
    if (error instanceof RequestError) return createResponse(request, error.code, error.message);
    this.#log({
      event: "handler_error",
      code: request.code,
      request: requestCodeName(request.code),
      error: String((error as Error)?.stack ?? error),
    });
    return createResponse(
      request,
      ResponseCode.SYSTEM_ERROR,
      `Internal error handling ${requestCodeName(request.code)}: ${
        (error as Error)?.message ?? error
      }`,
    );
  }
}
