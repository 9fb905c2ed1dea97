/**
 * Runs the MessageStore contract against `WorkerMessageStore` (store and
 * dispatch Workers behind SharedArrayBuffer rings).
 *
 * @module
 */

import assert from "node:assert/strict";
import { DEFAULT_STORE_LIMITS, defaultStoreConfig } from "../../store/message_store.ts";
import { WorkerMessageStore } from "../../store/infra/worker_message_store.ts";
import { makeTempDir } from "../_helpers/temp_dir.ts";
import { messageStoreContract, testMessage } from "./message_store_contract.ts";

/** Small segments keep open and recovery fast. */
const SMALL_SEGMENTS = { commitLogSegmentBytes: 256 * 1024, consumeQueueSegmentUnits: 1024 };

messageStoreContract(
  "WorkerMessageStore",
  (dataDir, overrides) =>
    new WorkerMessageStore(defaultStoreConfig(dataDir, overrides), { diskUsedRatio: () => 0.1 }),
);

Deno.test("WorkerMessageStore answers SERVICE_NOT_AVAILABLE, never hangs, when the store worker dies", async () => {
  // The store worker fails on its first commit: the CommitLog directory's path
  // is taken by a plain file, so creating the first segment throws an I/O error.
  await using dir = await makeTempDir("rmq_worker_death_");
  await using store = new WorkerMessageStore(
    defaultStoreConfig(dir.path, { commitLogSegmentBytes: 64 * 1024 }),
    { diskUsedRatio: () => 0.1 },
  );
  await store.open();
  await Deno.remove(`${dir.path}/commitlog`, { recursive: true }).catch(() => {});
  await Deno.writeTextFile(`${dir.path}/commitlog`, "not a directory");
  const inFlight = [0, 1, 2, 3].map((i) => store.putMessage(testMessage("TopicD", 0, `m${i}`)));
  const results = await Promise.all(inFlight);
  for (const result of results) {
    assert.equal(result.status, "SERVICE_NOT_AVAILABLE");
    assert.match("remark" in result ? result.remark : "", /store worker failed/);
  }
  const later = await store.putMessage(testMessage("TopicD", 0, "later"));
  assert.equal(later.status, "SERVICE_NOT_AVAILABLE");
  assert.equal(store.stats().writeRefused, true);
  // Reads go on from the main thread's own handles (nothing was dispatched here).
  const read = await store.getMessage({
    group: "G",
    topic: "TopicD",
    queueId: 0,
    queueOffset: 0,
    maxCount: 1,
  });
  assert.equal(read.status, "NO_MESSAGE_IN_QUEUE");
  await store.close();
});

Deno.test("WorkerMessageStore with awaitDispatch false acknowledges before dispatch and reports arrivals", async () => {
  await using dir = await makeTempDir("rmq_worker_nowait_");
  await using store = new WorkerMessageStore(
    defaultStoreConfig(dir.path, { commitLogSegmentBytes: 64 * 1024, flushMode: "async" }),
    { diskUsedRatio: () => 0.1, awaitDispatch: false },
  );
  await store.open();
  const arrived = Promise.withResolvers<void>();
  const off = store.onArrival((a) => {
    if (a.topic === "TopicN" && a.maxOffset === 100) arrived.resolve();
  });
  const puts = await Promise.all(
    Array.from({ length: 100 }, (_, i) => store.putMessage(testMessage("TopicN", 0, `m${i}`))),
  );
  assert.deepEqual(puts.map((p) => p.status === "PUT_OK" && p.queueOffset), [...Array(100).keys()]);
  const timer = setTimeout(() => arrived.reject(new Error("no arrival within 5 s")), 5000);
  try {
    await arrived.promise;
  } finally {
    clearTimeout(timer);
    off();
  }
  const got = await store.getMessage({
    group: "G",
    topic: "TopicN",
    queueId: 0,
    queueOffset: 0,
    maxCount: 200,
  });
  assert.equal(got.messages.length, 100);
});

