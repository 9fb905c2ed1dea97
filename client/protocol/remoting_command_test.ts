import assert from "node:assert/strict";
import {
  createRequest,
  createResponse,
  decodeCommand,
  encodeCommand,
  FLAG_ONEWAY,
  FrameDecoder,
  FrameError,
  isOneway,
  isResponse,
  type RemotingCommand,
} from "./remoting_command.ts";

function frames(): { commands: RemotingCommand[]; bytes: Uint8Array } {
  const commands = [
    createRequest(310, 1, { a: "pg", b: "T", e: 3 }, new Uint8Array([1, 2, 3])),
    createResponse({ opaque: 1 }, 0, undefined, { msgId: "ABC", queueOffset: 9 }),
    createRequest(34, 2, {}, undefined, true),
    createResponse({ opaque: 2 }, 17, "topic ü missing", {}, new Uint8Array(300).fill(7)),
  ];
  const encoded = commands.map(encodeCommand);
  const bytes = new Uint8Array(encoded.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of encoded) {
    bytes.set(f, at);
    at += f.length;
  }
  return { commands, bytes };
}

function drain(decoder: FrameDecoder, out: RemotingCommand[]): void {
  for (let c = decoder.next(); c !== undefined; c = decoder.next()) {
    out.push({ ...c, body: c.body?.slice() });
  }
}

function normalize(c: RemotingCommand): RemotingCommand {
  const out: RemotingCommand = { ...c };
  if (out.body === undefined || out.body.length === 0) delete out.body;
  if (out.remark === undefined) delete out.remark;
  return out;
}

Deno.test("FrameDecoder decodes a multi-frame buffer cut at every split point", () => {
  const { commands, bytes } = frames();
  for (let cut = 0; cut <= bytes.length; cut++) {
    const decoder = new FrameDecoder(16 * 1024 * 1024, 64);
    const out: RemotingCommand[] = [];
    decoder.push(bytes.subarray(0, cut));
    drain(decoder, out);
    decoder.push(bytes.subarray(cut));
    drain(decoder, out);
    assert.deepEqual(out.map(normalize), commands.map(normalize), `cut at ${cut}`);
    assert.equal(decoder.pendingBytes, 0);
  }
});

Deno.test("FrameDecoder decodes the same buffer fed one byte at a time through writable()", () => {
  const { commands, bytes } = frames();
  const decoder = new FrameDecoder(16 * 1024 * 1024, 16);
  const out: RemotingCommand[] = [];
  for (const byte of bytes) {
    decoder.writable(1)[0] = byte;
    decoder.commit(1);
    drain(decoder, out);
  }
  assert.deepEqual(out.map(normalize), commands.map(normalize));
});

Deno.test("decodeCommand() reads the binary (ROCKETMQ) header form", () => {
  const enc = new TextEncoder();
  const remark = enc.encode("busy");
  const entries: Array<[string, string]> = [["topic", "T"], ["queueId", "3"]];
  let extBytes = 0;
  for (const [k, v] of entries) extBytes += 2 + enc.encode(k).length + 4 + enc.encode(v).length;
  const header = new Uint8Array(17 + remark.length + 4 + extBytes);
  const view = new DataView(header.buffer);
  view.setInt16(0, 2);
  view.setUint8(2, 9); // GO
  view.setInt16(3, 479);
  view.setInt32(5, 42);
  view.setInt32(9, 1);
  view.setInt32(13, remark.length);
  header.set(remark, 17);
  let at = 17 + remark.length;
  view.setInt32(at, extBytes);
  at += 4;
  for (const [k, v] of entries) {
    const kb = enc.encode(k);
    const vb = enc.encode(v);
    view.setInt16(at, kb.length);
    header.set(kb, at + 2);
    at += 2 + kb.length;
    view.setInt32(at, vb.length);
    header.set(vb, at + 4);
    at += 4 + vb.length;
  }
  const frame = new Uint8Array(4 + header.length + 2);
  new DataView(frame.buffer).setUint32(0, (1 << 24) | header.length);
  frame.set(header, 4);
  frame.set([0xaa, 0xbb], 4 + header.length);
  const command = decodeCommand(frame);
  assert.deepEqual(command, {
    code: 2,
    language: "GO",
    version: 479,
    opaque: 42,
    flag: 1,
    remark: "busy",
    extFields: { topic: "T", queueId: "3" },
    body: new Uint8Array([0xaa, 0xbb]),
  });
  assert.equal(isResponse(command), true);
});

Deno.test("FrameDecoder rejects malformed frames with FrameError", () => {
  const cases: Array<[string, Uint8Array]> = [
    ["length below 4", new Uint8Array([0, 0, 0, 3, 0, 0, 0])],
    ["length above the limit", new Uint8Array([0x7f, 0, 0, 0, 0, 0, 0, 0])],
    ["header length past the frame", new Uint8Array([0, 0, 0, 4, 0, 0, 0, 9])],
    ["unknown serialize type", new Uint8Array([0, 0, 0, 6, 7, 0, 0, 2, 0x7b, 0x7d])],
    ["header not JSON", new Uint8Array([0, 0, 0, 6, 0, 0, 0, 2, 0x7b, 0x7b])],
    ["JSON header not an object", new Uint8Array([0, 0, 0, 6, 0, 0, 0, 2, 0x5b, 0x5d])],
    ["JSON header without code", new Uint8Array([0, 0, 0, 6, 0, 0, 0, 2, 0x7b, 0x7d])],
    ["binary header truncated", new Uint8Array([0, 0, 0, 7, 1, 0, 0, 3, 0, 1, 2])],
  ];
  for (const [name, bytes] of cases) {
    const decoder = new FrameDecoder(1024);
    decoder.push(bytes);
    assert.throws(() => decoder.next(), FrameError, name);
  }
});

Deno.test("createRequest() sets the oneway flag and stringifies header fields", () => {
  const request = createRequest(37, 5, { a: 1, b: true, c: undefined }, undefined, true);
  assert.equal(request.flag & FLAG_ONEWAY, FLAG_ONEWAY);
  assert.equal(isOneway(request), true);
  assert.deepEqual(request.extFields, { a: "1", b: "true" });
});
