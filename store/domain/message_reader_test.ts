import assert from "node:assert/strict";
import { getInt64, RecordPos } from "../../client/protocol/message_record.ts";
import { tagsHashCode } from "../../client/protocol/properties.ts";
import { DomainStore, message } from "./_test_support.ts";

function bodyOf(record: Uint8Array): string {
  // Body starts after the fixed fields (IPv4 hosts): BODYLENGTH at 84.
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  return new TextDecoder().decode(record.subarray(88, 88 + view.getInt32(84)));
}

Deno.test("MessageReader.getMessage() returns interleaved records of a queue intact, across CommitLog segments", () => {
  // Goal: records of one queue that are not back to back (three queues
  // interleave) and that span several small segments come back byte-exact,
  // each as its own view. Method: put 3 x 40 messages, read queue 1 in batches.
  const store = new DomainStore();
  try {
    for (let i = 0; i < 40; i++) {
      for (let q = 0; q < 3; q++) store.put(message("T", q, `q${q}-m${i}`), false);
    }
    const got = store.reader.getMessage({
      group: "g",
      topic: "T",
      queueId: 1,
      queueOffset: 3,
      maxCount: 32,
    });
    assert.equal(got.status, "FOUND");
    assert.equal(got.messages.length, 32);
    assert.equal(got.nextBeginOffset, 35);
    got.messages.forEach((m, k) => {
      assert.equal(m.queueOffset, 3 + k);
      assert.equal(bodyOf(m.record), `q1-m${3 + k}`);
      const view = new DataView(m.record.buffer, m.record.byteOffset, m.record.byteLength);
      assert.equal(view.getInt32(RecordPos.TOTAL_SIZE), m.record.length);
      assert.equal(getInt64(view, RecordPos.PHYSICAL_OFFSET), m.commitLogOffset);
    });
    assert.deepEqual(
      store.bodies("T", 2),
      Array.from({ length: 40 }, (_, i) => `q2-m${i}`),
    );
  } finally {
    store.abandon();
  }
});

Deno.test("MessageReader.getMessage() filters by tag code over a scan longer than one unit read buffer", () => {
  // Goal: a filtered read scans many ConsumeQueue units (more than the reused
  // unit buffer holds) and returns only the matching records, in order.
  const store = new DomainStore(undefined, 64 * 1024, 16);
  try {
    for (let i = 0; i < 150; i++) {
      store.put(message("T", 0, `m${i}`, { TAGS: i % 10 === 0 ? "a" : "b" }), false);
    }
    const a = tagsHashCode("a");
    const got = store.reader.getMessage({
      group: "g",
      topic: "T",
      queueId: 0,
      queueOffset: 0,
      maxCount: 32,
      filter: { matchesTagsCode: (code) => code === a },
    });
    assert.equal(got.status, "FOUND");
    assert.deepEqual(
      got.messages.map((m) => bodyOf(m.record)),
      Array.from({ length: 15 }, (_, k) => `m${k * 10}`),
    );
    assert.equal(got.nextBeginOffset, 150);
  } finally {
    store.abandon();
  }
});
