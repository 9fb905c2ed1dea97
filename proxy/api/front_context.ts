/**
 * What the RPC activities share: the backend port, the client sessions,
 * limits and time.
 *
 * @module
 */

import type { AuthorizationHook } from "../domain/authorization.ts";
import type { ProxyBackend } from "../domain/backend.ts";
import type { ClientSessions } from "../domain/client_sessions.ts";

/** Most bytes of a body the front accepts and advertises (`max_body_size`): 4 MiB − 64 KiB, so a whole message still fits a client's 4 MiB receive limit. */
export const GRPC_BODY_BYTES_MAX = 4 * 1024 * 1024 - 64 * 1024;
/** Delay before Settings are pushed again after a QueryRoute (client startup race workaround), ms. */
export const SETTINGS_REPUSH_DELAY_MS = 20;
/** Longest message group accepted, characters. */
export const MESSAGE_GROUP_CHARS_MAX = 64;
/** Most messages in one SendMessage. */
export const SEND_MESSAGES_MAX = 1024;

/** A structured log sink. */
export type FrontLog = (event: Readonly<Record<string, unknown>>) => void;

/** The front's configuration and collaborators. */
export interface FrontContext {
  /** The brokers behind the front. */
  readonly backend: ProxyBackend;
  /** Known clients. */
  readonly sessions: ClientSessions;
  /** The front's own address as routes advertise it when the request names none. */
  advertised(): { readonly host: string; readonly port: number };
  /** Largest body accepted (and advertised), bytes. */
  readonly bodyBytesMax: number;
  /** Current time, ms since the epoch. */
  nowMs(): number;
  /**
   * Run `fn` after `delayMs`.
   *
   * @returns Cancels it.
   */
  schedule(fn: () => void, delayMs: number): () => void;
  /** Decides whether a call may proceed. */
  readonly authorize: AuthorizationHook;
  /** Structured log. */
  readonly log: FrontLog;
}
