/**
 * Unit tests of `WorkerMessageStore` behaviour beyond the shared contract
 * (which `tests/contract/worker_message_store_test.ts` runs).
 *
 * @module
 */

import assert from "node:assert/strict";
import { decodeRecord } from "../../client/protocol/message_record.ts";
import { message } from "../domain/_test_support.ts";
import { defaultStoreConfig } from "../message_store.ts";
import { WorkerMessageStore } from "./worker_message_store.ts";

Deno.test("WorkerMessageStore.lookMessageByOffset() and readRecords() see a put as soon as it is acknowledged, before dispatch", async () => {
  // Goal: reads by CommitLog offset are bounded by the committed offset, not
  // the dispatched one, so END_TRANSACTION and the timer service find a record
  // right after its ack even with awaitDispatch false. Method: put, then read
  // in the same task as the ack, many times.
  const dir = await Deno.makeTempDir({ prefix: "rmq_worker_committed_read_" });
  try {
    await using store = new WorkerMessageStore(
      defaultStoreConfig(dir, { commitLogSegmentBytes: 256 * 1024, flushMode: "async" }),
      { diskUsedRatio: () => 0.1, awaitDispatch: false },
    );
    await store.open();
    for (let i = 0; i < 50; i++) {
      const put = await store.putMessage(message("TopicR", i % 2, `body-${i}`));
      assert.equal(put.status, "PUT_OK");
      if (put.status !== "PUT_OK") continue;
      const found = await store.lookMessageByOffset(put.commitLogOffset);
      assert.ok(found !== undefined, `put ${i} is readable by offset`);
      assert.equal(new TextDecoder().decode(decodeRecord(found.record).body), `body-${i}`);
      assert.equal(found.queueOffset, put.queueOffset);
      const raw = await store.readRecords!(put.commitLogOffset, put.wroteBytes);
      assert.deepEqual(raw, found.record);
    }
    // Nothing past the committed end.
    const end = store.stats().commitLogMaxOffset;
    assert.equal(await store.lookMessageByOffset(end), undefined);
    assert.equal(await store.readRecords!(end - 10, 20), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
