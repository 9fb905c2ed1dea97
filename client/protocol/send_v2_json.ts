/**
 * Fast path for the JSON header of SEND_MESSAGE_V2 (310), the request every
 * RocketMQ Java/Go client sends for each message: its `extFields` object is
 * read straight into a typed {@linkcode SendMessageRequestHeader}: one-letter
 * keys by a switch, integers parsed from the bytes, repeated strings from the
 * value cache, the properties' `\u0001`/`\u0002` escapes decoded in one pass.
 * No per-field strings or maps are built: the command is a
 * {@linkcode SendV2Request}, whose `extFields` are built only if asked for.
 *
 * Anything unusual (another key, a leading zero, a non-ASCII byte, a missing
 * required field) returns undefined and the generic scanner decides, so the
 * accepted values and the errors stay those of `sendMessageRequestHeaderV2`.
 *
 * @module
 */

import type { RemotingCommand } from "./command.ts";
import type { SendMessageRequestHeader } from "./headers.ts";
import { readAsciiValue } from "./header_text.ts";

/** The typed header a fast-path decode attached to a SEND_MESSAGE_V2 command. */
export const SEND_V2_HEADER: unique symbol = Symbol("rmq.sendV2Header");

/** A command that may carry the typed header. */
type Carrier = RemotingCommand & { [SEND_V2_HEADER]?: SendMessageRequestHeader };

/**
 * The typed header of a SEND_MESSAGE_V2 command decoded by the fast path.
 *
 * @param command A decoded command.
 * @returns The header, or undefined when the command took the generic path.
 */
export function fastSendV2Header(command: RemotingCommand): SendMessageRequestHeader | undefined {
  return (command as Carrier)[SEND_V2_HEADER];
}

const CH_QUOTE = 0x22;
const CH_BACKSLASH = 0x5c;
const CH_COMMA = 0x2c;
const CH_COLON = 0x3a;
const CH_OPEN = 0x7b;
const CH_CLOSE = 0x7d;
const CH_MINUS = 0x2d;
const CH_0 = 0x30;
const CH_9 = 0x39;
/** Longest properties string decoded here, bytes. */
const PROPERTIES_BYTES_MAX = 4096;
/** Decodes the unescaped properties bytes, all ASCII by construction (no validation needed). */
const asciiDecoder = new TextDecoder();
/** Unescaped properties bytes; only this module's sync code touches it. */
const scratch = new Uint8Array(PROPERTIES_BYTES_MAX);

/** Mutable form of the header while it is being read. */
interface Fields {
  producerGroup?: string;
  topic?: string;
  defaultTopic?: string;
  defaultTopicQueueNums?: number;
  queueId?: number;
  sysFlag?: number;
  bornTimestamp?: number;
  flag?: number;
  properties?: string;
  reconsumeTimes?: number;
  unitMode?: boolean;
  maxReconsumeTimes?: number;
  batch?: boolean;
  brokerName?: string;
}

/**
 * Read the `extFields` object of a SEND_MESSAGE_V2 JSON header.
 *
 * @param b Header bytes.
 * @param at Offset of the object's `{`.
 * @param end End of the header.
 * @returns The header and the offset after the object's `}`, or undefined.
 */
