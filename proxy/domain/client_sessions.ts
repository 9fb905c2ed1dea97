/**
 * The gRPC clients the front knows, by `x-mq-client-id`: their Telemetry
 * stream (the only way to reach a client), the Settings last answered, the
 * topics a producer publishes and the group a consumer belongs to.
 *
 * Lives on the main thread. Invariant: a session's `writer` is the newest
 * open Telemetry stream of that client (a reconnect replaces it; the end of
 * an older stream does not clear a newer one).
 *
 * @module
 */

import type { Settings, TelemetryCommand } from "./protocol.ts";

/** Writes server-initiated commands to one client's Telemetry stream. */
export interface TelemetryWriter {
  /**
   * Queue a command.
   *
   * @param command The command.
   * @returns False when the stream is closed (the command is dropped).
   */
  write(command: TelemetryCommand): boolean;
  /** True once the stream ended. */
  readonly closed: boolean;
}

/** What the front keeps about one client. */
export interface ClientSession {
  /** `x-mq-client-id`. */
  readonly clientId: string;
  /** Open Telemetry stream, if any. */
  writer: TelemetryWriter | undefined;
  /** The Settings the server last answered with. */
  settings: Settings | undefined;
  /** Topics a producer declared (publishing settings). */
  topics: ReadonlySet<string>;
  /** A consumer's group. */
  group: string | undefined;
  /** The client's namespace (`x-mq-namespace`). */
  namespace: string;
  /** Last call seen, ms. */
  lastSeenMs: number;
}

/** The sessions of the gRPC clients. */
export class ClientSessions {
  readonly #sessions = new Map<string, ClientSession>();

  /**
   * The session of a client, created on first sight.
   *
   * @param clientId `x-mq-client-id`.
   * @param nowMs Current time.
   * @returns The session.
   */
  touch(clientId: string, nowMs: number): ClientSession {
    let session = this.#sessions.get(clientId);
    if (session === undefined) {
      session = {
        clientId,
        writer: undefined,
        settings: undefined,
        topics: new Set(),
        group: undefined,
        namespace: "",
        lastSeenMs: nowMs,
      };
      this.#sessions.set(clientId, session);
    }
    session.lastSeenMs = nowMs;
    return session;
  }

  /**
   * The session of a client, if known.
   *
   * @param clientId `x-mq-client-id`.
   * @returns The session or undefined.
   */
  get(clientId: string): ClientSession | undefined {
    return this.#sessions.get(clientId);
  }

  /**
   * Forget a stream that ended, unless a newer one replaced it.
   *
   * @param clientId `x-mq-client-id`.
   * @param writer The stream that ended.
   */
  detach(clientId: string, writer: TelemetryWriter): void {
    const session = this.#sessions.get(clientId);
    if (session !== undefined && session.writer === writer) session.writer = undefined;
  }

  /**
   * Forget a client (NotifyClientTermination).
   *
   * @param clientId `x-mq-client-id`.
   */
  remove(clientId: string): void {
    this.#sessions.delete(clientId);
  }

  /**
   * Producers of a topic with an open Telemetry stream.
   *
   * @param topic Topic name.
   * @returns Their sessions.
   */
  producersOf(topic: string): ClientSession[] {
    const found: ClientSession[] = [];
    for (const session of this.#sessions.values()) {
      if (session.writer !== undefined && !session.writer.closed && session.topics.has(topic)) {
        found.push(session);
      }
    }
    return found;
  }

  /**
   * Drop clients silent for longer than `timeoutMs` that have no open stream.
   *
   * @param nowMs Current time.
   * @param timeoutMs Silence allowed.
   * @returns How many were dropped.
   */
  expire(nowMs: number, timeoutMs: number): number {
    let dropped = 0;
    for (const [id, session] of this.#sessions) {
      const open = session.writer !== undefined && !session.writer.closed;
      if (!open && nowMs - session.lastSeenMs > timeoutMs) {
        this.#sessions.delete(id);
        dropped++;
      }
    }
    return dropped;
  }

  /** Number of known clients. */
  get size(): number {
    return this.#sessions.size;
  }
}
