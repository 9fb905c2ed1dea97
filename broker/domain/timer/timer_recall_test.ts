import assert from "node:assert/strict";
import { decodeRecord, encodeRecord } from "../../../client/protocol/message_record.ts";
import { createRecallMarker, RecalledSet, recallMarkerOf } from "./timer_recall.ts";
import { TIMER_TOPIC } from "./timer_transform.ts";

const HOST = { ip: new Uint8Array([127, 0, 0, 1]), port: 1 };

Deno.test("createRecallMarker() builds a timer-queue message that recallMarkerOf() reads back", () => {
  const marker = createRecallMarker({
    topic: "T",
    uniqKey: "ABC",
    deliverMs: 5_000,
    bornHost: HOST,
    nowMs: 1_000,
  });
  assert.equal(marker.topic, TIMER_TOPIC);
  assert.deepEqual(recallMarkerOf(marker.properties), { uniqKey: "ABC", deliverMs: 5_000 });
  assert.equal(recallMarkerOf("TAGS\u0001a\u0002"), undefined);
  // It survives the record format.
  const bytes = new Uint8Array(512);
  const size = encodeRecord({
    ...marker,
    queueOffset: 0,
    commitLogOffset: 0,
    storeTimestamp: 1_000,
    storeHost: HOST,
    topicBytes: new TextEncoder().encode(marker.topic),
    propertiesBytes: new TextEncoder().encode(marker.properties),
  }, bytes);
  assert.equal(recallMarkerOf(decodeRecord(bytes.subarray(0, size)).properties)?.uniqKey, "ABC");
});

Deno.test("RecalledSet takes a key once, prunes what is past, and restores from a checkpoint", () => {
  const set = new RecalledSet();
  set.add("A", 100);
  set.add("B", 200);
  assert.equal(set.take("A"), true);
  assert.equal(set.take("A"), false);
  assert.equal(set.take(undefined), false);
  set.prune(250);
  assert.equal(set.size, 0);
  set.add("C", 300);
  const restored = new RecalledSet();
  restored.restore([...set.entries(), ["bad"], 7]);
  assert.deepEqual(restored.entries(), [["C", 300]]);
});
