/**
 * The broker's TCP server: accepts connections, decodes frames, dispatches
 * requests concurrently and writes responses coalesced per tick.
 *
 * @module
 */

import {
  FrameDecoder,
  FrameError,
  isResponse,
  type RemotingCommand,
  SERIALIZE_JSON,
  type SerializeType,
} from "../../client/protocol/remoting_command.ts";
import type { HostAddress } from "../../store/mod.ts";
import type { BrokerResponse, Channel } from "../api/broker_context.ts";
import { parseIpv4 } from "../config.ts";
import type { LogSink } from "./request_router.ts";
import { OutputBuffer } from "./output_buffer.ts";

/** Bytes asked of the frame decoder for each socket read. */
export const READ_CHUNK_BYTES = 64 * 1024;

/** Named limits of the server. */
export interface RemotingServerLimits {
  /** Largest frame accepted, bytes; a bigger one closes the connection. */
  readonly frameBytesMax: number;
  /** Most open connections; more are closed on accept. */
  readonly connectionsMax: number;
  /** Most requests in flight per connection; reading pauses at the limit. */
  readonly inFlightRequestsPerConnectionMax: number;
  /** Most queued output bytes per connection; beyond it the connection is closed. */
  readonly outputBytesPerConnectionMax: number;
}

/** What the server calls for each request and each closed connection. */
export interface RemotingServerHandlers {
  /**
   * Handle a request. Its `body` is a private copy the handler may keep.
   * Must not throw; a rejected promise closes nothing and is logged.
   */
  dispatch(
    request: RemotingCommand,
    channel: Channel,
  ): BrokerResponse | undefined | Promise<BrokerResponse | undefined>;
  /** Called once per connection after it closes. */
  connectionClosed(channel: Channel): void;
}

/**
 * Serves RocketMQ's remoting protocol on one `Deno.Listener`.
 *
 * Lives on the main thread; owns the sockets. Each connection reads into a
 * `FrameDecoder` carry buffer, dispatches every whole frame at once
 * (pipelining: responses are matched by opaque, in completion order), and
 * writes responses through a double-buffered `OutputBuffer`: everything
 * produced while a write is in flight leaves in the next single write. Each
 * response uses its request's header form (JSON or binary), as RocketMQ does;
 * broker-initiated requests use the form the peer last sent. A
 * `FrameError` closes that connection only. Invariant per connection:
 * `0 <= inFlight <= inFlightRequestsPerConnectionMax`.
 */
export class RemotingServer {
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #limits: RemotingServerLimits;
  readonly #handlers: RemotingServerHandlers;
  readonly #log: LogSink;
  readonly #connections = new Set<TcpChannel>();
  #acceptLoop: Promise<void> | undefined;
  #nextId = 1;
  #closing = false;

  /**
   * Bind the listener (connections are accepted after `serve()`).
   *
   * @param hostname Address to listen on.
   * @param port Port, 0 for any.
   * @param limits Named limits.
   * @param handlers Request dispatch and close notification.
   * @param log Structured log sink.
   * @throws {Deno.errors.AddrInUse} and other listen errors.
   */
  constructor(
    hostname: string,
    port: number,
    limits: RemotingServerLimits,
    handlers: RemotingServerHandlers,
    log: LogSink = () => {},
  ) {
    this.#listener = Deno.listen({ hostname, port, transport: "tcp" });
    this.#limits = limits;
    this.#handlers = handlers;
    this.#log = log;
  }

  /** The bound port. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Start accepting connections. */
  serve(): void {
    this.#acceptLoop ??= this.#accept();
  }

  async #accept(): Promise<void> {
    while (!this.#closing) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closing) return;
        this.#log({ event: "accept_error", error: String(error) });
        continue;
      }
      if (this.#closing || this.#connections.size >= this.#limits.connectionsMax) {
        this.#log({ event: "connection_refused", connections: this.#connections.size });
        try {
          conn.close();
        } catch { /* already closed */ }
        continue;
      }
      try {
        conn.setNoDelay(true);
      } catch { /* the peer may already be gone */ }
      const channel = new TcpChannel(String(this.#nextId++), conn, this.#limits, this.#log);
      this.#connections.add(channel);
      channel.run(this.#handlers).finally(() => {
        this.#connections.delete(channel);
        this.#handlers.connectionClosed(channel);
      });
    }
  }

  /**
   * Stop accepting, wait (bounded) for in-flight requests to be answered and
   * written, then close every connection.
   *
   * @param timeoutMs Longest wait for in-flight requests.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    await this.#acceptLoop;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([
      Promise.all([...this.#connections].map((c) => c.drained())),
      deadline,
    ]);
    clearTimeout(timer);
    const closing = [...this.#connections].map((c) => c.closedPromise);
    for (const channel of this.#connections) channel.close();
    await Promise.all(closing);
  }
}

/** One client connection: read loop, in-flight accounting, coalesced writes. */
class TcpChannel implements Channel {
  readonly id: string;
  readonly remoteAddress: string;
  readonly remoteHost: HostAddress;
  readonly #conn: Deno.TcpConn;
  readonly #limits: RemotingServerLimits;
  readonly #log: LogSink;
  #inFlight = 0;
  #closed = false;
  /** Header form of the peer's latest request; broker-initiated requests use it. */
  #peerSerializeType: SerializeType = SERIALIZE_JSON;
  #pending = new OutputBuffer();
  #spare = new OutputBuffer();
  #writing = false;
  #flushScheduled = false;
  #wakeReader: (() => void) | undefined;
  #wakeDrained: (() => void) | undefined;
  #resolveClosed!: () => void;
  /** Resolves when the read loop has ended and the socket is closed. */
  readonly closedPromise: Promise<void>;

