import assert from "node:assert/strict";
import { MessageSysFlag } from "../../client/protocol/message_record.ts";
import { FsStoreFileSystem } from "../infra/fs_segment.ts";
import { MemoryFileSystem } from "../infra/memory_segment.ts";
import type { DispatchRequest } from "./dispatch.ts";
import { javaStringHashCode } from "../../client/protocol/properties.ts";
import { INDEX_HEADER_BYTES } from "./index_file.ts";
import { continueJavaHash, INDEX_DIR, IndexService, messageIndexKeys } from "./index_service.ts";
import { segmentFileName } from "./segment.ts";

const T0 = 1_700_000_000_000;

function request(
  commitLogOffset: number,
  fields: Partial<DispatchRequest> = {},
): DispatchRequest {
  return {
    topic: "T",
    queueId: 0,
    commitLogOffset,
    size: 100,
    tagsCode: 0,
    storeTimestamp: T0 + commitLogOffset,
    queueOffset: 0,
    keys: undefined,
    uniqKey: `U${commitLogOffset}`,
    sysFlag: 0,
    preparedTransactionOffset: 0,
    properties: "",
    ...fields,
  };
}

/** A memory file system with a settable clock, and writer/reader factories. */
function setup(entryCount = 64, slotCount = 16) {
  let now = T0;
  const clock = { nowMs: () => now };
  const fs = new MemoryFileSystem(() => now);
  const open = (writable: boolean, commitLogEnd?: number) => {
    const service = new IndexService(fs, { writable, slotCount, entryCount, clock });
    const loaded = service.load(commitLogEnd);
    return { service, loaded };
  };
  return { fs, open, setNow: (ms: number) => (now = ms) };
}

const ALL = [0, Number.MAX_SAFE_INTEGER] as const;

Deno.test("messageIndexKeys() takes UNIQ_KEY and each non-empty KEYS element once", () => {
  assert.deepEqual(messageIndexKeys("U1", "a b  c a"), ["U1", "a", "b", "c"]);
  assert.deepEqual(messageIndexKeys(undefined, undefined), []);
  assert.deepEqual(messageIndexKeys("", "x"), ["x"]);
});

Deno.test("IndexService indexes topic#UNIQ_KEY and topic#k for each KEYS element", () => {
  const { open } = setup();
  const { service } = open(true);
  service.dispatch(request(0, { keys: "order-1 customer-9" }));
  service.dispatch(request(100, { keys: "order-2 customer-9", topic: "Other" }));
  service.dispatch(request(200, { keys: "customer-9" }));
  assert.deepEqual(service.queryOffsets("T", "customer-9", 10, ...ALL).offsets, [200, 0]);
  assert.deepEqual(service.queryOffsets("T", "order-1", 10, ...ALL).offsets, [0]);
  assert.deepEqual(service.queryOffsets("T", "U200", 10, ...ALL).offsets, [200]);
  assert.deepEqual(service.queryOffsets("Other", "customer-9", 10, ...ALL).offsets, [100]);
  assert.deepEqual(service.queryOffsets("T", "order-2", 10, ...ALL).offsets, []);
  const result = service.queryOffsets("T", "customer-9", 1, ...ALL);
  assert.deepEqual(result, {
    offsets: [200],
    indexLastUpdateTimestamp: T0 + 200,
    indexLastUpdatePhyOffset: 200,
  });
  service.close();
});

Deno.test("continueJavaHash() of a prefix's hash equals String.hashCode of the whole string", () => {
  for (const [prefix, rest] of [["T#", "U1"], ["", "abc"], ["Topic#", ""], ["é#", "键-ключ"]]) {
    assert.equal(
      continueJavaHash(javaStringHashCode(prefix), rest),
      javaStringHashCode(prefix + rest),
    );
  }
});

Deno.test("IndexService finds keys under each topic as records alternate between topics", () => {
  const { open } = setup();
  const { service } = open(true);
  const topics = ["A", "Bé", "A", "C", "Bé"];
  topics.forEach((topic, i) => service.dispatch(request(i * 100, { topic, uniqKey: "k" })));
  assert.deepEqual(service.queryOffsets("A", "k", 10, ...ALL).offsets, [200, 0]);
  assert.deepEqual(service.queryOffsets("Bé", "k", 10, ...ALL).offsets, [400, 100]);
  assert.deepEqual(service.queryOffsets("C", "k", 10, ...ALL).offsets, [300]);
  service.close();
});

Deno.test("IndexService skips ROLLBACK records and indexes prepared ones", () => {
  const { open } = setup();
  const { service } = open(true);
  service.dispatch(request(0, { sysFlag: MessageSysFlag.TRANSACTION_ROLLBACK_TYPE, keys: "k" }));
  service.dispatch(request(100, { sysFlag: MessageSysFlag.TRANSACTION_PREPARED_TYPE, keys: "k" }));
  service.dispatch(request(200, { sysFlag: MessageSysFlag.TRANSACTION_COMMIT_TYPE, keys: "k" }));
  assert.deepEqual(service.queryOffsets("T", "k", 10, ...ALL).offsets, [200, 100]);
  service.close();
});

