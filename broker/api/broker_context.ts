/**
 * What the request controllers share: the broker's object graph, the channel
 * type, the handler signature, and the error type a controller throws to
 * answer a bad request.
 *
 * @module
 */

import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { createResponse } from "../../client/protocol/remoting_command.ts";
import type { HeaderCodec } from "../../client/protocol/headers.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type { UniqueIdGenerator } from "../../client/protocol/message_id.ts";
import type { HostAddress, MessageStore } from "../../store/mod.ts";
import type { BrokerConfig } from "../config.ts";
import type { ClientChannel, ClientRegistry } from "../domain/client_registry.ts";
import type { Clock } from "../domain/clock.ts";
import type { PullHoldService } from "../domain/pull_hold.ts";
import type { TopicTable } from "../domain/topic_table.ts";
import type { DedupWindow } from "../domain/dedup/dedup_window.ts";

/** A client connection as the controllers see it. */
export interface Channel extends ClientChannel {
  /** The peer's address bytes and port (the `bornHost` of messages it sends). */
  readonly remoteHost: HostAddress;
  /** True once the connection is closed; sends are then dropped. */
  readonly closed: boolean;
  /**
   * Queue a command for writing (responses are written by the server; this is
   * for broker-initiated oneway requests such as NOTIFY_CONSUMER_IDS_CHANGED).
   *
   * @param command The command.
   */
  send(command: RemotingCommand): void;
  /**
   * Told when one of this connection's pulls is parked in a long-polling hold
   * (`true`) and when it resumes (`false`): a parked pull produces no output,
   * so the server's backpressure does not count on its response meanwhile.
   *
   * @param held Parked (`true`) or resumed (`false`).
   */
  pullHeld?(held: boolean): void;
}

/** A response, optionally with its body in several parts (written without concatenation). */
export interface BrokerResponse extends RemotingCommand {
  /** Body parts written one after the other; used instead of `body` when set. */
  bodyParts?: readonly Uint8Array[];
}

/** Handles one request code. `undefined` means "no response" (oneway requests). */
export type RequestHandler = (
  request: RemotingCommand,
  channel: Channel,
) => BrokerResponse | undefined | Promise<BrokerResponse | undefined>;

/** The broker's object graph, built by the composition root. */
export interface BrokerContext {
  readonly config: BrokerConfig;
  readonly store: MessageStore;
  readonly topics: TopicTable;
  readonly clients: ClientRegistry<Channel>;
  readonly pullHold: PullHoldService;
  readonly clock: Clock;
  /** Makes UNIQ_KEYs for messages that arrive without one. */
  readonly uniqueIds: UniqueIdGenerator;
  /** This broker's advertised address (message ids, routes). */
  readonly storeHost: HostAddress;
  /** `ip:port` of this broker, as routes advertise it. */
  readonly brokerAddress: string;
  /** The send path's dedup window (absent: every send is stored). */
  readonly dedup?: DedupWindow;
  /** Opaque for the next broker-initiated request. */
  nextOpaque(): number;
}

/**
 * Thrown inside a controller to answer the request with `code` and the
 * message as remark; the router turns it into the response.
 */
export class RequestError extends Error {
  /** The response code to answer with. */
  readonly code: number;

  /**
   * @param code Response code.
   * @param message Remark for the client.
   */
  constructor(code: number, message: string) {
    super(message);
    this.name = "RequestError";
    this.code = code;
  }
}

/**
 * Decode a request's custom header.
 *
 * @param codec The header codec.
 * @param request The request.
 * @returns The typed header.
 * @throws {RequestError} INVALID_PARAMETER naming the first bad field.
 */
export function decodeHeader<T>(codec: HeaderCodec<T>, request: RemotingCommand): T {
  const result = codec.decode(request.extFields);
  if (!result.ok) throw new RequestError(ResponseCode.INVALID_PARAMETER, result.error);
  return result.header;
}

/**
 * A SUCCESS response.
 *
 * @param request The request answered.
 * @param extFields Response header fields.
 * @param body Optional body.
 * @returns The response.
 */
export function success(
  request: RemotingCommand,
  extFields: Readonly<Record<string, string | number | boolean | undefined>> = {},
  body?: Uint8Array,
): BrokerResponse {
  return createResponse(request, ResponseCode.SUCCESS, undefined, extFields, body);
}
