/**
 * A reconnecting request channel to one broker, shared by the producer,
 * consumer and admin.
 *
 * @module
 */

import { Connection, type RequestHandler, type RequestOptions } from "./connection.ts";
import { MQBrokerError, MQConnectionClosedError } from "./errors.ts";
import type { RemotingCommand, SerializeType } from "./protocol/remoting_command.ts";
import type { SessionCredentials } from "./protocol/acl_signature.ts";
import { ResponseCode } from "./protocol/response_code.ts";

/** Options of a {@linkcode BrokerClient}. */
export interface BrokerClientOptions {
  /** Broker address, `host:port`. */
  readonly endpoint: string;
  /** Default per-request timeout, ms. */
  readonly requestTimeoutMs?: number;
  /** TCP connect timeout, ms. */
  readonly connectTimeoutMs?: number;
  /** Broker-initiated request handler, installed on every connection. */
  readonly onRequest?: RequestHandler;
  /** Called after each reconnect (not the first connect), e.g. to re-send a heartbeat. */
  readonly onReconnect?: () => void;
  /** Header form of requests (see `ConnectionOptions.serializeType`); default binary. */
  readonly serializeType?: SerializeType;
  /** ACL credentials; every request is signed with them. */
  readonly credentials?: SessionCredentials;
}

/**
 * A request channel to one broker over one {@linkcode Connection} at a time.
 *
 * When the connection breaks, the next request opens a new one (and
 * `onReconnect` runs). Requests already in flight on the broken connection
 * reject with {@linkcode MQConnectionClosedError}; callers decide whether to
 * retry. Invariant: at most one connect attempt is in progress.
 */
export class BrokerClient implements AsyncDisposable {
  /** The broker address. */
  readonly endpoint: string;
  readonly #options: BrokerClientOptions;
  #connection: Connection | undefined;
  #connecting: Promise<Connection> | undefined;
  #connectedOnce = false;
  #closed = false;

  /**
   * Create a client; nothing connects until the first request.
   *
   * @param options Endpoint, timeouts and hooks.
   */
  constructor(options: BrokerClientOptions) {
    this.endpoint = options.endpoint;
    this.#options = options;
  }

  /** True after `close()`. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * The current connection, opening one if needed.
   *
   * @param signal Aborts the connect.
   * @returns An open connection.
   * @throws {MQConnectionClosedError} If the client is closed or the connect fails.
   */
  connection(signal?: AbortSignal): Promise<Connection> {
    if (this.#closed) {
      return Promise.reject(
        new MQConnectionClosedError(`Client for ${this.endpoint} is closed`),
      );
    }
    const current = this.#connection;
    if (current !== undefined && !current.isClosed) return Promise.resolve(current);
    this.#connecting ??= Connection.connect({
      endpoint: this.endpoint,
      requestTimeoutMs: this.#options.requestTimeoutMs,
      connectTimeoutMs: this.#options.connectTimeoutMs,
      onRequest: this.#options.onRequest,
      serializeType: this.#options.serializeType,
      credentials: this.#options.credentials,
      signal,
    }).then(async (connection) => {
      this.#connecting = undefined;
      if (this.#closed) {
        await connection.close();
        throw new MQConnectionClosedError(`Client for ${this.endpoint} is closed`);
      }
      this.#connection = connection;
      if (this.#connectedOnce) this.#options.onReconnect?.();
      this.#connectedOnce = true;
      return connection;
    }, (error) => {
      this.#connecting = undefined;
      throw error;
    });
    return this.#connecting;
  }

  /**
   * Send a request and return the response whatever its code.
   *
   * @param code Request code.
   * @param extFields Header fields.
   * @param body Body.
   * @param options Timeout and signal.
   * @returns The response.
   * @throws {MQTimeoutError} If no response arrives in time.
   * @throws {MQConnectionClosedError} If the connection fails.
   */
  async request(
    code: number,
    extFields?: Record<string, string>,
    body?: Uint8Array,
    options?: RequestOptions,
  ): Promise<RemotingCommand> {
    const connection = this.#connection !== undefined && !this.#connection.isClosed
      ? this.#connection
      : await this.connection(options?.signal);
    return connection.request(code, extFields, body, options);
  }

  /**
   * Send a request and return its response, throwing unless the code is success
   * or one of `acceptCodes`.
   *
   * @param code Request code.
   * @param extFields Header fields.
   * @param body Body.
   * @param options Timeout, signal, and extra accepted response codes.
   * @returns The response.
   * @throws {MQBrokerError} On any other response code.
   * @throws {MQTimeoutError} If no response arrives in time.
   * @throws {MQConnectionClosedError} If the connection fails.
   */
  async invoke(
    code: number,
    extFields?: Record<string, string>,
    body?: Uint8Array,
    options?: RequestOptions & { readonly acceptCodes?: readonly number[] },
  ): Promise<RemotingCommand> {
    const response = await this.request(code, extFields, body, options);
    if (response.code !== ResponseCode.SUCCESS && !options?.acceptCodes?.includes(response.code)) {
      throw new MQBrokerError(response.code, response.remark, code);
    }
    return response;
  }

  /**
   * Send a oneway request on the current connection (opening one if needed).
   *
   * @param code Request code.
   * @param extFields Header fields.
   * @param body Body.
   * @throws {MQConnectionClosedError} If no connection can be opened.
   */
  async oneway(code: number, extFields?: Record<string, string>, body?: Uint8Array): Promise<void> {
    (await this.connection()).oneway(code, extFields, body);
  }

  /** Close the current connection and refuse further requests. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const connecting = this.#connecting;
    if (connecting !== undefined) await connecting.catch(() => {});
    await this.#connection?.close();
  }

  /** Same as {@linkcode BrokerClient.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
