import assert from "node:assert/strict";
import { getInt64 } from "../../client/protocol/message_record.ts";
import { javaStringHashCode } from "../../client/protocol/properties.ts";
import { FsStoreFileSystem } from "../infra/fs_segment.ts";
import { MemoryFileSystem } from "../infra/memory_segment.ts";
import {
  checkIndexHeader,
  decodeIndexHeader,
  encodeIndexHeader,
  INDEX_ENTRY_BYTES,
  INDEX_HEADER_BYTES,
  IndexFile,
  indexFileBytes,
  type IndexFileGeometry,
  indexKeyHash,
} from "./index_file.ts";
import { segmentFileName } from "./segment.ts";

const T0 = 1_700_000_000_000;
const SMALL: IndexFileGeometry = { slotCount: 8, entryCount: 16 };

function setup(geometry: IndexFileGeometry = SMALL) {
  const fs = new MemoryFileSystem(() => T0);
  const dir = fs.segments("index");
  const file = IndexFile.create(dir, T0, geometry);
  const bytes = () => fs.files.get(`index/${segmentFileName(T0)}`)!.bytes;
  const reader = () => {
    const r = IndexFile.open(dir, T0, geometry, false)!;
    const loaded = r.load();
    assert.equal(loaded.status, "OK");
    return r;
  };
  const reopenWriter = () => {
    const w = IndexFile.open(dir, T0, geometry, true)!;
    return { writer: w, loaded: w.load(true) };
  };
  return { fs, dir, file, bytes, reader, reopenWriter };
}

function query(file: IndexFile, key: string, begin = 0, end = Number.MAX_SAFE_INTEGER, max = 100) {
  const out: number[] = [];
  file.query(key, begin, end, max, out);
  return out;
}

Deno.test("indexKeyHash() is abs(String.hashCode) and 0 when the abs overflows", () => {
  assert.equal(indexKeyHash("T#Aa"), 2538191);
  assert.equal(indexKeyHash("a"), 97);
  assert.equal(javaStringHashCode("polygenelubricants"), -2147483648);
  assert.equal(indexKeyHash("polygenelubricants"), 0);
  const negative = "zzzzzzzzzz";
  assert.ok(javaStringHashCode(negative) < 0);
  assert.equal(indexKeyHash(negative), -javaStringHashCode(negative));
});

Deno.test("IndexFile: a header handed out by the writer does not change with later puts", () => {
  const { file } = setup();
  assert.ok(file.put("T#a", 0, T0));
  const seen = file.header;
  const copy = { ...seen };
  assert.ok(file.put("T#b", 100, T0 + 5000));
  assert.ok(file.putHash(indexKeyHash("T#c"), 200, T0 + 6000));
  assert.deepEqual(seen, copy);
  assert.equal(file.header.indexCount, 4);
  assert.equal(file.header.endPhyOffset, 200);
  assert.deepEqual(query(file, "T#c"), [200]);
});

Deno.test("indexFileBytes() is 40 + slots × 4 + entries × 20 (420,000,040 by default)", () => {
  assert.equal(indexFileBytes({ slotCount: 5_000_000, entryCount: 20_000_000 }), 420_000_040);
  assert.equal(indexFileBytes(SMALL), 40 + 8 * 4 + 16 * 20);
});

