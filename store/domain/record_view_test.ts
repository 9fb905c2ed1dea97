import assert from "node:assert/strict";
import { encode, message } from "./_test_support.ts";
import { recordTopic, TopicDecoder } from "./record_view.ts";

Deno.test("TopicDecoder.decode() reuses the last topic only when the bytes match exactly", () => {
  const decoder = new TopicDecoder();
  const bytes = new TextEncoder().encode("xxTopicAyyTopicBzzTöpic");
  assert.equal(decoder.decode(bytes, 2, 6), "TopicA");
  assert.equal(decoder.decode(bytes, 2, 6), "TopicA");
  assert.equal(decoder.decode(bytes, 10, 6), "TopicB", "same length, different bytes");
  assert.equal(decoder.decode(bytes, 10, 5), "Topic", "a prefix of the last topic");
  assert.equal(decoder.decode(bytes, 18, 6), "Töpic");
  // The cache holds a copy: changing the source afterwards changes nothing.
  bytes.fill(0x41, 10, 16);
  assert.equal(decoder.decode(bytes, 10, 6), "AAAAAA");
});

Deno.test("TopicDecoder.recordTopic() reads the topic of each record like recordTopic()", () => {
  const decoder = new TopicDecoder();
  const records = encode(
    message("Alpha", 0, "a"),
    message("Alpha", 1, "bb"),
    message("Beta", 0, "ccc"),
    message("x".repeat(100), 0, "long topic"),
    message("Alpha", 0, "dddd"),
  );
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const seen: string[] = [];
  for (let at = 0; at < records.length; at += view.getInt32(at)) {
    const topic = decoder.recordTopic(view, records, at);
    assert.equal(topic, recordTopic(records, at));
    seen.push(topic.length > 10 ? "long" : topic);
  }
  assert.deepEqual(seen, ["Alpha", "Alpha", "Beta", "long", "Alpha"]);
});
