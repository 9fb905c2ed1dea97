/**
 * `FrameWriter`: frames (JSON or binary header) encoded back to back into
 * one growable buffer, for a single socket write.
 *
 * @module
 */

import {
  HEADER_BYTES_MAX,
  LANGUAGE_CODES,
  type RemotingCommand,
  SERIALIZE_JSON,
  SERIALIZE_ROCKETMQ,
  type SerializeType,
} from "./command.ts";

const encoder = new TextEncoder();
const CH_QUOTE = 0x22;
const CH_BACKSLASH = 0x5c;
const CH_COMMA = 0x2c;
const CH_COLON = 0x3a;
const CH_CLOSE = 0x7d;
const JSON_CODE = encoder.encode('{"code":');
const JSON_LANGUAGE = encoder.encode(',"language":');
const JSON_VERSION = encoder.encode(',"version":');
const JSON_OPAQUE = encoder.encode(',"opaque":');
const JSON_FLAG = encoder.encode(',"flag":');
const JSON_REMARK = encoder.encode(',"remark":');
const JSON_EXT_FIELDS = encoder.encode(',"extFields":{');

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
    // Constant pieces are copied from pre-encoded bytes and integers written as digits: no
    // intermediate strings (charCodeAt on a concatenated string flattens it first).
    let p = this.#piece(at, JSON_CODE);
    p = this.#int(p, code);
    p = this.#piece(p, JSON_LANGUAGE);
    p = this.#jsonString(p, language);
    p = this.#piece(p, JSON_VERSION);
    p = this.#int(p, version);
    p = this.#piece(p, JSON_OPAQUE);
    p = this.#int(p, opaque);
    p = this.#piece(p, JSON_FLAG);
    p = this.#int(p, flag);
    if (remark !== undefined) {
      p = this.#piece(p, JSON_REMARK);
      p = this.#jsonString(p, remark);
    }
    if (extFields !== undefined) {
      p = this.#piece(p, JSON_EXT_FIELDS);
      let first = true;
      for (const key in extFields) {
        const value = extFields[key];
        if (value === undefined || value === null) continue;
        this.#reserve(p, 2);
        if (!first) this.#bytes[p++] = CH_COMMA;
        first = false;
        p = this.#jsonString(p, key);
        this.#bytes[p++] = CH_COLON;
        p = this.#jsonString(p, typeof value === "string" ? value : String(value));
      }
      this.#reserve(p, 1);
      this.#bytes[p++] = CH_CLOSE;
    }
    this.#reserve(p, 1);
    this.#bytes[p++] = CH_CLOSE;
    return p;
  }

  /** Copy pre-encoded bytes at `at`; returns the end. */
  #piece(at: number, bytes: Uint8Array): number {
    this.#reserve(at, bytes.length);
    this.#bytes.set(bytes, at);
    return at + bytes.length;
  }

  /** Write an integer in decimal at `at` (as `String(value)` would); returns the end. */
  #int(at: number, value: number): number {
    if (!Number.isSafeInteger(value)) return this.#ascii(at, String(value));
    this.#reserve(at, 17);
    const b = this.#bytes;
    let p = at;
    if (value < 0) {
      // -0 prints as "0", like String(-0).
      if (value !== 0) b[p++] = 0x2d;
      value = -value;
    }
    let digits = 1;
    for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
    for (let i = p + digits - 1; i >= p; i--) {
      b[i] = 0x30 + (value % 10);
      value = Math.floor(value / 10);
    }
    return p + digits;
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