Deno.test("IndexFile writes RocketMQ's header, slot and entry layout", () => {
  const { file, bytes } = setup();
  assert.ok(file.put("T#k1", 1000, T0 + 500));
  assert.ok(file.put("T#k1", 2000, T0 + 3_700));
  file.commit();
  const b = bytes();
  const view = new DataView(b.buffer);
  const header = decodeIndexHeader(b);
  assert.deepEqual(header, {
    beginTimestamp: T0 + 500,
    endTimestamp: T0 + 3_700,
    beginPhyOffset: 1000,
    endPhyOffset: 2000,
    hashSlotCount: 1,
    indexCount: 3,
  });
  const hash = indexKeyHash("T#k1");
  const slotAt = INDEX_HEADER_BYTES + (hash % 8) * 4;
  assert.equal(view.getInt32(slotAt), 2, "slot holds the newest entry number");
  const entry = (k: number) => INDEX_HEADER_BYTES + 8 * 4 + k * INDEX_ENTRY_BYTES;
  assert.equal(view.getInt32(entry(0)), 3, "entry 0 holds only the slot watermark");
  assert.ok(b.subarray(entry(0) + 4, entry(1)).every((x) => x === 0), "entry 0 is no entry");
  assert.equal(view.getInt32(entry(1)), hash);
  assert.equal(getInt64(view, entry(1) + 4), 1000);
  assert.equal(view.getInt32(entry(1) + 12), 0);
  assert.equal(view.getInt32(entry(1) + 16), 0);
  assert.equal(view.getInt32(entry(2)), hash);
  assert.equal(getInt64(view, entry(2) + 4), 2000);
  assert.equal(view.getInt32(entry(2) + 12), 3, "time delta in whole seconds");
  assert.equal(view.getInt32(entry(2) + 16), 1, "prev points at the older entry");
});

Deno.test("IndexFile.query() returns a key's offsets newest first", () => {
  const { file } = setup();
  file.put("T#a", 100, T0);
  file.put("T#b", 200, T0 + 1000);
  file.put("T#a", 300, T0 + 2000);
  file.put("T#a", 400, T0 + 3000);
  assert.deepEqual(query(file, "T#a"), [400, 300, 100]);
  assert.deepEqual(query(file, "T#b"), [200]);
  assert.deepEqual(query(file, "T#none"), []);
  assert.deepEqual(query(file, "T#a", 0, Number.MAX_SAFE_INTEGER, 2), [400, 300]);
});

Deno.test("IndexFile.query() follows chains through colliding buckets and hashes", () => {
  // Two slots: every key shares a bucket with others. "Aa" and "BB" share a hash too.
  const { file } = setup({ slotCount: 2, entryCount: 64 });
  const keys = ["T#Aa", "T#BB", "T#x", "T#y", "T#z", "T#w"];
  keys.forEach((key, i) => file.put(key, (i + 1) * 100, T0 + i));
  assert.equal(indexKeyHash("T#Aa"), indexKeyHash("T#BB"));
  // Same hash: both come back (the caller re-checks the key from the record).
  assert.deepEqual(query(file, "T#Aa"), [200, 100]);
  for (const [i, key] of keys.entries()) {
    if (i < 2) continue;
    assert.deepEqual(query(file, key), [(i + 1) * 100], key);
  }
  assert.ok(file.header.hashSlotCount <= 2);
});

Deno.test("IndexFile.put() answers false when the file is full", () => {
  const { file } = setup({ slotCount: 4, entryCount: 4 });
  assert.ok(file.put("T#a", 1, T0));
  assert.ok(file.put("T#b", 2, T0));
  assert.ok(file.put("T#c", 3, T0));
  assert.equal(file.full, true);
  assert.equal(file.put("T#d", 4, T0), false);
  assert.equal(file.header.indexCount, 4);
  assert.deepEqual(query(file, "T#c"), [3]);
  assert.deepEqual(query(file, "T#d"), []);
});

Deno.test("IndexFile.query() keeps entries within the time window, to the second", () => {
  const { file } = setup({ slotCount: 8, entryCount: 64 });
  for (let i = 0; i < 10; i++) file.put("T#k", i, T0 + i * 10_000);
  assert.deepEqual(query(file, "T#k", T0 + 20_000, T0 + 40_000), [4, 3, 2]);
  assert.deepEqual(query(file, "T#k", T0 + 95_000, T0 + 200_000), []);
  assert.deepEqual(query(file, "T#k", 0, T0 - 1), []);
  // An entry stored 500 ms after the file began reads as the begin second: still found.
  const { file: f2 } = setup();
  f2.put("T#a", 1, T0);
  f2.put("T#a", 2, T0 + 1500);
  assert.deepEqual(query(f2, "T#a", T0 + 1400, T0 + 1600), [2]);
});

