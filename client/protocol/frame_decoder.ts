/**
 * Frame decoding: `decodeCommand` for one frame's header and body, and the
 * incremental `FrameDecoder` a connection feeds its socket reads into.
 *
 * @module
 */

import {
  FRAME_BYTES_MAX_DEFAULT,
  FrameError,
  type RemotingCommand,
  SERIALIZE_JSON,
  SERIALIZE_ROCKETMQ,
  type SerializeType,
} from "./command.ts";
import { decodeBinaryHeader } from "./binary_header.ts";
import { decodeJsonHeader } from "./json_header.ts";

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

/**
 * Incremental frame decoder: feed it socket reads, take out whole commands.
 *
 * It copies each read into a carry buffer and parses frames in place, so a
 * frame may arrive cut at any byte. A frame whose length is below 4 or above
 * `frameBytesMax`, or whose header cannot be decoded, raises `FrameError`;
 * the caller must close that connection (later bytes cannot be trusted).
 *
 * With `stableBodies`, a body handed out is never overwritten: the decoder
 * never compacts or rewinds a buffer it has handed out a body from, and
 * continues in a fresh one when the tail is full, so bodies need no copy.
 *
 * Invariant: `start <= end <= buffer.length`; bytes in [start, end) are unparsed;
 * with `stableBodies`, bytes before `start` of a shared buffer are never written again.
 */
export class FrameDecoder {
  #buffer: Uint8Array;
  #start = 0;
  #end = 0;
  #lastSerializeType: SerializeType = SERIALIZE_JSON;
  readonly #frameBytesMax: number;
  readonly #stableBodies: boolean;
  readonly #initialBytes: number;
  /** A body handed out views the current buffer (stable mode only). */
  #shared = false;

  /**
   * Create a decoder with an empty carry buffer.
   *
   * @param frameBytesMax Largest frame length accepted, bytes.
   * @param initialBytes Initial carry buffer size, bytes.
   * @param stableBodies Keep every body handed out valid (see the class doc).
   */
  constructor(
    frameBytesMax = FRAME_BYTES_MAX_DEFAULT,
    initialBytes = 256 * 1024,
    stableBodies = false,
  ) {
    if (!(frameBytesMax >= 8)) {
      throw new RangeError(`frameBytesMax must be >= 8, got ${frameBytesMax}`);
    }
    this.#frameBytesMax = frameBytesMax;
    this.#buffer = new Uint8Array(initialBytes);
    this.#stableBodies = stableBodies;
    this.#initialBytes = initialBytes;
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
   * The command's `body` views the carry buffer and (unless `stableBodies`) is valid until the next
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
    if (command.body !== undefined && this.#stableBodies) this.#shared = true;
    if (this.#start === this.#end && !this.#shared) this.#start = this.#end = 0;
    return command;
  }

  #reserve(extra: number): void {
    if (this.#end + extra <= this.#buffer.length) return;
    const pending = this.#end - this.#start;
    if (this.#shared) {
      // Handed-out bodies view this buffer: continue in a fresh one, back at the initial size
      // (after one large frame, later buffers need not be as large).
      let size = this.#initialBytes;
      while (size < pending + extra) size *= 2;
      const fresh = new Uint8Array(size);
      fresh.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = fresh;
      this.#shared = false;
    } else if (this.#start > 0 && pending + extra <= this.#buffer.length) {
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
