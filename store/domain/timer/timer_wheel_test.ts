import assert from "node:assert/strict";
import { MemoryFileSystem } from "../../infra/memory_segment.ts";
import { AssertionError } from "../assert.ts";
import { TIMER_LOG_ENTRY_BYTES, TIMER_LOG_PATH, TimerLog } from "./timer_log.ts";
import { timerSnapshotPath, TimerWheel } from "./timer_wheel.ts";

const SEGMENT_BYTES = 8 * TIMER_LOG_ENTRY_BYTES;

function build(fs = new MemoryFileSystem(), slotCount = 16, precisionMs = 100): TimerWheel {
  return new TimerWheel(new TimerLog(fs.segments(TIMER_LOG_PATH), SEGMENT_BYTES), fs, {
    slotCount,
    precisionMs,
  });
}

function drainTick(wheel: TimerWheel): number[] {
  const offsets: number[] = [];
  const tick = wheel.nextTick;
  for (;;) {
    const entries = wheel.readSlot(tick, 3);
    if (entries.length === 0) break;
    for (const entry of entries) {
      offsets.push(entry.commitLogOffset);
      wheel.consume(tick, entry);
    }
  }
  wheel.finishTick();
  return offsets;
}

Deno.test("TimerWheel.insert() links timers of one tick into one slot, walked newest first", () => {
  const wheel = build();
  wheel.reset(10);
  wheel.insert(1_050, 1, 10);
  wheel.insert(1_099, 2, 10);
  wheel.insert(1_100, 3, 10); // next tick
  assert.equal(wheel.pendingCount, 3);
  assert.deepEqual(drainTick(wheel), [2, 1]);
  assert.deepEqual(drainTick(wheel), [3]);
  assert.equal(wheel.pendingCount, 0);
  assert.equal(wheel.nextTick, 12);
  wheel.close();
});

Deno.test("TimerWheel.slotDueMs() is the last millisecond of the tick, so nothing is early", () => {
  const wheel = build();
  assert.equal(wheel.tickOf(1_099), 10);
  assert.equal(wheel.slotDueMs(10), 1_099);
  wheel.close();
});

Deno.test("TimerWheel.insert() links a late timer into the next tick and a far one as ROLL", () => {
  const wheel = build(new MemoryFileSystem(), 16, 100);
  wheel.reset(10);
  const late = wheel.insert(500, 1, 10);
  assert.deepEqual([late.slotTick, late.roll], [10, false]);
  const edge = wheel.insert(2_599, 2, 10); // tick 25 = 10 + 16 - 1
  assert.deepEqual([edge.slotTick, edge.roll], [25, false]);
  const far = wheel.insert(2_600, 3, 10); // tick 26: beyond the window
  assert.deepEqual([far.slotTick, far.roll], [25, true]);
  wheel.close();
});

Deno.test("TimerWheel memory does not grow with the number of pending timers", () => {
  const wheel = build(new MemoryFileSystem(), 64, 100);
  wheel.reset(0);
  const before = wheel.slotMemoryBytes;
  for (let i = 0; i < 5_000; i++) wheel.insert(i % 6_400, i, 10);
  assert.equal(wheel.pendingCount, 5_000);
  assert.equal(wheel.slotMemoryBytes, before);
  assert.equal(before, 64 * 20);
  wheel.close();
});

Deno.test("TimerWheel snapshot restores pending slots and a half-consumed slot resumes", () => {
  const fs = new MemoryFileSystem();
  const wheel = build(fs);
  wheel.reset(10);
  for (let i = 0; i < 5; i++) wheel.insert(1_000 + i, i, 10);
  wheel.insert(1_500, 99, 10);
  const [head] = wheel.readSlot(10, 1);
  wheel.consume(10, head);
  const length = wheel.saveSnapshot(1);
  // Entries after the snapshot are cut on load.
  wheel.insert(1_600, 100, 10);
  wheel.log.flush();
  wheel.close();

  const restored = build(fs);
  const loaded = restored.load(1, 10);
  assert.deepEqual(loaded, { status: "OK", pendingCount: 5, logLength: length });
  assert.deepEqual(drainTick(restored), [3, 2, 1, 0]);
  for (let t = 11; t < 15; t++) assert.deepEqual(drainTick(restored), []);
  assert.deepEqual(drainTick(restored), [99]);
  assert.equal(restored.pendingCount, 0);
  restored.close();
});

Deno.test("TimerWheel.load() reports a torn, missing or differently shaped snapshot as BROKEN", () => {
  const fs = new MemoryFileSystem();
  const wheel = build(fs);
  wheel.reset(0);
  wheel.insert(50, 1, 10);
  wheel.saveSnapshot(2);
  wheel.close();
  assert.equal(build(fs).load(3, 0).status, "BROKEN"); // missing (timerwheel.1)
  assert.equal(build(fs, 32).load(2, 0).status, "BROKEN"); // other geometry
  const file = fs.files.get(timerSnapshotPath(2))!;
  file.bytes = file.bytes.subarray(0, file.bytes.length - 1);
  assert.equal(build(fs).load(2, 0).status, "BROKEN"); // torn
  file.bytes = new Uint8Array([...file.bytes, 0]);
  file.bytes[50] ^= 0xff;
  const broken = build(fs).load(2, 0);
  assert.deepEqual(broken, { status: "BROKEN", reason: "snapshot crc mismatch" });
});

Deno.test("TimerWheel.deleteProcessedLog() deletes only segments whose ticks are all processed", () => {
  const fs = new MemoryFileSystem();
  const wheel = build(fs, 64, 100);
  wheel.reset(0);
  // 8 entries per segment: segment 0 ticks 0..7, segment 1 ticks 8..15, segment 2 tick 20.
  for (let i = 0; i < 16; i++) wheel.insert(i * 100, i, 10);
  wheel.insert(2_000, 16, 10);
  for (let t = 0; t < 8; t++) drainTick(wheel);
  wheel.saveSnapshot(1);
  assert.equal(wheel.deleteProcessedLog(wheel.nextTick), 1);
  assert.equal(wheel.log.minPos, SEGMENT_BYTES);
  assert.equal(wheel.deleteProcessedLog(wheel.nextTick), 0);
  for (let t = 8; t < 16; t++) assert.equal(drainTick(wheel).length, 1);
  assert.equal(wheel.deleteProcessedLog(wheel.nextTick), 1);
  assert.equal(wheel.pendingCount, 1);
  wheel.close();
});

Deno.test("TimerWheel.skipTo() refuses to skip pending timers", () => {
  const wheel = build();
  wheel.reset(0);
  wheel.skipTo(5);
  assert.equal(wheel.nextTick, 5);
  wheel.insert(600, 1, 10);
  assert.throws(() => wheel.skipTo(9), AssertionError);
  wheel.close();
});

Deno.test("TimerWheel.readSlot() with a stop position returns only entries linked since", () => {
  const wheel = build();
  wheel.reset(10);
  wheel.insert(1_010, 1, 10);
  wheel.insert(1_020, 2, 10);
  const seen = wheel.readSlot(10, 100);
  assert.deepEqual(seen.map((e) => e.commitLogOffset), [2, 1]);
  wheel.insert(1_030, 3, 10);
  wheel.insert(1_040, 4, 10);
  assert.deepEqual(
    wheel.readSlot(10, 100, seen[0].pos).map((e) => e.commitLogOffset),
    [4, 3],
  );
  assert.equal(wheel.slotPending(10), true);
  assert.equal(wheel.slotPending(11), false);
  assert.equal(wheel.tickStartMs(10), 1_000);
  wheel.close();
});
