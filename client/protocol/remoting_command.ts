/**
 * RocketMQ's remoting command and its frame format.
 *
 * Frame layout (big-endian):
 *
 * | Offset | Size         | Field                                                        |
 * |--------|--------------|--------------------------------------------------------------|
 * | 0      | 4            | length = 4 + headerLength + bodyLength (excludes itself)      |
 * | 4      | 1            | serialize type: 0 = JSON, 1 = ROCKETMQ (binary)               |
 * | 5      | 3            | headerLength (24-bit unsigned)                                |
 * | 8      | headerLength | header (JSON object, or the binary form)                      |
 * | 8+h    | rest         | body (opaque, may be empty)                                   |
 *
 * The JSON header has `code`, `language`, `version`, `opaque`, `flag`, and the
 * optional `remark` and `extFields` (string to string). The binary header is
 * `code:i16 language:u8 version:i16 opaque:i32 flag:i32 remarkLen:i32 remark
 * extLen:i32 (keyLen:i16 key valLen:i32 val)*`. Both are decoded; this side
 * always encodes JSON. `docs/wire_format.md` describes both in full.
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

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encode a command as one frame with a JSON header.
 *
 * @param command The command.
 * @returns The frame bytes, length prefix included.
 * @throws {RangeError} If the header exceeds `HEADER_BYTES_MAX`.
 */
export function encodeCommand(command: RemotingCommand): Uint8Array {
  const header: Record<string, unknown> = {
    code: command.code,
    language: command.language,
    version: command.version,
    opaque: command.opaque,
    flag: command.flag,
  };
  if (command.remark !== undefined) header.remark = command.remark;
  if (command.extFields !== undefined) header.extFields = command.extFields;
  const headerBytes = encoder.encode(JSON.stringify(header));
  if (headerBytes.length > HEADER_BYTES_MAX) {
    throw new RangeError(
      `Cannot encode command: header is ${headerBytes.length} bytes, limit is ${HEADER_BYTES_MAX}`,
    );
  }
  const bodyLength = command.body?.length ?? 0;
  const frame = new Uint8Array(8 + headerBytes.length + bodyLength);
  const view = new DataView(frame.buffer);
  view.setUint32(0, 4 + headerBytes.length + bodyLength);
  view.setUint32(4, (SERIALIZE_JSON << 24) | headerBytes.length);
  frame.set(headerBytes, 8);
  if (command.body !== undefined) frame.set(command.body, 8 + headerBytes.length);
  return frame;
}

/** Raised by `FrameDecoder` for bytes that cannot be a valid frame. The connection must be closed. */
export class FrameError extends Error {
  /**
   * @param message What was wrong.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FrameError";
  }
}

/**
 * Decode the header + body part of a frame (everything after the 4-byte length).
 *
 * @param frame Bytes from offset 4 of the frame to its end.
 * @returns The command; `body` is a view into `frame` (copy it to keep it past the next read).
 * @throws {FrameError} On an unknown serialize type, a bad header length or an unparsable header.
 */
export function decodeCommand(frame: Uint8Array): RemotingCommand {
  if (frame.length < 4) throw new FrameError(`Frame of ${frame.length} bytes has no header length`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const word = view.getUint32(0);
  const type = word >>> 24;
  const headerLength = word & 0xff_ffff;
  if (headerLength > frame.length - 4) {
    throw new FrameError(
      `Header length ${headerLength} exceeds the frame's ${frame.length - 4} remaining bytes`,
    );
  }
  const headerBytes = frame.subarray(4, 4 + headerLength);
  const command = type === SERIALIZE_JSON
    ? decodeJsonHeader(headerBytes)
    : type === SERIALIZE_ROCKETMQ
    ? decodeBinaryHeader(headerBytes)
    : undefined;
  if (command === undefined) throw new FrameError(`Unknown serialize type ${type}`);
  if (4 + headerLength < frame.length) command.body = frame.subarray(4 + headerLength);
  return command;
}

function decodeJsonHeader(bytes: Uint8Array): RemotingCommand {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw new FrameError("Header is not valid UTF-8 JSON", { cause: error });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new FrameError("Header is not a JSON object");
  }
  const h = parsed as Record<string, unknown>;
  const command: RemotingCommand = {
    code: intField(h, "code"),
    language: typeof h.language === "string" ? h.language : "OTHER",
    version: h.version === undefined ? 0 : intField(h, "version"),
    opaque: h.opaque === undefined ? 0 : intField(h, "opaque"),
    flag: h.flag === undefined ? 0 : intField(h, "flag"),
  };
  if (typeof h.remark === "string") command.remark = h.remark;
  if (h.extFields !== undefined && h.extFields !== null) {
    if (typeof h.extFields !== "object" || Array.isArray(h.extFields)) {
      throw new FrameError("Header extFields is not an object");
    }
    const ext: Record<string, string> = {};
    for (const [key, value] of Object.entries(h.extFields as Record<string, unknown>)) {
      if (value === null || value === undefined) continue;
      // fastjson may send numbers or booleans; the protocol treats every field as a string.
      ext[key] = typeof value === "string" ? value : String(value);
    }
    command.extFields = ext;
  }
  return command;
}

function intField(h: Record<string, unknown>, key: string): number {
  const value = h[key];
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new FrameError(`Header field ${key} is not an integer`);
  }
  return value;
}

