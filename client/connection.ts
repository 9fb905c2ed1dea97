/**
 * One TCP connection to a broker, speaking RocketMQ's remoting protocol.
 *
 * @module
 */

import {
  FLAG_ONEWAY,
  FLAG_RESPONSE,
  FRAME_BYTES_MAX_DEFAULT,
  FrameDecoder,
  FrameWriter,
  LANGUAGE,
  PROTOCOL_VERSION,
  type RemotingCommand,
  SERIALIZE_ROCKETMQ,
  type SerializeType,
} from "./protocol/remoting_command.ts";
import { ResponseCode } from "./protocol/response_code.ts";
import { requestCodeName } from "./protocol/request_code.ts";
import { MQConnectionClosedError, MQTimeoutError } from "./errors.ts";
import { type SessionCredentials, signRequestFields } from "./protocol/acl_signature.ts";

/** Default time a request waits for its response, ms. */
export const REQUEST_TIMEOUT_MS_DEFAULT = 3_000;
/** Default time to wait for the TCP connect, ms. */
export const CONNECT_TIMEOUT_MS_DEFAULT = 3_000;
/** How often pending requests are checked for expiry, ms (the timeout granularity). */
export const TIMEOUT_SWEEP_MS = 20;
/** Initial size of the output buffer that frames are encoded into, bytes (it grows on demand). */
export const OUTPUT_BUFFER_BYTES_INITIAL = 256 * 1024;
/** An output buffer that grew beyond this is not kept for reuse, bytes. */
export const OUTPUT_BUFFER_BYTES_KEPT_MAX = 4 * 1024 * 1024;
/** Most requests waiting for a response on one connection. */
export const IN_FLIGHT_REQUESTS_MAX = 65_536;

/** Header form requests are sent in by default: RocketMQ's binary form, the cheapest to encode and decode. */
export const SERIALIZE_TYPE_DEFAULT: SerializeType = SERIALIZE_ROCKETMQ;

/** A broker-initiated request handler: returns the response to send, or undefined for none. */
export type RequestHandler = (
  request: RemotingCommand,
) => RemotingCommand | undefined | Promise<RemotingCommand | undefined>;

/** Options of {@linkcode Connection.connect}. */
export interface ConnectionOptions {
  /** Broker address, `host:port`. */
  readonly endpoint: string;
  /** Default per-request timeout, ms. Default {@linkcode REQUEST_TIMEOUT_MS_DEFAULT}. */
  readonly requestTimeoutMs?: number;
  /** TCP connect timeout, ms. Default {@linkcode CONNECT_TIMEOUT_MS_DEFAULT}. */
  readonly connectTimeoutMs?: number;
  /** Largest frame accepted from the broker, bytes. Default 16 MiB. */
  readonly frameBytesMax?: number;
  /** Handles requests the broker sends (NOTIFY_CONSUMER_IDS_CHANGED, CHECK_TRANSACTION_STATE). */
  readonly onRequest?: RequestHandler;
  /**
   * Header form of the requests sent: `SERIALIZE_ROCKETMQ` (binary, default)
   * or `SERIALIZE_JSON`. RocketMQ brokers accept both and answer in the same form.
   */
  readonly serializeType?: SerializeType;
  /** Aborts the connect. */
  readonly signal?: AbortSignal;
  /** ACL credentials: every request is signed (`AccessKey`, `Signature` in its extFields). */
  readonly credentials?: SessionCredentials;
}

/** Per-request options. */
export interface RequestOptions {
  /** Time to wait for the response, ms. Default: the connection's `requestTimeoutMs`. */
  readonly timeoutMs?: number;
  /** Abandons the wait; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

interface Pending {
  readonly code: number;
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly resolve: (response: RemotingCommand) => void;
  readonly reject: (error: unknown) => void;
  readonly signal?: AbortSignal;
  readonly onAbort?: () => void;
}

/**
 * Split a `host:port` endpoint.
 *
 * @param endpoint E.g. `127.0.0.1:10911` or `[::1]:10911`.
 * @returns Host name and port.
 * @throws {TypeError} If the endpoint has no valid port.
 */
export function parseEndpoint(endpoint: string): { hostname: string; port: number } {
  const match = /^\[?([^\[\]]*?)\]?:(\d{1,5})$/.exec(endpoint);
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || match[1].length === 0 || port > 65535) {
    throw new TypeError(`Cannot parse endpoint "${endpoint}": expected host:port`);
  }
  return { hostname: match[1], port };
}

