// Goal: timer messages survive SIGKILL of the broker. Messages due while the
// broker is down are delivered after the restart; messages due later stay
// invisible until due and are then delivered; nothing acknowledged is lost
// (at-least-once: each one is delivered at least once, duplicates allowed).
// Method: broker/main.ts as a child process on port 0 and a temp data dir;
// the real client producer sends with `deliverAt`; the broker is killed with
// SIGKILL right after the acknowledgements and restarted on the same dir.
// The broker is another process, so the test polls it with raw pulls, each
// wait bounded. No delivery happens before its due time: every delivered
// message carries TIMER_DEQUEUE_MS >= its TIMER_DELIVER_MS.

import assert from "node:assert/strict";
import { createAdmin } from "../../client/admin.ts";
import { createProducer } from "../../client/producer.ts";
import { decodeRecords } from "../../client/protocol/message_record.ts";
import { decodeProperties } from "../../client/protocol/properties.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import { pullFields, TestConnection } from "../_helpers/broker.ts";
import { spawnBroker } from "../_helpers/broker_process.ts";

const TOPIC = "TimerCrash";
const QUEUES = 2;
const PER_KIND = 20;
/** Due while the broker is down (it is killed right after the sends). */
const EARLY_DELAY_MS = 2_000;
/** Due well after the restart. */
const LATE_DELAY_MS = 9_000;
const WAIT_MS = 20_000;
/** Small CommitLog segments keep the restart's recovery short. */
const SEGMENT_ARGS = ["--commit-log-segment-bytes", String(1024 * 1024)];

interface Delivered {
  readonly body: string;
  readonly deliverMs: number;
  readonly dequeueMs: number;
}

/** Every message of the topic, read with raw pulls from offset 0 of each queue. */
async function pullAll(port: number): Promise<Delivered[]> {
  await using conn = await TestConnection.connect(port);
  const out: Delivered[] = [];
  for (let queueId = 0; queueId < QUEUES; queueId++) {
    let offset = 0;
    for (;;) {
      const response = await conn.request(
        RequestCode.PULL_MESSAGE,
        pullFields(TOPIC, queueId, offset, { maxMsgNums: 64 }),
      );
      if (response.code !== ResponseCode.SUCCESS || response.body === undefined) break;
      const records = decodeRecords(response.body);
      if (records.length === 0) break;
      for (const record of records) {
        const props = decodeProperties(record.properties);
        out.push({
          body: new TextDecoder().decode(record.body),
          deliverMs: Number(props.get("TIMER_DELIVER_MS")),
          dequeueMs: Number(props.get("TIMER_DEQUEUE_MS")),
        });
      }
      offset += records.length;
    }
  }
  return out;
}

/** Poll until every body in `expected` has been delivered; bounded. */
async function waitForBodies(port: number, expected: readonly string[]): Promise<Delivered[]> {
  const started = performance.now();
  for (;;) {
    const delivered = await pullAll(port);
    const seen = new Set(delivered.map((d) => d.body));
    const missing = expected.filter((body) => !seen.has(body));
    if (missing.length === 0) return delivered;
    if (performance.now() - started > WAIT_MS) {
      throw new Error(`not delivered within ${WAIT_MS} ms: ${missing.join(", ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function assertNeverEarly(delivered: readonly Delivered[]): void {
  for (const d of delivered) {
    assert.ok(Number.isSafeInteger(d.deliverMs), `${d.body} has no TIMER_DELIVER_MS`);
    assert.ok(
      d.dequeueMs >= d.deliverMs,
      `${d.body} went out at ${d.dequeueMs}, before its due time ${d.deliverMs}`,
    );
  }
}

Deno.test("timer messages survive SIGKILL: due ones go out after the restart, future ones when due", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "rmq_timer_sigkill_" });
  const early: string[] = [];
  const late: string[] = [];
  let earlyDueMs = 0;
  let lateDueMs = 0;
  try {
    const first = await spawnBroker({ dataDir, args: SEGMENT_ARGS });
    try {
      await using admin = await createAdmin({ endpoint: first.endpoint });
      await admin.createTopic(TOPIC, { readQueueNums: QUEUES, writeQueueNums: QUEUES });
      await using producer = await createProducer({ endpoint: first.endpoint, group: "timer-pg" });
      const now = Date.now();
      earlyDueMs = now + EARLY_DELAY_MS;
      lateDueMs = now + LATE_DELAY_MS;
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < PER_KIND; i++) {
        early.push(`early-${i}`);
        late.push(`late-${i}`);
        // Spread the due times over a few ticks; every send is acknowledged before the kill.
        sends.push(producer.send({ topic: TOPIC, body: `early-${i}`, deliverAt: earlyDueMs + i }));
        sends.push(
          producer.send({ topic: TOPIC, body: `late-${i}`, deliverAt: lateDueMs + 7 * i }),
        );
      }
      const results = await Promise.all(sends);
      for (const result of results) {
        assert.equal((result as { status: string }).status, "SEND_OK");
      }
    } finally {
      await first.kill("SIGKILL");
    }

    // The early timers come due while no broker runs.
    const lastEarlyDueMs = earlyDueMs + PER_KIND;
    const downUntil = performance.now() + (lastEarlyDueMs - Date.now()) + 50;
    while (performance.now() < downUntil) {
      await new Promise((resolve) => setTimeout(resolve, downUntil - performance.now()));
    }

    const second = await spawnBroker({ dataDir, args: SEGMENT_ARGS });
    try {
      const afterRestart = await waitForBodies(second.port, early);
      assertNeverEarly(afterRestart);
      // Checked only if that read ended before the first late timer was due.
      if (Date.now() < lateDueMs) {
        assert.deepEqual(afterRestart.filter((d) => d.body.startsWith("late-")), []);
      }
      const all = await waitForBodies(second.port, [...early, ...late]);
      assertNeverEarly(all);
      const bodies = new Set(all.map((d) => d.body));
      for (const body of [...early, ...late]) assert.ok(bodies.has(body), `${body} was lost`);
    } finally {
      await second.kill("SIGTERM");
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
