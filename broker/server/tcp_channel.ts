/**
 * One client connection of the broker's server: the read loop with its
 * backpressure, in-flight accounting and coalesced response writes.
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
import type { BudgetMember, ServerBudget } from "./server_budget.ts";

/** Bytes asked of the frame decoder for each socket read. */
export const READ_CHUNK_BYTES = 64 * 1024;

/**
 * Size of each read buffer of a connection's frame decoder, bytes. Request
 * bodies view these buffers (no copy), so one stays alive while a request
 * that arrived in it is being handled.
 */
export const DECODER_BUFFER_BYTES = 256 * 1024;

/** Bytes a request is counted for besides its body (header and bookkeeping). */
export const REQUEST_OVERHEAD_BYTES = 256;

/** Expected response size of a request before this connection has answered any, bytes. */
export const RESPONSE_BYTES_GUESS = 16 * 1024;

/** Named limits of one connection. */
export interface ChannelLimits {
  /** Largest frame accepted, bytes; a bigger one closes the connection. */
  readonly frameBytesMax: number;
  /** Most requests in flight per connection; reading pauses at the limit. */
  readonly inFlightRequestsPerConnectionMax: number;
  /** Most unsent output bytes per connection; beyond it the connection is closed. */
  readonly outputBytesPerConnectionMax: number;
  /**
   * Reading pauses while unsent output plus the expected output of running
   * requests exceeds this (or the bodies of running requests do), bytes;
   * it resumes at a quarter of it.
   */
  readonly outputHighWaterBytes: number;
}

/** What the server calls for each request. */
export type Dispatch = (
  request: RemotingCommand,
  channel: Channel,
) => BrokerResponse | undefined | Promise<BrokerResponse | undefined>;

/**
 * One client connection: read loop, in-flight accounting, coalesced writes.
 *
 * Backpressure: the read loop dispatches a request only while
 * (a) fewer than `inFlightRequestsPerConnectionMax` are running,
 * (b) the connection's load, its unsent output plus the expected output of
 * its running requests (running, not parked in a long-polling hold; the
 * expectation is a running average of this connection's response sizes),
 * is under `outputHighWaterBytes` (once over, until it falls to a quarter),
 * (c) the bodies of its running requests are under the same mark, and
 * (d) the shared budget's request bytes are within their limit.
 * Otherwise it stops reading the socket, so a client that does not read its
 * responses is slowed by TCP, and costs about one high-water mark. Unsent
 * output over `outputBytesPerConnectionMax` closes the connection.
 */
export class TcpChannel implements Channel, BudgetMember {
  readonly id: string;
  readonly remoteAddress: string;
  readonly remoteHost: HostAddress;
  readonly #conn: Deno.TcpConn;
  readonly #limits: ChannelLimits;
  readonly #budget: ServerBudget;
  readonly #log: LogSink;
  #inFlight = 0;
  /** Requests parked in a long-polling hold (they produce no output until resumed). */
  #held = 0;
  #inFlightRequestBytes = 0;
  #avgResponseBytes = RESPONSE_BYTES_GUESS;
  #outputPaused = false;
  #closed = false;
  /** Header form of the peer's latest request; broker-initiated requests use it. */
  #peerSerializeType: SerializeType = SERIALIZE_JSON;
  #pending = new OutputBuffer();
  #spare = new OutputBuffer();
  /** Bytes of the buffer being written that the socket has not taken yet. */
  #inWrite = 0;
  #writing = false;
  #flushScheduled = false;
  #wakeReader: (() => void) | undefined;
  #wakeDrained: (() => void) | undefined;
  #resolveClosed!: () => void;
  /** Resolves when the read loop has ended and the socket is closed. */
  readonly closedPromise: Promise<void>;

