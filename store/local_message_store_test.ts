import assert from "node:assert/strict";
import { makeTempDir } from "../tests/_helpers/temp_dir.ts";
import { testMessage } from "../tests/contract/message_store_contract.ts";
import { ManualClock } from "./domain/_test_support.ts";
import { ABORT_PATH } from "./domain/checkpoint.ts";
import { type SegmentDirectory, segmentFileName, type StoreFileSystem } from "./domain/segment.ts";
import { LocalMessageStore } from "./local_message_store.ts";
import { defaultStoreConfig, type MessageStoreConfig } from "./message_store.ts";

const SMALL: Partial<MessageStoreConfig> = {
  commitLogSegmentBytes: 16 * 1024,
  consumeQueueSegmentUnits: 16,
  deleteWhenHours: [],
};

function body(i: number): string {
  return `m${i}:${"b".repeat(1000)}`;
}

async function put(store: LocalMessageStore, count: number, from = 0): Promise<number[]> {
  const offsets: number[] = [];
  for (let i = from; i < from + count; i++) {
    const result = await store.putMessage(testMessage("T", 0, body(i)));
    assert.equal(result.status, "PUT_OK");
    if (result.status === "PUT_OK") offsets.push(result.commitLogOffset);
  }
  return offsets;
}

Deno.test("LocalMessageStore.runRetention() deletes expired segments; old offsets read OFFSET_TOO_SMALL", async () => {
  await using dir = await makeTempDir();
  const clock = new ManualClock(Date.now());
  let ratio = 0.1;
  await using store = new LocalMessageStore(
    defaultStoreConfig(dir.path, {
      ...SMALL,
      fileReservedTimeHours: 1,
      diskMaxUsedSpaceRatio: 0.5,
    }),
    { clock, diskUsedRatio: () => ratio },
  );
  await store.open();
  await put(store, 60); // ~64 KB over 16 KiB segments
  assert.equal(store.runRetention(), 0, "not due: wrong hour and disk below diskMaxUsedSpaceRatio");
  ratio = 0.6;
  assert.equal(store.runRetention(), 0, "due, but nothing is older than an hour yet");
  clock.now += 2 * 3_600_000;
  const deleted = store.runRetention();
  assert.ok(deleted >= 3, `deleted ${deleted}`);
  const min = store.getMinOffsetInQueue("T", 0);
  assert.ok(min > 0);
  assert.equal(store.stats().commitLogMinOffset % (16 * 1024), 0);
  const old = await store.getMessage({
    group: "G",
    topic: "T",
    queueId: 0,
    queueOffset: 0,
    maxCount: 4,
  });
  assert.equal(old.status, "OFFSET_TOO_SMALL");
  assert.equal(old.nextBeginOffset, min);
  const kept = await store.getMessage({
    group: "G",
    topic: "T",
    queueId: 0,
    queueOffset: min,
    maxCount: 100,
  });
  assert.equal(kept.status, "FOUND");
  assert.equal(kept.messages.at(-1)?.queueOffset, 59);
  await put(store, 1, 60);
  assert.equal(store.getMaxOffsetInQueue("T", 0), 61);
});

Deno.test("LocalMessageStore refuses puts while the disk is above the warning level; reads go on", async () => {
  await using dir = await makeTempDir();
  let ratio = 0.5;
  await using store = new LocalMessageStore(defaultStoreConfig(dir.path, SMALL), {
    diskUsedRatio: () => ratio,
  });
  await store.open();
  await put(store, 2);
  ratio = 0.95;
  const refused = await store.putMessage(testMessage("T", 0, "no room"));
  assert.equal(refused.status, "SERVICE_NOT_AVAILABLE");
  assert.match(
    "remark" in refused ? refused.remark : "",
    /disk is full: 95\.0% used, limit is 90\.0%/,
  );
  assert.equal(store.stats().writeRefused, true);
  const read = await store.getMessage({
    group: "G",
    topic: "T",
    queueId: 0,
    queueOffset: 0,
    maxCount: 8,
  });
  assert.equal(read.messages.length, 2);
  ratio = 0.5;
  assert.equal((await store.putMessage(testMessage("T", 0, "room again"))).status, "PUT_OK");
});

Deno.test("LocalMessageStore sync flush acknowledges concurrent puts after one shared flush", async () => {
  await using dir = await makeTempDir();
  await using store = new LocalMessageStore(defaultStoreConfig(dir.path, SMALL));
  await store.open();
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => store.putMessage(testMessage("T", i % 4, `c${i}`))),
  );
  assert.ok(results.every((r) => r.status === "PUT_OK"));
  const stats = store.stats();
  assert.equal(stats.commitLogFlushedOffset, stats.commitLogMaxOffset);
});