  constructor(id: string, conn: Deno.TcpConn, limits: RemotingServerLimits, log: LogSink) {
    this.id = id;
    this.#conn = conn;
    this.#limits = limits;
    this.#log = log;
    const addr = conn.remoteAddr;
    this.remoteAddress = `${addr.hostname}:${addr.port}`;
    this.remoteHost = { ip: parseIpv4(addr.hostname) ?? new Uint8Array(4), port: addr.port };
    this.closedPromise = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(command: RemotingCommand): void {
    this.#enqueue(command, this.#peerSerializeType);
  }

  /** Resolves once nothing is in flight and nothing is waiting to be written. */
  async drained(): Promise<void> {
    while (!this.#closed && (this.#inFlight > 0 || this.#writing || this.#pending.length > 0)) {
      await new Promise<void>((resolve) => this.#wakeDrained = resolve);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    this.#wakeReader?.();
    this.#wakeDrained?.();
  }

  async run(handlers: RemotingServerHandlers): Promise<void> {
    const decoder = new FrameDecoder(this.#limits.frameBytesMax);
    const inFlightMax = this.#limits.inFlightRequestsPerConnectionMax;
    try {
      while (!this.#closed) {
        // Dispatch every whole frame already buffered, up to the in-flight limit.
        while (this.#inFlight < inFlightMax) {
          const request = decoder.next();
          if (request === undefined) break;
          this.#handle(request, handlers, decoder.lastSerializeType);
        }
        if (this.#inFlight >= inFlightMax) {
          await new Promise<void>((resolve) => this.#wakeReader = resolve);
          this.#wakeReader = undefined;
          continue;
        }
        const n = await this.#conn.read(decoder.writable(READ_CHUNK_BYTES));
        if (n === null) break;
        decoder.commit(n);
      }
    } catch (error) {
      if (!this.#closed) {
        this.#log({
          event: error instanceof FrameError ? "frame_error" : "read_error",
          connection: this.id,
          remote: this.remoteAddress,
          error: String((error as Error)?.message ?? error),
        });
      }
    } finally {
      this.close();
      this.#resolveClosed();
    }
  }

  #handle(
    request: RemotingCommand,
    handlers: RemotingServerHandlers,
    serializeType: SerializeType,
  ): void {
    // Peers' responses (to our oneway notifications) need nothing.
    if (isResponse(request)) return;
    this.#peerSerializeType = serializeType;
    // The body views the decoder's carry buffer, which the next read reuses.
    if (request.body !== undefined) request.body = request.body.slice();
    this.#inFlight++;
    let result: BrokerResponse | undefined | Promise<BrokerResponse | undefined>;
    try {
      result = handlers.dispatch(request, this);
    } catch (error) {
      this.#log({ event: "dispatch_error", connection: this.id, error: String(error) });
      result = undefined;
    }
    if (result instanceof Promise) {
      result.then(
        (response) => this.#complete(response, serializeType),
        (error) => {
          this.#log({ event: "dispatch_error", connection: this.id, error: String(error) });
          this.#complete(undefined, serializeType);
        },
      );
    } else {
      this.#complete(result, serializeType);
    }
  }

  #complete(response: BrokerResponse | undefined, serializeType: SerializeType): void {
    if (response !== undefined) this.#enqueue(response, serializeType);
    this.#inFlight--;
    if (
      this.#wakeReader !== undefined &&
      this.#inFlight < this.#limits.inFlightRequestsPerConnectionMax
    ) {
      this.#wakeReader();
    }
    if (this.#inFlight === 0) this.#wakeDrained?.();
  }

  #enqueue(command: BrokerResponse, serializeType: SerializeType): void {
    if (this.#closed) return;
    try {
      this.#pending.append(command, serializeType);
    } catch (error) {
      this.#log({ event: "encode_error", connection: this.id, error: String(error) });
      return;
    }
    if (this.#pending.length > this.#limits.outputBytesPerConnectionMax) {
      this.#log({ event: "output_overflow", connection: this.id, bytes: this.#pending.length });
      this.close();
      return;
    }
    if (!this.#writing && !this.#flushScheduled) {
      this.#flushScheduled = true;
      // Let every response produced in this tick join the same write.
      queueMicrotask(this.#flushTask);
    }
  }

  readonly #flushTask = (): void => void this.#flush();

  async #flush(): Promise<void> {
    this.#flushScheduled = false;
    if (this.#writing) return;
    this.#writing = true;
    try {
      while (!this.#closed && this.#pending.length > 0) {
        const out = this.#pending;
        this.#pending = this.#spare;
        this.#spare = out;
        const bytes = out.bytes();
        let written = 0;
        while (written < bytes.length) {
          written += await this.#conn.write(bytes.subarray(written));
        }
        out.clear();
      }
    } catch (error) {
      if (!this.#closed) {
        this.#log({ event: "write_error", connection: this.id, error: String(error) });
        this.close();
      }
    } finally {
      this.#writing = false;
      if (this.#inFlight === 0) this.#wakeDrained?.();
    }
  }
}
