import assert from "node:assert/strict";
import { LocalOffsetStore } from "./local_offset_store.ts";

Deno.test("LocalOffsetStore keeps offsets in a file that survives a new instance", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmq_local_offsets_" });
  try {
    const queue = { topic: "T", brokerName: "b", queueId: 3 };
    const store = new LocalOffsetStore(dir, "g");
    await store.load();
    assert.equal(await store.read(queue), undefined);
    await store.commit(queue, 42);
    await store.flush();
    const again = new LocalOffsetStore(dir, "g");
    await again.load();
    assert.equal(await again.read(queue), 42);
    assert.equal(again.commitsWithPull, false);
    await Deno.writeTextFile(again.path, "{broken");
    const damaged = new LocalOffsetStore(dir, "g");
    await damaged.load();
    assert.equal(await damaged.read(queue), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
