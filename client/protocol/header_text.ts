/**
 * Strings from header bytes without a `TextDecoder` call where possible:
 * short ASCII built in JS, and header keys from a cache of internalized
 * strings. Shared by the JSON and the binary header decoders.
 *
 * @module
 */

import { FrameError } from "./command.ts";

/** Decoder for non-ASCII header text; throws on malformed UTF-8. */
export const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Strings up to this many bytes are built in JS (`String.fromCharCode` over a
 * scratch array); longer ones go through `TextDecoder`, whose fixed cost
 * (about 0.2 µs a call) pays off beyond this (measured crossover on V8 13).
 */
const JS_DECODE_BYTES_MAX = 24;

/** One-character strings by byte value, for the binary header's one-letter keys. */
const ONE_CHAR: readonly string[] = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i));

/** Reused argument list of `String.fromCharCode.apply`; only this module's sync code touches it. */
const charCodes: number[] = [];

/**
 * Bytes [start, end) as a string when they are all ASCII (undefined
 * otherwise), built without a `TextDecoder` call when short.
 */
export function asciiString(b: Uint8Array, start: number, end: number): string | undefined {
  const n = end - start;
  if (n === 0) return "";
  if (n === 1) return b[start] < 0x80 ? ONE_CHAR[b[start]] : undefined;
  if (n > JS_DECODE_BYTES_MAX) {
    for (let i = start; i < end; i++) if (b[i] >= 0x80) return undefined;
    return utf8Decoder.decode(b.subarray(start, end));
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
export function readKey(b: Uint8Array, start: number, end: number): string | undefined {
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
export function readAscii(b: Uint8Array, start: number, end: number): string {
  return asciiString(b, start, end)!;
}

/** Bytes [start, end) as UTF-8 text; ASCII without a `TextDecoder` call when short. */
export function readUtf8(b: Uint8Array, start: number, end: number): string {
  const ascii = asciiString(b, start, end);
  if (ascii !== undefined) return ascii;
  try {
    return utf8Decoder.decode(b.subarray(start, end));
  } catch (error) {
    throw new FrameError("Binary header holds invalid UTF-8", { cause: error });
  }
}

/** Slots of the value cache (a power of two). */
const VALUE_CACHE_SLOTS = 4096;
/** Longest value remembered, bytes. */
const VALUE_CACHE_BYTES_MAX = 32;
/** Direct-mapped cache of short header values by a hash of their bytes; a miss replaces the slot. */
const valueCache: (string | undefined)[] = new Array(VALUE_CACHE_SLOTS).fill(undefined);

/**
 * Bytes [start, end) as a string, known to be ASCII: a cached string when
 * the same short value was read before (topics, groups, flags and other
 * values that repeat on every request), else built and remembered.
 *
 * @param b Bytes.
 * @param start First byte.
 * @param end End.
 * @returns The string.
 */
export function readAsciiValue(b: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 1 || n > VALUE_CACHE_BYTES_MAX) return asciiString(b, start, end)!;
  let hash = n;
  for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + b[i]) | 0;
  const slot = (hash ^ (hash >>> 12)) & (VALUE_CACHE_SLOTS - 1);
  const cached = valueCache[slot];
  if (cached !== undefined && cached.length === n) {
    let i = 0;
    while (i < n && cached.charCodeAt(i) === b[start + i]) i++;
    if (i === n) return cached;
  }
  const value = asciiString(b, start, end)!;
  valueCache[slot] = value;
  return value;
}
