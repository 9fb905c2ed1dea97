import assert from "node:assert/strict";
import { BLANK_MARKER_BYTES, MAGIC_BLANK } from "../../client/protocol/message_record.ts";
import {
  cutTransfer,
  decodeReport,
  encodeReport,
  encodeTransfer,
  HA_HEADER_BYTES,
} from "./ha_protocol.ts";

/** Fake records: TOTALSIZE then a magic that is not the blank one. */
function records(...sizes: number[]): Uint8Array {
  const bytes = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
  const view = new DataView(bytes.buffer);
  let at = 0;
  for (const size of sizes) {
    view.setInt32(at, size);
    view.setInt32(at + 4, 0x12345678);
    at += size;
  }
  return bytes;
}

Deno.test("cutTransfer() ends a transfer after the last whole record", () => {
  const chunk = records(100, 200, 300).subarray(0, 450);
  assert.deepEqual(cutTransfer(chunk, 1000), { bodyBytes: 300, nextOffset: 1300 });
  assert.deepEqual(cutTransfer(records(100, 200), 0), { bodyBytes: 300, nextOffset: 300 });
});

Deno.test("cutTransfer() asks for a larger read when the first record does not fit", () => {
  const chunk = records(5000).subarray(0, 1024);
  assert.deepEqual(cutTransfer(chunk, 64), { bodyBytes: 0, nextOffset: 64, needBytes: 5000 });
});

Deno.test("cutTransfer() ships a segment end as its 8-byte blank marker and jumps to the next base", () => {
  const chunk = new Uint8Array(100 + 500);
  chunk.set(records(100));
  const view = new DataView(chunk.buffer);
  view.setInt32(100, 500);
  view.setInt32(104, MAGIC_BLANK);
  assert.deepEqual(cutTransfer(chunk, 3496), {
    bodyBytes: 100 + BLANK_MARKER_BYTES,
    nextOffset: 4096,
  });
});

Deno.test("HA frames: an offset report and a transfer header round-trip", () => {
  assert.equal(decodeReport(encodeReport(2 ** 40 + 7), 0), 2 ** 40 + 7);
  const frame = encodeTransfer(123_456, new Uint8Array([1, 2, 3]));
  const view = new DataView(frame.buffer);
  assert.equal(view.getInt32(8), 3);
  assert.equal(frame.length, HA_HEADER_BYTES + 3);
  assert.deepEqual([...frame.subarray(HA_HEADER_BYTES)], [1, 2, 3]);
});
