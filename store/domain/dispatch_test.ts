import assert from "node:assert/strict";
import { MessageSysFlag } from "../../client/protocol/message_record.ts";
import { tagsHashCode } from "../../client/protocol/properties.ts";
import { MemoryFileSystem } from "../infra/memory_segment.ts";
import { encode, ManualClock, message } from "./_test_support.ts";
import { CommitLog, CommitLogReader } from "./commit_log.ts";
import { ConsumeQueueStore } from "./consume_queue_store.ts";
import { Dispatcher, type DispatchRequest } from "./dispatch.ts";
import { QueueOffsetTable } from "./queue_offset_table.ts";

function setup(segmentBytes = 1024) {
  const fs = new MemoryFileSystem();
  const log = new CommitLog(fs.segments("commitlog"), new QueueOffsetTable(), {
    segmentBytes,
    clock: new ManualClock(),
    writeBufferBytes: 256,
  });
  log.recover(0, true);
  const reader = new CommitLogReader(fs.segments("commitlog"), segmentBytes);
  const queues = new ConsumeQueueStore(fs, 16, true);
  const seen: DispatchRequest[] = [];
  const dispatcher = new Dispatcher(reader, queues, 0, {
    sinks: [{ dispatch: (r) => seen.push(r) }],
  });
  return { fs, log, reader, queues, dispatcher, seen };
}

Deno.test("Dispatcher builds ConsumeQueue units for NOT and COMMIT records only", () => {
  const { log, queues, dispatcher, seen } = setup();
  log.append(encode(message("T", 1, "plain", { TAGS: "a", KEYS: "k1 k2", UNIQ_KEY: "U1" })));
  log.append(encode(message("T", 1, "half", {}, MessageSysFlag.TRANSACTION_PREPARED_TYPE)));
  log.append(encode(message("T", 1, "commit", {}, MessageSysFlag.TRANSACTION_COMMIT_TYPE)));
  log.append(encode(message("T", 1, "rollback", {}, MessageSysFlag.TRANSACTION_ROLLBACK_TYPE)));
  log.commit();
  const round = dispatcher.dispatchUpTo(log.committedOffset);
  assert.equal(round.recordCount, 4);
  assert.equal(round.dispatchedOffset, log.committedOffset);
  assert.deepEqual(round.errors, []);
  assert.equal(queues.get("T", 1)?.maxOffset, 2);
  assert.deepEqual(round.arrivals, [{ topic: "T", queueId: 1, maxOffset: 2, tagsCode: 0 }]);
  assert.equal(seen.length, 4, "sinks see every record");
  assert.equal(seen[0].tagsCode, tagsHashCode("a"));
  assert.equal(seen[0].keys, "k1 k2");
  assert.equal(seen[0].uniqKey, "U1");
});

Deno.test("Dispatcher skips blank markers to the next segment", () => {
  const { log, queues, dispatcher } = setup(512);
  for (let i = 0; i < 7; i++) log.append(encode(message("T", 0, "x".repeat(100))));
  log.commit();
  const round = dispatcher.dispatchUpTo(log.committedOffset);
  assert.equal(round.recordCount, 7);
  assert.equal(queues.get("T", 0)?.maxOffset, 7);
  const units = queues.get("T", 0)!.readUnits(0, 10);
  assert.equal(units[2].commitLogOffset, 512);
});

Deno.test("Dispatcher stops at the confirmed offset and resumes from there", () => {
  const { log, queues, dispatcher } = setup();
  const a = log.append(encode(message("T", 0, "a")));
  log.append(encode(message("T", 0, "b")));
  log.commit();
  const first = dispatcher.dispatchUpTo(a.wroteBytes);
  assert.equal(first.recordCount, 1);
  assert.equal(queues.get("T", 0)?.maxOffset, 1);
  const second = dispatcher.dispatchUpTo(log.committedOffset);
  assert.equal(second.recordCount, 1);
  assert.equal(queues.get("T", 0)?.maxOffset, 2);
  assert.equal(dispatcher.dispatchUpTo(log.committedOffset).recordCount, 0);
});

Deno.test("Dispatcher replay from 0 is harmless (ConsumeQueue appends are idempotent)", () => {
  const { log, reader, queues, dispatcher } = setup();
  for (let i = 0; i < 4; i++) log.append(encode(message("T", 0, `${i}`)));
  log.commit();
  dispatcher.dispatchUpTo(log.committedOffset);
  const replay = new Dispatcher(reader, queues, 0);
  const round = replay.dispatchUpTo(log.committedOffset);
  assert.equal(round.recordCount, 4);
  assert.deepEqual(round.arrivals, []);
  assert.equal(queues.get("T", 0)?.maxOffset, 4);
});
