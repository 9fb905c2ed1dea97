import assert from "node:assert/strict";
import {
  PULL_BATCH_SIZE_DEFAULT,
  resolveConsumerOptions,
  SUSPEND_TIMEOUT_MS_DEFAULT,
} from "./options.ts";

const base = { endpoint: "127.0.0.1:1", group: "g", topic: "T" };

Deno.test("resolveConsumerOptions() applies defaults", () => {
  const resolved = resolveConsumerOptions(base);
  assert.equal(resolved.pullBatchSize, PULL_BATCH_SIZE_DEFAULT);
  assert.equal(resolved.suspendTimeoutMs, SUSPEND_TIMEOUT_MS_DEFAULT);
  assert.equal(resolved.consumeFromWhere, "CONSUME_FROM_LAST_OFFSET");
});

Deno.test("resolveConsumerOptions() rejects out-of-range values with the option's name", () => {
  assert.throws(() => resolveConsumerOptions({ ...base, pullBatchSize: 0 }), /pullBatchSize/);
  assert.throws(
    () => resolveConsumerOptions({ ...base, suspendTimeoutMs: 5_000, pullTimeoutMs: 5_000 }),
    /must exceed/,
  );
  assert.throws(() => resolveConsumerOptions({ ...base, maxReconsumeTimes: -1 }), RangeError);
  assert.throws(() => resolveConsumerOptions({ ...base, lockRenewIntervalMs: 40_000 }), RangeError);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => resolveConsumerOptions({ ...base, consumeFromWhere: "NOW" as any }),
    TypeError,
  );
});

Deno.test("resolveConsumerOptions() checks messageModel and mode and their combinations", () => {
  assert.equal(resolveConsumerOptions(base).messageModel, "CLUSTERING");
  assert.equal(resolveConsumerOptions({ ...base, mode: "pop" }).mode, "pop");
  // deno-lint-ignore no-explicit-any
  assert.throws(() => resolveConsumerOptions({ ...base, messageModel: "ALL" as any }), TypeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => resolveConsumerOptions({ ...base, mode: "push" as any }), TypeError);
  assert.throws(
    () => resolveConsumerOptions({ ...base, messageModel: "BROADCASTING", orderly: true }),
    TypeError,
  );
  assert.throws(
    () => resolveConsumerOptions({ ...base, messageModel: "BROADCASTING", mode: "pop" }),
    TypeError,
  );
});