Deno.test("WorkerMessageStore queues puts while the request ring is full and keeps their order", async () => {
  // A 4 KiB request ring holds about three 1 KiB messages: most puts wait in
  // the main thread's backlog for room (Atomics.waitAsync) and must still land
  // in submission order.
  await using dir = await makeTempDir("rmq_worker_backlog_");
  await using store = new WorkerMessageStore(
    defaultStoreConfig(dir.path, {
      commitLogSegmentBytes: 256 * 1024,
      putRingBytes: 4096,
      limits: { ...DEFAULT_STORE_LIMITS, messageBytesMax: 1200, propertiesBytesMax: 64 },
    }),
    { diskUsedRatio: () => 0.1 },
  );
  await store.open();
  const body = "b".repeat(1000);
  const puts = await Promise.all(
    Array.from(
      { length: 500 },
      (_, i) => store.putMessage(testMessage("TopicQ", 0, `${i}:${body}`)),
    ),
  );
  assert.deepEqual(puts.map((p) => p.status === "PUT_OK" && p.queueOffset), [...Array(500).keys()]);
  const offsets = puts.map((p) => (p.status === "PUT_OK" ? p.commitLogOffset : -1));
  assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
  const batch = await store.putMessages([
    testMessage("TopicQ", 0, "x"),
    testMessage("TopicQ", 0, "y"),
  ]);
  assert.equal(batch.status === "PUT_OK" && batch.queueOffset, 500);
});

Deno.test("WorkerMessageStore.close() with puts in flight settles every put", async () => {
  await using dir = await makeTempDir("rmq_worker_close_");
  const store = new WorkerMessageStore(defaultStoreConfig(dir.path, SMALL_SEGMENTS), {
    diskUsedRatio: () => 0.1,
  });
  await store.open();
  const inFlight = Array.from(
    { length: 200 },
    (_, i) => store.putMessage(testMessage("TopicC", 0, `m${i}`)),
  );
  const closed = store.close();
  const late = await store.putMessage(testMessage("TopicC", 0, "late"));
  assert.equal(late.status, "SERVICE_NOT_AVAILABLE");
  const results = await Promise.all(inFlight);
  await closed;
  // Accepted before close: every one was appended and acknowledged.
  assert.deepEqual(results.map((r) => r.status === "PUT_OK" && r.queueOffset), [
    ...Array(200).keys(),
  ]);
  await using reopened = new WorkerMessageStore(defaultStoreConfig(dir.path, SMALL_SEGMENTS), {
    diskUsedRatio: () => 0.1,
  });
  await reopened.open();
  assert.equal(reopened.getMaxOffsetInQueue("TopicC", 0), 200);
});

Deno.test("WorkerMessageStore.queryMessageByKey() finds messages through the dispatch worker's index", async () => {
  await using dir = await makeTempDir("rmq_worker_index_");
  const config = defaultStoreConfig(dir.path, {
    ...SMALL_SEGMENTS,
    indexSlotsPerFile: 64,
    indexEntriesPerFile: 256,
  });
  {
    await using store = new WorkerMessageStore(config, { diskUsedRatio: () => 0.1 });
    await store.open();
    for (let i = 0; i < 30; i++) {
      const put = await store.putMessage(
        testMessage("TopicK", i % 2, `m${i}`, { KEYS: `order-${i % 3} all`, UNIQ_KEY: `U${i}` }),
      );
      assert.equal(put.status, "PUT_OK");
    }
    const found = await store.queryMessageByKey("TopicK", "order-1", 100, 0, Date.now() + 1000);
    assert.equal(found.length, 10);
    const offsets = found.map((m) => m.commitLogOffset);
    assert.deepEqual(offsets, [...offsets].sort((a, b) => b - a), "newest first");
    const one = await store.queryMessageByKey("TopicK", "U7", 5, 0, Date.now() + 1000);
    assert.equal(one.length, 1);
    assert.equal(one[0].queueOffset, 3);
    assert.deepEqual(
      await store.queryMessageByKey("Other", "order-1", 5, 0, Date.now() + 1000),
      [],
    );
  }
  // After a reopen the index is still there (and the writer resumes it).
  await using store = new WorkerMessageStore(config, { diskUsedRatio: () => 0.1 });
  await store.open();
  assert.equal(
    (await store.queryMessageByKey("TopicK", "all", 100, 0, Date.now() + 1000)).length,
    30,
  );
});

