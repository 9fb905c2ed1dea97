import assert from "node:assert/strict";
import { MemoryFileSystem } from "../infra/memory_segment.ts";
import { ConsumeQueue, consumeQueuePath, CQ_UNIT_BYTES, DUMMY_UNIT_SIZE } from "./consume_queue.ts";
import { AssertionError } from "./assert.ts";

function open(fs: MemoryFileSystem, writable = true, units = 4): ConsumeQueue {
  const queue = new ConsumeQueue(fs.segments(consumeQueuePath("T", 0)), "T", 0, units, writable);
  assert.equal(queue.load().status, "OK");
  return queue;
}

function fill(queue: ConsumeQueue, count: number, from = 0): void {
  for (let i = from; i < from + count; i++) queue.append(i, i * 100, 100, i);
}

Deno.test("ConsumeQueue.append() skips units already built (idempotent replay)", () => {
  const fs = new MemoryFileSystem();
  const queue = open(fs);
  fill(queue, 5);
  assert.equal(queue.maxOffset, 5);
  assert.equal(queue.maxPhysicalOffset, 500);
  const replay = queue.append(2, 200, 100, 2);
  assert.equal(replay.status, "SKIPPED");
  const again = queue.append(4, 400, 100, 4);
  assert.equal(again.status, "SKIPPED");
  assert.equal(queue.maxOffset, 5);
  assert.equal(queue.append(5, 500, 100, 5).status, "APPENDED");
});

Deno.test("ConsumeQueue rolls segments named by byte offset and reads across them", () => {
  const fs = new MemoryFileSystem();
  const queue = open(fs);
  fill(queue, 10);
  queue.commit();
  assert.deepEqual(fs.segments(consumeQueuePath("T", 0)).list(), [0, 80, 160]);
  const units = queue.readUnits(2, 7);
  assert.deepEqual(units.map((u) => u.queueOffset), [2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(units.map((u) => u.commitLogOffset), [200, 300, 400, 500, 600, 700, 800]);
  assert.equal(units[3].tagsCode, 5);
});

Deno.test("ConsumeQueue.load() recovers min, max and max physical offset from disk", () => {
  const fs = new MemoryFileSystem();
  const writer = open(fs);
  fill(writer, 6);
  writer.flush();
  writer.close();
  const reopened = open(fs);
  assert.equal(reopened.minOffset, 0);
  assert.equal(reopened.maxOffset, 6);
  assert.equal(reopened.maxPhysicalOffset, 600);
});

Deno.test("ConsumeQueue.load() reports BROKEN when a middle segment is missing", () => {
  const fs = new MemoryFileSystem();
  const writer = open(fs);
  fill(writer, 10);
  writer.flush();
  fs.segments(consumeQueuePath("T", 0)).delete(80);
  const queue = new ConsumeQueue(fs.segments(consumeQueuePath("T", 0)), "T", 0, 4, true);
  assert.equal(queue.load().status, "BROKEN");
});

Deno.test("ConsumeQueue reader sees units after the writer commits and tells it the max", () => {
  const fs = new MemoryFileSystem();
  const writer = open(fs);
  const reader = open(fs, false);
  fill(writer, 3);
  assert.equal(reader.readUnits(0, 3).length, 0, "nothing committed yet");
  writer.commit();
  reader.observeMaxOffset(writer.maxOffset);
  assert.deepEqual(reader.readUnits(0, 10).map((u) => u.queueOffset), [0, 1, 2]);
  assert.throws(() => reader.append(3, 300, 100, 0), AssertionError);
});

Deno.test("ConsumeQueue.truncateAfterPhysical() drops units pointing past the CommitLog end", () => {
  const fs = new MemoryFileSystem();
  const queue = open(fs);
  fill(queue, 10);
  assert.equal(queue.truncateAfterPhysical(550), 5);
  assert.equal(queue.maxPhysicalOffset, 500);
  queue.flush();
  assert.deepEqual(fs.segments(consumeQueuePath("T", 0)).list(), [0, 80]);
  const reopened = open(fs);
  assert.equal(reopened.maxOffset, 5);
  assert.equal(queue.append(5, 500, 100, 0).status, "APPENDED");
});

Deno.test("ConsumeQueue starts at the first record's QueueOffset when created empty", () => {
  const fs = new MemoryFileSystem();
  const queue = open(fs);
  fill(queue, 3, 9);
  assert.equal(queue.minOffset, 9);
  assert.equal(queue.maxOffset, 12);
  queue.flush();
  const reopened = open(fs);
  assert.equal(reopened.minOffset, 9);
  assert.equal(reopened.maxOffset, 12);
});

Deno.test("ConsumeQueue fills a hole with filler units that readers can skip", () => {
  const fs = new MemoryFileSystem();
  const queue = open(fs);
  fill(queue, 2);
  queue.append(4, 1000, 100, 0);
  const units = queue.readUnits(0, 10);
  assert.deepEqual(units.map((u) => u.size), [100, 100, DUMMY_UNIT_SIZE, DUMMY_UNIT_SIZE, 100]);
});

Deno.test("ConsumeQueue.correctMinOffset() and deleteExpired() follow the CommitLog min offset", () => {
  const fs = new MemoryFileSystem();
  const queue = open(fs);
  fill(queue, 10);
  assert.equal(queue.correctMinOffset(450), 5);
  assert.equal(queue.deleteExpired(450), 1, "only segment 0 lies wholly below unit 5");
  assert.deepEqual(fs.segments(consumeQueuePath("T", 0)).list(), [80, 160]);
  const reopened = open(fs);
  assert.equal(reopened.minOffset, 4);
  assert.equal(reopened.correctMinOffset(450), 5);
});

Deno.test("ConsumeQueue.getOffsetByTime() binary-searches store timestamps", () => {
  const fs = new MemoryFileSystem();
  const queue = open(fs);
  fill(queue, 10);
  const time = (offset: number) => 1000 + (offset / 100) * 10; // record i stored at 1000 + 10i
  assert.equal(queue.getOffsetByTime(0, time), 0);
  assert.equal(queue.getOffsetByTime(1035, time), 4);
  assert.equal(queue.getOffsetByTime(1040, time), 4);
  assert.equal(queue.getOffsetByTime(5000, time), 10);
  assert.equal(CQ_UNIT_BYTES, 20);
});
