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
 * extLen:i32 (keyLen:i16 key valLen:i32 val)*`. Both are decoded and both
 * can be encoded ({@linkcode FrameWriter}); the client sends the binary form
 * by default and the broker answers in the form of each request.
 * `docs/wire_format.md` describes both in full.
 *
 * Decoding has fast paths: the binary header's strings are built from ASCII
 * bytes without a `TextDecoder` call, and a JSON header is read by a small
 * scanner for the flat object the protocol uses, falling back to `JSON.parse`
 * for anything unusual (so the accepted language and the errors are exactly
 * `JSON.parse`'s).
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
  return encodeCommandAs(command, SERIALIZE_JSON);
}

/**
 * Encode a command as one frame with the given header form.
 *
 * @param command The command.
 * @param serializeType Header form. A command whose code or version does not
 *   fit the binary form's int16 fields (or with a key over 32767 bytes) is
 *   encoded as JSON instead.
 * @returns The frame bytes, length prefix included.
 * @throws {RangeError} If the header exceeds `HEADER_BYTES_MAX`.
 */
export function encodeCommandAs(
  command: RemotingCommand,
  serializeType: SerializeType,
): Uint8Array {
  const writer = new FrameWriter(256 + (command.body?.length ?? 0));
  writer.append(command, serializeType);
  return writer.bytes().slice();
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

/**
 * Decode the header + body part of a frame (everything after the 4-byte length).
 *
 * @param frame Bytes from offset 4 of the frame to its end.
 * @returns The command; `body` is a view into `frame` (copy it to keep it past the next read).
 * @throws {FrameError} On an unknown serialize type, a bad header length or an unparsable header.
 */
export function decodeCommand(frame: Uint8Array): RemotingCommand {
  if (frame.length < 4) throw new FrameError(`Frame of ${frame.length} bytes has no header length`);
  const type = frame[0];
  const headerLength = (frame[1] << 16) | (frame[2] << 8) | frame[3];
  if (headerLength > frame.length - 4) {
    throw new FrameError(
      `Header length ${headerLength} exceeds the frame's ${frame.length - 4} remaining bytes`,
    );
  }
  const command = type === SERIALIZE_ROCKETMQ
    ? decodeBinaryHeader(frame, 4, 4 + headerLength)
    : type === SERIALIZE_JSON
    ? decodeJsonHeader(frame.subarray(4, 4 + headerLength))
    : undefined;
  if (command === undefined) throw new FrameError(`Unknown serialize type ${type}`);
  if (4 + headerLength < frame.length) command.body = frame.subarray(4 + headerLength);
  return command;
}

function decodeJsonHeader(bytes: Uint8Array): RemotingCommand {
  return scanJsonHeader(bytes) ?? parseJsonHeader(bytes);
}

