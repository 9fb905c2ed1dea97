/**
 * The gRPC front: composition root of the proxy module. Builds the
 * sessions, activities and server over a {@linkcode ProxyBackend} and runs
 * them until `close()`.
 *
 * @module
 */

import type { FrontLog } from "./api/front_context.ts";
import { GRPC_BODY_BYTES_MAX } from "./api/front_context.ts";
import { MessagingFront } from "./api/messaging_front.ts";
import { ACCEPT_ALL, type AuthorizationHook } from "./domain/authorization.ts";
import type { ProxyBackend, TransactionCheck } from "./domain/backend.ts";
import { ClientSessions } from "./domain/client_sessions.ts";
import { GrpcServer } from "./server/grpc_server.ts";

/** How often sessions of silent clients without a Telemetry stream are dropped, ms. */
export const SESSION_SCAN_INTERVAL_MS = 30_000;
/** Silence after which such a session is dropped, ms. */
export const SESSION_IDLE_TIMEOUT_MS = 120_000;

/** Options of {@linkcode GrpcFront.start}. */
export interface GrpcFrontOptions {
  /** Address to listen on. */
  readonly host: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
  /** Address advertised in routes when a request names none (default: host). */
  readonly advertisedHost?: string;
  /** The brokers behind the front. */
  readonly backend: ProxyBackend;
  /** Largest body accepted and advertised, bytes (default 4 MiB − 64 KiB). */
  readonly bodyBytesMax?: number;
  /** Access-control hook (default: accept every call). */
  readonly authorize?: AuthorizationHook;
  /** Structured log sink. */
  readonly log?: FrontLog;
  /** Current time (default `Date.now`). */
  readonly nowMs?: () => number;
}

/** A running gRPC front (`apache.rocketmq.v2.MessagingService`). */
export class GrpcFront implements AsyncDisposable {
  readonly #server: GrpcServer;
  readonly #front: MessagingFront;
  readonly #scan: ReturnType<typeof setInterval>;

  private constructor(
    server: GrpcServer,
    front: MessagingFront,
    scan: ReturnType<typeof setInterval>,
  ) {
    this.#server = server;
    this.#front = front;
    this.#scan = scan;
  }

  /**
   * Listen and serve.
   *
   * @param options Where to listen and what to serve.
   * @returns The running front.
   * @throws If the port cannot be bound.
   */
  static async start(options: GrpcFrontOptions): Promise<GrpcFront> {
    const sessions = new ClientSessions();
    const nowMs = options.nowMs ?? Date.now;
    let port = options.port;
    const front = new MessagingFront({
      backend: options.backend,
      sessions,
      advertised: () => ({ host: options.advertisedHost ?? options.host, port }),
      bodyBytesMax: Math.min(options.bodyBytesMax ?? GRPC_BODY_BYTES_MAX, GRPC_BODY_BYTES_MAX),
      nowMs,
      schedule: (fn, delayMs) => {
        const timer = setTimeout(fn, delayMs);
        return () => clearTimeout(timer);
      },
      authorize: options.authorize ?? ACCEPT_ALL,
      log: options.log ?? (() => {}),
    });
    const server = await GrpcServer.start(options.host, options.port, front);
    port = server.port;
    const scan = setInterval(
      () => sessions.expire(nowMs(), SESSION_IDLE_TIMEOUT_MS),
      SESSION_SCAN_INTERVAL_MS,
    );
    return new GrpcFront(server, front, scan);
  }

  /** The port the front listens on. */
  get port(): number {
    return this.#server.port;
  }

  /**
   * Ask a connected gRPC producer about an orphaned transaction.
   *
   * @param producerGroup The group recorded in the half message.
   * @param check The half message and its position.
   * @returns False when no gRPC producer of its topic is connected.
   */
  checkTransaction(producerGroup: string, check: TransactionCheck): boolean {
    return this.#front.checkTransaction(producerGroup, check);
  }

  /**
   * Stop serving; held calls end, streams close.
   *
   * @param graceMs Longest wait for in-flight calls, ms.
   */
  async close(graceMs?: number): Promise<void> {
    clearInterval(this.#scan);
    await this.#server.close(graceMs);
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
