/**
 * The broker's TCP server: accepts connections, decodes frames, dispatches
 * requests concurrently and writes responses coalesced per tick.
 *
 * @module
 */

import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import type { BrokerResponse, Channel } from "../api/broker_context.ts";
import type { LogSink } from "./request_router.ts";
import { ServerBudget } from "./server_budget.ts";
import { type ChannelLimits, TcpChannel } from "./tcp_channel.ts";

export { READ_CHUNK_BYTES } from "./tcp_channel.ts";

/** Named limits of the server (the per-connection ones are {@linkcode ChannelLimits}). */
export interface RemotingServerLimits extends ChannelLimits {
  /** Most open connections; more are closed on accept. */
  readonly connectionsMax: number;
  /** Most unsent response bytes of all connections together; beyond it the largest holder is closed. */
  readonly outputBytesTotalMax: number;
  /** Most bytes of requests being handled, all connections together; reading pauses beyond it. */
  readonly inFlightRequestBytesTotalMax: number;
}

/** What the server calls for each request and each closed connection. */
export interface RemotingServerHandlers {
  /**
   * Handle a request. Its `body` is the handler's (a view of a read buffer that is never
   * reused; copy it to keep it long, so the whole buffer is not kept).
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
 * Lives on the main thread; owns the sockets. Each connection
 * ({@linkcode TcpChannel}) reads into a `FrameDecoder` carry buffer,
 * dispatches every whole frame at once while its backpressure allows
 * (pipelining: responses are matched by opaque, in completion order), and
 * writes responses through a double-buffered `OutputBuffer`: everything
 * produced while a write is in flight leaves in the next single write. Each
 * response uses its request's header form (JSON or binary), as RocketMQ does;
 * broker-initiated requests use the form the peer last sent. A
 * `FrameError` closes that connection only. The bytes held for all
 * connections together are bounded by a {@linkcode ServerBudget}. Invariant
 * per connection: `0 <= inFlight <= inFlightRequestsPerConnectionMax`.
 */
export class RemotingServer {
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #limits: RemotingServerLimits;
  readonly #handlers: RemotingServerHandlers;
  readonly #log: LogSink;
  readonly #connections = new Set<TcpChannel>();
  readonly #budget: ServerBudget;
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
    this.#budget = new ServerBudget(
      limits.outputBytesTotalMax,
      limits.inFlightRequestBytesTotalMax,
    );
  }

  /** Unsent response bytes of all connections together. */
  get heldOutputBytes(): number {
    return this.#budget.outputBytes;
  }

  /** Bytes of the requests being handled on all connections together. */
  get heldRequestBytes(): number {
    return this.#budget.requestBytes;
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
      const channel = new TcpChannel(
        String(this.#nextId++),
        conn,
        this.#limits,
        this.#budget,
        this.#log,
      );
      this.#connections.add(channel);
      this.#budget.join(channel);
      const handlers = this.#handlers;
      channel.run((request, ch) => handlers.dispatch(request, ch)).finally(() => {
        this.#connections.delete(channel);
        this.#budget.leave(channel);
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
