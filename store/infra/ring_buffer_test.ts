import assert from "node:assert/strict";
import {
  RING_CONTROL_BYTES,
  RING_RECORD_HEADER_BYTES,
  RingBuffer,
  RingConsumer,
  RingProducer,
} from "./ring_buffer.ts";

function payload(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (seed + i * 31) & 0xff;
  return bytes;
}

function readAll(consumer: RingConsumer): Uint8Array[] {
  const out: Uint8Array[] = [];
  consumer.drain((data, at, length) => out.push(data.slice(at, at + length)));
  return out;
}

Deno.test("RingBuffer.allocate() rejects a capacity that is not a power of two", () => {
  assert.throws(() => RingBuffer.allocate(1000), RangeError);
  assert.throws(() => RingBuffer.allocate(32), RangeError);
  const ring = RingBuffer.allocate(1024);
  assert.equal(ring.buffer.byteLength, RING_CONTROL_BYTES + 1024);
  assert.equal(ring.recordBytesMax, 512 - RING_RECORD_HEADER_BYTES);
});

Deno.test("RingBuffer.capacityFor() makes room for two largest records", () => {
  const capacity = RingBuffer.capacityFor(1000, 64);
  assert.equal(capacity, 2048);
  assert.ok(RingBuffer.allocate(capacity).recordBytesMax >= 1000);
});

Deno.test("RingProducer.tryReserve() rejects an oversize record with RangeError", () => {
  const producer = new RingProducer(RingBuffer.allocate(256));
  assert.throws(() => producer.tryReserve(125), RangeError);
  assert.throws(() => producer.tryPush(new Uint8Array(200)), {
    name: "RangeError",
    message: "Cannot write ring record: payload is 200 bytes, limit is 124",
  });
  assert.ok(producer.tryReserve(124) >= 0);
});

Deno.test("RingConsumer sees nothing until the producer publishes", () => {
  const ring = RingBuffer.allocate(256);
  const producer = new RingProducer(ring);
  const consumer = new RingConsumer(ring.buffer);
  assert.ok(producer.tryPush(payload(10, 1)));
  assert.equal(consumer.next(), -1);
  assert.equal(consumer.hasData(), false);
  producer.publish();
  assert.deepEqual(readAll(consumer), [payload(10, 1)]);
  assert.equal(ring.usedBytes(), 0);
});

Deno.test("RingProducer tells a full ring from an empty one", () => {
  const ring = RingBuffer.allocate(64);
  const producer = new RingProducer(ring);
  const consumer = new RingConsumer(ring);
  assert.equal(ring.usedBytes(), 0);
  // Four records of 12 payload bytes take 16 bytes each: exactly 64.
  for (let i = 0; i < 4; i++) assert.ok(producer.tryPush(payload(12, i)));
  assert.equal(producer.tryPush(payload(0, 9)), false);
  producer.publish();
  assert.equal(ring.usedBytes(), 64);
  assert.equal(producer.hasRoomFor(0), false);
  const got = readAll(consumer);
  assert.equal(got.length, 4);
  assert.deepEqual(got[3], payload(12, 3));
  assert.equal(ring.usedBytes(), 0);
  assert.equal(producer.hasRoomFor(28), true);
});

Deno.test("RingProducer records that exactly fill the ring are all delivered, repeatedly", () => {
  const ring = RingBuffer.allocate(128);
  const producer = new RingProducer(ring);
  const consumer = new RingConsumer(ring);
  for (let round = 0; round < 5; round++) {
    // 60 + 4 = 64 bytes twice: exactly the capacity.
    assert.ok(producer.tryPush(payload(60, round)));
    assert.ok(producer.tryPush(payload(60, round + 100)));
    assert.equal(producer.tryPush(payload(0, 0)), false);
    producer.publish();
    assert.deepEqual(readAll(consumer), [payload(60, round), payload(60, round + 100)]);
  }
});

