/**
 * The segment-port contract, run on the file implementation and the memory
 * implementation alike.
 */

import assert from "node:assert/strict";
import type { StoreFileSystem } from "../domain/segment.ts";
import { FsStoreFileSystem } from "./fs_segment.ts";
import { MemoryFileSystem } from "./memory_segment.ts";

type Factory = () => Promise<{ fs: StoreFileSystem } & AsyncDisposable>;

function segmentContract(name: string, factory: Factory): void {
  Deno.test(`${name}: a created segment reads back zeros, then what was written`, async () => {
    await using env = await factory();
    const dir = env.fs.segments("commitlog");
    assert.deepEqual(dir.list(), []);
    assert.equal(dir.open(0, 1024), undefined);
    const writer = dir.open(1024, 1024, { create: true, writable: true })!;
    try {
      assert.equal(writer.baseOffset, 1024);
      const target = new Uint8Array(16).fill(9);
      assert.equal(writer.read(100, target), 16);
      assert.ok(target.every((b) => b === 0));
      writer.write(100, new Uint8Array([1, 2, 3]));
      writer.flush();
      assert.equal(writer.read(100, target.subarray(0, 3)), 3);
      assert.deepEqual([...target.subarray(0, 3)], [1, 2, 3]);
      assert.equal(writer.read(1020, new Uint8Array(16)), 4, "reads stop at the segment end");
      assert.throws(() => writer.write(1022, new Uint8Array(4)), RangeError);
    } finally {
      writer.close();
    }
    assert.deepEqual(dir.list(), [1024]);
  });

  Deno.test(`${name}: a reader handle sees writes of a writer handle without a flush`, async () => {
    await using env = await factory();
    const dir = env.fs.segments("consumequeue/T/0");
    const writer = dir.open(0, 64, { create: true, writable: true })!;
    const reader = dir.open(0, 64)!;
    try {
      writer.write(8, new Uint8Array([7, 7]));
      const target = new Uint8Array(2);
      reader.read(8, target);
      assert.deepEqual([...target], [7, 7]);
      assert.throws(() => reader.write(0, new Uint8Array(1)));
    } finally {
      writer.close();
      reader.close();
    }
  });

  Deno.test(`${name}: directories list, delete and report modification times`, async () => {
    await using env = await factory();
    const dir = env.fs.segments("consumequeue/T/3");
    for (const base of [40, 0, 20]) dir.open(base, 20, { create: true, writable: true })!.close();
    assert.deepEqual(dir.list(), [0, 20, 40]);
    assert.equal(typeof dir.lastModifiedMs(20), "number");
    dir.delete(20);
    dir.delete(20);
    assert.deepEqual(dir.list(), [0, 40]);
    assert.equal(dir.lastModifiedMs(20), undefined);
    assert.deepEqual(env.fs.listDirectories("consumequeue"), ["T"]);
    assert.deepEqual(env.fs.listDirectories("consumequeue/T"), ["3"]);
    env.fs.removeDirectory("consumequeue/T");
    assert.deepEqual(env.fs.listDirectories("consumequeue"), []);
  });

  Deno.test(`${name}: small files are written, read, detected and removed`, async () => {
    await using env = await factory();
    assert.equal(env.fs.readFile("checkpoint"), undefined);
    assert.equal(env.fs.exists("abort"), false);
    env.fs.writeFile("checkpoint", new Uint8Array([1, 2]));
    env.fs.writeFile("abort", new Uint8Array(0));
    assert.deepEqual([...env.fs.readFile("checkpoint")!], [1, 2]);
    assert.equal(env.fs.exists("abort"), true);
    env.fs.removeFile("abort");
    env.fs.removeFile("abort");
    assert.equal(env.fs.exists("abort"), false);
  });
}

segmentContract("FsStoreFileSystem", async () => {
  const path = await Deno.makeTempDir({ prefix: "rmq_segment_" });
  return {
    fs: new FsStoreFileSystem(path),
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
});

segmentContract("MemoryFileSystem", () =>
  Promise.resolve({
    fs: new MemoryFileSystem(),
    async [Symbol.asyncDispose]() {},
  }));

Deno.test("FsStoreFileSystem: directory fsyncs from a segment directory up to the data dir", async () => {
  const root = await Deno.makeTempDir();
  try {
    const fs = new FsStoreFileSystem(`${root}/data`);
    const dir = fs.segments("consumequeue/T/0");
    dir.open(0, 4096, { create: true, writable: true })!.close();
    dir.sync(); // fsyncs consumequeue/T/0, consumequeue/T, consumequeue, data, and data's parent
    fs.writeFile("checkpoint", new Uint8Array(64)); // new file: its directory is fsynced too
    fs.removeFile("checkpoint");
    fs.removeDirectory("consumequeue/T");
    dir.sync(); // a directory that is gone is skipped
    assert.deepEqual(fs.listDirectories("consumequeue"), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