Deno.test("IndexFile readers see entries once the writer commits", () => {
  const { file, reader } = setup();
  const r = reader();
  file.put("T#a", 10, T0);
  assert.equal(r.refresh()?.indexCount, 1);
  assert.deepEqual(query(r, "T#a"), []);
  file.commit();
  assert.equal(r.refresh()?.indexCount, 2);
  assert.deepEqual(query(r, "T#a"), [10]);
  file.put("T#a", 20, T0 + 1000);
  file.commit();
  r.refresh();
  assert.deepEqual(query(r, "T#a"), [20, 10]);
  assert.throws(() => r.put("T#a", 30, T0), /reader/);
  r.close();
});

Deno.test("IndexFile commits by itself when its entry buffer fills", () => {
  const { file, reader } = setup({ slotCount: 64, entryCount: 3000 });
  const r = reader();
  for (let i = 0; i < 2500; i++) file.put(`T#k${i % 50}`, i, T0 + i);
  // More than the 1024-entry buffer: the first entries reached the file without commit().
  assert.ok(r.refresh()!.indexCount > 1);
  file.commit();
  r.refresh();
  assert.equal(query(r, "T#k7").length, 50);
  assert.equal(query(r, "T#k7")[0], 2457);
});

Deno.test("IndexFile survives reopening: a clean writer reloads and goes on", () => {
  const { file, reopenWriter } = setup();
  file.put("T#a", 10, T0);
  file.put("T#b", 20, T0 + 1000);
  file.flush();
  file.close();
  const { writer, loaded } = reopenWriter();
  assert.deepEqual(loaded, { status: "OK", repaired: undefined });
  assert.ok(writer.put("T#a", 30, T0 + 2000));
  assert.deepEqual(query(writer, "T#a"), [30, 10]);
  assert.equal(writer.header.indexCount, 4);
});

Deno.test("IndexFile.query() stops on a chain that loops", () => {
  const { file, bytes, reader } = setup();
  file.put("T#a", 10, T0);
  file.put("T#a", 20, T0);
  file.commit();
  // Point entry 1's prev at entry 2 (a loop 2 -> 1 -> 2).
  const view = new DataView(bytes().buffer);
  view.setInt32(INDEX_HEADER_BYTES + 8 * 4 + 1 * INDEX_ENTRY_BYTES + 16, 2);
  assert.deepEqual(query(reader(), "T#a"), [20, 10]);
});

// ---------------------------------------------------------------------------
// Corruption catalogue

Deno.test("corruption: a header that is zero with no entries reads as EMPTY, and a writer initialises it", () => {
  const fs = new MemoryFileSystem(() => T0);
  const dir = fs.segments("index");
  dir.open(T0, indexFileBytes(SMALL), { create: true, writable: true });
  const reader = IndexFile.open(dir, T0, SMALL, false)!;
  assert.deepEqual(reader.load(), { status: "EMPTY" });
  const writer = IndexFile.open(dir, T0, SMALL, true)!;
  assert.deepEqual(writer.load(true), { status: "OK", repaired: undefined });
  assert.ok(writer.put("T#a", 1, T0));
  assert.deepEqual(query(writer, "T#a"), [1]);
});

Deno.test("corruption: a zero header in front of entries is CORRUPT", () => {
  const { file, bytes, dir } = setup();
  file.put("T#a", 1, T0);
  file.commit();
  bytes().fill(0, 0, INDEX_HEADER_BYTES);
  const writer = IndexFile.open(dir, T0, SMALL, true)!;
  const loaded = writer.load(true);
  assert.equal(loaded.status, "CORRUPT");
});

