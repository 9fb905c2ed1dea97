/**
 * Timer messages through a real broker (needs the TIMER wiring: send path
 * transform, TimerMessageService started/stopped by the broker). Goal: a
 * message sent with TIMER_DELAY_MS is invisible until due, then arrives in
 * its real topic with its properties; a restart keeps a future one.
 * Method: raw SEND_MESSAGE_V2 over TestConnection; arrivals awaited through
 * `broker.store.onArrival` with a bound.
 */

import assert from "node:assert/strict";
import { decodeRecord } from "../../client/protocol/message_record.ts";
import { decodeProperties } from "../../client/protocol/properties.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type { MessageStore } from "../../store/mod.ts";
import {
  createTopic,
  sendV2Fields,
  startTestBroker,
  TEST_WAIT_MS,
  TestConnection,
} from "../_helpers/broker.ts";

function arrival(store: MessageStore, topic: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no arrival in ${topic} within ${TEST_WAIT_MS} ms`));
    }, TEST_WAIT_MS);
    const off = store.onArrival((a) => {
      if (a.topic !== topic) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

async function firstMessage(store: MessageStore, topic: string) {
  const result = await store.getMessage({
    group: "G",
    topic,
    queueId: 0,
    queueOffset: 0,
    maxCount: 10,
  });
  return result.status === "FOUND" ? result.messages.map((m) => decodeRecord(m.record)) : [];
}

Deno.test("Broker delivers a TIMER_DELAY_MS message to its topic only once due", async () => {
  await using broker = await startTestBroker();
  await using conn = await TestConnection.connect(broker.port);
  await createTopic(conn, "TimerTopic", 1);
  const arrived = arrival(broker.broker.store, "TimerTopic");
  const sentAt = Date.now();
  const response = await conn.request(
    RequestCode.SEND_MESSAGE_V2,
    sendV2Fields("TimerTopic", 0, { TIMER_DELAY_MS: "300", KEYS: "k1" }),
    new TextEncoder().encode("later"),
  );
  assert.equal(response.code, ResponseCode.SUCCESS, response.remark);
  assert.deepEqual(await firstMessage(broker.broker.store, "TimerTopic"), []);
  await arrived;
  const [record] = await firstMessage(broker.broker.store, "TimerTopic");
  const props = decodeProperties(record.properties);
  assert.equal(new TextDecoder().decode(record.body), "later");
  assert.equal(props.get("KEYS"), "k1");
  assert.equal(props.has("REAL_TOPIC"), false);
  assert.ok(Number(props.get("TIMER_DEQUEUE_MS")) >= sentAt + 300);
});

Deno.test("Broker keeps a future timer across a restart and delivers it after", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "rmq_timer_wired_" });
  try {
    {
      await using broker = await startTestBroker({}, { dataDir });
      await using conn = await TestConnection.connect(broker.port);
      await createTopic(conn, "TimerTopic", 1);
      const response = await conn.request(
        RequestCode.SEND_MESSAGE_V2,
        sendV2Fields("TimerTopic", 0, { TIMER_DELAY_MS: "1500" }),
        new TextEncoder().encode("after-restart"),
      );
      assert.equal(response.code, ResponseCode.SUCCESS, response.remark);
    }
    await using broker = await startTestBroker({}, { dataDir });
    const arrived = arrival(broker.broker.store, "TimerTopic");
    if ((await firstMessage(broker.broker.store, "TimerTopic")).length === 0) await arrived;
    const records = await firstMessage(broker.broker.store, "TimerTopic");
    assert.equal(records.length, 1);
    assert.equal(new TextDecoder().decode(records[0].body), "after-restart");
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("Broker refuses a timer property that is not a number with MESSAGE_ILLEGAL", async () => {
  await using broker = await startTestBroker();
  await using conn = await TestConnection.connect(broker.port);
  await createTopic(conn, "TimerTopic", 1);
  const response = await conn.request(
    RequestCode.SEND_MESSAGE_V2,
    sendV2Fields("TimerTopic", 0, { TIMER_DELIVER_MS: "tomorrow" }),
    new TextEncoder().encode("x"),
  );
  assert.equal(response.code, ResponseCode.MESSAGE_ILLEGAL);
});
