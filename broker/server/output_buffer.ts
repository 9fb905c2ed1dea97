/**
 * A growable byte buffer that commands are encoded straight into, so the
 * responses of one tick leave in one socket write.
 *
 * @module
 */

import {
  HEADER_BYTES_MAX,
  type RemotingCommand,
  SERIALIZE_JSON,
} from "../../client/protocol/remoting_command.ts";

const encoder = new TextEncoder();

/** Characters that force `JSON.stringify` for a string (quotes, backslash, controls, surrogates). */
// deno-lint-ignore no-control-regex -- control characters are exactly what JSON must escape.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function quote(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : '"' + text + '"';
}

/**
 * The JSON header of a command, built by concatenation: the response hot path
 * avoids building an object for `JSON.stringify`. Same keys and meaning as
 * `encodeCommand` produces.
 */
function headerJson(command: RemotingCommand): string {
  let json = '{"code":' + command.code + ',"language":' + quote(command.language) +
    ',"version":' + command.version + ',"opaque":' + command.opaque + ',"flag":' + command.flag;
  if (command.remark !== undefined) json += ',"remark":' + quote(command.remark);
  const ext = command.extFields;
  if (ext !== undefined) {
    json += ',"extFields":{';
    let first = true;
    for (const key in ext) {
      json += (first ? "" : ",") + quote(key) + ":" + quote(String(ext[key]));
      first = false;
    }
    json += "}";
  }
  return json + "}";
}

/** A command whose body may be given in parts (see `BrokerResponse`). */
export interface EncodableCommand extends RemotingCommand {
  /** Body parts, written one after the other instead of `body`. */
  bodyParts?: readonly Uint8Array[];
}

/**
 * Frames encoded back to back (JSON header, same wire form as
 * `encodeCommand`), with body parts copied once, directly into place.
 *
 * Invariant: `0 <= length <= capacity`; bytes [0, length) are whole frames.
 */
export class OutputBuffer {
  #bytes: Uint8Array;
  #view: DataView;
  #length = 0;
  readonly #initialBytes: number;

  /** @param initialBytes Starting capacity, bytes. */
  constructor(initialBytes = 64 * 1024) {
    this.#initialBytes = initialBytes;
    this.#bytes = new Uint8Array(initialBytes);
    this.#view = new DataView(this.#bytes.buffer);
  }

  /** Bytes of whole frames queued. */
  get length(): number {
    return this.#length;
  }

  /**
   * Encode one command as a frame at the end of the buffer.
   *
   * @param command The command.
   * @throws {RangeError} If the header exceeds `HEADER_BYTES_MAX`.
   */
  append(command: EncodableCommand): void {
    const json = headerJson(command);
    let bodyBytes = 0;
    const parts = command.bodyParts;
    if (parts !== undefined) {
      for (let i = 0; i < parts.length; i++) bodyBytes += parts[i].length;
    } else if (command.body !== undefined) {
      bodyBytes = command.body.length;
    }
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    this.#reserve(8 + json.length * 3 + bodyBytes);
    const start = this.#length;
    const { written } = encoder.encodeInto(json, this.#bytes.subarray(start + 8));
    if (written > HEADER_BYTES_MAX) {
      throw new RangeError(
        `Cannot encode command: header is ${written} bytes, limit is ${HEADER_BYTES_MAX}`,
      );
    }
    this.#view.setUint32(start, 4 + written + bodyBytes);
    this.#view.setUint32(start + 4, (SERIALIZE_JSON << 24) | written);
    let at = start + 8 + written;
    if (parts !== undefined) {
      for (let i = 0; i < parts.length; i++) {
        this.#bytes.set(parts[i], at);
        at += parts[i].length;
      }
    } else if (command.body !== undefined) {
      this.#bytes.set(command.body, at);
      at += command.body.length;
    }
    this.#length = at;
  }

  /**
   * The queued frames; valid until the next `append` or `clear`.
   *
   * @returns A view of bytes [0, length).
   */
  bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  /** Forget the queued frames; a buffer that grew past 4× its start size shrinks back. */
  clear(): void {
    this.#length = 0;
    if (this.#bytes.length > 4 * 1024 * 1024 && this.#bytes.length > 4 * this.#initialBytes) {
      this.#bytes = new Uint8Array(this.#initialBytes);
      this.#view = new DataView(this.#bytes.buffer);
    }
  }

  #reserve(extra: number): void {
    const needed = this.#length + extra;
    if (needed <= this.#bytes.length) return;
    let size = this.#bytes.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
    this.#view = new DataView(grown.buffer);
  }
}