function decodeBinaryHeader(bytes: Uint8Array): RemotingCommand {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n: number): void => {
    if (at + n > bytes.length) throw new FrameError("Binary header is truncated");
  };
  need(17);
  const code = view.getInt16(0);
  const language = LANGUAGE_CODES[view.getUint8(2)] ?? "OTHER";
  const version = view.getInt16(3);
  const opaque = view.getInt32(5);
  const flag = view.getInt32(9);
  const remarkLength = view.getInt32(13);
  at = 17;
  const command: RemotingCommand = { code, language, version, opaque, flag };
  if (remarkLength < 0) throw new FrameError("Binary header remark length is negative");
  if (remarkLength > 0) {
    need(remarkLength);
    command.remark = utf8(bytes.subarray(at, at + remarkLength));
    at += remarkLength;
  }
  need(4);
  const extLength = view.getInt32(at);
  at += 4;
  if (extLength < 0) throw new FrameError("Binary header extFields length is negative");
  if (extLength > 0) {
    need(extLength);
    const end = at + extLength;
    const ext: Record<string, string> = {};
    while (at < end) {
      need(2);
      const keyLength = view.getInt16(at);
      at += 2;
      if (keyLength < 0) throw new FrameError("Binary header key length is negative");
      need(keyLength);
      const key = utf8(bytes.subarray(at, at + keyLength));
      at += keyLength;
      need(4);
      const valueLength = view.getInt32(at);
      at += 4;
      if (valueLength < 0) throw new FrameError("Binary header value length is negative");
      need(valueLength);
      ext[key] = utf8(bytes.subarray(at, at + valueLength));
      at += valueLength;
    }
    if (at !== end) throw new FrameError("Binary header extFields overrun their length");
    command.extFields = ext;
  }
  return command;
}

function utf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch (error) {
    throw new FrameError("Binary header holds invalid UTF-8", { cause: error });
  }
}

/**
 * Incremental frame decoder: feed it socket reads, take out whole commands.
 *
 * It copies each read into a carry buffer and parses frames in place, so a
 * frame may arrive cut at any byte. A frame whose length is below 4 or above
 * `frameBytesMax`, or whose header cannot be decoded, raises `FrameError`;
 * the caller must close that connection (later bytes cannot be trusted).
 *
 * Invariant: `start <= end <= buffer.length`; bytes in [start, end) are unparsed.
 */
export class FrameDecoder {
  #buffer: Uint8Array;
  #start = 0;
  #end = 0;
  readonly #frameBytesMax: number;

  /**
   * @param frameBytesMax Largest frame length accepted, bytes.
   * @param initialBytes Initial carry buffer size, bytes.
   */
  constructor(frameBytesMax = FRAME_BYTES_MAX_DEFAULT, initialBytes = 256 * 1024) {
    if (!(frameBytesMax >= 8)) {
      throw new RangeError(`frameBytesMax must be >= 8, got ${frameBytesMax}`);
    }
    this.#frameBytesMax = frameBytesMax;
    this.#buffer = new Uint8Array(initialBytes);
  }

  /** Bytes received but not yet part of a whole frame. */
  get pendingBytes(): number {
    return this.#end - this.#start;
  }

  /**
   * A writable region of the carry buffer of at least `minBytes`, for reading
   * straight from a socket. Call `commit(n)` after writing `n` bytes into it.
   *
   * @param minBytes Smallest region wanted.
   * @returns A view into the carry buffer.
   */
  writable(minBytes = 64 * 1024): Uint8Array {
    this.#reserve(minBytes);
    return this.#buffer.subarray(this.#end);
  }

  /**
   * Mark `n` bytes written into the region returned by `writable()`.
   *
   * @param n Bytes written.
   */
  commit(n: number): void {
    if (n < 0 || this.#end + n > this.#buffer.length) {
      throw new RangeError(`commit(${n}) exceeds the writable region`);
    }
    this.#end += n;
  }

  /**
   * Append received bytes (copied).
   *
   * @param chunk Bytes from the socket.
   */
  push(chunk: Uint8Array): void {
    this.#reserve(chunk.length);
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /**
   * Take the next whole command, if one has arrived.
   *
   * The command's `body` views the carry buffer and is valid until the next
   * `push`/`writable` call; copy it to keep it.
   *
   * @returns The command, or undefined when more bytes are needed.
   * @throws {FrameError} On a malformed frame.
   */
  next(): RemotingCommand | undefined {
    const available = this.#end - this.#start;
    if (available < 4) return undefined;
    const b = this.#buffer;
    const s = this.#start;
    const length = ((b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3]) >>> 0;
    if (length < 4 || length > this.#frameBytesMax) {
      throw new FrameError(
        `Frame length ${length} is outside [4, ${this.#frameBytesMax}]`,
      );
    }
    if (available < 4 + length) return undefined;
    const command = decodeCommand(b.subarray(s + 4, s + 4 + length));
    this.#start = s + 4 + length;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return command;
  }

  #reserve(extra: number): void {
    if (this.#end + extra <= this.#buffer.length) return;
    const pending = this.#end - this.#start;
    if (this.#start > 0 && pending + extra <= this.#buffer.length) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
    } else {
      let size = this.#buffer.length * 2;
      while (size < pending + extra) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = grown;
    }
    this.#start = 0;
    this.#end = pending;
  }
}
