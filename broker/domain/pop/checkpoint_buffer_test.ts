import assert from "node:assert/strict";
import { CheckpointBuffer } from "./checkpoint_buffer.ts";
import { checkpointKey, type PopCheckPoint } from "./revive_record.ts";

function ck(so: number, n: number, pt = 1_000, it = 60_000): PopCheckPoint {
  return {
    so,
    pt,
    it,
    bm: 0,
    n,
    q: 0,
    t: "T",
    c: "g",
    ro: 0,
    d: Array.from({ length: n }, (_, i) => i),
    bn: "b",
    rp: 0,
  };
}

const keyOf = (c: PopCheckPoint) => checkpointKey(c.t, c.c, c.q, c.so, c.pt);

function setup(
  store: (acked: readonly number[]) => Promise<boolean> = () => Promise.resolve(true),
) {
  const stored: { so: number; acked: number[] }[] = [];
  const resolved: number[] = [];
  const forgotten: string[] = [];
  const buffer = new CheckpointBuffer(
    5_000,
    async (c, _qid, acked) => {
      const ok = await store(acked);
      if (ok) stored.push({ so: c.so, acked: [...acked] });
      return ok;
    },
    () => resolved.push(1),
    (key) => forgotten.push(key),
  );
  return { buffer, stored, resolved, forgotten };
}

Deno.test("CheckpointBuffer: a batch acked in full is never stored and frees the queue's offsets", async () => {
  const { buffer, stored, resolved, forgotten } = setup();
  const a = ck(0, 4);
  const b = ck(4, 4);
  buffer.hold(a, 1);
  buffer.hold(b, 2);
  assert.equal(buffer.safeOffset("g@T@0"), 0);
  assert.equal(buffer.ack(keyOf(a), [0, 1]), true);
  assert.equal(buffer.safeOffset("g@T@0"), 0);
  assert.equal(buffer.ack(keyOf(a), [2, 3]), true);
  assert.equal(buffer.safeOffset("g@T@0"), 4);
  assert.equal(resolved.length, 1);
  assert.equal(buffer.ack(keyOf(b), [4, 5, 6, 7]), true);
  assert.equal(buffer.safeOffset("g@T@0"), undefined);
  await buffer.storeDue(60_999); // before their revive time (popTime 1000 + 60 s)
  assert.deepEqual(forgotten, []);
  await buffer.storeDue(61_000);
  assert.deepEqual(stored, []);
  assert.equal(buffer.size, 0);
  // Forgotten (in-flight index) at the time revive would have handled them.
  assert.deepEqual(forgotten, [keyOf(a), keyOf(b)]);
});

Deno.test("CheckpointBuffer: what is unacked when the stay ends is stored with the acks so far", async () => {
  const { buffer, stored } = setup();
  const a = ck(10, 3, 1_000, 60_000);
  buffer.hold(a, 0);
  buffer.ack(keyOf(a), [11]);
  await buffer.storeDue(5_999);
  assert.deepEqual(stored, []);
  await buffer.storeDue(6_000); // popTime + stay
  assert.deepEqual(stored, [{ so: 10, acked: [11] }]);
  assert.equal(buffer.safeOffset("g@T@0"), undefined);
  // Stored now: a later ack is the caller's to write.
  assert.equal(buffer.ack(keyOf(a), [12]), false);
});

Deno.test("CheckpointBuffer: a short invisible time shortens the stay; a failed store keeps holding", async () => {
  let fail = true;
  const { buffer, stored } = setup(() => Promise.resolve(!fail));
  assert.equal(buffer.accepts(1_000), false);
  assert.equal(buffer.accepts(4_000), true);
  const a = ck(0, 2, 0, 4_000);
  buffer.hold(a, 0);
  await buffer.storeDue(2_000); // half the invisible time
  assert.deepEqual(stored, []);
  assert.equal(buffer.safeOffset("g@T@0"), 0);
  fail = false;
  await buffer.storeDue(2_100);
  assert.deepEqual(stored, [{ so: 0, acked: [] }]);
});

Deno.test("CheckpointBuffer: the safe offset is the lowest held start, even after a reset back", () => {
  const { buffer } = setup();
  buffer.hold(ck(100, 2), 0);
  buffer.hold(ck(50, 2, 2_000), 0);
  assert.equal(buffer.safeOffset("g@T@0"), 50);
});
