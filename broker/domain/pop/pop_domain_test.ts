import assert from "node:assert/strict";
import { InFlightIndex } from "./in_flight.ts";
import { OrderInfoTable } from "./order_info.ts";
import { PopLongPollingService } from "./pop_long_polling.ts";
import { PopOffsetTable } from "./pop_offsets.ts";
import {
  ackMessage,
  checkpointKey,
  checkpointMessage,
  CK_AHEAD_MS,
  type PopCheckPoint,
} from "./revive_record.ts";
import { getProperty, MessageConst } from "../../../client/protocol/properties.ts";
import type { Clock } from "../clock.ts";

class Docs {
  readonly files = new Map<string, string>();
  writes = 0;
  loadConfig(name: string) {
    return Promise.resolve(this.files.get(name));
  }
  persistConfig(name: string, text: string) {
    this.writes++;
    this.files.set(name, text);
    return Promise.resolve();
  }
}

class ManualClock implements Clock {
  now = 0;
  timers: { at: number; fn: () => void }[] = [];
  nowMs() {
    return this.now;
  }
  schedule(fn: () => void, delayMs: number) {
    const t = { at: this.now + delayMs, fn };
    this.timers.push(t);
    return () => (this.timers = this.timers.filter((x) => x !== t));
  }
  advance(ms: number) {
    this.now += ms;
    const due = this.timers.filter((t) => t.at <= this.now);
    this.timers = this.timers.filter((t) => t.at > this.now);
    for (const t of due) t.fn();
  }
}

const host = { ip: new Uint8Array([127, 0, 0, 1]), port: 1 };
const target = { reviveTopic: "rmq_sys_REVIVE_LOG_c", reviveQid: 2, storeHost: host, nowMs: 5 };

Deno.test("checkpoint and ack records are timer messages due a second before the revive time", () => {
  const ck: PopCheckPoint = {
    so: 4,
    pt: 1_000,
    it: 5_000,
    bm: 0,
    n: 2,
    q: 1,
    t: "T",
    c: "g",
    ro: 0,
    d: [0, 2],
    bn: "b",
    rp: 0,
  };
  const m = checkpointMessage(ck, target);
  assert.equal(m.topic, "rmq_sys_REVIVE_LOG_c");
  assert.equal(m.queueId, 2);
  assert.equal(
    getProperty(m.properties, MessageConst.TIMER_DELIVER_MS),
    String(6_000 - CK_AHEAD_MS),
  );
  assert.equal(getProperty(m.properties, MessageConst.TAGS), "ck");
  const a = ackMessage({ ao: 6, so: 4, c: "g", t: "T", q: 1, pt: 1_000, bn: "b" }, 5_000, target);
  assert.equal(
    getProperty(a.properties, MessageConst.TIMER_DELIVER_MS),
    String(6_000 - CK_AHEAD_MS),
  );
  assert.deepEqual(JSON.parse(new TextDecoder().decode(a.body)).ao, 6);
});

Deno.test("InFlightIndex tracks unacked offsets per checkpoint", () => {
  const index = new InFlightIndex();
  const key = checkpointKey("T", "g", 0, 10, 99);
  index.add({
    group: "g",
    topic: "T",
    queueId: 0,
    startOffset: 10,
    popTime: 99,
    invisibleTime: 1,
    offsets: new Set([10, 11]),
  });
  assert.equal(index.check(key, 10), "KNOWN");
  assert.equal(index.check(key, 12), "NOT_IN_CHECKPOINT");
  assert.equal(index.check("x", 10), "UNKNOWN");
  index.ack(key, 10);
  assert.equal(index.check(key, 10), "ALREADY_ACKED");
  assert.equal(index.countOf("g", "T"), 1);
  assert.equal(index.unackedCount, 1);
  index.remove(key);
  assert.equal(index.unackedCount, 0);
});

Deno.test("OrderInfoTable blocks until acked, counts a re-pop, and persists", async () => {
  const docs = new Docs();
  const table = new OrderInfoTable(docs);
  assert.deepEqual(table.record("T", "g", 0, [5, 6], 100, 1_000, undefined), [0, 0]);
  assert.equal(table.blocked("T", "g", 0, 500), true);
  assert.equal(table.blocked("T", "g", 0, 1_100), false, "expired");
  assert.deepEqual(table.record("T", "g", 0, [5, 6], 1_200, 1_000, undefined), [1, 1]);
  assert.equal(table.ack("T", "g", 0, 5, 100).status, "STALE", "old pop time");
  assert.deepEqual(table.ack("T", "g", 0, 5, 1_200), { status: "OK", commitOffset: 6 });
  assert.deepEqual(table.ack("T", "g", 0, 6, 1_200), { status: "OK", commitOffset: 7 });
  assert.equal(table.blocked("T", "g", 0, 1_300), false);
  await table.flushed();
  const reloaded = new OrderInfoTable(docs);
  assert.deepEqual(await reloaded.load(), [["T", "g", 0, 7]]);
});

Deno.test("PopOffsetTable: durablePast waits for a write covering the offset", async () => {
  const docs = new Docs();
  const table = new PopOffsetTable(docs);
  table.advance("g", "T", 0, 8);
  await table.durablePast("g", "T", 0, 7);
  assert.equal(JSON.parse(docs.files.get("popOffsets")!)["g@T@0"], 8);
  const again = new PopOffsetTable(docs);
  await again.load();
  assert.equal(again.get("g", "T", 0), 8);
});

Deno.test("PopLongPollingService wakes on a matching arrival, times out, and enforces limits", async () => {
  const clock = new ManualClock();
  const polling = new PopLongPollingService(clock, 1, 2);
  const woken = polling.park({
    topics: ["T", "%RETRY%g_T"],
    group: "g",
    queueId: 1,
    timeoutMs: 100,
  });
  assert.equal(
    await polling.park({ topics: ["T"], group: "g", queueId: 1, timeoutMs: 100 }),
    "FULL",
  );
  polling.notifyArrival("T", 0, 0); // other queue: no wake
  assert.equal(polling.parkedCount, 1);
  polling.notifyArrival("%RETRY%g_T", 0, 0); // the retry topic matches any queue
  assert.equal(await woken, "WOKEN");
  const timed = polling.park({ topics: ["T"], group: "g", queueId: -1, timeoutMs: 100 });
  clock.advance(100);
  assert.equal(await timed, "TIMEOUT");
  const closing = polling.park({ topics: ["T"], group: "g", queueId: -1, timeoutMs: 100 });
  polling.close();
  assert.equal(await closing, "CLOSED");
});
