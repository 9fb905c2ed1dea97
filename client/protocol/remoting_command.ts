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

export {
  createRequest,
  createResponse,
  FLAG_ONEWAY,
  FLAG_RESPONSE,
  FRAME_BYTES_MAX_DEFAULT,
  FrameError,
  HEADER_BYTES_MAX,
  isOneway,
  isResponse,
  LANGUAGE,
  LANGUAGE_CODES,
  PROTOCOL_VERSION,
  type RemotingCommand,
  SERIALIZE_JSON,
  SERIALIZE_ROCKETMQ,
  type SerializeType,
} from "./command.ts";
export { decodeCommand, FrameDecoder } from "./frame_decoder.ts";
export { FrameWriter } from "./frame_writer.ts";

import { type RemotingCommand, SERIALIZE_JSON, type SerializeType } from "./command.ts";
import { FrameWriter } from "./frame_writer.ts";

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