Deno.test("LocalMessageStore recovers from a torn tail on disk after a crash", async () => {
  // Goal: the file-backed path of recovery. Method: write, stop, then fake a
  // crash (abort marker back) with the last record half-zeroed in its file.
  await using dir = await makeTempDir();
  let offsets: number[];
  let end: number;
  {
    await using store = new LocalMessageStore(defaultStoreConfig(dir.path, SMALL));
    await store.open();
    offsets = await put(store, 20);
    end = store.stats().commitLogMaxOffset;
  }
  const last = offsets[19];
  const base = last - (last % (16 * 1024));
  const file = await Deno.open(`${dir.path}/commitlog/${segmentFileName(base)}`, { write: true });
  try {
    const half = Math.floor((end - last) / 2);
    await file.seek(last - base + half, Deno.SeekMode.Start);
    await file.write(new Uint8Array(end - last - half));
  } finally {
    file.close();
  }
  await Deno.writeFile(`${dir.path}/${ABORT_PATH}`, new Uint8Array(0));
  await using store = new LocalMessageStore(defaultStoreConfig(dir.path, SMALL));
  await store.open();
  assert.equal(store.recovery?.abnormal, true);
  assert.equal(store.recovery?.commitLog.endOffset, last);
  assert.equal(store.getMaxOffsetInQueue("T", 0), 19);
  const got = await store.getMessage({
    group: "G",
    topic: "T",
    queueId: 0,
    queueOffset: 0,
    maxCount: 32,
  });
  assert.equal(got.messages.length, 19);
  const next = await store.putMessage(testMessage("T", 0, "after"));
  assert.equal(next.status === "PUT_OK" && next.queueOffset, 19);
  assert.equal(next.status === "PUT_OK" && next.commitLogOffset, last);
});

Deno.test("LocalMessageStore rebuilds a ConsumeQueue whose segment file was deleted", async () => {
  await using dir = await makeTempDir();
  {
    await using store = new LocalMessageStore(defaultStoreConfig(dir.path, SMALL));
    await store.open();
    await put(store, 40); // 40 units over 16-unit segments
  }
  await Deno.remove(`${dir.path}/consumequeue/T/0/${segmentFileName(16 * 20)}`);
  await using store = new LocalMessageStore(defaultStoreConfig(dir.path, SMALL));
  await store.open();
  assert.equal(store.recovery?.rebuiltQueues.length, 1);
  const got = await store.getMessage({
    group: "G",
    topic: "T",
    queueId: 0,
    queueOffset: 0,
    maxCount: 64,
  });
  assert.equal(got.messages.length, 40);
});

Deno.test("LocalMessageStore removes the abort marker on close and keeps it while open", async () => {
  await using dir = await makeTempDir();
  const store = new LocalMessageStore(defaultStoreConfig(dir.path, SMALL));
  await store.open();
  try {
    assert.ok((await Deno.stat(`${dir.path}/abort`)).isFile);
    await assert.rejects(() => store.open(), /Cannot open store/);
  } finally {
    await store.close();
  }
  await assert.rejects(() => Deno.stat(`${dir.path}/abort`), Deno.errors.NotFound);
  assert.equal((await Deno.stat(`${dir.path}/checkpoint`)).size, 64);
});

Deno.test("LocalMessageStore answers a put busy when no descriptor can be had, and keeps serving", async () => {
  const { MemoryFileSystem } = await import("./infra/memory_segment.ts");
  const { TooManyOpenFilesError } = await import("./infra/fs_handle_cache.ts");
  const memory = new MemoryFileSystem();
  let failNextCreate = false;
  const fileSystem: StoreFileSystem = {
    segments(path: string): SegmentDirectory {
      const dir = memory.segments(path);
      return {
        path: dir.path,
        list: () => dir.list(),
        sync: () => dir.sync(),
        delete: (base) => dir.delete(base),
        lastModifiedMs: (base) => dir.lastModifiedMs(base),
        open(base, size, options) {
          if (failNextCreate && options?.create && !dir.list().includes(base)) {
            failNextCreate = false;
            throw new TooManyOpenFilesError(`${path}/${base}`, new Error("EMFILE"));
          }
          return dir.open(base, size, options);
        },
      };
    },
    listDirectories: (path) => memory.listDirectories(path),
    removeDirectory: (path) => memory.removeDirectory(path),
    readFile: (path) => memory.readFile(path),
    writeFile: (path, bytes) => memory.writeFile(path, bytes),
    removeFile: (path) => memory.removeFile(path),
    exists: (path) => memory.exists(path),
  };
  const store = new LocalMessageStore(
    defaultStoreConfig("unused", { ...SMALL, commitLogSegmentBytes: 4096 }),
    { fileSystem, diskUsedRatio: () => 0.1, diskFreeBytes: () => Infinity },
  );
  await store.open();
  try {
    const first = await store.putMessage(testMessage("T", 0, "first"));
    assert.equal(first.status, "PUT_OK");
    failNextCreate = true;
    let busy = 0;
    let next = 0;
    for (let i = 0; i < 40; i++) {
      const result = await store.putMessage(testMessage("T", 0, body(i)));
      if (result.status === "OS_PAGE_CACHE_BUSY") {
        busy++;
        assert.match("remark" in result ? result.remark : "", /too many open files/);
      } else {
        assert.equal(result.status, "PUT_OK");
        assert.equal(result.queueOffset, ++next, "offsets stay contiguous");
      }
    }
    assert.equal(busy, 1);
    assert.equal(store.stats().writeRefused, false);
  } finally {
    await store.close();
  }
});
