/**
 * Decoding of the JSON header form: a small scanner for the flat object
 * the protocol uses (no `JSON.parse`, no intermediate objects), falling back
 * to `JSON.parse` for anything unusual, so the accepted language and the
 * errors are exactly `JSON.parse`'s.
 *
 * @module
 */

import { FrameError, type RemotingCommand } from "./command.ts";
import { readAscii, readAsciiValue, readKey, utf8Decoder } from "./header_text.ts";
import { scanSendV2Ext, SendV2Request } from "./send_v2_json.ts";
import type { SendMessageRequestHeader } from "./headers.ts";

/** SEND_MESSAGE_V2, whose extFields have a fast path (`send_v2_json.ts`). */
const SEND_MESSAGE_V2 = 310;

/**
 * Decode a JSON header.
 *
 * @param bytes The header bytes.
 * @returns The command, without a body.
 * @throws {FrameError} If the header is not a valid JSON object with an integer `code`.
 */
export function decodeJsonHeader(bytes: Uint8Array): RemotingCommand {
  return scanJsonHeader(bytes) ?? parseJsonHeader(bytes);
}

/** The reference JSON header decoder: `JSON.parse`, then field checks. */
function parseJsonHeader(bytes: Uint8Array): RemotingCommand {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Decoder.decode(bytes));
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

/** Longest escaped string decoded by `#escapedAscii`, bytes (beyond it `#slowString`). */
const ESCAPED_UNITS_MAX = 4096;
/** Reused code-unit array of `#escapedAscii`; only this module's sync code touches it. */
const escapedUnits: number[] = [];
/** Code unit of each one-character JSON escape by the byte after the backslash. */
const SIMPLE_ESCAPES: (number | undefined)[] = (() => {
  const table: (number | undefined)[] = new Array(128).fill(undefined);
  table[CH_QUOTE] = CH_QUOTE;
  table[CH_BACKSLASH] = CH_BACKSLASH;
  table[0x2f] = 0x2f; // /
  table[0x62] = 0x08; // b
  table[0x66] = 0x0c; // f
  table[0x6e] = 0x0a; // n
  table[0x72] = 0x0d; // r
  table[0x74] = 0x09; // t
  return table;
})();

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
    let sendHeader: SendMessageRequestHeader | undefined;
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
            if (code === SEND_MESSAGE_V2) {
              const fast = scanSendV2Ext(this.#b, this.#at, this.#end);
              if (fast !== undefined) {
                sendHeader = fast.header;
                ext = undefined;
                this.#at = fast.next;
                break;
              }
            }
            sendHeader = undefined;
            ext = this.#stringMap();
            if (ext === undefined) return undefined;
            break;
          }
          default:
            // Unknown keys (e.g. Java's serializeTypeCurrentRPC) with a string value are skipped.
            if (v !== CH_QUOTE) return undefined;
            this.#at++;
            this.#skipString();
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
    if (sendHeader !== undefined && ext === undefined) {
      // A later "code" key changed the request: let the reference decoder have it.
      if (code !== SEND_MESSAGE_V2) return undefined;
      const fast = new SendV2Request(code, language, version, opaque, flag, sendHeader);
      if (remark !== undefined) fast.remark = remark;
      return fast;
    }
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
        return isKey ? readKey(b, start, at)! : readAsciiValue(b, start, at);
      }
      if (c === CH_BACKSLASH) return this.#escapedAscii(start, at);
      if (c < 0x20 || c >= 0x80) return this.#slowString(start);
      at++;
    }
    this.#failed = true;
    return "";
  }

  /** Skip the rest of a string whose opening quote was consumed (validating it like `#string`). */
  #skipString(): void {
    const b = this.#b;
    for (let at = this.#at; at < this.#end; at++) {
      const c = b[at];
      if (c === CH_QUOTE) {
        this.#at = at + 1;
        return;
      }
      if (c === CH_BACKSLASH || c < 0x20 || c >= 0x80) {
        this.#string();
        return;
      }
    }
    this.#failed = true;
  }

  /**
   * An ASCII string with escapes (RocketMQ properties carry `\u0001` and
   * `\u0002` separators), from its first content byte; `at` is its first
   * backslash. Code units are gathered into one array and made a string in
   * one call; non-ASCII bytes or a long string take `#slowString`.
   */
  #escapedAscii(start: number, at: number): string {
    const b = this.#b;
    const end = this.#end;
    if (end - start > ESCAPED_UNITS_MAX) return this.#slowString(start);
    const units = escapedUnits;
    let n = 0;
    for (let i = start; i < at; i++) units[n++] = b[i];
    while (at < end) {
      const c = b[at];
      if (c === CH_QUOTE) {
        this.#at = at + 1;
        units.length = n;
        return String.fromCharCode.apply(null, units);
      }
      if (c < 0x20 || c >= 0x80) return this.#slowString(start);
      if (c !== CH_BACKSLASH) {
        units[n++] = c;
        at++;
        continue;
      }
      if (at + 1 >= end) break;
      const e = b[at + 1];
      at += 2;
      if (e === 0x75) {
        let unit = 0;
        for (let k = 0; k < 4; k++) {
          const h = at < end ? hexValue(b[at++]) : -1;
          if (h < 0) {
            this.#failed = true;
            return "";
          }
          unit = (unit << 4) | h;
        }
        units[n++] = unit;
        continue;
      }
      const simple = SIMPLE_ESCAPES[e];
      if (simple === undefined) {
        this.#failed = true;
        return "";
      }
      units[n++] = simple;
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
          return utf8Decoder.decode(this.#b.subarray(start, end));
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