Deno.test("corruption: a bad header is CORRUPT for readers and writers", () => {
  const cases: [string, (h: ReturnType<typeof decodeIndexHeader>) => object][] = [
    ["indexCount past the file", (h) => ({ ...h, indexCount: 17 })],
    ["negative indexCount", (h) => ({ ...h, indexCount: -5 })],
    ["hashSlotCount above entries", (h) => ({ ...h, hashSlotCount: 5 })],
    ["end before begin", (h) => ({ ...h, endTimestamp: h.beginTimestamp - 1 })],
    ["negative offset", (h) => ({ ...h, beginPhyOffset: -1 })],
  ];
  for (const [what, mutate] of cases) {
    const { file, bytes, dir } = setup();
    file.put("T#a", 1, T0);
    file.put("T#b", 2, T0 + 5000);
    file.commit();
    const header = decodeIndexHeader(bytes());
    bytes().set(encodeIndexHeader(mutate(header) as typeof header), 0);
    for (const writable of [false, true]) {
      const handle = IndexFile.open(dir, T0, SMALL, writable)!;
      const loaded = handle.load(writable);
      assert.equal(loaded.status, "CORRUPT", `${what} (writable: ${writable})`);
      assert.match((loaded as { reason: string }).reason, /bad header/);
    }
  }
  assert.equal(
    checkIndexHeader(decodeIndexHeader(new Uint8Array(40)), SMALL),
    "indexCount 0 is outside 1..16",
  );
});

