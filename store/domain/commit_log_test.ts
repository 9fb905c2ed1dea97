import assert from "node:assert/strict";
import {
  BLANK_MARKER_BYTES,
  decodeRecord,
  MAGIC_BLANK,
  MessageSysFlag,
} from "../../client/protocol/message_record.ts";
import { MemoryFileSystem } from "../infra/memory_segment.ts";
import { encode, ManualClock, message } from "./_test_support.ts";
import { AssertionError } from "./assert.ts";
import { CommitLog, CommitLogReader, RECOVERY_ZERO_RUN_BYTES } from "./commit_log.ts";
import { QueueOffsetTable } from "./queue_offset_table.ts";

function newLog(segmentBytes = 1024, writeBufferBytes = 256) {
  const fs = new MemoryFileSystem();
  const clock = new ManualClock();
  const table = new QueueOffsetTable();
  const dir = fs.segments("commitlog");
  const log = new CommitLog(dir, table, { segmentBytes, clock, writeBufferBytes });
  log.recover(0, true);
  return { fs, clock, table, dir, log };
}

Deno.test("CommitLog.append() patches QUEUEOFFSET, PHYSICALOFFSET and STORETIMESTAMP in place", () => {
  const { log, clock } = newLog();
  const first = encode(message("T", 0, "a"));
  const second = encode(message("T", 0, "b"));
  const a = log.append(first);
  clock.now += 5;
  const b = log.append(second);
  assert.equal(a.commitLogOffset, 0);
  assert.equal(b.commitLogOffset, first.length);
  assert.equal(b.queueOffset, 1);
  const decoded = decodeRecord(second);
  assert.equal(decoded.queueOffset, 1);
  assert.equal(decoded.commitLogOffset, first.length);
  assert.equal(decoded.storeTimestamp, clock.now);
  assert.equal(log.writtenOffset, first.length + second.length);
});

Deno.test("CommitLog.append() does not advance the queue for prepared and rollback records", () => {
  const { log, table } = newLog();
  const half = log.append(
    encode(message("T", 0, "h", {}, MessageSysFlag.TRANSACTION_PREPARED_TYPE)),
  );
  const rollback = log.append(
    encode(message("T", 0, "r", {}, MessageSysFlag.TRANSACTION_ROLLBACK_TYPE)),
  );
  const commit = log.append(
    encode(message("T", 0, "c", {}, MessageSysFlag.TRANSACTION_COMMIT_TYPE)),
  );
  assert.equal(half.queueOffset, 0);
  assert.equal(rollback.queueOffset, 0);
  assert.equal(commit.queueOffset, 0);
  assert.equal(table.next("T", 0), 1);
});

Deno.test("CommitLog.append() rolls to a new segment with a blank marker when the record does not fit", () => {
  const { log, dir } = newLog(512);
  const record = () => encode(message("T", 0, "x".repeat(100)));
  const size = record().length;
  const offsets: number[] = [];
  for (let i = 0; i < 5; i++) offsets.push(log.append(record()).commitLogOffset);
  log.flush();
  const perSegment = Math.floor((512 - BLANK_MARKER_BYTES) / size);
  assert.equal(offsets[perSegment], 512, "first record of the second segment starts at its base");
  const segments = Math.ceil(5 / perSegment);
  assert.deepEqual(dir.list(), Array.from({ length: segments }, (_, i) => i * 512));
  const marker = new Uint8Array(8);
  const used = perSegment * size;
  assert.equal(log.readAt(used, marker), 8);
  const view = new DataView(marker.buffer);
  assert.equal(view.getInt32(0), 512 - used);
  assert.equal(view.getInt32(4), MAGIC_BLANK);
});

Deno.test("CommitLog.appendBatch() lands the batch in one segment with consecutive QueueOffsets", () => {
  const { log } = newLog(1024);
  log.append(encode(message("T", 0, "y".repeat(600))));
  const batch = encode(message("T", 0, "a".repeat(150)), message("T", 0, "b".repeat(150)));
  const result = log.appendBatch(batch, 2);
  assert.equal(
    result.commitLogOffset,
    1024,
    "the batch did not fit after the first record, so it rolled",
  );
  assert.equal(result.queueOffset, 1);
  assert.equal(result.commitLogOffsets.length, 2);
  assert.equal(decodeRecord(batch, result.commitLogOffsets[1] - 1024).queueOffset, 2);
});

Deno.test("CommitLog.append() asserts the record's TOTALSIZE and magic", () => {
  const { log } = newLog();
  const record = encode(message("T", 0, "a"));
  assert.throws(() => log.append(record.subarray(0, record.length - 1)), AssertionError);
  const badMagic = record.slice();
  badMagic[4] = 0;
  assert.throws(() => log.append(badMagic), AssertionError);
  assert.throws(() => log.append(encode(message("T", 0, "z".repeat(2000)))), AssertionError);
});

Deno.test("CommitLogReader sees records once committed, not while buffered", () => {
  const { log, dir } = newLog(4096, 1024);
  const reader = new CommitLogReader(dir, 4096);
  const record = encode(message("T", 0, "visible"));
  log.append(record);
  const seen = new Uint8Array(record.length);
  reader.readAt(0, seen);
  assert.ok(seen.every((b) => b === 0), "buffered bytes are not in the file yet");
  log.commit();
  assert.equal(reader.readAt(0, seen), record.length);
  assert.deepEqual(seen, record);
  reader.close();
});

