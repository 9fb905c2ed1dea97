/**
 * The simulated disk forgets exactly what a power cut forgets.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PowerCut, SimDisk } from "../_helpers/sim_disk.ts";

const bytes = (n: number, v: number) => new Uint8Array(n).fill(v);

Deno.test("SimDisk (strict): a created file without a directory fsync is gone after a cut", () => {
  const disk = new SimDisk("strict", 1);
  disk.mkdir(disk.boot, "d");
  disk.create(disk.boot, "d/f");
  disk.pwrite(disk.boot, "d/f", 0, bytes(10, 1));
  disk.fdatasync(disk.boot, "d/f");
  disk.powerCut();
  assert.equal(disk.kind(disk.boot, "d"), undefined);
});

Deno.test("SimDisk (strict): fsync of each directory from the root down keeps the file", () => {
  const disk = new SimDisk("strict", 1);
  disk.mkdir(disk.boot, "d");
  disk.create(disk.boot, "d/f");
  disk.pwrite(disk.boot, "d/f", 0, bytes(10, 1));
  disk.fdatasync(disk.boot, "d/f");
  disk.fsyncDir(disk.boot, "d");
  disk.fsyncDir(disk.boot, "");
  disk.pwrite(disk.boot, "d/f", 10, bytes(10, 2)); // never synced
  disk.powerCut();
  assert.equal(disk.stat(disk.boot, "d/f")?.size, 10);
  const out = new Uint8Array(10);
  disk.pread(disk.boot, "d/f", 0, out);
  assert.deepEqual(out, bytes(10, 1));
});

Deno.test("SimDisk: an fdatasync in flight at the cut lands whole sectors, in any subset", () => {
  const seen = new Set<string>();
  for (let seed = 1; seed <= 40; seed++) {
    const disk = new SimDisk("strict", seed);
    disk.create(disk.boot, "f");
    disk.fsyncDir(disk.boot, "");
    disk.pwrite(disk.boot, "f", 0, bytes(2048, 7));
    disk.armCut(1);
    assert.throws(() => disk.fdatasync(disk.boot, "f"), PowerCut);
    assert.throws(() => disk.stat(disk.boot, "f"), PowerCut);
    disk.powerCut();
    const size = disk.stat(disk.boot, "f")!.size;
    const out = new Uint8Array(size);
    disk.pread(disk.boot, "f", 0, out);
    const sectors = [0, 1, 2, 3].map((s) => out[s * 512] === 7 ? "1" : "0").join("");
    for (let s = 0; s < size / 512; s++) {
      const sector = out.subarray(s * 512, s * 512 + 512);
      assert.ok(sector.every((b) => b === sector[0]), "a sector lands whole or not at all");
    }
    seen.add(`${size}:${sectors}`);
  }
  assert.ok(seen.size > 4, `only ${[...seen]} outcomes`);
});

Deno.test("SimDisk (ordered): a rename is atomic; the journal keeps a prefix of operations", () => {
  for (let seed = 1; seed <= 30; seed++) {
    const disk = new SimDisk("ordered", seed);
    disk.create(disk.boot, "a");
    disk.fdatasync(disk.boot, "a"); // commits the journal
    disk.rename(disk.boot, "a", "b");
    disk.create(disk.boot, "c");
    disk.powerCut();
    const a = disk.kind(disk.boot, "a");
    const b = disk.kind(disk.boot, "b");
    const c = disk.kind(disk.boot, "c");
    assert.ok((a === "file") !== (b === "file"), "exactly one of a, b");
    if (c === "file") assert.equal(b, "file", "c was journaled after the rename");
  }
});
