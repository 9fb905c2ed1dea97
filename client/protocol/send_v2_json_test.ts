import assert from "node:assert/strict";
import { decodeSendMessageRequestHeader } from "./headers.ts";
import { decodeCommand } from "./remoting_command.ts";
import { fastSendV2Header } from "./send_v2_json.ts";

const te = new TextEncoder();

/** Frame bytes after the length field, for a JSON header text. */
function frame(header: string): Uint8Array {
  const h = te.encode(header);
  const out = new Uint8Array(4 + h.length + 3);
  new DataView(out.buffer).setInt32(0, h.length);
  out.set(h, 4);
  out.set([7, 8, 9], 4 + h.length);
  return out;
}

/** What a Java client sends (fastjson: keys sorted, separators escaped). */
function javaHeader(ext: string): string {
  return `{"code":310,"extFields":{${ext}},"flag":0,"language":"JAVA","opaque":42,` +
    `"serializeTypeCurrentRPC":"JSON","version":453}`;
}

const FULL = '"a":"PG","b":"TopicA","c":"TBW102","d":"4","e":"3","f":"0","g":"1700000000123",' +
  '"h":"-5","i":"TAGS\\u0001tagA\\u0002UNIQ_KEY\\u0001AB12\\u0002","j":"0","k":"false",' +
  '"l":"16","m":"false","n":"broker-a"';

Deno.test("SEND_MESSAGE_V2 JSON header: the fast path reads the same header and fields", () => {
  const command = decodeCommand(frame(javaHeader(FULL)));
  const fast = fastSendV2Header(command);
  assert.ok(fast !== undefined);
  const generic = decodeSendMessageRequestHeader(310, command.extFields);
  assert.ok(generic.ok);
  assert.deepEqual({ ...fast }, { ...generic.header });
  assert.deepEqual(command.extFields, JSON.parse(`{${FULL}}`));
  assert.deepEqual([command.code, command.opaque, command.language, command.version], [
    310,
    42,
    "JAVA",
    453,
  ]);
  assert.deepEqual([...command.body!], [7, 8, 9]);
});

Deno.test("SEND_MESSAGE_V2 JSON header: unusual values take the generic path with its results", () => {
  const cases = [
    FULL.replace('"e":"3"', '"e":"03"'), // leading zero
    FULL.replace('"e":"3"', '"e":"x"'), // not a number: the generic error
    FULL.replace('"a":"PG",', ""), // missing required field
    FULL + ',"z":"extra"', // unknown key
    FULL.replace("tagA", "tägA"), // non-ASCII
    FULL.replace('"k":"false"', '"k":"FALSE"'),
  ];
  for (const ext of cases) {
    const command = decodeCommand(frame(javaHeader(ext)));
    assert.equal(fastSendV2Header(command), undefined, ext);
    assert.deepEqual(command.extFields, JSON.parse(`{${ext}}`), ext);
  }
});

Deno.test("SEND_MESSAGE_V2 JSON header: replacing extFields drops the typed header", () => {
  const command = decodeCommand(frame(javaHeader(FULL)));
  command.extFields = { a: "other" };
  assert.equal(fastSendV2Header(command), undefined);
  assert.deepEqual(command.extFields, { a: "other" });
});
