import assert from "node:assert/strict";
import type { PutMessageResult } from "../../../store/mod.ts";
import { createTopicConfig } from "../topic_config.ts";
import { DEDUP_WINDOW_ATTRIBUTE, DedupWindow, putOnce } from "./dedup_window.ts";

let now = 1_000_000;
let offset = 0;
const put = (n = 1): () => Promise<PutMessageResult> => () => {
  const first = offset;
  offset += n;
  return Promise.resolve({
    status: "PUT_OK",
    commitLogOffset: first * 100,
    queueOffset: first,
    storeTimestamp: now,
    commitLogOffsets: Array.from({ length: n }, (_, i) => (first + i) * 100),
    wroteBytes: 100 * n,
  });
};
const window = (windowMs: number, keysMax = 10, attribute?: string) =>
  new DedupWindow({
    windowMs,
    keysMax,
    topic: (name) =>
      attribute === undefined
        ? undefined
        : { ...createTopicConfig(name), attributes: { [DEDUP_WINDOW_ATTRIBUTE]: attribute } },
    nowMs: () => now,
  });

Deno.test("DedupWindow answers a resend within the window with the original, not stored again", async () => {
  const w = window(60_000);
  const first = await w.put("T", 2, ["K1"], put());
  const again = await w.put("T", 3, ["K1"], put());
  assert.equal(again.duplicate, true);
  assert.equal(again.queueId, 2, "the original queue");
  assert.deepEqual(again.result, { ...first.result, wroteBytes: 0 });
  assert.equal(w.duplicates, 1);
  now += 60_001;
  assert.equal((await w.put("T", 3, ["K1"], put())).duplicate, false, "outside the window");
});

Deno.test("DedupWindow: off by default, on by topic attribute; bounded by keysMax", async () => {
  const off = window(0);
  assert.equal((await off.put("T", 0, ["K"], put())).duplicate, false);
  assert.equal((await off.put("T", 0, ["K"], put())).duplicate, false);
  const byTopic = window(0, 2, "5000");
  await byTopic.put("T", 0, ["A"], put());
  await byTopic.put("T", 0, ["B"], put());
  await byTopic.put("T", 0, ["C"], put());
  assert.equal(byTopic.size, 2);
  assert.equal((await byTopic.put("T", 0, ["A"], put())).duplicate, false, "A was forgotten");
  assert.equal((await byTopic.put("T", 0, ["C"], put())).duplicate, true);
});

Deno.test("DedupWindow: a batch is a duplicate only as a whole; racing sends of a key store once", async () => {
  const w = window(60_000, 100);
  await w.put("T", 1, ["X", "Y"], put(2));
  assert.equal((await w.put("T", 1, ["X", "Y"], put(2))).duplicate, true);
  assert.equal((await w.put("T", 1, ["X", "Z"], put(2))).duplicate, false);
  const before = offset;
  const [a, b] = await Promise.all([w.put("T", 0, ["R"], put()), w.put("T", 0, ["R"], put())]);
  assert.equal(offset - before, 1, "stored once");
  assert.equal(a.duplicate !== b.duplicate, true);
  assert.equal((await putOnce(undefined, "T", 0, ["R"], put())).duplicate, false);
});