Deno.test("WorkerMessageStore retention deletes expired segments and readers follow the new min offset", async () => {
  // Every hour is a delete hour and segments expire at once; retention runs every 20 ms.
  await using dir = await makeTempDir("rmq_worker_retention_");
  await using store = new WorkerMessageStore(
    defaultStoreConfig(dir.path, {
      commitLogSegmentBytes: 64 * 1024,
      consumeQueueSegmentUnits: 16,
      fileReservedTimeHours: 0,
      deleteWhenHours: [...Array(24).keys()],
      flushConsumeQueueIntervalMs: 20,
    }),
    { diskUsedRatio: () => 0.1, retentionIntervalMs: 20 },
  );
  await store.open();
  const body = "r".repeat(2000);
  for (let i = 0; i < 200; i++) {
    assert.equal(
      (await store.putMessage(testMessage("TopicR", 0, `${i}:${body}`))).status,
      "PUT_OK",
    );
  }
  await store.flush();
  const deadline = Date.now() + 10_000;
  while (store.getMinOffsetInQueue("TopicR", 0) === 0) {
    if (Date.now() > deadline) {
      throw new Error("retention did not move the queue's min offset within 10 s");
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const min = store.getMinOffsetInQueue("TopicR", 0);
  assert.ok(store.stats().commitLogMinOffset > 0);
  const old = await store.getMessage({
    group: "G",
    topic: "TopicR",
    queueId: 0,
    queueOffset: 0,
    maxCount: 1,
  });
  assert.equal(old.status, "OFFSET_TOO_SMALL");
  assert.equal(old.nextBeginOffset, min);
  const newest = await store.getMessage({
    group: "G",
    topic: "TopicR",
    queueId: 0,
    queueOffset: 199,
    maxCount: 1,
  });
  assert.equal(newest.status, "FOUND");
  assert.equal(new TextDecoder().decode(newest.messages[0].record).includes("199:"), true);
});

Deno.test("WorkerMessageStore answers FLUSH_DISK_TIMEOUT when the group commit's fdatasync outlasts syncFlushTimeoutMs", async () => {
  // Any real fdatasync takes longer than 0 ms: every sync put times out, yet is stored.
  await using dir = await makeTempDir("rmq_worker_flush_timeout_");
  await using store = new WorkerMessageStore(
    defaultStoreConfig(dir.path, { ...SMALL_SEGMENTS, flushMode: "sync", syncFlushTimeoutMs: 0 }),
    { diskUsedRatio: () => 0.1 },
  );
  await store.open();
  const put = await store.putMessage(testMessage("TopicT", 0, "slow disk"));
  assert.equal(put.status, "FLUSH_DISK_TIMEOUT");
  assert.ok("commitLogOffset" in put);
  const looked = await store.lookMessageByOffset(put.commitLogOffset);
  assert.ok(looked);
  assert.equal(store.getMaxOffsetInQueue("TopicT", 0), 1);
});

Deno.test("WorkerMessageStore refuses puts below the free-space reserve and keeps serving reads", async () => {
  await using dir = await makeTempDir("rmq_worker_disk_full_");
  {
    await using store = new WorkerMessageStore(
      defaultStoreConfig(dir.path, SMALL_SEGMENTS),
      { diskUsedRatio: () => 0.1 },
    );
    await store.open();
    assert.equal((await store.putMessage(testMessage("TopicF", 0, "before"))).status, "PUT_OK");
  }
  // The same data with a reserve no disk has: the store worker probes on the write path.
  await using store = new WorkerMessageStore(
    defaultStoreConfig(dir.path, {
      ...SMALL_SEGMENTS,
      diskFreeReserveBytes: Number.MAX_SAFE_INTEGER,
    }),
    { diskUsedRatio: () => 0.1 },
  );
  await store.open();
  const refused = await store.putMessage(testMessage("TopicF", 0, "after"));
  assert.equal(refused.status, "SERVICE_NOT_AVAILABLE");
  assert.match("remark" in refused ? refused.remark : "", /disk is full/);
  const got = await store.getMessage({
    group: "g",
    topic: "TopicF",
    queueId: 0,
    queueOffset: 0,
    maxCount: 10,
  });
  assert.equal(got.messages.length, 1);
  store.commitConsumerOffset("g", "TopicF", 0, 1);
  await store.flush(); // not failed: flush and offsets still work
  assert.equal(store.queryConsumerOffset("g", "TopicF", 0), 1);
});