Deno.test("corruption: an empty or truncated file on disk is CORRUPT", async () => {
  const root = await Deno.makeTempDir({ prefix: "index_file_test_" });
  try {
    const fs = new FsStoreFileSystem(root);
    const dir = fs.segments("index");
    const file = IndexFile.create(dir, T0, SMALL);
    file.put("T#a", 1, T0);
    file.flush();
    file.close();
    const path = `${root}/index/${segmentFileName(T0)}`;
    for (const size of [indexFileBytes(SMALL) - 1, 100, 20, 0]) {
      await Deno.truncate(path, size);
      for (const writable of [false, true]) {
        const handle = IndexFile.open(dir, T0, SMALL, writable)!;
        try {
          const loaded = handle.load(writable);
          assert.equal(loaded.status, "CORRUPT", `size ${size}`);
          assert.match((loaded as { reason: string }).reason, /shorter than/);
        } finally {
          handle.close();
        }
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("corruption: a zero-filled tail the header claims is dropped and chains are rebuilt", () => {
  const { file, bytes, reopenWriter } = setup();
  file.put("T#a", 10, T0);
  file.put("T#b", 20, T0 + 1000);
  file.put("T#a", 30, T0 + 2000);
  file.put("T#a", 40, T0 + 3000);
  file.commit();
  // The header and slots reached the disk, the last two entries did not.
  const entriesAt = INDEX_HEADER_BYTES + 8 * 4;
  bytes().fill(0, entriesAt + 3 * INDEX_ENTRY_BYTES, entriesAt + 5 * INDEX_ENTRY_BYTES);
  const { writer, loaded } = reopenWriter();
  assert.equal(loaded.status, "OK");
  assert.match((loaded as { repaired: string }).repaired, /dropped 2 zeroed entries/);
  assert.equal(writer.header.indexCount, 3);
  assert.equal(writer.header.endPhyOffset, 20);
  assert.deepEqual(query(writer, "T#a"), [10]);
  assert.deepEqual(query(writer, "T#b"), [20]);
  // New puts chain onto the rebuilt bucket.
  writer.put("T#a", 50, T0 + 4000);
  assert.deepEqual(query(writer, "T#a"), [50, 10]);
});

Deno.test("corruption: entries written past a stale header are adopted after a crash", () => {
  const { file, bytes, reopenWriter, reader } = setup();
  file.put("T#a", 10, T0);
  file.commit();
  const staleHeader = bytes().slice(0, INDEX_HEADER_BYTES);
  file.put("T#a", 20, T0 + 1000);
  file.put("T#b", 30, T0 + 2000);
  file.commit();
  // The entries and slots reached the file, the header did not.
  bytes().set(staleHeader, 0);
  const { writer, loaded } = reopenWriter();
  assert.equal(loaded.status, "OK");
  assert.match((loaded as { repaired: string }).repaired, /adopted 2 entries/);
  assert.equal(writer.header.indexCount, 4);
  assert.equal(writer.header.endPhyOffset, 30);
  assert.deepEqual(query(writer, "T#a"), [20, 10]);
  assert.deepEqual(query(reader(), "T#b"), [30]);
});

Deno.test("corruption: a slot pointing past the last entry triggers a chain rebuild", () => {
  const { file, bytes, reopenWriter } = setup();
  file.put("T#a", 10, T0);
  file.put("T#b", 20, T0);
  file.commit();
  const view = new DataView(bytes().buffer);
  const slot = indexKeyHash("T#zz") % 8;
  view.setInt32(INDEX_HEADER_BYTES + slot * 4, 9);
  const { writer, loaded } = reopenWriter();
  assert.match((loaded as { repaired: string }).repaired, /slot points past/);
  assert.deepEqual(query(writer, "T#a"), [10]);
  assert.deepEqual(query(writer, "T#b"), [20]);
  assert.deepEqual(query(writer, "T#zz"), []);
});

Deno.test("IndexFile.commit() leaves many dirty slot pages to flush(), and readers find the keys after it", () => {
  const geometry = { slotCount: 64 * 1024, entryCount: 4096 };
  const { file, reader } = setup(geometry);
  const r = reader();
  // Keys spread over many 1024-slot pages: more than a commit writes.
  const keys = keysOnDistinctPages("spread", geometry.slotCount, 60);
  keys.forEach((key, i) => file.put(key, i * 10, T0 + i));
  file.commit();
  assert.equal(r.refresh()?.indexCount, keys.length + 1, "entries and header are committed");
  const foundBeforeFlush = keys.filter((key) => query(r, key).length > 0).length;
  assert.ok(foundBeforeFlush < keys.length, "slot pages were left for flush");
  assert.deepEqual(query(file, keys[7]), [70], "the writer sees its in-memory slots");
  file.flush();
  keys.forEach((key, i) => assert.deepEqual(query(r, key), [i * 10], key));
  r.close();
});

Deno.test("corruption: after a crash, entries whose slot pages never reached the file are relinked", () => {
  const geometry = { slotCount: 64 * 1024, entryCount: 4096 };
  const { file, reopenWriter, reader } = setup(geometry);
  file.put("T#old", 1, T0);
  file.flush();
  const keys = keysOnDistinctPages("late", geometry.slotCount, 60);
  keys.forEach((key, i) => file.put(key, 100 + i, T0 + 1000));
  file.put("T#old", 5000, T0 + 2000);
  file.commit();
  // Crash here: entries and header are in the file, most slot pages are not.
  const { writer, loaded } = reopenWriter();
  assert.deepEqual(loaded, { status: "OK", repaired: undefined });
  keys.forEach((key, i) => assert.deepEqual(query(writer, key), [100 + i], key));
  assert.deepEqual(query(writer, "T#old"), [5000, 1]);
  const r = reader();
  keys.forEach((key, i) => assert.deepEqual(query(r, key), [100 + i], key));
  assert.deepEqual(query(r, "T#old"), [5000, 1]);
  r.close();
});

/** `count` keys whose slots fall on distinct 1024-slot pages. */
function keysOnDistinctPages(prefix: string, slotCount: number, count: number): string[] {
  const pages = new Set<number>();
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) {
    const key = `T#${prefix}${i}`;
    const page = Math.floor((indexKeyHash(key) % slotCount) / 1024);
    if (pages.has(page)) continue;
    pages.add(page);
    keys.push(key);
  }
  return keys;
}
