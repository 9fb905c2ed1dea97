import assert from "node:assert/strict";
import { createResponse, FrameDecoder } from "../../client/protocol/remoting_command.ts";
import { OutputBuffer } from "./output_buffer.ts";

Deno.test("OutputBuffer.append() writes frames FrameDecoder reads back, body parts joined", () => {
  const out = new OutputBuffer(16);
  const first = createResponse({ opaque: 1 }, 0, undefined, { a: "1" }, new Uint8Array([1, 2]));
  const second = {
    ...createResponse({ opaque: 2 }, 19, "rémark ✓", {}),
    bodyParts: [new Uint8Array([3]), new Uint8Array([4, 5])],
  };
  const third = createResponse({ opaque: 3 }, 0);
  out.append(first);
  out.append(second);
  out.append(third);
  const decoder = new FrameDecoder();
  decoder.push(out.bytes());
  const a = decoder.next()!;
  const b = decoder.next()!;
  const c = decoder.next()!;
  assert.equal(decoder.next(), undefined);
  assert.deepEqual([a.opaque, a.extFields, [...a.body!]], [1, { a: "1" }, [1, 2]]);
  assert.deepEqual([b.opaque, b.code, b.remark, [...b.body!]], [2, 19, "rémark ✓", [3, 4, 5]]);
  assert.deepEqual([c.opaque, c.body], [3, undefined]);
});

Deno.test("OutputBuffer.clear() empties it and shrinks a buffer that grew large", () => {
  const out = new OutputBuffer(1024);
  out.append({ ...createResponse({ opaque: 1 }, 0), body: new Uint8Array(8 * 1024 * 1024) });
  assert.ok(out.length > 8 * 1024 * 1024);
  out.clear();
  assert.equal(out.length, 0);
  out.append(createResponse({ opaque: 2 }, 0));
  const decoder = new FrameDecoder();
  decoder.push(out.bytes());
  assert.equal(decoder.next()?.opaque, 2);
});

Deno.test("OutputBuffer.append() escapes quotes, control characters and lone surrogates in headers", () => {
  const out = new OutputBuffer();
  const tricky = 'a"b\\c\u0001\u0002\n\ud800z';
  out.append(createResponse({ opaque: 1 }, 1, tricky, { [tricky]: tricky, plain: "x" }));
  const decoder = new FrameDecoder();
  decoder.push(out.bytes());
  const decoded = decoder.next()!;
  assert.equal(decoded.remark, JSON.parse(JSON.stringify(tricky)));
  assert.equal(decoded.extFields?.plain, "x");
  assert.equal(decoded.extFields?.[tricky], tricky);
});