Deno.test("IndexService rolls to a new file when one is full and queries across files newest first", () => {
  const { fs, open } = setup(8);
  const { service } = open(true);
  // Each record adds 2 entries (UNIQ_KEY + KEYS); 7 entries fit per file, so
  // 3 records: a record's keys never straddle two files.
  for (let i = 0; i < 10; i++) service.dispatch(request(i * 100, { keys: "same" }));
  assert.equal(service.fileCount, 4);
  const names = fs.segments(INDEX_DIR).list();
  assert.deepEqual(names, [T0, T0 + 1, T0 + 2, T0 + 3], "names are creation times, increasing");
  const offsets = service.queryOffsets("T", "same", 100, ...ALL).offsets;
  assert.deepEqual(offsets, [900, 800, 700, 600, 500, 400, 300, 200, 100, 0]);
  assert.deepEqual(service.queryOffsets("T", "same", 4, ...ALL).offsets, [900, 800, 700, 600]);
  assert.deepEqual(service.queryOffsets("T", "U300", 4, ...ALL).offsets, [300]);
  service.close();
});

Deno.test("IndexService.queryOffsets() only walks files whose time range overlaps the window", () => {
  const { open } = setup(8);
  const { service } = open(true);
  for (let i = 0; i < 10; i++) {
    service.dispatch(request(i * 100, { keys: "k", storeTimestamp: T0 + i * 60_000 }));
  }
  const window = service.queryOffsets("T", "k", 100, T0 + 120_000, T0 + 300_000).offsets;
  assert.deepEqual(window, [500, 400, 300, 200]);
  assert.deepEqual(service.queryOffsets("T", "k", 100, T0 + 3_600_000, T0 + 7_200_000).offsets, []);
  service.close();
});

Deno.test("an IndexService reader on another handle follows the writer's commits and new files", () => {
  const { open } = setup(8);
  const { service: writer } = open(true);
  const { service: reader } = open(false);
  writer.dispatch(request(0, { keys: "k" }));
  assert.deepEqual(reader.queryOffsets("T", "k", 10, ...ALL).offsets, []);
  writer.commit();
  assert.deepEqual(reader.queryOffsets("T", "k", 10, ...ALL).offsets, [0]);
  for (let i = 1; i < 8; i++) writer.dispatch(request(i * 100, { keys: "k" }));
  writer.commit();
  const seen = reader.queryOffsets("T", "k", 100, ...ALL);
  assert.deepEqual(seen.offsets, [700, 600, 500, 400, 300, 200, 100, 0]);
  assert.equal(seen.indexLastUpdatePhyOffset, 700);
  assert.throws(() => reader.dispatch(request(800)), /reader/);
  reader.close();
  writer.close();
});

Deno.test("IndexService.dispatch() is idempotent across a restart: re-dispatched records are skipped", () => {
  const { open } = setup(64);
  const first = open(true);
  for (let i = 0; i < 5; i++) first.service.dispatch(request(i * 100, { keys: "k" }));
  first.service.close();
  const { service, loaded } = open(true);
  assert.equal(loaded.indexedUpToOffset, 401);
  assert.equal(loaded.redispatchFromOffset, 400, "a record boundary");
  assert.equal(service.indexedUpToOffset, 401);
  // Recovery re-dispatches from an older checkpoint.
  for (let i = 0; i < 7; i++) service.dispatch(request(i * 100, { keys: "k" }));
  assert.deepEqual(service.queryOffsets("T", "k", 100, ...ALL).offsets, [
    600,
    500,
    400,
    300,
    200,
    100,
    0,
  ]);
  service.close();
});

Deno.test("IndexService after a power loss: the flushed index is kept and the rest re-indexed", () => {
  const { fs, open } = setup(64);
  const first = open(true);
  for (let i = 0; i < 3; i++) first.service.dispatch(request(i * 100, { keys: "k" }));
  assert.equal(first.service.flush(), T0 + 200, "flush answers the checkpoint's index timestamp");
  for (let i = 3; i < 6; i++) first.service.dispatch(request(i * 100, { keys: "k" }));
  first.service.commit();
  fs.crash();
  const { service, loaded } = open(true);
  assert.equal(loaded.indexedUpToOffset, 201);
  assert.equal(loaded.redispatchFromOffset, 200);
  assert.deepEqual(service.queryOffsets("T", "k", 100, ...ALL).offsets, [200, 100, 0]);
  for (let i = 0; i < 6; i++) service.dispatch(request(i * 100, { keys: "k" }));
  assert.deepEqual(service.queryOffsets("T", "k", 100, ...ALL).offsets, [
    500,
    400,
    300,
    200,
    100,
    0,
  ]);
  service.close();
});

