import assert from "node:assert/strict";
import {
  createRequest,
  createResponse,
  decodeCommand,
  encodeCommand,
  encodeCommandAs,
  FLAG_ONEWAY,
  FrameDecoder,
  FrameError,
  FrameWriter,
  HEADER_BYTES_MAX,
  isOneway,
  isResponse,
  type RemotingCommand,
  SERIALIZE_JSON,
  SERIALIZE_ROCKETMQ,
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

Deno.test("FrameDecoder decodes binary-header frames cut at every split point", () => {
  const { commands } = frames();
  const encoded = commands.map((c) => encodeCommandAs(c, SERIALIZE_ROCKETMQ));
  const bytes = new Uint8Array(encoded.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of encoded) {
    assert.equal(f[4], SERIALIZE_ROCKETMQ);
    bytes.set(f, at);
    at += f.length;
  }
  const expected = commands.map(normalize).map((c) => {
    // The binary form has no way to say "empty extFields": it decodes as absent.
    if (c.extFields !== undefined && Object.keys(c.extFields).length === 0) delete c.extFields;
    return c;
  });
  for (let cut = 0; cut <= bytes.length; cut++) {
    const decoder = new FrameDecoder(16 * 1024 * 1024, 64);
    const out: RemotingCommand[] = [];
    decoder.push(bytes.subarray(0, cut));
    drain(decoder, out);
    decoder.push(bytes.subarray(cut));
    drain(decoder, out);
    assert.deepEqual(out.map(normalize), expected, `cut at ${cut}`);
    assert.equal(decoder.lastSerializeType, SERIALIZE_ROCKETMQ);
  }
});

Deno.test("encodeCommandAs() binary header round-trips non-ASCII, long and control-character text", () => {
  const long = "x".repeat(300);
  const extFields: Record<string, string> = {
    a: "",
    properties: "UNIQ_KEY\u0001ABC\u0002TAGS\u0001tag ü\u0002",
    long,
    "clé": "värde ✓ 😀",
    [long]: "long key",
    mixed: "abc" + "é".repeat(100),
  };
  const command = createResponse({ opaque: 7 }, 19, "rémark ✓", extFields, new Uint8Array([9]));
  const frame = encodeCommandAs(command, SERIALIZE_ROCKETMQ);
  assert.equal(frame[4], SERIALIZE_ROCKETMQ);
  assert.deepEqual(decodeCommand(frame.subarray(4)), { ...command, body: new Uint8Array([9]) });
});

Deno.test("encodeCommandAs() falls back to the JSON header when the binary form cannot carry it", () => {
  const command = createRequest(40_000, 3, { a: "b" });
  const frame = encodeCommandAs(command, SERIALIZE_ROCKETMQ);
  assert.equal(frame[4], SERIALIZE_JSON);
  assert.deepEqual(normalize(decodeCommand(frame.subarray(4))), normalize(command));
});

Deno.test("FrameWriter.appendFields() refuses an oversize header and leaves the buffer unchanged", () => {
  const writer = new FrameWriter(64);
  writer.append(createRequest(10, 1, { a: "b" }), SERIALIZE_ROCKETMQ);
  const before = writer.bytes().slice();
  for (const type of [SERIALIZE_JSON, SERIALIZE_ROCKETMQ] as const) {
    assert.throws(
      () => writer.append(createRequest(10, 2, { big: "x".repeat(HEADER_BYTES_MAX) }), type),
      RangeError,
    );
    assert.deepEqual(writer.bytes(), before);
  }
});

/** The reference meaning of a JSON header: JSON.parse plus the protocol's field rules. */
function referenceJsonHeader(text: string): RemotingCommand | "error" {
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(text);
  } catch {
    return "error";
  }
  if (typeof h !== "object" || h === null || Array.isArray(h)) return "error";
  const int = (key: string, fallback?: number): number | undefined => {
    const value = h[key];
    if (value === undefined && fallback !== undefined) return fallback;
    return typeof value === "number" && Number.isInteger(value) ? value : undefined;
  };
  const code = int("code");
  const version = int("version", 0);
  const opaque = int("opaque", 0);
  const flag = int("flag", 0);
  if (code === undefined || version === undefined || opaque === undefined || flag === undefined) {
    return "error";
  }
  const out: RemotingCommand = {
    code,
    language: typeof h.language === "string" ? h.language : "OTHER",
    version,
    opaque,
    flag,
  };
  if (typeof h.remark === "string") out.remark = h.remark;
  if (h.extFields !== undefined && h.extFields !== null) {
    if (typeof h.extFields !== "object" || Array.isArray(h.extFields)) return "error";
    const ext: Record<string, string> = {};
    for (const [k, v] of Object.entries(h.extFields as Record<string, unknown>)) {
      if (v !== null && v !== undefined) ext[k] = typeof v === "string" ? v : String(v);
    }
    out.extFields = ext;
  }
  return out;
}