  constructor(
    id: string,
    conn: Deno.TcpConn,
    limits: ChannelLimits,
    budget: ServerBudget,
    log: LogSink,
  ) {
    this.id = id;
    this.#conn = conn;
    this.#limits = limits;
    this.#budget = budget;
    this.#log = log;
    const addr = conn.remoteAddr;
    this.remoteAddress = `${addr.hostname}:${addr.port}`;
    this.remoteHost = { ip: parseIpv4(addr.hostname) ?? new Uint8Array(4), port: addr.port };
    this.closedPromise = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Unsent response bytes this connection holds. */
  get outputBytes(): number {
    return this.#pending.length + this.#inWrite;
  }

  send(command: RemotingCommand): void {
    this.#enqueue(command, this.#peerSerializeType);
  }

  pullHeld(held: boolean): void {
    this.#held += held ? 1 : -1;
    if (!held) return;
    this.wake();
  }

  /** Wake the read loop to re-check whether it may dispatch. */
  wake(): void {
    this.#wakeReader?.();
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
    const held = this.outputBytes;
    this.#pending.clear();
    this.#inWrite = 0;
    this.#budget.addOutput(-held);
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    this.#wakeReader?.();
    this.#wakeDrained?.();
  }

  /** Whether the read loop may dispatch one more request now (see the class doc). */
  #mayDispatch(): boolean {
    const limits = this.#limits;
    if (this.#inFlight >= limits.inFlightRequestsPerConnectionMax) return false;
    const high = limits.outputHighWaterBytes;
    const load = this.outputBytes + (this.#inFlight - this.#held) * this.#avgResponseBytes;
    if (this.#outputPaused) {
      if (load > high / 4) return false;
      this.#outputPaused = false;
    } else if (load > high) {
      this.#outputPaused = true;
      return false;
    }
    if (this.#inFlightRequestBytes > high) return false;
    return this.#budget.requestsAllowed;
  }

  async run(dispatch: Dispatch): Promise<void> {
    // Stable bodies: a request keeps a view of the read buffer, no copy per body.
    const decoder = new FrameDecoder(this.#limits.frameBytesMax, DECODER_BUFFER_BYTES, true);
    try {
      while (!this.#closed) {
        // Dispatch every whole frame already buffered, while backpressure allows.
        let blocked = false;
        for (;;) {
          if (!this.#mayDispatch()) {
            blocked = true;
            break;
          }
          const request = decoder.next();
          if (request === undefined) break;
          this.#handle(request, dispatch, decoder.lastSerializeType);
        }
        if (blocked) {
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

  #handle(request: RemotingCommand, dispatch: Dispatch, serializeType: SerializeType): void {
    // Peers' responses (to our oneway notifications) need nothing.
    if (isResponse(request)) return;
    this.#peerSerializeType = serializeType;
    const requestBytes = (request.body?.length ?? 0) + REQUEST_OVERHEAD_BYTES;
    this.#inFlight++;
    this.#inFlightRequestBytes += requestBytes;
    this.#budget.addRequest(requestBytes);
    let result: BrokerResponse | undefined | Promise<BrokerResponse | undefined>;
    try {
      result = dispatch(request, this);
    } catch (error) {
      this.#log({ event: "dispatch_error", connection: this.id, error: String(error) });
      result = undefined;
    }
    if (result instanceof Promise) {
      result.then(
        (response) => this.#complete(response, serializeType, requestBytes),
        (error) => {
          this.#log({ event: "dispatch_error", connection: this.id, error: String(error) });
          this.#complete(undefined, serializeType, requestBytes);
        },
      );
    } else {
      this.#complete(result, serializeType, requestBytes);
    }
  }

  #complete(
    response: BrokerResponse | undefined,
    serializeType: SerializeType,
    requestBytes: number,
  ): void {
    this.#inFlight--;
    this.#inFlightRequestBytes -= requestBytes;
    this.#budget.addRequest(-requestBytes);
    if (response !== undefined) this.#enqueue(response, serializeType);
    this.#wakeReader?.();
    if (this.#inFlight === 0) this.#wakeDrained?.();
  }

  #enqueue(command: BrokerResponse, serializeType: SerializeType): void {
    if (this.#closed) return;
    const before = this.#pending.length;
    try {
      this.#pending.append(command, serializeType);
    } catch (error) {
      this.#log({ event: "encode_error", connection: this.id, error: String(error) });
      return;
    }
    const added = this.#pending.length - before;
    this.#avgResponseBytes += (added - this.#avgResponseBytes) / 16;
    this.#budget.addOutput(added);
    if (this.#closed) return; // the shared budget closed the largest holder: this one
    if (this.outputBytes > this.#limits.outputBytesPerConnectionMax) {
      this.#log({ event: "output_overflow", connection: this.id, bytes: this.outputBytes });
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
        this.#inWrite = bytes.length;
        let written = 0;
        while (written < bytes.length) {
          const n = await this.#conn.write(bytes.subarray(written));
          if (this.#closed) return; // close() released every held byte
          written += n;
          this.#inWrite -= n;
          this.#budget.addOutput(-n);
          this.#wakeReader?.();
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
