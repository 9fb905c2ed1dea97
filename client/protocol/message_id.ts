/**
 * RocketMQ's two message ids.
 *
 * Offset (physical) message id, built by the broker at append time
 * (uppercase hex, 2 characters per byte):
 *
 * | Bytes       | Content                          |
 * |-------------|----------------------------------|
 * | 4 (or 16)   | store host IP (IPv4, or IPv6)    |
 * | 4           | store host port (int32)          |
 * | 8           | CommitLog offset (int64)         |
 *
 * That is 32 hex characters for IPv4 and 56 for IPv6. Decoding gives the
 * broker address and the CommitLog offset that `VIEW_MESSAGE_BY_ID` reads.
 *
 * Unique id (property `UNIQ_KEY`), built by the producer, or by the broker when
 * a message arrives without one:
 *
 * | Bytes | Content                                                   |
 * |-------|-----------------------------------------------------------|
 * | 4     | client IPv4 address                                       |
 * | 2     | process id (int16, truncated)                             |
 * | 4     | a per-generator random int32                              |
 * | 4     | milliseconds since 00:00 of the 1st of the month (local)  |
 * | 2     | counter (int16, wraps)                                    |
 *
 * That is 32 hex characters; the first 20 are constant per generator.
 *
 * @module
 */

const HEX = "0123456789ABCDEF";

/** Length in hex characters of an offset message id with an IPv4 store host. */
export const OFFSET_MESSAGE_ID_V4_CHARS = 32;
/** Length in hex characters of an offset message id with an IPv6 store host. */
export const OFFSET_MESSAGE_ID_V6_CHARS = 56;
/** Length in hex characters of a unique message id. */
export const UNIQUE_ID_CHARS = 32;

/** The parts of an offset message id. */
export interface OffsetMessageId {
  /** Store host address bytes: 4 (IPv4) or 16 (IPv6). */
  readonly ip: Uint8Array;
  /** Store host port. */
  readonly port: number;
  /** CommitLog offset of the record, bytes. */
  readonly commitLogOffset: number;
}

function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    out += HEX[b >>> 4] + HEX[b & 0xf];
  }
  return out;
}

function fromHex(text: string, what: string): Uint8Array {
  if (text.length % 2 !== 0) {
    throw new TypeError(`Cannot decode ${what}: "${text}" has an odd number of hex characters`);
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexValue(text.charCodeAt(2 * i));
    const lo = hexValue(text.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) {
      throw new TypeError(`Cannot decode ${what}: "${text}" is not hexadecimal`);
    }
    out[i] = (hi << 4) | lo;
  }
  return out;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 65 && c <= 70) return c - 55; // A-F
  if (c >= 97 && c <= 102) return c - 87; // a-f
  return -1;
}

/**
 * Build the offset message id of a record.
 *
 * @param host Store host address (4 or 16 IP bytes) and port.
 * @param commitLogOffset CommitLog offset of the record (a non-negative safe integer).
 * @returns 32 (IPv4) or 56 (IPv6) uppercase hex characters.
 * @throws {TypeError} If the IP is neither 4 nor 16 bytes.
 * @throws {RangeError} If the port or the offset is out of range.
 *
 * @example
 * ```ts
 * import { createOffsetMessageId } from "./message_id.ts";
 * const id = createOffsetMessageId({ ip: new Uint8Array([127, 0, 0, 1]), port: 10911 }, 4096);
 * // id === "7F00000100002A9F0000000000001000"
 * ```
 */
export function createOffsetMessageId(
  host: { readonly ip: Uint8Array; readonly port: number },
  commitLogOffset: number,
): string {
  const ipBytes = host.ip.length;
  if (ipBytes !== 4 && ipBytes !== 16) {
    throw new TypeError(
      `Cannot create offset message id: IP is ${ipBytes} bytes, expected 4 or 16`,
    );
  }
  if (!Number.isInteger(host.port) || host.port < 0 || host.port > 0x7fff_ffff) {
    throw new RangeError(`Cannot create offset message id: port ${host.port} is out of range`);
  }
  if (!Number.isSafeInteger(commitLogOffset) || commitLogOffset < 0) {
    throw new RangeError(
      `Cannot create offset message id: offset ${commitLogOffset} is not a non-negative safe integer`,
    );
  }
  // Built from hex pieces rather than a byte buffer: this runs once per stored message.
  return toHex(host.ip) + hex32(host.port) + hex32(Math.floor(commitLogOffset / 0x1_0000_0000)) +
    hex32(commitLogOffset >>> 0);
}