Deno.test("decodeCommand() reads JSON headers exactly as JSON.parse would, fast path or not", () => {
  const headers = [
    '{"code":10,"language":"JAVA","version":479,"opaque":5,"flag":0}',
    ' { "code" : -3 , "flag" : 1 ,\n\t"extFields" : { "a" : "1" , "b" : "" } } ',
    '{"code":310,"extFields":{"i":"UNIQ_KEY\\u0001AB\\u0002","q":"say \\"hi\\" \\\\ \\/ \\b\\f\\n\\r\\t"}}',
    '{"code":1,"remark":"caf\u00e9 \u2713 \ud83d\ude00","extFields":{"k\u00e9":"v\u00e9"}}',
    '{"code":1,"remark":"\\ud800 lone","serializeTypeCurrentRPC":"JSON"}',
    '{"code":1,"extFields":{"n":12,"f":1.5,"t":true,"z":null,"e":1e3}}',
    '{"code":1,"version":null}',
    '{"code":1.0,"opaque":2}',
    '{"code":1,"opaque":12345678901234567}',
    '{"code":01}',
    '{"code":1,"extFields":null,"remark":null}',
    '{"code":1,"extFields":{"a":"1","a":"2"},"code":2}',
    '{"code":1,"unknown":[1,{"x":2}],"other":{"y":"z"}}',
    '{"code":1,"extFields":"nope"}',
    '{"code":1,"extFields":[]}',
    '{"code":1}x',
    '{"code":1',
    '{"code":"1"}',
    '{"code":1,"remark":"bad \\q escape"}',
    '{"code":1,"remark":"raw\ncontrol"}',
    "{}",
    "[]",
    '{"code":1,"language":7}',
    '{"code":2147483647,"opaque":-2147483648,"flag":3}',
  ];
  const enc = new TextEncoder();
  for (const text of headers) {
    const json = enc.encode(text);
    const frame = new Uint8Array(4 + json.length);
    new DataView(frame.buffer).setUint32(0, json.length);
    frame.set(json, 4);
    const expected = referenceJsonHeader(text);
    if (expected === "error") {
      assert.throws(() => decodeCommand(frame), FrameError, text);
    } else {
      assert.deepEqual(decodeCommand(frame), expected, text);
    }
  }
  const invalidUtf8 = new Uint8Array([0, 0, 0, 14, ...enc.encode('{"code":1,"r":"'), 0xff]);
  assert.throws(() => decodeCommand(invalidUtf8), FrameError);
});

Deno.test("FrameDecoder with stableBodies never overwrites a body it handed out", () => {
  const decoder = new FrameDecoder(1024 * 1024, 64, true);
  const bodies: Uint8Array[] = [];
  for (let round = 0; round < 50; round++) {
    const frame = encodeCommand(
      createRequest(310, round, { a: String(round) }, new Uint8Array(40).fill(round)),
    );
    // Feed in two cuts so frames straddle reads.
    const cut = round % frame.length;
    decoder.writable(frame.length).set(frame.subarray(0, cut));
    decoder.commit(cut);
    decoder.writable(frame.length).set(frame.subarray(cut));
    decoder.commit(frame.length - cut);
    for (let c = decoder.next(); c !== undefined; c = decoder.next()) bodies.push(c.body!);
  }
  assert.equal(bodies.length, 50);
  bodies.forEach((body, i) => assert.deepEqual([...body], new Array(40).fill(i), `body ${i}`));
});

Deno.test("FrameDecoder with stableBodies returns to its initial buffer size after a large frame", () => {
  const decoder = new FrameDecoder(16 * 1024 * 1024, 1024, true);
  const big = encodeCommand(createRequest(310, 1, {}, new Uint8Array(100_000).fill(7)));
  decoder.writable(big.length).set(big);
  decoder.commit(big.length);
  assert.equal(decoder.next()!.body!.length, 100_000);
  // The tail of the 128 KiB buffer is too small for this: the fresh buffer grows from the initial
  // size (64 KiB), not from the large buffer's size.
  assert.ok(decoder.writable(40_000).length <= 64 * 1024);
});
