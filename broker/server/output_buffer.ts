/**
 * A growable byte buffer that commands are encoded straight into, so the
 * responses of one tick leave in one socket write.
 *
 * @module
 */

import {
  FrameWriter,
  type RemotingCommand,
  SERIALIZE_JSON,
  type SerializeType,
} from "../../client/protocol/remoting_command.ts";

/** A command whose body may be given in parts (see `BrokerResponse`). */
export interface EncodableCommand extends RemotingCommand {
  /** Body parts, written one after the other instead of `body`. */
  bodyParts?: readonly Uint8Array[];
}

/**
 * Frames encoded back to back (JSON or binary header, the same wire forms as
 * `encodeCommandAs`), with body parts copied once, directly into place. A thin
 * layer over the protocol's {@linkcode FrameWriter} that knows `bodyParts`.
 *
 * Invariant: `0 <= length <= capacity`; bytes [0, length) are whole frames.
 */
export class OutputBuffer {
  readonly #writer: FrameWriter;

  /** @param initialBytes Starting capacity, bytes. */
  constructor(initialBytes = 64 * 1024) {
    this.#writer = new FrameWriter(initialBytes);
  }

  /** Bytes of whole frames queued. */
  get length(): number {
    return this.#writer.length;
  }

  /**
   * Encode one command as a frame at the end of the buffer.
   *
   * @param command The command.
   * @param serializeType Header form; default JSON (answer a request in its own form).
   * @throws {RangeError} If the header exceeds `HEADER_BYTES_MAX`.
   */
  append(command: EncodableCommand, serializeType: SerializeType = SERIALIZE_JSON): void {
    this.#writer.append(command, serializeType, command.bodyParts);
  }

  /**
   * The queued frames; valid until the next `append` or `clear`.
   *
   * @returns A view of bytes [0, length).
   */
  bytes(): Uint8Array {
    return this.#writer.bytes();
  }

  /** Forget the queued frames; a buffer that grew past 4 MiB (and 4× its start size) shrinks back. */
  clear(): void {
    this.#writer.clear();
  }
}
