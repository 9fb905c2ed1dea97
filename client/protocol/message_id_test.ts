import assert from "node:assert/strict";
import { createOffsetMessageId, decodeOffsetMessageId, UniqueIdGenerator } from "./message_id.ts";

const LOCALHOST = new Uint8Array([127, 0, 0, 1]);

Deno.test("createOffsetMessageId() lays out IPv4 ip, port and offset as 32 uppercase hex chars", () => {
  const id = createOffsetMessageId({ ip: LOCALHOST, port: 10911 }, 4096);
  assert.equal(id, "7F00000100002A9F0000000000001000");
});

Deno.test("createOffsetMessageId() encodes offsets above 2^32 and IPv6 hosts (56 chars)", () => {
  const ip = new Uint8Array(16);
  ip[15] = 1;
  const offset = 2 ** 40 + 0xabcdef;
  const id = createOffsetMessageId({ ip, port: 8080 }, offset);
  assert.equal(id.length, 56);
  assert.equal(id, "00000000000000000000000000000001" + "00001F90" + "0000010000ABCDEF");
  const decoded = decodeOffsetMessageId(id);
  assert.deepEqual(decoded.ip, ip);
  assert.equal(decoded.port, 8080);
  assert.equal(decoded.commitLogOffset, offset);
});

Deno.test("decodeOffsetMessageId() round-trips createOffsetMessageId() and accepts lowercase", () => {
  for (const offset of [0, 1, 0xffff_ffff, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
    const id = createOffsetMessageId({ ip: new Uint8Array([10, 1, 2, 254]), port: 65535 }, offset);
    const decoded = decodeOffsetMessageId(id.toLowerCase());
    assert.deepEqual(decoded, {
      ip: new Uint8Array([10, 1, 2, 254]),
      port: 65535,
      commitLogOffset: offset,
    });
  }
});

Deno.test("decodeOffsetMessageId() throws TypeError on bad input", () => {
  const bad = [
    "",
    "7F000001",
    "7F00000100002A9F000000000000100", // 31 chars
    "7F00000100002A9F00000000000010000", // 33 chars
    "7F00000100002A9F00000000000010ZZ",
    "7F00000100002A9FFFFFFFFFFFFFFFFF", // negative / beyond 2^53
    " 7F00000100002A9F000000000000100",
  ];
  for (const id of bad) {
    assert.throws(() => decodeOffsetMessageId(id), TypeError, `should reject "${id}"`);
  }
  assert.throws(() => decodeOffsetMessageId(42 as unknown as string), TypeError);
});

Deno.test("createOffsetMessageId() rejects bad hosts and offsets", () => {
  assert.throws(() => createOffsetMessageId({ ip: new Uint8Array(5), port: 1 }, 0), TypeError);
  assert.throws(() => createOffsetMessageId({ ip: LOCALHOST, port: -1 }, 0), RangeError);
  assert.throws(() => createOffsetMessageId({ ip: LOCALHOST, port: 1 }, -1), RangeError);
  assert.throws(() => createOffsetMessageId({ ip: LOCALHOST, port: 1 }, 1.5), RangeError);
});

Deno.test("UniqueIdGenerator.next() lays out ip, pid, random, ms since month start and counter", () => {
  const now = new Date(2026, 10, 21, 9, 30, 0, 123).getTime(); // local time
  const monthStart = new Date(2026, 10, 1).getTime();
  const generator = new UniqueIdGenerator({
    ip: new Uint8Array([192, 168, 0, 7]),
    pid: 0x12345,
    random: 0x0badcafe,
    now: () => now,
  });
  const first = generator.next();
  const second = generator.next();
  assert.equal(first.length, 32);
  assert.match(first, /^[0-9A-F]{32}$/);
  assert.equal(first.slice(0, 8), "C0A80007");
  assert.equal(first.slice(8, 12), "2345");
  assert.equal(first.slice(12, 20), "0BADCAFE");
  assert.equal(parseInt(first.slice(20, 28), 16), now - monthStart);
  assert.equal(first.slice(28), "0000");
  assert.equal(second.slice(0, 28), first.slice(0, 28));
  assert.equal(second.slice(28), "0001");
});

Deno.test("UniqueIdGenerator.next() makes distinct ids and restarts the month window", () => {
  let now = new Date(2026, 0, 31, 23, 59, 59, 999).getTime();
  const generator = new UniqueIdGenerator({ now: () => now });
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) seen.add(generator.next());
  assert.equal(seen.size, 10_000);
  now = new Date(2026, 1, 1, 0, 0, 0, 5).getTime();
  const id = generator.next();
  assert.equal(parseInt(id.slice(20, 28), 16), 5);
});

Deno.test("UniqueIdGenerator instances keep separate state", () => {
  const a = new UniqueIdGenerator({ ip: LOCALHOST, pid: 1, random: 1, now: () => 0 });
  const b = new UniqueIdGenerator({ ip: LOCALHOST, pid: 1, random: 1, now: () => 0 });
  a.next();
  a.next();
  assert.equal(b.next().slice(28), "0000");
  assert.throws(() => new UniqueIdGenerator({ ip: new Uint8Array(16) }), TypeError);
});
