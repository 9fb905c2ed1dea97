/**
 * Corruption catalogue for the store's on-disk formats (CommitLog,
 * ConsumeQueue, checkpoint), on the in-memory file system so every byte can
 * be damaged precisely.
 *
 * Method: write messages with a small store assembled from the domain classes,
 * stop it cleanly or abandon it (crash), damage the files, reopen, and check
 * that recovery ends at the last good record, that every surviving message is
 * served, and that the next put continues the offsets.
 */

import assert from "node:assert/strict";
import { MemoryFileSystem } from "../infra/memory_segment.ts";
import { DomainStore, message } from "./_test_support.ts";
import { ABORT_PATH, CHECKPOINT_PATH } from "./checkpoint.ts";
import { consumeQueuePath } from "./consume_queue.ts";
import { segmentFileName } from "./segment.ts";

const SEGMENT = 4096;

type Stop = "clean" | "crash";

function commitLogFile(fs: MemoryFileSystem, offset: number) {
  const base = offset - (offset % SEGMENT);
  const file = fs.files.get(`commitlog/${segmentFileName(base)}`);
  assert.ok(file, `segment ${base} exists`);
  return { file, position: offset - base };
}

/** Write `count` messages of ~200 bytes to T/0; returns their CommitLog offsets. */
function fillStore(store: DomainStore, count: number): number[] {
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) {
    offsets.push(store.put(message("T", 0, `m${i}-${"x".repeat(100)}`)));
  }
  return offsets;
}

function stop(store: DomainStore, how: Stop): void {
  if (how === "clean") store.close();
  else store.abandon();
}

function expected(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `m${i}-${"x".repeat(100)}`);
}

function assertServesAndContinues(fs: MemoryFileSystem, survivors: number): DomainStore {
  const store = new DomainStore(fs, SEGMENT);
  assert.deepEqual(store.bodies("T", 0), expected(survivors));
  assert.equal(store.queues.get("T", 0)?.maxOffset ?? 0, survivors);
  const next = store.put(message("T", 0, "after"));
  const looked = store.reader.lookMessageByOffset(next);
  assert.ok(looked);
  assert.equal(looked.queueOffset, survivors, "the next put continues the QueueOffsets");
  assert.deepEqual(store.bodies("T", 0), [...expected(survivors), "after"]);
  return store;
}