/** The reference JSON header decoder: `JSON.parse`, then field checks. */
function parseJsonHeader(bytes: Uint8Array): RemotingCommand {
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

// ---------------------------------------------------------------------------
// JSON header fast path

const CH_QUOTE = 0x22;
const CH_BACKSLASH = 0x5c;
const CH_COMMA = 0x2c;
const CH_COLON = 0x3a;
const CH_OPEN = 0x7b;
const CH_CLOSE = 0x7d;
const CH_MINUS = 0x2d;
const CH_0 = 0x30;
const CH_9 = 0x39;
/** Most digits of an integer the scanner reads itself (beyond it `JSON.parse` decides). */
const SCAN_DIGITS_MAX = 15;

/**
 * Reads the JSON header's flat object without `JSON.parse`: string values
 * (with escapes), integer values for the numeric fields, and one nested
 * string map, `extFields`. Returns undefined for anything else (fractions,
 * exponents, `true`/`false`/`null` where a number belongs, nested arrays,
 * invalid UTF-8, syntax errors): the caller then runs `parseJsonHeader`, so
 * results and errors are exactly the reference decoder's.
 */
class JsonHeaderScanner {
  #b: Uint8Array = new Uint8Array(0);
  #at = 0;
  #end = 0;
  /** Set by `#number()` and `#string()`. */
  #failed = false;

  scan(bytes: Uint8Array): RemotingCommand | undefined {
    this.#b = bytes;
    this.#at = 0;
    this.#end = bytes.length;
    this.#failed = false;
    const command = this.#object();
    this.#b = EMPTY_BYTES;
    return command;
  }

  #object(): RemotingCommand | undefined {
    let code: number | undefined;
    let language = "OTHER";
    let version = 0;
    let opaque = 0;
    let flag = 0;
    let remark: string | undefined;
    let ext: Record<string, string> | undefined;
    if (this.#next() !== CH_OPEN) return undefined;
    let c = this.#next();
    if (c !== CH_CLOSE) {
      for (;;) {
        if (c !== CH_QUOTE) return undefined;
        const key = this.#string(true);
        if (this.#failed || this.#next() !== CH_COLON) return undefined;
        const v = this.#peek();
        switch (key) {
          case "code":
            code = this.#number();
            break;
          case "version":
            version = this.#number();
            break;
          case "opaque":
            opaque = this.#number();
            break;
          case "flag":
            flag = this.#number();
            break;
          case "language":
            if (v !== CH_QUOTE) return undefined;
            this.#at++;
            language = this.#string();
            break;
          case "remark":
            if (v !== CH_QUOTE) return undefined;
            this.#at++;
            remark = this.#string();
            break;
          case "extFields": {
            if (v !== CH_OPEN) return undefined;
            ext = this.#stringMap();
            if (ext === undefined) return undefined;
            break;
          }
          default:
            // Unknown keys (e.g. Java's serializeTypeCurrentRPC) with a string value are skipped.
            if (v !== CH_QUOTE) return undefined;
            this.#at++;
            this.#string();
        }
        if (this.#failed) return undefined;
        c = this.#next();
        if (c === CH_CLOSE) break;
        if (c !== CH_COMMA) return undefined;
        c = this.#next();
      }
    }
    // Only whitespace may follow the object.
    if (this.#next() !== -1 || code === undefined) return undefined;
    const command: RemotingCommand = { code, language, version, opaque, flag };
    if (remark !== undefined) command.remark = remark;
    if (ext !== undefined) command.extFields = ext;
    return command;
  }

  /** `{"k":"v",...}` with string values only; at its `{`. */
  #stringMap(): Record<string, string> | undefined {
    this.#at++;
    const ext: Record<string, string> = {};
    let c = this.#next();
    if (c === CH_CLOSE) return ext;
    for (;;) {
      if (c !== CH_QUOTE) return undefined;
      const key = this.#string(true);
      if (this.#failed || this.#next() !== CH_COLON || this.#next() !== CH_QUOTE) return undefined;
      const value = this.#string();
      if (this.#failed) return undefined;
      ext[key] = value;
      c = this.#next();
      if (c === CH_CLOSE) return ext;
      if (c !== CH_COMMA) return undefined;
      c = this.#next();
    }
  }

  /** The next byte that is not JSON whitespace, consumed; -1 at the end. */
  #next(): number {
    const b = this.#b;
    while (this.#at < this.#end) {
      const c = b[this.#at++];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
    }
    return -1;
  }

  /** The next byte that is not whitespace, not consumed. */
  #peek(): number {
    const c = this.#next();
    if (c !== -1) this.#at--;
    return c;
  }

  /** An integer of at most SCAN_DIGITS_MAX digits; sets #failed otherwise. */
  #number(): number {
    const b = this.#b;
    let at = this.#at;
    while (
      at < this.#end && (b[at] === 0x20 || b[at] === 0x0a || b[at] === 0x0d || b[at] === 0x09)
    ) {
      at++;
    }
    let negative = false;
    if (b[at] === CH_MINUS) {
      negative = true;
      at++;
    }
    const first = at;
    let value = 0;
    while (at < this.#end && b[at] >= CH_0 && b[at] <= CH_9) value = value * 10 + (b[at++] - CH_0);
    const digits = at - first;
    // A leading zero, a fraction, an exponent or too many digits: leave it to JSON.parse.
    if (
      digits === 0 || digits > SCAN_DIGITS_MAX || (b[first] === CH_0 && digits > 1) ||
      b[at] === 0x2e || b[at] === 0x65 || b[at] === 0x45
    ) {
      this.#failed = true;
      return 0;
    }
    this.#at = at;
    return negative ? -value : value;
  }

  /**
   * The rest of a string whose opening quote was consumed; sets #failed on
   * anything invalid. Keys come from the key cache (see `readKey`).
   */
  #string(isKey = false): string {
    const b = this.#b;
    const start = this.#at;
    let at = start;
    while (at < this.#end) {
      const c = b[at];
      if (c === CH_QUOTE) {
        this.#at = at + 1;
        return isKey ? readKey(b, start, at)! : readAscii(b, start, at);
      }
      if (c === CH_BACKSLASH || c < 0x20 || c >= 0x80) return this.#slowString(start);
      at++;
    }
    this.#failed = true;
    return "";
  }

  /** A string with escapes or non-ASCII bytes, from its first content byte. */
  #slowString(start: number): string {
    const b = this.#b;
    let out = "";
    let at = start;
    let run = start;
    while (at < this.#end) {
      const c = b[at];
      if (c === CH_QUOTE) {
        const tail = this.#utf8(run, at);
        if (this.#failed) return "";
        this.#at = at + 1;
        return out + tail;
      }
      if (c < 0x20) break;
      if (c !== CH_BACKSLASH) {
        at++;
        continue;
      }
      out += this.#utf8(run, at);
      if (this.#failed || at + 1 >= this.#end) break;
      const e = b[at + 1];
      at += 2;
      switch (e) {
        case CH_QUOTE:
          out += '"';
          break;
        case CH_BACKSLASH:
          out += "\\";
          break;
        case 0x2f:
          out += "/";
          break;
        case 0x62:
          out += "\b";
          break;
        case 0x66:
          out += "\f";
          break;
        case 0x6e:
          out += "\n";
          break;
        case 0x72:
          out += "\r";
          break;
        case 0x74:
          out += "\t";
          break;
        case 0x75: {
          let unit = 0;
          for (let i = 0; i < 4; i++) {
            const h = at < this.#end ? hexValue(b[at++]) : -1;
            if (h < 0) {
              this.#failed = true;
              return "";
            }
            unit = (unit << 4) | h;
          }
          out += String.fromCharCode(unit);
          break;
        }
        default:
          this.#failed = true;
          return "";
      }
      run = at;
    }
    this.#failed = true;
    return "";
  }

  #utf8(start: number, end: number): string {
    for (let i = start; i < end; i++) {
      if (this.#b[i] >= 0x80) {
        try {
          return decoder.decode(this.#b.subarray(start, end));
        } catch {
          this.#failed = true;
          return "";
        }
      }
    }
    return readAscii(this.#b, start, end);
  }
}

function hexValue(c: number): number {
  if (c >= CH_0 && c <= CH_9) return c - CH_0;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

const EMPTY_BYTES = new Uint8Array(0);
const jsonScanner = new JsonHeaderScanner();

function scanJsonHeader(bytes: Uint8Array): RemotingCommand | undefined {
  return jsonScanner.scan(bytes);
}

// ---------------------------------------------------------------------------
// Binary header

/**
 * Strings up to this many bytes are built in JS (`String.fromCharCode` over a
 * scratch array); longer ones go through `TextDecoder`, whose fixed cost
 * (about 0.5 µs a call) only pays off beyond this.
 */
const JS_DECODE_BYTES_MAX = 128;

/** One-character strings by byte value, for the binary header's one-letter keys. */
const ONE_CHAR: readonly string[] = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i));

/** Reused argument list of `String.fromCharCode.apply`; only this module's sync code touches it. */
const charCodes: number[] = [];

/**
 * Bytes [start, end) as a string when they are all ASCII (undefined
 * otherwise), built without a `TextDecoder` call when short.
 */
function asciiString(b: Uint8Array, start: number, end: number): string | undefined {
  const n = end - start;
  if (n === 0) return "";
  if (n === 1) return b[start] < 0x80 ? ONE_CHAR[b[start]] : undefined;
  if (n > JS_DECODE_BYTES_MAX) {
    for (let i = start; i < end; i++) if (b[i] >= 0x80) return undefined;
    return decoder.decode(b.subarray(start, end));
  }
  const codes = charCodes;
  codes.length = n;
  let high = 0;
  for (let i = 0; i < n; i++) {
    const c = b[start + i];
    high |= c;
    codes[i] = c;
  }
  return high < 0x80 ? String.fromCharCode.apply(null, codes) : undefined;
}

/** Most distinct header keys remembered by {@linkcode readKey}. */
const KEY_CACHE_ENTRIES_MAX = 1024;
/** Longest key remembered, bytes. */
const KEY_CACHE_BYTES_MAX = 64;

/**
 * Header keys by a hash of their bytes. A key built from bytes is a fresh,
 * non-internalized string, and storing a property under such a key takes
 * V8's slow path (it internalizes the string first); the cached strings are
 * internalized once, so `ext[key] = value` stays on the fast path. Keys
 * repeat on every frame, so the cache is small. Only this module's sync code
 * touches it.
 */
const keyCache = new Map<number, string>();

/**
 * Bytes [start, end) as a header key: a cached internalized string when seen
 * before, else decoded (and cached when ASCII and short).
 */
function readKey(b: Uint8Array, start: number, end: number): string | undefined {
  const n = end - start;
  if (n > KEY_CACHE_BYTES_MAX) return asciiString(b, start, end);
  let hash = n;
  for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + b[i]) | 0;
  const cached = keyCache.get(hash);
  if (cached !== undefined && cached.length === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (cached.charCodeAt(i) !== b[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return cached;
  }
  const key = asciiString(b, start, end);
  if (key === undefined || cached !== undefined || keyCache.size >= KEY_CACHE_ENTRIES_MAX) {
    return key;
  }
  // Using the string as a property name internalizes it; Object.keys returns that copy.
  const holder: Record<string, number> = {};
  holder[key] = 0;
  const internalized = Object.keys(holder)[0];
  keyCache.set(hash, internalized);
  return internalized;
}

/**
 * Bytes [start, end) as a string, known to be ASCII (JSON string content
 * without escapes).
 */
function readAscii(b: Uint8Array, start: number, end: number): string {
  return asciiString(b, start, end)!;
}

/** Bytes [start, end) as UTF-8 text; ASCII without a `TextDecoder` call when short. */
function readUtf8(b: Uint8Array, start: number, end: number): string {
  const ascii = asciiString(b, start, end);
  if (ascii !== undefined) return ascii;
  try {
    return decoder.decode(b.subarray(start, end));
  } catch (error) {
    throw new FrameError("Binary header holds invalid UTF-8", { cause: error });
  }
}

function readInt32(b: Uint8Array, at: number): number {
  return (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
}

function readInt16(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16)) >> 16;
}

/** The binary header in `b[start, end)`. */
function decodeBinaryHeader(b: Uint8Array, start: number, end: number): RemotingCommand {
  if (start + 17 > end) throw new FrameError("Binary header is truncated");
  const code = readInt16(b, start);
  const language = LANGUAGE_CODES[b[start + 2]] ?? "OTHER";
  const version = readInt16(b, start + 3);
  const opaque = readInt32(b, start + 5);
  const flag = readInt32(b, start + 9);
  const remarkLength = readInt32(b, start + 13);
  let at = start + 17;
  const command: RemotingCommand = { code, language, version, opaque, flag };
  if (remarkLength < 0) throw new FrameError("Binary header remark length is negative");
  if (remarkLength > 0) {
    if (remarkLength > end - at) throw new FrameError("Binary header is truncated");
    command.remark = readUtf8(b, at, at + remarkLength);
    at += remarkLength;
  }
  if (at + 4 > end) throw new FrameError("Binary header is truncated");
  const extLength = readInt32(b, at);
  at += 4;
  if (extLength < 0) throw new FrameError("Binary header extFields length is negative");
  if (extLength > 0) {
    if (extLength > end - at) throw new FrameError("Binary header is truncated");
    const extEnd = at + extLength;
    const ext: Record<string, string> = {};
    while (at < extEnd) {
      if (at + 2 > end) throw new FrameError("Binary header is truncated");
      const keyLength = readInt16(b, at);
      at += 2;
      if (keyLength < 0) throw new FrameError("Binary header key length is negative");
      if (keyLength > end - at) throw new FrameError("Binary header is truncated");
      const key = readKey(b, at, at + keyLength) ?? readUtf8(b, at, at + keyLength);
      at += keyLength;
      if (at + 4 > end) throw new FrameError("Binary header is truncated");
      const valueLength = readInt32(b, at);
      at += 4;
      if (valueLength < 0) throw new FrameError("Binary header value length is negative");
      if (valueLength > end - at) throw new FrameError("Binary header is truncated");
      ext[key] = readUtf8(b, at, at + valueLength);
      at += valueLength;
    }
    if (at !== extEnd) throw new FrameError("Binary header extFields overrun their length");
    command.extFields = ext;
  }
  return command;
}

// ---------------------------------------------------------------------------
// Encoding

/** `LANGUAGE_CODES` index by name. */
const LANGUAGE_INDEX: ReadonlyMap<string, number> = new Map(
  LANGUAGE_CODES.map((name, index) => [name, index]),
);
/** Strings up to this many UTF-16 units are written by a JS loop; longer ones by `encodeInto`. */
const WRITE_JS_UNITS_MAX = 256;
/** Escape sequences of the JSON control characters. */
const JSON_ESCAPES: readonly string[] = Array.from(
  { length: 0x20 },
  (_, c) => "\\u" + c.toString(16).padStart(4, "0"),
);

/**
 * Frames encoded back to back into one growable buffer: the header (JSON or
 * binary) written in place, no intermediate strings or objects, body parts
 * copied once, directly into place. Producers of frames (the client's
 * connection, the broker's response writer) encode into one of these and hand
 * `bytes()` to a single socket write.
 *
 * Text is written by a JS loop for short ASCII strings and by
 * `TextEncoder.encodeInto` otherwise. In the binary form a lone surrogate
 * becomes U+FFFD (UTF-8 cannot carry it); the JSON form escapes it.
 *
 * Invariant: `0 <= length <= capacity`; bytes [0, length) are whole frames.
 */
export class FrameWriter {
  #bytes: Uint8Array;
  #view: DataView;
  #length = 0;
  readonly #initialBytes: number;
  readonly #keptBytesMax: number;

  /**
   * Create an empty writer.
   *
   * @param initialBytes Starting capacity, bytes.
   * @param keptBytesMax `clear()` drops a buffer that grew beyond this, bytes
   *   (default the larger of 4 MiB and 4 × `initialBytes`).
   * @throws {RangeError} If `initialBytes` is below 16.
   */
  constructor(initialBytes = 64 * 1024, keptBytesMax?: number) {
    if (!(initialBytes >= 16)) {
      throw new RangeError(`initialBytes must be >= 16, got ${initialBytes}`);
    }
    this.#initialBytes = initialBytes;
    this.#keptBytesMax = keptBytesMax ?? Math.max(4 * 1024 * 1024, 4 * initialBytes);
    this.#bytes = new Uint8Array(initialBytes);
    this.#view = new DataView(this.#bytes.buffer);
  }

  /** Bytes of whole frames queued. */
  get length(): number {
    return this.#length;
  }

  /**
   * The queued frames; valid until the next append or `clear`.
   *
   * @returns A view of bytes [0, length).
   */
  bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  /** Forget the queued frames; a buffer that grew past the kept size shrinks back. */
  clear(): void {
    this.#length = 0;
    if (this.#bytes.length > this.#keptBytesMax) {
      this.#bytes = new Uint8Array(this.#initialBytes);
      this.#view = new DataView(this.#bytes.buffer);
    }
  }

  /**
   * Encode one command as a frame at the end of the buffer.
   *
   * @param command The command.
   * @param serializeType Header form; default JSON.
   * @param bodyParts Body in parts, written one after the other instead of `command.body`.
   * @throws {RangeError} If the header exceeds `HEADER_BYTES_MAX` (nothing is appended).
   */
  append(
    command: RemotingCommand,
    serializeType: SerializeType = SERIALIZE_JSON,
    bodyParts?: readonly Uint8Array[],
  ): void {
    this.appendFields(
      serializeType,
      command.code,
      command.language,
      command.version,
      command.opaque,
      command.flag,
      command.remark,
      command.extFields,
      command.body,
      bodyParts,
    );
  }

  /**
   * Encode one frame from its fields, without building a command object.
   *
   * @param serializeType Header form. The binary form falls back to JSON for a
   *   frame whose code or version is outside int16 or whose key is longer than
   *   32767 bytes.
   * @param code Request or response code.
   * @param language Language name.
   * @param version Protocol version.
   * @param opaque Request id.
   * @param flag Flag bits.
   * @param remark Remark, or undefined.
   * @param extFields Custom header fields, or undefined.
   * @param body Body, or undefined.
   * @param bodyParts Body in parts (used instead of `body` when given).
   * @throws {RangeError} If the header exceeds `HEADER_BYTES_MAX` (nothing is appended).
   */
  appendFields(
    serializeType: SerializeType,
    code: number,
    language: string,
    version: number,
    opaque: number,
    flag: number,
    remark: string | undefined,
    extFields: Readonly<Record<string, string>> | undefined,
    body: Uint8Array | undefined,
    bodyParts?: readonly Uint8Array[],
  ): void {
    const start = this.#length;
    let headerEnd = -1;
    if (
      serializeType === SERIALIZE_ROCKETMQ && code === (code << 16) >> 16 &&
      version === (version << 16) >> 16
    ) {
      headerEnd = this.#binaryHeader(
        start + 8,
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        extFields,
      );
    }
    let type: number = SERIALIZE_ROCKETMQ;
    if (headerEnd < 0) {
      type = SERIALIZE_JSON;
      headerEnd = this.#jsonHeader(
        start + 8,
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        extFields,
      );
    }
    const headerBytes = headerEnd - start - 8;
    if (headerBytes > HEADER_BYTES_MAX) {
      throw new RangeError(
        `Cannot encode command: header is ${headerBytes} bytes, limit is ${HEADER_BYTES_MAX}`,
      );
    }
    let bodyBytes = 0;
    if (bodyParts !== undefined) {
      for (let i = 0; i < bodyParts.length; i++) bodyBytes += bodyParts[i].length;
    } else if (body !== undefined) {
      bodyBytes = body.length;
    }
    this.#reserve(headerEnd, bodyBytes);
    let at = headerEnd;
    if (bodyParts !== undefined) {
      for (let i = 0; i < bodyParts.length; i++) {
        this.#bytes.set(bodyParts[i], at);
        at += bodyParts[i].length;
      }
    } else if (body !== undefined) {
      this.#bytes.set(body, at);
      at += body.length;
    }
    this.#view.setUint32(start, 4 + headerBytes + bodyBytes);
    this.#view.setUint32(start + 4, ((type << 24) | headerBytes) >>> 0);
    this.#length = at;
  }

  /** Make room for `extra` bytes after `at` (bytes before `at` are kept). */
  #reserve(at: number, extra: number): void {
    const needed = at + extra;
    if (needed <= this.#bytes.length) return;
    let size = this.#bytes.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#bytes.subarray(0, at));
    this.#bytes = grown;
    this.#view = new DataView(grown.buffer);
  }

  /** Write the binary header from `at`; returns its end, or -1 when the binary form cannot carry it. */
  #binaryHeader(
    at: number,
    code: number,
    language: string,
    version: number,
    opaque: number,
    flag: number,
    remark: string | undefined,
    extFields: Readonly<Record<string, string>> | undefined,
  ): number {
    this.#reserve(at, 21);
    const view = this.#view;
    view.setInt16(at, code);
    this.#bytes[at + 2] = LANGUAGE_INDEX.get(language) ?? 7; // OTHER
    view.setInt16(at + 3, version);
    view.setInt32(at + 5, opaque);
    view.setInt32(at + 9, flag);
    let p = at + 17;
    if (remark !== undefined && remark.length > 0) p = this.#utf8(p, remark);
    // #utf8 may have grown the buffer: use the current view from here on.
    this.#view.setInt32(at + 13, p - at - 17);
    this.#reserve(p, 4);
    const extStart = p;
    p += 4;
    if (extFields !== undefined) {
      for (const key in extFields) {
        const value = extFields[key];
        if (value === undefined || value === null) continue;
        const keyEnd = this.#utf8(p + 2, key);
        const keyBytes = keyEnd - p - 2;
        if (keyBytes > 0x7fff) return -1;
        this.#view.setInt16(p, keyBytes);
        const text = typeof value === "string" ? value : String(value);
        const valueEnd = this.#utf8(keyEnd + 4, text);
        this.#view.setInt32(keyEnd, valueEnd - keyEnd - 4);
        p = valueEnd;
      }
    }
    this.#view.setInt32(extStart, p - extStart - 4);
    return p;
  }

  /** Write the JSON header from `at`; returns its end. */
  #jsonHeader(
    at: number,
    code: number,
    language: string,
    version: number,
    opaque: number,
    flag: number,
    remark: string | undefined,
    extFields: Readonly<Record<string, string>> | undefined,
  ): number {
    let p = this.#ascii(at, '{"code":' + code + ',"language":');
    p = this.#jsonString(p, language);
    p = this.#ascii(p, ',"version":' + version + ',"opaque":' + opaque + ',"flag":' + flag);
    if (remark !== undefined) {
      p = this.#ascii(p, ',"remark":');
      p = this.#jsonString(p, remark);
    }
    if (extFields !== undefined) {
      p = this.#ascii(p, ',"extFields":{');
      let first = true;
      for (const key in extFields) {
        const value = extFields[key];
        if (value === undefined || value === null) continue;
        if (!first) p = this.#ascii(p, ",");
        first = false;
        p = this.#jsonString(p, key);
        p = this.#ascii(p, ":");
        p = this.#jsonString(p, typeof value === "string" ? value : String(value));
      }
      p = this.#ascii(p, "}");
    }
    return this.#ascii(p, "}");
  }

  /** Write an ASCII-only string at `at`; returns the end. */
  #ascii(at: number, text: string): number {
    this.#reserve(at, text.length);
    const b = this.#bytes;
    for (let i = 0; i < text.length; i++) b[at + i] = text.charCodeAt(i);
    return at + text.length;
  }

  /** Write `text` as UTF-8 at `at`; returns the end. */
  #utf8(at: number, text: string): number {
    const n = text.length;
    this.#reserve(at, n * 3);
    const b = this.#bytes;
    if (n <= WRITE_JS_UNITS_MAX) {
      let i = 0;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80) break;
        b[at + i] = c;
      }
      if (i === n) return at + n;
      return at + i + encoder.encodeInto(text.slice(i), b.subarray(at + i)).written;
    }
    return at + encoder.encodeInto(text, b.subarray(at)).written;
  }

  /** Write `text` as a JSON string literal at `at`; returns the end. */
  #jsonString(at: number, text: string): number {
    const n = text.length;
    // Worst case: every unit a 6-byte escape, plus quotes.
    this.#reserve(at, n * 6 + 2);
    const b = this.#bytes;
    b[at] = CH_QUOTE;
    let p = at + 1;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x20 && c < 0x80 && c !== CH_QUOTE && c !== CH_BACKSLASH) {
        b[p++] = c;
      } else if (c < 0x20) {
        const escape = c === 0x0a
          ? "\\n"
          : c === 0x0d
          ? "\\r"
          : c === 0x09
          ? "\\t"
          : JSON_ESCAPES[c];
        for (let k = 0; k < escape.length; k++) b[p++] = escape.charCodeAt(k);
      } else if (c === CH_QUOTE || c === CH_BACKSLASH) {
        b[p++] = CH_BACKSLASH;
        b[p++] = c;
      } else {
        // Non-ASCII: JSON.stringify escapes lone surrogates; encode the rest as UTF-8.
        const rest = JSON.stringify(text.slice(i));
        p += encoder.encodeInto(rest.slice(1, -1), b.subarray(p)).written;
        break;
      }
    }
    b[p++] = CH_QUOTE;
    return p;
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
  #lastSerializeType: SerializeType = SERIALIZE_JSON;
  readonly #frameBytesMax: number;

  /**
   * Create a decoder with an empty carry buffer.
   *
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

  /**
   * The header form of the command `next()` returned last
   * ({@linkcode SERIALIZE_JSON} before any), so a reply can use the same form.
   */
  get lastSerializeType(): SerializeType {
    return this.#lastSerializeType;
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
    this.#lastSerializeType = b[s + 4] as SerializeType;
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