/**
 * One TCP connection to a broker.
 *
 * Requests are matched to responses by `opaque`, so any number (up to
 * {@linkcode IN_FLIGHT_REQUESTS_MAX}) may be in flight at once. Writes are
 * corked: frames queued in the same tick, or while a write is in progress,
 * go out in one `write` call, because each socket write costs about 5 µs.
 * Frames are encoded in place into an output buffer; while one buffer is
 * being written, new frames go into a second one. Each request has a timeout (checked every {@linkcode TIMEOUT_SWEEP_MS}) and
 * may take an `AbortSignal`. Requests from the broker go to the `onRequest`
 * hook. When the connection ends, every pending request rejects with
 * {@linkcode MQConnectionClosedError} and {@linkcode Connection.closed} resolves.
 *
 * Lives on the caller's event loop; owns its socket, its read loop and its
 * timeout timer, and releases all three in `close()`.
 *
 * @example
 * ```ts ignore
 * import { Connection } from "./connection.ts";
 * import { RequestCode } from "./protocol/request_code.ts";
 * await using conn = await Connection.connect({ endpoint: "127.0.0.1:10911" });
 * const response = await conn.request(RequestCode.GET_ALL_TOPIC_CONFIG);
 * console.log(response.code);
 * ```
 */
export class Connection implements AsyncDisposable {
  /** The broker address this connection was opened to. */
  readonly endpoint: string;
  /** Resolves when the connection has ended, with the error that ended it (undefined on `close()`). */
  readonly closed: Promise<Error | undefined>;

  readonly #conn: Deno.TcpConn;
  readonly #requestTimeoutMs: number;
  readonly #onRequest: RequestHandler | undefined;
  readonly #decoder: FrameDecoder;
  readonly #serializeType: SerializeType;
  readonly #pending = new Map<number, Pending>();
  #resolveClosed!: (error: Error | undefined) => void;
  #isClosed = false;
  #nextOpaque = 1;
  #out = new FrameWriter(OUTPUT_BUFFER_BYTES_INITIAL, OUTPUT_BUFFER_BYTES_KEPT_MAX);
  #spare = new FrameWriter(OUTPUT_BUFFER_BYTES_INITIAL, OUTPUT_BUFFER_BYTES_KEPT_MAX);
  #writing = false;
  #flushScheduled = false;
  #writeLoop: Promise<void> = Promise.resolve();
  #readLoop: Promise<void>;
  #sweepTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #credentials: SessionCredentials | undefined;

  private constructor(conn: Deno.TcpConn, endpoint: string, options: ConnectionOptions) {
    this.#conn = conn;
    this.endpoint = endpoint;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT;
    this.#onRequest = options.onRequest;
    this.#decoder = new FrameDecoder(options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT);
    this.#serializeType = options.serializeType ?? SERIALIZE_TYPE_DEFAULT;
    this.#credentials = options.credentials;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#readLoop = this.#read();
  }

