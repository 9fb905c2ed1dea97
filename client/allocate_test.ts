import assert from "node:assert/strict";
import { allocateAveragely } from "./allocate.ts";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

Deno.test("allocateAveragely() gives contiguous blocks, the first n % c clients one extra", () => {
  const queues = range(8);
  const clients = ["c0", "c1", "c2"];
  assert.deepEqual(allocateAveragely("c0", queues, clients), [0, 1, 2]);
  assert.deepEqual(allocateAveragely("c1", queues, clients), [3, 4, 5]);
  assert.deepEqual(allocateAveragely("c2", queues, clients), [6, 7]);
});

Deno.test("allocateAveragely() covers every queue exactly once for any group size", () => {
  for (let n = 0; n <= 17; n++) {
    for (let c = 1; c <= 9; c++) {
      const clients = range(c).map((i) => `client-${String(i).padStart(2, "0")}`);
      const all = clients.flatMap((id) => allocateAveragely(id, range(n), clients));
      assert.deepEqual(all.sort((a, b) => a - b), range(n), `n=${n} c=${c}`);
    }
  }
});

Deno.test("allocateAveragely() gives one queue each, and nothing to extra clients, when queues <= clients", () => {
  const clients = ["a", "b", "c", "d"];
  assert.deepEqual(clients.map((id) => allocateAveragely(id, range(2), clients)), [
    [0],
    [1],
    [],
    [],
  ]);
});

Deno.test("allocateAveragely() sorts client ids and ignores a client not in the list", () => {
  assert.deepEqual(allocateAveragely("a", range(4), ["b", "a"]), [0, 1]);
  assert.deepEqual(allocateAveragely("z", range(4), ["b", "a"]), []);
});