export function scanSendV2Ext(
  b: Uint8Array,
  at: number,
  end: number,
): { header: SendMessageRequestHeader; next: number } | undefined {
  if (b[at] !== CH_OPEN) return undefined;
  at = skip(b, at + 1, end);
  const f: Fields = {};
  if (b[at] === CH_CLOSE) return undefined; // required fields missing
  for (;;) {
    // "k":"value"
    if (b[at] !== CH_QUOTE || b[at + 2] !== CH_QUOTE) return undefined;
    const key = b[at + 1];
    at = skip(b, at + 3, end);
    if (b[at] !== CH_COLON) return undefined;
    at = skip(b, at + 1, end);
    if (b[at] !== CH_QUOTE) return undefined;
    const start = at + 1;
    if (key === 0x69) { // i: properties
      const next = properties(b, start, end, f);
      if (next < 0) return undefined;
      at = next;
    } else {
      let close = start;
      while (close < end && b[close] !== CH_QUOTE) {
        const c = b[close];
        if (c === CH_BACKSLASH || c < 0x20 || c >= 0x80) return undefined;
        close++;
      }
      if (close >= end) return undefined;
      if (!field(key, b, start, close, f)) return undefined;
      at = close + 1;
    }
    at = skip(b, at, end);
    if (b[at] === CH_CLOSE) break;
    if (b[at] !== CH_COMMA) return undefined;
    at = skip(b, at + 1, end);
  }
  if (
    f.producerGroup === undefined || f.topic === undefined || f.defaultTopic === undefined ||
    f.defaultTopicQueueNums === undefined || f.queueId === undefined ||
    f.sysFlag === undefined || f.bornTimestamp === undefined || f.flag === undefined
  ) {
    return undefined;
  }
  return { header: f as SendMessageRequestHeader, next: at + 1 };
}

function skip(b: Uint8Array, at: number, end: number): number {
  while (at < end) {
    const c = b[at];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return at;
    at++;
  }
  return at;
}

/** One non-properties field from its unescaped ASCII value bytes; false to give up. */
function field(key: number, b: Uint8Array, start: number, end: number, f: Fields): boolean {
  switch (key) {
    case 0x61:
      f.producerGroup = readAsciiValue(b, start, end);
      return true;
    case 0x62:
      f.topic = readAsciiValue(b, start, end);
      return true;
    case 0x63:
      f.defaultTopic = readAsciiValue(b, start, end);
      return true;
    case 0x6e:
      f.brokerName = readAsciiValue(b, start, end);
      return true;
    case 0x6b:
    case 0x6d: {
      const value = bool(b, start, end);
      if (value === undefined) return false;
      if (key === 0x6b) f.unitMode = value;
      else f.batch = value;
      return true;
    }
    case 0x67: { // g: bornTimestamp (long)
      const value = decimal(b, start, end, 15);
      if (value === undefined) return false;
      f.bornTimestamp = value;
      return true;
    }
    default: {
      const value = decimal(b, start, end, 9); // 9 digits always fit int32
      if (value === undefined) return false;
      switch (key) {
        case 0x64:
          f.defaultTopicQueueNums = value;
          return true;
        case 0x65:
          f.queueId = value;
          return true;
        case 0x66:
          f.sysFlag = value;
          return true;
        case 0x68:
          f.flag = value;
          return true;
        case 0x6a:
          f.reconsumeTimes = value;
          return true;
        case 0x6c:
          f.maxReconsumeTimes = value;
          return true;
        default:
          return false;
      }
    }
  }
}

/** `-?[1-9][0-9]*` or `0` of at most `digitsMax` digits (so it prints back the same). */
function decimal(b: Uint8Array, start: number, end: number, digitsMax: number): number | undefined {
  let at = start;
  const negative = b[at] === CH_MINUS;
  if (negative) at++;
  const digits = end - at;
  if (digits === 0 || digits > digitsMax) return undefined;
  if (b[at] === CH_0 && (digits > 1 || negative)) return undefined;
  let value = 0;
  for (; at < end; at++) {
    const c = b[at];
    if (c < CH_0 || c > CH_9) return undefined;
    value = value * 10 + (c - CH_0);
  }
  return negative ? -value : value;
}

function bool(b: Uint8Array, start: number, end: number): boolean | undefined {
  const n = end - start;
  if (
    n === 4 && b[start] === 0x74 && b[start + 1] === 0x72 && b[start + 2] === 0x75 &&
    b[start + 3] === 0x65
  ) {
    return true;
  }
  if (
    n === 5 && b[start] === 0x66 && b[start + 1] === 0x61 && b[start + 2] === 0x6c &&
    b[start + 3] === 0x73 && b[start + 4] === 0x65
  ) {
    return false;
  }
  return undefined;
}

