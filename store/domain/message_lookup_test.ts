import assert from "node:assert/strict";
import { encodeRecord, recordSize } from "../../client/protocol/message_record.ts";
import { encodeProperties } from "../../client/protocol/properties.ts";
import { MemoryFileSystem } from "../infra/memory_segment.ts";
import type { StoredMessage } from "../message_store.ts";
import { toDispatchRequest } from "./dispatch.ts";
import { IndexService } from "./index_service.ts";
import { lookupMessagesByKey, recordHasKey } from "./message_lookup.ts";

const T0 = 1_700_000_000_000;
const encoder = new TextEncoder();
const HOST = { ip: new Uint8Array([127, 0, 0, 1]), port: 10911 };

/** One encoded CommitLog record at `offset`. */
function record(
  offset: number,
  topic: string,
  props: Record<string, string>,
  storeTimestamp: number,
) {
  const topicBytes = encoder.encode(topic);
  const propertiesBytes = encoder.encode(encodeProperties(props));
  const body = encoder.encode("body");
  const bytes = new Uint8Array(
    recordSize(body.length, topicBytes.length, propertiesBytes.length, 4, 4),
  );
  encodeRecord({
    queueId: 0,
    flag: 0,
    queueOffset: 0,
    commitLogOffset: offset,
    sysFlag: 0,
    bornTimestamp: storeTimestamp,
    bornHost: HOST,
    storeTimestamp,
    storeHost: HOST,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    body,
    topicBytes,
    propertiesBytes,
  }, bytes);
  return bytes;
}

/** A fake CommitLog: records by offset, all dispatched into a fresh index. */
function store() {
  const index = new IndexService(new MemoryFileSystem(), {
    writable: true,
    slotCount: 4,
    entryCount: 64,
  });
  index.load();
  const records = new Map<number, Uint8Array>();
  let next = 0;
  return {
    index,
    records,
    put(topic: string, props: Record<string, string>, storeTimestamp: number): number {
      const offset = next;
      const bytes = record(offset, topic, props, storeTimestamp);
      records.set(offset, bytes);
      index.dispatch(toDispatchRequest(bytes, 0, bytes.length));
      next += bytes.length;
      return offset;
    },
    look: (offset: number): StoredMessage | undefined => {
      const bytes = records.get(offset);
      return bytes === undefined
        ? undefined
        : { queueOffset: 0, commitLogOffset: offset, tagsCode: 0, record: bytes };
    },
  };
}

const ALL = [0, Number.MAX_SAFE_INTEGER] as const;

Deno.test("recordHasKey() matches UNIQ_KEY or a whole KEYS element", () => {
  const props = encodeProperties({ UNIQ_KEY: "U1", KEYS: "order-1 order-2" });
  assert.ok(recordHasKey(props, "U1"));
  assert.ok(recordHasKey(props, "order-2"));
  assert.ok(!recordHasKey(props, "order"));
  assert.ok(!recordHasKey(encodeProperties({}), "x"));
});

Deno.test("lookupMessagesByKey() returns the records of a key newest first", async () => {
  const s = store();
  const a = s.put("T", { UNIQ_KEY: "U1", KEYS: "k" }, T0);
  s.put("T", { UNIQ_KEY: "U2", KEYS: "other" }, T0 + 1);
  const c = s.put("T", { UNIQ_KEY: "U3", KEYS: "x k" }, T0 + 2);
  const found = await lookupMessagesByKey(s.index, s.look, "T", "k", 10, ...ALL);
  assert.deepEqual(found.messages.map((m) => m.commitLogOffset), [c, a]);
  assert.equal(found.indexLastUpdatePhyOffset, c);
  assert.equal(found.indexLastUpdateTimestamp, T0 + 2);
  const byId = await lookupMessagesByKey(s.index, s.look, "T", "U3", 10, ...ALL);
  assert.deepEqual(byId.messages.map((m) => m.commitLogOffset), [c]);
  const one = await lookupMessagesByKey(s.index, s.look, "T", "k", 1, ...ALL);
  assert.deepEqual(one.messages.map((m) => m.commitLogOffset), [c]);
});

Deno.test("lookupMessagesByKey() drops hash collisions, stale entries and records outside the window", async () => {
  const s = store();
  // "Aa" and "BB" have the same String.hashCode, so the index cannot tell them apart.
  const aa = s.put("T", { UNIQ_KEY: "U1", KEYS: "Aa" }, T0);
  s.put("T", { UNIQ_KEY: "U2", KEYS: "BB" }, T0 + 100);
  const found = await lookupMessagesByKey(s.index, s.look, "T", "Aa", 10, ...ALL);
  assert.deepEqual(found.messages.map((m) => m.commitLogOffset), [aa]);
  // A stale entry: the CommitLog tail was cut and another record now sits at that offset.
  const late = s.put("T", { UNIQ_KEY: "U3", KEYS: "gone" }, T0 + 200);
  s.records.set(late, record(late, "T", { UNIQ_KEY: "U4", KEYS: "new" }, T0 + 200));
  assert.deepEqual(
    (await lookupMessagesByKey(s.index, s.look, "T", "gone", 10, ...ALL)).messages,
    [],
  );
  // A record gone entirely (retention).
  s.records.delete(aa);
  assert.deepEqual(
    (await lookupMessagesByKey(s.index, s.look, "T", "Aa", 10, ...ALL)).messages,
    [],
  );
  // Exact store times: the index matches to the second, the lookup to the millisecond.
  const t = s.put("T", { UNIQ_KEY: "U5", KEYS: "w" }, T0 + 1500);
  assert.deepEqual(
    (await lookupMessagesByKey(s.index, s.look, "T", "w", 10, T0 + 1501, T0 + 9999)).messages,
    [],
  );
  const hit = await lookupMessagesByKey(s.index, s.look, "T", "w", 10, T0 + 1500, T0 + 1500);
  assert.deepEqual(hit.messages.map((m) => m.commitLogOffset), [t]);
  await assert.rejects(() => lookupMessagesByKey(s.index, s.look, "T", "w", 0, ...ALL), RangeError);
});
