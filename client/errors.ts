/**
 * The client's error family.
 *
 * Every error the client raises for an operating condition is an
 * {@linkcode MQClientError}: a broker's refusal is an {@linkcode MQBrokerError}
 * carrying the response code and remark; a request that got no answer in time
 * is an {@linkcode MQTimeoutError}; a request cut off by a closed or broken
 * connection is an {@linkcode MQConnectionClosedError}. Aborted waits reject
 * with the `AbortSignal`'s reason, as Web APIs do. Bad arguments throw
 * `TypeError` or `RangeError`.
 *
 * @module
 */

import { responseCodeName } from "./protocol/response_code.ts";
import { requestCodeName } from "./protocol/request_code.ts";

/** Base class of every client error. */
export class MQClientError extends Error {
  /**
   * Create a client error.
   *
   * @param message What went wrong.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MQClientError";
  }
}

/**
 * The broker answered a request with a response code other than success.
 *
 * @example
 * ```ts
 * import { MQBrokerError } from "./errors.ts";
 * const error = new MQBrokerError(17, "topic T does not exist", 310);
 * // error.code === 17; error.message names TOPIC_NOT_EXIST and SEND_MESSAGE_V2
 * ```
 */
export class MQBrokerError extends MQClientError {
  /** The response code (see `ResponseCode`). */
  readonly code: number;
  /** The broker's remark, or an empty string. */
  readonly remark: string;
  /** The request code that was refused, if known. */
  readonly requestCode: number | undefined;

  /**
   * Create a broker error from a response.
   *
   * @param code Response code.
   * @param remark The broker's remark (may be undefined).
   * @param requestCode The request's code, for the message.
   * @param options Standard error options.
   */
  constructor(
    code: number,
    remark: string | undefined,
    requestCode?: number,
    options?: ErrorOptions,
  ) {
    const what = requestCode === undefined ? "request" : requestCodeName(requestCode);
    super(
      `Broker refused ${what}: ${responseCodeName(code)} (${code})${remark ? `: ${remark}` : ""}`,
      options,
    );
    this.name = "MQBrokerError";
    this.code = code;
    this.remark = remark ?? "";
    this.requestCode = requestCode;
  }
}

/** A request got no response within its timeout. */
export class MQTimeoutError extends MQClientError {
  /** The timeout that expired, ms. */
  readonly timeoutMs: number;

  /**
   * Create a timeout error.
   *
   * @param message What timed out.
   * @param timeoutMs The timeout, ms.
   * @param options Standard error options.
   */
  constructor(message: string, timeoutMs: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "MQTimeoutError";
    this.timeoutMs = timeoutMs;
  }
}

/** The connection closed (or could not be opened) before the request completed. */
export class MQConnectionClosedError extends MQClientError {
  /**
   * Create a connection-closed error.
   *
   * @param message What was cut off.
   * @param options Standard error options (`cause` holds the socket error, if any).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MQConnectionClosedError";
  }
}