  /**
   * Open a connection.
   *
   * @param options Endpoint, timeouts and the broker-request hook.
   * @returns The open connection.
   * @throws {TypeError} If the endpoint cannot be parsed.
   * @throws {MQConnectionClosedError} If the connect fails or times out.
   */
  static async connect(options: ConnectionOptions): Promise<Connection> {
    const { hostname, port } = parseEndpoint(options.endpoint);
    options.signal?.throwIfAborted();
    const timeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT;
    const connecting = Deno.connect({ hostname, port });
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const giveUp = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new MQTimeoutError(
              `Cannot connect to ${options.endpoint}: no answer in ${timeoutMs} ms`,
              timeoutMs,
            ),
          ),
        timeoutMs,
      );
      onAbort = () => reject(options.signal!.reason);
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
    let conn: Deno.TcpConn;
    try {
      conn = await Promise.race([connecting, giveUp]);
    } catch (error) {
      // A connect that completes after we gave up must not leak its socket.
      connecting.then((late) => late.close(), () => {});
      if (error instanceof MQTimeoutError || error === options.signal?.reason) throw error;
      throw new MQConnectionClosedError(`Cannot connect to ${options.endpoint}`, { cause: error });
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) options.signal?.removeEventListener("abort", onAbort);
    }
    conn.setNoDelay(true);
    return new Connection(conn, options.endpoint, options);
  }

  /** True once the connection has ended. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Requests waiting for their response. */
  get pendingRequests(): number {
    return this.#pending.size;
  }

  /**
   * Send a request and wait for its response.
   *
   * The response is returned whatever its code; callers map codes to results
   * or errors. Its `body` is a copy the caller owns.
   *
   * @param code Request code.
   * @param extFields Custom header fields, already strings.
   * @param body Request body.
   * @param options Timeout and abort signal.
   * @returns The response.
   * @throws {MQTimeoutError} If no response arrives in time.
   * @throws {MQConnectionClosedError} If the connection ends first.
   * @throws {RangeError} If too many requests are already in flight.
   */
  request(
    code: number,
    extFields?: Record<string, string>,
    body?: Uint8Array,
    options?: RequestOptions,
  ): Promise<RemotingCommand> {
    if (this.#isClosed) {
      return Promise.reject(
        new MQConnectionClosedError(
          `Cannot send ${requestCodeName(code)}: connection to ${this.endpoint} is closed`,
        ),
      );
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#pending.size >= IN_FLIGHT_REQUESTS_MAX) {
      return Promise.reject(
        new RangeError(
          `Cannot send ${
            requestCodeName(code)
          }: ${this.#pending.size} requests in flight, limit is ${IN_FLIGHT_REQUESTS_MAX}`,
        ),
      );
    }
    const opaque = this.#takeOpaque();
    const timeoutMs = options?.timeoutMs ?? this.#requestTimeoutMs;
    const promise = new Promise<RemotingCommand>((resolve, reject) => {
      let onAbort: (() => void) | undefined;
      if (signal !== undefined) {
        onAbort = () => {
          if (this.#pending.delete(opaque)) reject(signal.reason);
        };
        signal.addEventListener("abort", onAbort, { once: true });
      }
      this.#pending.set(opaque, {
        code,
        deadline: performance.now() + timeoutMs,
        timeoutMs,
        resolve,
        reject,
        signal,
        onAbort,
      });
    });
    if (this.#credentials !== undefined) {
      extFields = signRequestFields(extFields, body, this.#credentials);
    }
    try {
      this.#encode(this.#serializeType, code, opaque, 0, undefined, extFields, body);
    } catch (error) {
      this.#pending.delete(opaque);
      return Promise.reject(error);
    }
    this.#armSweep();
    return promise;
  }

  /**
   * Send a oneway request: no response is expected or awaited.
   *
   * @param code Request code.
   * @param extFields Custom header fields.
   * @param body Request body.
   * @throws {MQConnectionClosedError} If the connection is closed.
   */
  oneway(code: number, extFields?: Record<string, string>, body?: Uint8Array): void {
    if (this.#isClosed) {
      throw new MQConnectionClosedError(
        `Cannot send ${requestCodeName(code)}: connection to ${this.endpoint} is closed`,
      );
    }
    if (this.#credentials !== undefined) {
      extFields = signRequestFields(extFields, body, this.#credentials);
    }
    this.#encode(
      this.#serializeType,
      code,
      this.#takeOpaque(),
      FLAG_ONEWAY,
      undefined,
      extFields,
      body,
    );
  }

  /**
   * Close the connection: pending requests reject with
   * {@linkcode MQConnectionClosedError}; resolves once the socket and the
   * read loop are done. Safe to call more than once.
   */
  async close(): Promise<void> {
    this.#end(undefined);
    await this.#readLoop;
    await this.#writeLoop;
  }

  /** Same as {@linkcode Connection.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #takeOpaque(): number {
    const opaque = this.#nextOpaque;
    this.#nextOpaque = opaque >= 0x7fff_ffff ? 1 : opaque + 1;
    return opaque;
  }

  /**
   * Encode one frame straight into the output buffer and schedule a flush.
   * Encoding in place (no header string or object, no per-frame buffer) is
   * what keeps the per-request cost low.
   */
  #encode(
    serializeType: SerializeType,
    code: number,
    opaque: number,
    flag: number,
    remark: string | undefined,
    extFields: Record<string, string> | undefined,
    body: Uint8Array | undefined,
  ): void {
    try {
      this.#out.appendFields(
        serializeType,
        code,
        LANGUAGE,
        PROTOCOL_VERSION,
        opaque,
        flag,
        remark,
        extFields,
        body,
      );
    } catch (error) {
      throw new RangeError(
        `Cannot encode ${requestCodeName(code)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (!this.#writing && !this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flushTask);
    }
  }

  readonly #flushTask = (): void => {
    this.#flushScheduled = false;
    if (!this.#writing) this.#writeLoop = this.#flush();
  };

  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#out.length > 0 && !this.#isClosed) {
        // Swap buffers: frames queued during this write go into the other one.
        const full = this.#out;
        this.#out = this.#spare;
        this.#spare = full;
        await this.#writeAll(full.bytes());
        full.clear();
      }
    } catch (error) {
      this.#end(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.#writing = false;
    }
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.length) at += await this.#conn.write(bytes.subarray(at));
  }

  async #read(): Promise<void> {
    const decoder = this.#decoder;
    try {
      while (!this.#isClosed) {
        const n = await this.#conn.read(decoder.writable());
        if (n === null) {
          this.#end(new MQConnectionClosedError(`Connection to ${this.endpoint} closed by peer`));
          return;
        }
        decoder.commit(n);
        for (let command = decoder.next(); command !== undefined; command = decoder.next()) {
          this.#dispatch(command, decoder.lastSerializeType);
        }
      }
    } catch (error) {
      this.#end(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #dispatch(command: RemotingCommand, serializeType: SerializeType): void {
    if ((command.flag & FLAG_RESPONSE) !== 0) {
      const pending = this.#pending.get(command.opaque);
      if (pending === undefined) return; // Late answer to a request that timed out or was aborted.
      this.#pending.delete(command.opaque);
      if (pending.onAbort !== undefined) {
        pending.signal!.removeEventListener("abort", pending.onAbort);
      }
      // The body views the decoder's carry buffer, which the next read reuses.
      if (command.body !== undefined) command.body = command.body.slice();
      pending.resolve(command);
      return;
    }
    if (command.body !== undefined) command.body = command.body.slice();
    void this.#answer(command, serializeType);
  }

  /** Run `onRequest` for a broker-initiated request and answer in the request's header form. */
  async #answer(request: RemotingCommand, serializeType: SerializeType): Promise<void> {
    let response: RemotingCommand | undefined;
    try {
      response = this.#onRequest === undefined ? undefined : await this.#onRequest(request);
      if (response === undefined && this.#onRequest === undefined) {
        response = {
          code: ResponseCode.REQUEST_CODE_NOT_SUPPORTED,
          language: LANGUAGE,
          version: PROTOCOL_VERSION,
          opaque: request.opaque,
          flag: FLAG_RESPONSE,
          remark: `request code ${request.code} not supported by this client`,
        };
      }
    } catch (error) {
      response = {
        code: ResponseCode.SYSTEM_ERROR,
        language: LANGUAGE,
        version: PROTOCOL_VERSION,
        opaque: request.opaque,
        flag: FLAG_RESPONSE,
        remark: `client handler failed: ${error instanceof Error ? error.message : error}`,
      };
    }
    if (response === undefined || (request.flag & FLAG_ONEWAY) !== 0 || this.#isClosed) return;
    try {
      this.#encode(
        serializeType,
        response.code,
        request.opaque,
        FLAG_RESPONSE,
        response.remark,
        response.extFields,
        response.body,
      );
    } catch {
      // An unencodable response (oversize header) is dropped; the broker times the request out.
    }
  }

  #armSweep(): void {
    if (this.#sweepTimer !== undefined) return;
    this.#sweepTimer = setTimeout(() => {
      this.#sweepTimer = undefined;
      this.#sweep();
    }, TIMEOUT_SWEEP_MS);
  }

  #sweep(): void {
    const now = performance.now();
    for (const [opaque, pending] of this.#pending) {
      if (pending.deadline > now) continue;
      this.#pending.delete(opaque);
      if (pending.onAbort !== undefined) {
        pending.signal!.removeEventListener("abort", pending.onAbort);
      }
      pending.reject(
        new MQTimeoutError(
          `No response to ${
            requestCodeName(pending.code)
          } from ${this.endpoint} within ${pending.timeoutMs} ms`,
          pending.timeoutMs,
        ),
      );
    }
    if (this.#pending.size > 0 && !this.#isClosed) this.#armSweep();
  }

  #end(error: Error | undefined): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    if (this.#sweepTimer !== undefined) {
      clearTimeout(this.#sweepTimer);
      this.#sweepTimer = undefined;
    }
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer or by a failed read.
    }
    const pendings = [...this.#pending.values()];
    this.#pending.clear();
    this.#out.clear();
    for (const pending of pendings) {
      if (pending.onAbort !== undefined) {
        pending.signal!.removeEventListener("abort", pending.onAbort);
      }
      pending.reject(
        new MQConnectionClosedError(
          `Connection to ${this.endpoint} closed before the response to ${
            requestCodeName(pending.code)
          }`,
          { cause: error },
        ),
      );
    }
    this.#resolveClosed(error);
  }
}