/** The properties string (ASCII, `\uXXXX` below 0x80 and simple escapes) into `f`; the offset after its quote, or -1. */
function properties(b: Uint8Array, start: number, end: number, f: Fields): number {
  let n = 0;
  let at = start;
  const limit = Math.min(end, start + PROPERTIES_BYTES_MAX);
  const out = scratch;
  while (at < limit) {
    const c = b[at];
    if (c === CH_QUOTE) {
      // TextDecoder beats building a string in JS for all but the shortest ASCII runs.
      f.properties = n === 0 ? "" : asciiDecoder.decode(out.subarray(0, n));
      return at + 1;
    }
    if (c < 0x20 || c >= 0x80) return -1;
    if (c !== CH_BACKSLASH) {
      out[n++] = c;
      at++;
      continue;
    }
    // Only \uXXXX below 0x80 (what fastjson writes for the separators) and \" \\ are handled here.
    const e = b[at + 1];
    if (e === 0x75 && at + 6 <= limit) {
      let unit = 0;
      for (let k = at + 2; k < at + 6; k++) {
        const h = hex(b[k]);
        if (h < 0) return -1;
        unit = (unit << 4) | h;
      }
      if (unit >= 0x80) return -1;
      out[n++] = unit;
      at += 6;
    } else if (e === CH_QUOTE || e === CH_BACKSLASH) {
      out[n++] = e;
      at += 2;
    } else {
      return -1;
    }
  }
  return -1;
}

function hex(c: number): number {
  if (c >= CH_0 && c <= CH_9) return c - CH_0;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * A SEND_MESSAGE_V2 request decoded by the fast path: the typed header, and
 * `extFields` built from it only if something asks (the same strings the
 * generic scanner would have built, since the fast path only accepts values
 * that print back unchanged). Setting `extFields` drops the typed header.
 */
export class SendV2Request implements RemotingCommand {
  code: number;
  language: string;
  version: number;
  opaque: number;
  flag: number;
  declare remark?: string;
  declare body?: Uint8Array;
  [SEND_V2_HEADER]: SendMessageRequestHeader | undefined;
  #ext: Record<string, string> | undefined;

  /**
   * @param code Request code (310).
   * @param language Sender's language.
   * @param version Sender's version.
   * @param opaque Request id.
   * @param flag Flag bits.
   * @param header The header the fast path read.
   */
  constructor(
    code: number,
    language: string,
    version: number,
    opaque: number,
    flag: number,
    header: SendMessageRequestHeader,
  ) {
    this.code = code;
    this.language = language;
    this.version = version;
    this.opaque = opaque;
    this.flag = flag;
    this[SEND_V2_HEADER] = header;
  }

  /** The header fields as strings, built on first use. */
  get extFields(): Record<string, string> | undefined {
    const header = this[SEND_V2_HEADER];
    if (this.#ext === undefined && header !== undefined) this.#ext = extFieldsOf(header);
    return this.#ext;
  }

  set extFields(value: Record<string, string> | undefined) {
    this.#ext = value;
    this[SEND_V2_HEADER] = undefined;
  }
}

function extFieldsOf(h: SendMessageRequestHeader): Record<string, string> {
  const ext: Record<string, string> = {
    a: h.producerGroup,
    b: h.topic,
    c: h.defaultTopic,
    d: String(h.defaultTopicQueueNums),
    e: String(h.queueId),
    f: String(h.sysFlag),
    g: String(h.bornTimestamp),
    h: String(h.flag),
  };
  if (h.properties !== undefined) ext.i = h.properties;
  if (h.reconsumeTimes !== undefined) ext.j = String(h.reconsumeTimes);
  if (h.unitMode !== undefined) ext.k = String(h.unitMode);
  if (h.maxReconsumeTimes !== undefined) ext.l = String(h.maxReconsumeTimes);
  if (h.batch !== undefined) ext.m = String(h.batch);
  if (h.brokerName !== undefined) ext.n = h.brokerName;
  return ext;
}
