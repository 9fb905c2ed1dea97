import assert from "node:assert/strict";
import type { MessageToPut, PutMessageResult } from "../../../store/mod.ts";
import { encodeProperties } from "../../../client/protocol/properties.ts";
import { createRecordPut } from "./record_put.ts";

const message = (queueId: number, deliverMs?: number): MessageToPut => ({
  topic: "rmq_sys_REVIVE_LOG_c",
  queueId,
  flag: 0,
  body: new Uint8Array([1]),
  properties: encodeProperties(
    deliverMs === undefined ? {} : { TIMER_DELIVER_MS: String(deliverMs) },
  ),
  sysFlag: 0,
  bornTimestamp: 0,
  bornHost: { ip: new Uint8Array(4), port: 0 },
  reconsumeTimes: 0,
  preparedTransactionOffset: 0,
});

Deno.test("createRecordPut() gathers records put while one is in flight, each with its own result", async () => {
  const calls: { topic: string; n: number }[] = [];
  let next = 0;
  const ok = (n: number): PutMessageResult => {
    const first = next;
    next += n;
    return {
      status: "PUT_OK",
      commitLogOffset: first * 10,
      queueOffset: first,
      storeTimestamp: 0,
      commitLogOffsets: Array.from({ length: n }, (_, i) => (first + i) * 10),
      wroteBytes: n,
    };
  };
  const put = createRecordPut({
    putMessage: (m) => Promise.resolve(void calls.push({ topic: m.topic, n: 1 })).then(() => ok(1)),
    putMessages: (ms) =>
      Promise.resolve(void calls.push({ topic: ms[0].topic, n: ms.length })).then(() =>
        ok(ms.length)
      ),
  }, () => 1_000);
  const results = await Promise.all([
    put(message(0, 5_000)),
    put(message(1, 5_000)),
    put(message(2, 5_000)),
    put(message(3)), // not a timer message: its own queue
  ]);
  assert.deepEqual(calls.map((c) => c.n).sort(), [1, 1, 2]);
  assert.equal(calls.filter((c) => c.topic === "rmq_sys_wheel_timer").length, 2);
  const offsets = results.map((r) => r.status === "PUT_OK" ? r.commitLogOffset : -1);
  assert.equal(new Set(offsets).size, 4, "each record its own offset");
});
