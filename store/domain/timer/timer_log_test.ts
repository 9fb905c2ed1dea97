import assert from "node:assert/strict";
import { MemoryFileSystem } from "../../infra/memory_segment.ts";
import { AssertionError } from "../assert.ts";
import { TIMER_LOG_ENTRY_BYTES, TIMER_LOG_PATH, TimerLog } from "./timer_log.ts";

const SEGMENT_BYTES = 8 * TIMER_LOG_ENTRY_BYTES;

Deno.test("TimerLog.append() entries read back, across segments, pending or committed", () => {
  const fs = new MemoryFileSystem();
  const log = new TimerLog(fs.segments(TIMER_LOG_PATH), SEGMENT_BYTES);
  log.load(0);
  const positions: number[] = [];
  for (let i = 0; i < 20; i++) {
    positions.push(log.append({
      deliverMs: 1000 + i,
      commitLogOffset: i * 100,
      size: 90,
      prevPos: i === 0 ? -1 : positions[i - 1],
      slotTick: 10 + i,
      roll: i % 2 === 1,
    }));
  }
  assert.equal(log.length, 20 * TIMER_LOG_ENTRY_BYTES);
  const entry = log.read(positions[13])!;
  assert.deepEqual(entry, {
    pos: positions[13],
    deliverMs: 1013,
    commitLogOffset: 1300,
    size: 90,
    prevPos: positions[12],
    slotTick: 23,
    roll: true,
  });
  log.flush();
  assert.equal(log.segmentBases().length, 3);
  assert.equal(log.read(positions[2])!.commitLogOffset, 200);
  assert.equal(log.read(log.length), undefined);
  log.close();
});

Deno.test("TimerLog.load() cuts entries past the checkpointed length and zeroes the tail", () => {
  const fs = new MemoryFileSystem();
  const dir = fs.segments(TIMER_LOG_PATH);
  const log = new TimerLog(dir, SEGMENT_BYTES);
  log.load(0);
  for (let i = 0; i < 20; i++) {
    log.append({
      deliverMs: i,
      commitLogOffset: i,
      size: 1,
      prevPos: -1,
      slotTick: 0,
      roll: false,
    });
  }
  log.flush();
  log.close();
  const reopened = new TimerLog(dir, SEGMENT_BYTES);
  const cut = 10 * TIMER_LOG_ENTRY_BYTES;
  assert.deepEqual(reopened.load(cut), { minPos: 0, length: cut });
  assert.deepEqual(dir.list(), [0, SEGMENT_BYTES]);
  assert.equal(reopened.read(9 * TIMER_LOG_ENTRY_BYTES)!.commitLogOffset, 9);
  assert.equal(reopened.read(cut), undefined);
  // The next append overwrites the cut tail.
  const pos = reopened.append({
    deliverMs: 7,
    commitLogOffset: 77,
    size: 1,
    prevPos: -1,
    slotTick: 0,
    roll: false,
  });
  assert.equal(pos, cut);
  reopened.flush();
  assert.equal(reopened.read(cut)!.commitLogOffset, 77);
  reopened.close();
});

Deno.test("TimerLog.read() of a garbage position fails an assertion", () => {
  const fs = new MemoryFileSystem();
  const log = new TimerLog(fs.segments(TIMER_LOG_PATH), SEGMENT_BYTES);
  log.load(0);
  log.append({ deliverMs: 1, commitLogOffset: 1, size: 1, prevPos: -1, slotTick: 0, roll: false });
  log.flush();
  const file = [...fs.files.values()][0];
  file.bytes[36] = 0; // break the magic
  log.close();
  const reopened = new TimerLog(fs.segments(TIMER_LOG_PATH), SEGMENT_BYTES);
  reopened.load(TIMER_LOG_ENTRY_BYTES);
  assert.throws(() => reopened.read(0), AssertionError);
  reopened.close();
});

Deno.test("TimerLog.read() serves committed entries from its block cache and sees later commits", () => {
  const fs = new MemoryFileSystem();
  const log = new TimerLog(fs.segments(TIMER_LOG_PATH), 1000 * TIMER_LOG_ENTRY_BYTES);
  log.load(0);
  const entry = (i: number) => ({
    deliverMs: 5_000 + i,
    commitLogOffset: i * 10,
    size: 10,
    prevPos: -1,
    slotTick: 50,
    roll: false,
  });
  for (let i = 0; i < 50; i++) log.append(entry(i));
  log.commit();
  // Cache the first block while it is partly committed, then commit entries into and past it.
  assert.equal(log.read(0)!.commitLogOffset, 0);
  for (let i = 50; i < 600; i++) log.append(entry(i));
  log.commit();
  for (let i = 0; i < 600; i++) {
    assert.equal(log.read(i * TIMER_LOG_ENTRY_BYTES)!.commitLogOffset, i * 10, `entry ${i}`);
  }
  for (let i = 599; i >= 0; i -= 7) {
    assert.equal(log.read(i * TIMER_LOG_ENTRY_BYTES)!.deliverMs, 5_000 + i);
  }
  log.close();
});
