/**
 * The remoting command (RocketMQ's request/response unit), its constants,
 * constructors and `FrameError`. The frame format is described in
 * `remoting_command.ts`, which re-exports everything here.
 *
 * @module
 */

/** Flag bit 0: the command is a response. */
export const FLAG_RESPONSE = 0b01;
/** Flag bit 1: the request is oneway (no response will be sent). */
export const FLAG_ONEWAY = 0b10;

/** Serialize type byte: JSON header. */
export const SERIALIZE_JSON = 0;
/** Serialize type byte: RocketMQ binary header. */
export const SERIALIZE_ROCKETMQ = 1;

/** A header form: {@linkcode SERIALIZE_JSON} or {@linkcode SERIALIZE_ROCKETMQ}. */
export type SerializeType = typeof SERIALIZE_JSON | typeof SERIALIZE_ROCKETMQ;

/** Largest frame `length` accepted, bytes (RocketMQ `frameMaxLength`). */
export const FRAME_BYTES_MAX_DEFAULT = 16 * 1024 * 1024;
/** Largest header, bytes (the field is 24 bits wide). */
export const HEADER_BYTES_MAX = 0xff_ffff;

/** The `version` this implementation sends (RocketMQ `V5_3_3`). */
export const PROTOCOL_VERSION = 479;

/** RocketMQ `LanguageCode` names by their binary-header byte. */
export const LANGUAGE_CODES: readonly string[] = Object.freeze([
  "JAVA",
  "CPP",
  "DOTNET",
  "PYTHON",
  "DELPHI",
  "ERLANG",
  "RUBY",
  "OTHER",
  "HTTP",
  "GO",
  "PHP",
  "OMS",
  "RUST",
  "NODE_JS",
]);

/** The language name this implementation sends. */
export const LANGUAGE = "OTHER";

/** One remoting command: a request or a response. */
export interface RemotingCommand {
  /** Request code (requests) or response code (responses). */
  code: number;
  /** Sender's language name, e.g. `"JAVA"`. */
  language: string;
  /** Sender's protocol version ordinal. */
  version: number;
  /** Request id; a response echoes its request's value. */
  opaque: number;
  /** Bit 0 response, bit 1 oneway. */
  flag: number;
  /** Human-readable error text. */
  remark?: string;
  /** Custom header fields, all strings. */
  extFields?: Record<string, string>;
  /** Body bytes. */
  body?: Uint8Array;
}

/**
 * Whether a command is a response.
 *
 * @param command The command.
 * @returns True for responses.
 */
export function isResponse(command: RemotingCommand): boolean {
  return (command.flag & FLAG_RESPONSE) !== 0;
}

/**
 * Whether a request is oneway.
 *
 * @param command The command.
 * @returns True if no response is expected.
 */
export function isOneway(command: RemotingCommand): boolean {
  return (command.flag & FLAG_ONEWAY) !== 0;
}

/**
 * Build a request command.
 *
 * @param code Request code.
 * @param opaque Request id.
 * @param extFields Custom header fields; `undefined` values are dropped, others stringified.
 * @param body Optional body.
 * @param oneway Set the oneway flag.
 * @returns The command.
 */
export function createRequest(
  code: number,
  opaque: number,
  extFields: Readonly<Record<string, string | number | boolean | undefined>> = {},
  body?: Uint8Array,
  oneway = false,
): RemotingCommand {
  return {
    code,
    language: LANGUAGE,
    version: PROTOCOL_VERSION,
    opaque,
    flag: oneway ? FLAG_ONEWAY : 0,
    extFields: stringifyFields(extFields),
    body,
  };
}

/**
 * Build the response to a request.
 *
 * @param request The request being answered (its opaque is echoed).
 * @param code Response code.
 * @param remark Optional error text.
 * @param extFields Custom header fields.
 * @param body Optional body.
 * @returns The response command.
 */
export function createResponse(
  request: Pick<RemotingCommand, "opaque">,
  code: number,
  remark?: string,
  extFields: Readonly<Record<string, string | number | boolean | undefined>> = {},
  body?: Uint8Array,
): RemotingCommand {
  return {
    code,
    language: LANGUAGE,
    version: PROTOCOL_VERSION,
    opaque: request.opaque,
    flag: FLAG_RESPONSE,
    remark,
    extFields: stringifyFields(extFields),
    body,
  };
}

function stringifyFields(
  fields: Readonly<Record<string, string | number | boolean | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key in fields) {
    const value = fields[key];
    if (value !== undefined) out[key] = String(value);
  }
  return out;
}

/** Raised by `FrameDecoder` for bytes that cannot be a valid frame. The connection must be closed. */
export class FrameError extends Error {
  /**
   * Create a frame error.
   *
   * @param message What was wrong.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FrameError";
  }
}