Deno.test("RingProducer wraps a record that does not fit before the end of the data region", () => {
  const ring = RingBuffer.allocate(256);
  const producer = new RingProducer(ring);
  const consumer = new RingConsumer(ring);
  assert.ok(producer.tryPush(payload(120, 1))); // 124 bytes
  assert.ok(producer.tryPush(payload(76, 1))); // 80 bytes, head at 204
  producer.publish();
  assert.deepEqual(readAll(consumer), [payload(120, 1), payload(76, 1)]);
  // 52 bytes remain before the end; a 60-byte record (64) must wrap to index 0.
  const at = producer.tryReserve(60);
  assert.equal(at, RING_RECORD_HEADER_BYTES);
  producer.data.set(payload(60, 2), at);
  // The wrap gap (52) + 64 = 116 of 256 in use: 140 bytes are left.
  assert.ok(producer.tryPush(payload(120, 3))); // 124 bytes, 16 left
  assert.equal(producer.tryPush(payload(13, 4)), false); // 20 bytes with padding
  assert.ok(producer.tryPush(payload(12, 4))); // 16 bytes: exactly full
  producer.publish();
  assert.equal(ring.usedBytes(), 256);
  assert.deepEqual(readAll(consumer), [payload(60, 2), payload(120, 3), payload(12, 4)]);
});

Deno.test("RingProducer sizes odd payloads with padding and keeps alignment across wraps", () => {
  const ring = RingBuffer.allocate(256);
  const producer = new RingProducer(ring);
  const consumer = new RingConsumer(ring);
  const expected: Uint8Array[] = [];
  const received: Uint8Array[] = [];
  let seed = 7;
  for (let i = 0; i < 2000; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const p = payload(seed % 125, i);
    while (!producer.tryPush(p)) {
      producer.publish();
      received.push(...readAll(consumer));
    }
    expected.push(p);
    if (seed % 3 === 0) producer.publish();
  }
  producer.publish();
  received.push(...readAll(consumer));
  assert.deepEqual(received, expected);
});

Deno.test("RingConsumer.waitForData() returns timed-out on an empty ring and ready after publish", async () => {
  const ring = RingBuffer.allocate(256);
  const producer = new RingProducer(ring);
  const consumer = new RingConsumer(ring);
  assert.equal(consumer.waitForData(1), "timed-out");
  assert.equal(await consumer.waitForDataAsync(1), "timed-out");
  const waiting = consumer.waitForDataAsync(5000);
  producer.tryPush(payload(3, 3));
  producer.publish();
  assert.equal(await waiting, "ready");
  assert.deepEqual(readAll(consumer), [payload(3, 3)]);
});

Deno.test("RingProducer.waitForRoomAsync() resolves once the consumer releases", async () => {
  const ring = RingBuffer.allocate(64);
  const producer = new RingProducer(ring);
  const consumer = new RingConsumer(ring);
  assert.ok(producer.tryPush(payload(28, 1)));
  assert.ok(producer.tryPush(payload(28, 2)));
  producer.publish();
  assert.equal(producer.waitForRoom(28, 1), "timed-out");
  const waiting = producer.waitForRoomAsync(28, 5000);
  assert.notEqual(consumer.next(), -1);
  consumer.release();
  assert.equal(await waiting, "ready");
  assert.ok(producer.tryPush(payload(28, 3)));
});

Deno.test("RingBuffer keeps working when its uint32 positions wrap past 2^32", () => {
  const ring = RingBuffer.allocate(256);
  // Start both positions 40 bytes before 2^32 (as after 4 GiB of traffic).
  Atomics.store(ring.control, 0, -40);
  Atomics.store(ring.control, 16, -40);
  const producer = new RingProducer(ring);
  const consumer = new RingConsumer(ring);
  const expected: Uint8Array[] = [];
  const received: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) {
    const p = payload(1 + ((i * 37) % 100), i);
    expected.push(p);
    assert.ok(producer.tryPush(p));
    producer.publish();
    received.push(...readAll(consumer));
  }
  assert.deepEqual(received, expected);
  assert.equal(ring.usedBytes(), 0);
});
