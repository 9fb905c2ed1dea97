/**
 * Decoding of the binary (`ROCKETMQ`) header form: `code:i16 language:u8
 * version:i16 opaque:i32 flag:i32 remarkLen:i32 remark extLen:i32
 * (keyLen:i16 key valLen:i32 val)*`, big-endian.
 *
 * @module
 */

import { FrameError, LANGUAGE_CODES, type RemotingCommand } from "./command.ts";
import { readKey, readUtf8 } from "./header_text.ts";

function readInt32(b: Uint8Array, at: number): number {
  return (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
}

function readInt16(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16)) >> 16;
}

/**
 * The binary header in `b[start, end)`.
 *
 * @param b Frame bytes.
 * @param start First header byte.
 * @param end End of the header.
 * @returns The command, without a body.
 * @throws {FrameError} On a truncated or inconsistent header.
 */
export function decodeBinaryHeader(b: Uint8Array, start: number, end: number): RemotingCommand {
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
