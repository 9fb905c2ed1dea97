import assert from "node:assert/strict";
import { FsHandleCache, openFilesWarning, TooManyOpenFilesError } from "./fs_handle_cache.ts";
import { FsStoreFileSystem } from "./fs_store_file_system.ts";

Deno.test("FsHandleCache: segments beyond the cap are closed least recently used first and reopen", async () => {
  const root = await Deno.makeTempDir();
  try {
    const fs = new FsStoreFileSystem(root, 8);
    const segments = Array.from(
      { length: 40 },
      (_, i) => fs.segments(`consumequeue/T/${i}`).open(0, 4096, { create: true, writable: true })!,
    );
    segments.forEach((s, i) => s.write(0, new Uint8Array([i + 1])));
    assert.ok(fs.handles.size <= 8);
    assert.ok(fs.handles.evictions >= 32);
    for (const [i, s] of segments.entries()) {
      const out = new Uint8Array(1);
      s.read(0, out);
      assert.equal(out[0], i + 1);
      s.flush();
      assert.ok(fs.handles.size <= 8);
    }
    for (const s of segments) s.close();
    assert.equal(fs.handles.size, 0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("FsHandleCache: EMFILE evicts half the cache and retries; a second EMFILE is a clear error", () => {
  const cache = new FsHandleCache(16);
  const released: number[] = [];
  const owners = Array.from({ length: 10 }, (_, i) => ({ releaseHandle: () => released.push(i) }));
  for (const owner of owners) cache.open(owner, "f", () => 3);
  let calls = 0;
  const emfile = Object.assign(new Error("Too many open files"), { code: "EMFILE" });
  const fd = cache.open({ releaseHandle() {} }, "g", () => {
    if (calls++ === 0) throw emfile;
    return 4;
  });
  assert.equal(fd, 4);
  assert.deepEqual(released, [0, 1, 2, 3, 4]);
  assert.throws(
    () =>
      cache.open({ releaseHandle() {} }, "h", () => {
        throw emfile;
      }),
    TooManyOpenFilesError,
  );
});

Deno.test("openFilesWarning names the command when the limit is too low", () => {
  assert.equal(openFilesWarning(512, 65536), undefined);
  assert.equal(openFilesWarning(512, undefined), undefined);
  assert.match(openFilesWarning(512, 256)!, /ulimit -n 768/);
});