for (const how of ["clean", "crash"] as const) {
  Deno.test(`Recovery (${how} stop): an intact store reopens with every message`, () => {
    const fs = new MemoryFileSystem();
    const store = new DomainStore(fs, SEGMENT);
    fillStore(store, 50);
    stop(store, how);
    const reopened = assertServesAndContinues(fs, 50);
    assert.equal(reopened.recovery.abnormal, how === "crash");
    assert.equal(reopened.recovery.rebuiltQueues.length, 0);
  });

  Deno.test(`Recovery (${how} stop): an empty CommitLog segment file cuts the log at its base`, () => {
    const fs = new MemoryFileSystem();
    const store = new DomainStore(fs, SEGMENT);
    const offsets = fillStore(store, 50);
    stop(store, how);
    const lastBase = offsets[49] - (offsets[49] % SEGMENT);
    commitLogFile(fs, lastBase).file.bytes = new Uint8Array(0);
    const survivors = offsets.filter((o) => o < lastBase).length;
    const reopened = assertServesAndContinues(fs, survivors);
    assert.equal(reopened.recovery.commitLog.endOffset, lastBase);
  });

  Deno.test(`Recovery (${how} stop): a torn final record is cut`, () => {
    const fs = new MemoryFileSystem();
    const store = new DomainStore(fs, SEGMENT);
    const offsets = fillStore(store, 30);
    const end = store.commitLog.writtenOffset;
    stop(store, how);
    const { file, position } = commitLogFile(fs, offsets[29]);
    const size = end - offsets[29];
    file.bytes.fill(0, position + Math.floor(size / 2), position + size);
    assertServesAndContinues(fs, 29);
  });

  Deno.test(`Recovery (${how} stop): a final record with a bad length is cut`, () => {
    const fs = new MemoryFileSystem();
    const store = new DomainStore(fs, SEGMENT);
    const offsets = fillStore(store, 30);
    stop(store, how);
    const { file, position } = commitLogFile(fs, offsets[29]);
    new DataView(file.bytes.buffer).setInt32(position, 17);
    assertServesAndContinues(fs, 29);
  });

  Deno.test(`Recovery (${how} stop): a final record with a bad body CRC is cut`, () => {
    const fs = new MemoryFileSystem();
    const store = new DomainStore(fs, SEGMENT);
    const offsets = fillStore(store, 30);
    stop(store, how);
    const { file, position } = commitLogFile(fs, offsets[29]);
    file.bytes[position + 90] ^= 0x55; // a body byte
    assertServesAndContinues(fs, 29);
  });

  Deno.test(`Recovery (${how} stop): a record exactly at a segment base is cut with its segment`, () => {
    const fs = new MemoryFileSystem();
    const store = new DomainStore(fs, SEGMENT);
    const offsets = fillStore(store, 60);
    const atBase = offsets.findLastIndex((o) => o % SEGMENT === 0);
    assert.ok(atBase > 0);
    stop(store, how);
    const { file, position } = commitLogFile(fs, offsets[atBase]);
    assert.equal(position, 0);
    file.bytes[4] ^= 0xff; // magic
    const reopened = assertServesAndContinues(fs, atBase);
    assert.equal(reopened.recovery.commitLog.endOffset, offsets[atBase]);
  });

  Deno.test(`Recovery (${how} stop): a missing ConsumeQueue segment is rebuilt from the CommitLog`, () => {
    const fs = new MemoryFileSystem();
    const store = new DomainStore(fs, SEGMENT);
    fillStore(store, 30); // 30 units over 8-unit segments: 4 segments
    stop(store, how);
    fs.segments(consumeQueuePath("T", 0)).delete(8 * 20);
    const reopened = assertServesAndContinues(fs, 30);
    assert.deepEqual(reopened.recovery.rebuiltQueues.map((q) => q.topic), ["T"]);
  });

  Deno.test(`Recovery (${how} stop): a missing or corrupt checkpoint makes recovery rescan everything`, () => {
    for (const damage of ["missing", "corrupt"]) {
      const fs = new MemoryFileSystem();
      const store = new DomainStore(fs, SEGMENT);
      fillStore(store, 40);
      stop(store, how);
      if (damage === "missing") fs.removeFile(CHECKPOINT_PATH);
      else fs.files.get(CHECKPOINT_PATH)!.bytes[3] ^= 1;
      const reopened = assertServesAndContinues(fs, 40);
      assert.equal(reopened.recovery.checkpoint, undefined);
      assert.equal(reopened.recovery.redispatchedFromOffset, 0);
    }
  });
}

Deno.test("Recovery after power loss keeps exactly the flushed records (zero-filled tail)", () => {
  const fs = new MemoryFileSystem();
  const store = new DomainStore(fs, SEGMENT);
  fillStore(store, 20);
  for (let i = 20; i < 30; i++) store.put(message("T", 0, `m${i}-${"x".repeat(100)}`), false);
  store.abandon();
  fs.crash();
  assert.ok(fs.exists(ABORT_PATH));
  const reopened = assertServesAndContinues(fs, 20);
  assert.equal(reopened.recovery.abnormal, true);
});

Deno.test("Recovery after power loss rebuilds ConsumeQueue units that were never flushed", () => {
  const fs = new MemoryFileSystem();
  const store = new DomainStore(fs, SEGMENT);
  fillStore(store, 25); // CommitLog flushed per put; ConsumeQueues never flushed
  store.abandon();
  fs.crash();
  const reopened = assertServesAndContinues(fs, 25);
  assert.ok(reopened.recovery.redispatchedRecords >= 25);
});

Deno.test("Recovery truncates a torn ConsumeQueue unit and re-dispatches it", () => {
  const fs = new MemoryFileSystem();
  const store = new DomainStore(fs, SEGMENT);
  fillStore(store, 12);
  store.close();
  fs.writeFile(ABORT_PATH, new Uint8Array(0)); // as if the stop had crashed
  const cq = fs.files.get(`${consumeQueuePath("T", 0)}/${segmentFileName(8 * 20)}`)!;
  cq.bytes.fill(0, 3 * 20 + 8, 3 * 20 + 12); // size field of unit 11
  assertServesAndContinues(fs, 12);
});