Deno.test("CommitLog.deleteExpired() deletes old segments but never the active one", () => {
  const { log, dir, fs } = newLog(512);
  for (let i = 0; i < 12; i++) log.append(encode(message("T", 0, "x".repeat(100))));
  log.flush();
  const before = dir.list();
  assert.ok(before.length >= 3);
  const future = fs.now() + 10_000;
  assert.deepEqual(log.deleteExpired(future, 1000, 1), [0], "at most one per round");
  const deleted = log.deleteExpired(future, 1000, 100);
  assert.deepEqual(dir.list(), [before[before.length - 1]], "the active segment stays");
  assert.equal(deleted.length, before.length - 2);
  assert.equal(log.minOffset, before[before.length - 1]);
  assert.deepEqual(log.deleteExpired(future, 1000, 100, true), []);
});

Deno.test("CommitLog.deleteExpired() keeps segments younger than the reserved time", () => {
  const { log, dir, fs } = newLog(512);
  for (let i = 0; i < 12; i++) log.append(encode(message("T", 0, "x".repeat(100))));
  log.flush();
  assert.deepEqual(log.deleteExpired(fs.now(), 60_000, 10), []);
  assert.ok(dir.list().length >= 3);
});

Deno.test("CommitLog.deleteExpired() never deletes a segment dispatch has not finished", () => {
  const { log, dir, fs } = newLog(512);
  for (let i = 0; i < 12; i++) log.append(encode(message("T", 0, "x".repeat(100))));
  log.flush();
  const before = dir.list();
  assert.ok(before.length >= 3);
  const future = fs.now() + 10_000;
  // Dispatch has reached the middle of the second segment: only the first may go, even when forced.
  const dispatched = before[1] + 10;
  assert.deepEqual(log.deleteExpired(future, 1000, 100, true, dispatched), [before[0]]);
  assert.deepEqual(dir.list(), before.slice(1));
  assert.deepEqual(log.deleteExpired(future, 1000, 100, true, dispatched), []);
});

Deno.test("CommitLog.recover() finds the end after a crash and cuts the unflushed tail", () => {
  const { log, fs, dir, table } = newLog(4096, 64);
  const sizes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = encode(message("T", 0, `flushed-${i}`));
    sizes.push(r.length);
    log.append(r);
  }
  log.flush();
  for (let i = 0; i < 3; i++) log.append(encode(message("T", 0, `lost-${i}`)));
  log.commit();
  fs.crash();
  log.close();
  const reopened = new CommitLog(dir, table, { segmentBytes: 4096, clock: new ManualClock() });
  const scan = reopened.recover(0, true);
  const end = sizes.reduce((a, b) => a + b, 0);
  assert.equal(scan.endOffset, end);
  assert.equal(scan.recordCount, 3);
  assert.equal(reopened.writtenOffset, end);
  assert.equal(reopened.flushedOffset, end);
});

Deno.test("CommitLog.recover() zeroes a torn tail and stops reading after a zero run longer than any write", () => {
  // Goal: recovery cuts what the last run wrote past the last valid record,
  // without reading the rest of a large segment. Method: garbage right after
  // the end (a torn write) and garbage far beyond a long zero run; count reads.
  const segmentBytes = RECOVERY_ZERO_RUN_BYTES * 4;
  const { log, fs, dir, table } = newLog(segmentBytes, 64 * 1024);
  for (let i = 0; i < 5; i++) log.append(encode(message("T", 0, `kept-${i}`)));
  log.flush();
  log.close();
  const end = log.writtenOffset;
  const path = `commitlog/${"0".padStart(20, "0")}`;
  const file = fs.files.get(path)!;
  file.bytes.fill(0x5a, end + 3, end + 3000);
  const far = end + RECOVERY_ZERO_RUN_BYTES + 2 * 1024 * 1024;
  file.bytes.fill(0x5a, far, far + 100);
  let readBytes = 0;
  const counting = {
    ...dir,
    list: () => dir.list(),
    sync: () => dir.sync(),
    delete: (base: number) => dir.delete(base),
    lastModifiedMs: (base: number) => dir.lastModifiedMs(base),
    open: (base: number, size: number, options?: { create?: boolean; writable?: boolean }) => {
      const segment = dir.open(base, size, options);
      if (segment === undefined) return undefined;
      return new Proxy(segment, {
        get(target, name) {
          if (name === "read") {
            return (position: number, into: Uint8Array) => {
              const n = target.read(position, into);
              readBytes += n;
              return n;
            };
          }
          const value = Reflect.get(target, name);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    },
  };
  const reopened = new CommitLog(counting, table, { segmentBytes, clock: new ManualClock() });
  const scan = reopened.recover(0, true);
  assert.equal(scan.endOffset, end);
  assert.equal(scan.recordCount, 5);
  assert.ok(file.bytes.subarray(end, end + 3000).every((b) => b === 0), "torn tail zeroed");
  assert.ok(
    readBytes < RECOVERY_ZERO_RUN_BYTES + 4 * 1024 * 1024,
    `read ${readBytes} bytes of a ${segmentBytes}-byte segment`,
  );
  // The far bytes lie beyond any single write of the last run: left alone.
  assert.equal(file.bytes[far], 0x5a);
});
