import assert from "node:assert/strict";
import type { TopicConfig } from "./heartbeat.ts";
import { deflateSync } from "node:zlib";
import {
  bodyCrc32,
  decodeRegisterBrokerBody,
  encodeRegisterBrokerBody,
  type RegisterBrokerBody,
} from "./register_broker_body.ts";

function sample(topics: number): RegisterBrokerBody {
  const topicConfigTable: Record<string, TopicConfig> = {};
  for (let i = 0; i < topics; i++) {
    topicConfigTable[`T${i}`] = {
      topicName: `T${i}`,
      readQueueNums: 4,
      writeQueueNums: 4,
      perm: 6,
      topicFilterType: "SINGLE_TAG",
      topicSysFlag: 0,
      order: false,
      attributes: i === 0 ? { "+message.type": "FIFO" } : {},
    };
  }
  return {
    topicConfigTable,
    dataVersion: { stateVersion: 0, timestamp: 1_700_000_000_000, counter: 7 },
    filterServerList: [],
  };
}

Deno.test("RegisterBrokerBody round-trips in the JSON and the compressed form", () => {
  for (const compressed of [false, true]) {
    const body = sample(50);
    const decoded = decodeRegisterBrokerBody(
      encodeRegisterBrokerBody(body, compressed),
      compressed,
    );
    assert.ok(decoded.ok, decoded.ok ? "" : decoded.error);
    assert.deepEqual(decoded.value.dataVersion, body.dataVersion);
    assert.deepEqual(
      Object.keys(decoded.value.topicConfigTable).sort(),
      Object.keys(body.topicConfigTable).sort(),
    );
    assert.deepEqual(decoded.value.topicConfigTable.T0.attributes, { "+message.type": "FIFO" });
    assert.equal(decoded.value.topicConfigTable.T3.writeQueueNums, 4);
  }
});

Deno.test("The compressed form of 10,000 topics is much smaller than the JSON form", () => {
  const body = sample(10_000);
  const json = encodeRegisterBrokerBody(body, false);
  const packed = encodeRegisterBrokerBody(body, true);
  assert.ok(packed.length * 5 < json.length, `${packed.length} vs ${json.length}`);
  const decoded = decodeRegisterBrokerBody(packed, true);
  assert.ok(decoded.ok);
  assert.equal(Object.keys(decoded.value.topicConfigTable).length, 10_000);
});

Deno.test("decodeRegisterBrokerBody() refuses empty, truncated, corrupt and malformed bodies with a reason", () => {
  const packed = encodeRegisterBrokerBody(sample(3), true);
  const cases: Array<[Uint8Array | undefined, boolean, RegExp]> = [
    [undefined, false, /empty/],
    [new Uint8Array(0), true, /empty/],
    [packed.subarray(0, packed.length - 5), true, /inflate|truncated/],
    [new Uint8Array([1, 2, 3, 4]), true, /inflate/],
    [new TextEncoder().encode("{"), false, /JSON/],
    [new TextEncoder().encode("{}"), false, /topicConfigSerializeWrapper/],
    [
      new TextEncoder().encode(
        '{"topicConfigSerializeWrapper":{"dataVersion":{"timestamp":1,"counter":1},"topicConfigTable":{"T":{"readQueueNums":"x"}}}}',
      ),
      false,
      /readQueueNums/,
    ],
    // A stream that inflates fine but ends inside the topic list.
    [new Uint8Array(deflateSync(new Uint8Array([0, 0, 0, 2, 0x7b, 0x7d]))), true, /dataVersion/],
    [new Uint8Array(deflateSync(new Uint8Array([0, 0, 0, 0x40]))), true, /truncated/],
  ];
  for (const [bytes, compressed, reason] of cases) {
    const decoded = decodeRegisterBrokerBody(bytes, compressed);
    assert.equal(decoded.ok, false);
    assert.match(decoded.ok ? "" : decoded.error, reason);
  }
});

Deno.test("bodyCrc32() is non-negative and changes with the body", () => {
  const a = bodyCrc32(new TextEncoder().encode("abc"));
  const b = bodyCrc32(new TextEncoder().encode("abd"));
  assert.ok(a >= 0 && b >= 0);
  assert.notEqual(a, b);
});
