/**
 * What every RPC handler gets besides its request: who calls (client id,
 * address, namespace, credentials) and until when.
 *
 * @module
 */

import type { Authorization } from "../domain/authorization.ts";
import type { BackendHost } from "../domain/backend.ts";

/** One call as the handlers see it. */
export interface CallContext {
  /** The RPC name (`SendMessage`). */
  readonly rpc: string;
  /** `x-mq-client-id` (empty when missing). */
  readonly clientId: string;
  /** `x-mq-namespace` (empty when missing). */
  readonly namespace: string;
  /** `x-mq-language`. */
  readonly language: string;
  /** The peer address. */
  readonly peer: BackendHost;
  /** Parsed `authorization`, if sent. */
  readonly authorization: Authorization | undefined;
  /** `authorization` as sent. */
  readonly rawAuthorization: string | undefined;
  /** The peer as text, `host:port`. */
  readonly peerText: string;
  /** `x-mq-date-time` (the value the authorization signs). */
  readonly dateTime: string | undefined;
  /** `x-mq-session-token`, when sent. */
  readonly sessionToken: string | undefined;
  /** The call's deadline, ms since the epoch (Infinity when none). */
  readonly deadlineMs: number;
  /** Aborted when the client cancels or the server closes. */
  readonly signal: AbortSignal;
}

/**
 * Parse a `host:port` or `[v6]:port` peer string into address bytes.
 *
 * @param peer grpc-js peer text (`127.0.0.1:53412`, `ipv4:...`, `[::1]:5`).
 * @returns The host; unknown forms become 0.0.0.0:0.
 */
export function parsePeer(peer: string): BackendHost {
  const text = peer.replace(/^ipv[46]:/, "");
  const m4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+):(\d+)$/.exec(text);
  if (m4 !== null) {
    return {
      ip: new Uint8Array([+m4[1], +m4[2], +m4[3], +m4[4]]),
      port: +m4[5],
    };
  }
  const mapped = /^\[::ffff:(\d+)\.(\d+)\.(\d+)\.(\d+)\]:(\d+)$/i.exec(text);
  if (mapped !== null) {
    return {
      ip: new Uint8Array([+mapped[1], +mapped[2], +mapped[3], +mapped[4]]),
      port: +mapped[5],
    };
  }
  if (/^\[::1\]:\d+$/.test(text)) {
    return {
      ip: new Uint8Array([127, 0, 0, 1]),
      port: Number(text.slice(text.lastIndexOf(":") + 1)),
    };
  }
  return { ip: new Uint8Array(4), port: 0 };
}