Deno.test("IndexService.load() caps its position at the CommitLog end so a rewritten tail is indexed", () => {
  const { open } = setup(64);
  const first = open(true);
  for (let i = 0; i < 5; i++) first.service.dispatch(request(i * 100, { keys: "old" }));
  first.service.close();
  // The CommitLog lost everything from 250 on; new records are written there.
  const { service, loaded } = open(true, 250);
  assert.equal(loaded.indexedUpToOffset, 250);
  assert.equal(loaded.redispatchFromOffset, 250);
  service.dispatch(request(300, { keys: "new" }));
  assert.deepEqual(service.queryOffsets("T", "new", 10, ...ALL).offsets, [300]);
  // The stale entry at 300 is still a candidate; the store's key re-check drops it.
  assert.deepEqual(service.queryOffsets("T", "old", 10, ...ALL).offsets, [400, 300, 200, 100, 0]);
  service.close();
});

Deno.test("IndexService.load() deletes the first corrupt file and every newer one", () => {
  const { fs, open } = setup(8);
  const first = open(true);
  for (let i = 0; i < 10; i++) first.service.dispatch(request(i * 100, { keys: "k" }));
  first.service.close();
  const names = fs.segments(INDEX_DIR).list();
  assert.equal(names.length, 4);
  // Break the middle file's header.
  fs.files.get(`${INDEX_DIR}/${segmentFileName(names[1])}`)!.bytes.fill(
    0xff,
    0,
    INDEX_HEADER_BYTES,
  );
  const reader = open(false);
  assert.equal(reader.loaded.discarded.length, 1, "a reader skips the corrupt file only");
  reader.service.close();
  const { service, loaded } = open(true);
  assert.deepEqual(loaded.discarded.map((d) => d.name), names.slice(1));
  assert.match(loaded.discarded[0].reason, /bad header/);
  assert.deepEqual(fs.segments(INDEX_DIR).list(), [names[0]]);
  // The first file held records 0..200: re-indexing resumes after 200.
  assert.equal(loaded.indexedUpToOffset, 201);
  for (let i = 0; i < 10; i++) service.dispatch(request(i * 100, { keys: "k" }));
  assert.equal(service.queryOffsets("T", "k", 100, ...ALL).offsets.length, 10);
  service.close();
});

Deno.test("IndexService.deleteExpired() drops files below the CommitLog min offset, never the newest", () => {
  const { fs, open } = setup(8);
  const { service } = open(true);
  for (let i = 0; i < 10; i++) service.dispatch(request(i * 100, { keys: "k" }));
  assert.equal(service.deleteExpired(350), 1);
  assert.equal(fs.segments(INDEX_DIR).list().length, 3);
  assert.deepEqual(service.queryOffsets("T", "k", 100, ...ALL).offsets, [
    900,
    800,
    700,
    600,
    500,
    400,
    300,
  ]);
  assert.equal(service.deleteExpired(Number.MAX_SAFE_INTEGER), 2);
  assert.equal(service.fileCount, 1);
  service.close();
});

Deno.test("IndexService.queryOffsets() rejects a maxCount below 1", () => {
  const { open } = setup();
  const { service } = open(true);
  assert.throws(() => service.queryOffsets("T", "k", 0, ...ALL), RangeError);
  assert.throws(
    () => new IndexService(new MemoryFileSystem(), { writable: true, slotCount: 1 }),
    RangeError,
  );
  assert.deepEqual(service.queryOffsets("T", "k", 1, ...ALL), {
    offsets: [],
    indexLastUpdateTimestamp: 0,
    indexLastUpdatePhyOffset: 0,
  });
  service.close();
});

Deno.test("IndexService on files: a reader with its own handles follows a writer's commits and rolls", async () => {
  const root = await Deno.makeTempDir({ prefix: "index_service_test_" });
  // Separate file systems stand for separate threads: no handle or state is shared.
  const writer = new IndexService(new FsStoreFileSystem(root), {
    writable: true,
    slotCount: 1024,
    entryCount: 4096,
    clock: { nowMs: () => T0 },
  });
  const reader = new IndexService(new FsStoreFileSystem(root), {
    writable: false,
    slotCount: 1024,
    entryCount: 4096,
  });
  try {
    writer.load();
    reader.load();
    for (let i = 0; i < 5000; i++) writer.dispatch(request(i * 100, { keys: `k${i % 100}` }));
    writer.commit();
    const found = reader.queryOffsets("T", "k7", 100, ...ALL);
    assert.equal(found.offsets.length, 50);
    assert.equal(found.offsets[0], 490_700);
    assert.equal(found.indexLastUpdatePhyOffset, 499_900);
    assert.deepEqual(reader.queryOffsets("T", "U499900", 10, ...ALL).offsets, [499_900]);
    assert.equal(writer.fileCount, 3);
    writer.close();
    // Reopened from disk, the writer resumes after the last record.
    const again = new IndexService(new FsStoreFileSystem(root), {
      writable: true,
      slotCount: 1024,
      entryCount: 4096,
    });
    assert.equal(again.load().indexedUpToOffset, 499_901);
    again.close();
  } finally {
    reader.close();
    writer.close();
    await Deno.remove(root, { recursive: true });
  }
});