function hex32(value: number): string {
  const text = (value >>> 0).toString(16).toUpperCase();
  return text.length === 8 ? text : "00000000".slice(text.length) + text;
}

/**
 * Decode an offset message id.
 *
 * @param id 32 or 56 hex characters (either case).
 * @returns The store host IP bytes, port and CommitLog offset.
 * @throws {TypeError} If the id has the wrong length, is not hexadecimal, or
 * holds an offset beyond `Number.MAX_SAFE_INTEGER` or a negative one.
 */
export function decodeOffsetMessageId(id: string): OffsetMessageId {
  if (typeof id !== "string") {
    throw new TypeError(`Cannot decode offset message id: expected a string, got ${typeof id}`);
  }
  if (id.length !== OFFSET_MESSAGE_ID_V4_CHARS && id.length !== OFFSET_MESSAGE_ID_V6_CHARS) {
    throw new TypeError(
      `Cannot decode offset message id: "${id}" is ${id.length} characters, expected 32 or 56`,
    );
  }
  const bytes = fromHex(id, "offset message id");
  const ipBytes = bytes.length - 12;
  const view = new DataView(bytes.buffer);
  const high = view.getUint32(ipBytes + 4);
  const low = view.getUint32(ipBytes + 8);
  if (high > 0x1f_ffff) {
    throw new TypeError(
      `Cannot decode offset message id: "${id}" holds an offset beyond 2^53 or a negative one`,
    );
  }
  return {
    ip: bytes.slice(0, ipBytes),
    port: view.getInt32(ipBytes),
    commitLogOffset: high * 0x1_0000_0000 + low,
  };
}

/** Options of a `UniqueIdGenerator`; every field has a default. */
export interface UniqueIdGeneratorOptions {
  /** Client IPv4 bytes. Default: 4 random bytes (RocketMQ uses a pseudo IP when it has none). */
  readonly ip?: Uint8Array;
  /** Process id; truncated to 16 bits. Default: `Deno.pid` when available, else random. */
  readonly pid?: number;
  /** The per-process random int32. Default: from `crypto.getRandomValues`. */
  readonly random?: number;
  /** Clock, epoch ms. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Generates RocketMQ unique message ids (`UNIQ_KEY`).
 *
 * Holds all of its state (the fixed 10-byte prefix, the month window and the
 * counter); make one per producer or broker. Ids from one generator are
 * distinct while fewer than 65,536 are made in the same millisecond.
 */
export class UniqueIdGenerator {
  readonly #prefix: string;
  readonly #now: () => number;
  readonly #tail = new Uint8Array(6);
  readonly #tailView = new DataView(this.#tail.buffer);
  #monthStartMs = 0;
  #nextMonthStartMs = 0;
  #counter = 0;

  /**
   * @param options Fixed parts and the clock.
   * @throws {TypeError} If `options.ip` is not 4 bytes.
   */
  constructor(options: UniqueIdGeneratorOptions = {}) {
    const random = new Uint32Array(2);
    crypto.getRandomValues(random);
    const ip = options.ip ?? new Uint8Array(random.buffer.slice(0, 4));
    if (ip.length !== 4) {
      throw new TypeError(
        `Cannot create unique id generator: IP is ${ip.length} bytes, expected 4`,
      );
    }
    const pid = options.pid ?? (globalThis.Deno?.pid ?? random[0]);
    const prefix = new Uint8Array(10);
    const view = new DataView(prefix.buffer);
    prefix.set(ip, 0);
    view.setUint16(4, pid & 0xffff);
    view.setInt32(6, options.random ?? random[1] | 0);
    this.#prefix = toHex(prefix);
    this.#now = options.now ?? Date.now;
  }

  /**
   * The next unique id.
   *
   * @returns 32 uppercase hex characters.
   */
  next(): string {
    const now = this.#now();
    if (now >= this.#nextMonthStartMs || now < this.#monthStartMs) this.#setMonth(now);
    this.#tailView.setInt32(0, (now - this.#monthStartMs) | 0);
    this.#tailView.setUint16(4, this.#counter);
    this.#counter = (this.#counter + 1) & 0xffff;
    return this.#prefix + toHex(this.#tail);
  }

  #setMonth(now: number): void {
    const date = new Date(now);
    this.#monthStartMs = new Date(date.getFullYear(), date.getMonth(), 1).getTime();
    this.#nextMonthStartMs = new Date(date.getFullYear(), date.getMonth() + 1, 1).getTime();
  }
}
