import assert from "node:assert/strict";
import type { MessageQueue } from "../message.ts";
import {
  allocateAveragelyByCircle,
  allocateConsistentHash,
  allocateStrategy,
  type AllocateStrategyName,
} from "./allocate_strategy.ts";

const queues = (n: number): MessageQueue[] =>
  Array.from({ length: n }, (_, queueId) => ({ topic: "T", brokerName: "b", queueId }));
const ids = (c: number) => Array.from({ length: c }, (_, i) => `client-${i}`);

Deno.test("allocateAveragelyByCircle() deals queues round-robin over sorted clients", () => {
  const all = [0, 1, 2, 3, 4, 5, 6];
  assert.deepEqual(allocateAveragelyByCircle("b", all, ["c", "a", "b"]), [1, 4]);
  assert.deepEqual(allocateAveragelyByCircle("a", all, ["c", "a", "b"]), [0, 3, 6]);
  assert.deepEqual(allocateAveragelyByCircle("z", all, ["a"]), []);
});

Deno.test("every strategy covers every queue exactly once for any group size", () => {
  for (const name of ["AVG", "AVG_BY_CIRCLE", "CONSISTENT_HASH"] as AllocateStrategyName[]) {
    const strategy = allocateStrategy(name);
    for (let n = 0; n <= 12; n++) {
      for (let c = 1; c <= 5; c++) {
        const clients = ids(c);
        const got = clients.flatMap((id) => strategy(id, queues(n), clients)).map((q) => q.queueId);
        assert.deepEqual(got.sort((a, b) => a - b), [...Array(n).keys()], `${name} n=${n} c=${c}`);
      }
    }
  }
});

Deno.test("allocateConsistentHash() moves only some queues when a member joins", () => {
  const all = queues(64);
  const before = new Map<number, string>();
  for (const id of ids(4)) {
    for (const q of allocateConsistentHash(id, all, ids(4))) before.set(q.queueId, id);
  }
  let moved = 0;
  for (const id of ids(5)) {
    for (const q of allocateConsistentHash(id, all, ids(5))) {
      if (before.get(q.queueId) !== id) moved++;
    }
  }
  assert.ok(moved > 0 && moved < all.length / 2, `moved ${moved} of ${all.length}`);
});

Deno.test("allocateStrategy() rejects an unknown name", () => {
  assert.throws(() => allocateStrategy("RANDOM" as AllocateStrategyName), TypeError);
});
