import assert from "node:assert/strict";
import { allocateAveragely } from "../allocate.ts";
import type { MessageQueue } from "../message.ts";
import { assignQueues } from "./rebalance.ts";
import { subscribeAll } from "./subscription.ts";

const queues = (topic: string, n: number): MessageQueue[] =>
  Array.from({ length: n }, (_, queueId) => ({ topic, brokerName: "b", queueId }));

Deno.test("assignQueues() shares each topic separately and tags each queue with its subscription", () => {
  const subs = [subscribeAll("T"), subscribeAll("%RETRY%g")];
  const mine = assignQueues(
    "a",
    ["a", "b"],
    [queues("T", 4), queues("%RETRY%g", 1)],
    subs,
    allocateAveragely,
  );
  assert.deepEqual([...mine.keys()], ["T/b/0", "T/b/1", "%RETRY%g/b/0"]);
  assert.equal(mine.get("%RETRY%g/b/0")?.subscription.topic, "%RETRY%g");
});

Deno.test("assignQueues() counts this member even when the broker's list misses it", () => {
  const mine = assignQueues("b", ["a"], [queues("T", 4)], [subscribeAll("T")], allocateAveragely);
  assert.deepEqual([...mine.keys()], ["T/b/2", "T/b/3"]);
});

Deno.test("assignQueues() without a strategy (broadcasting) takes every queue", () => {
  const mine = assignQueues("a", ["a", "b", "c"], [queues("T", 3)], [subscribeAll("T")], undefined);
  assert.equal(mine.size, 3);
});
