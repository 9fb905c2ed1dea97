import assert from "node:assert/strict";
import {
  decodeRecord,
  encodeRecord,
  MessageSysFlag,
  recordSize,
} from "../../../client/protocol/message_record.ts";
import { decodeProperties, encodeProperties } from "../../../client/protocol/properties.ts";
import type { MessageToPut } from "../../../store/mod.ts";
import {
  DELAY_LEVEL_MS,
  delayLevelMs,
  recordProperties,
  restoreTimerMessage,
  restoreTimerRecord,
  rollTimerMessage,
  rollTimerRecord,
  TIMER_TOPIC,
  timerOutMs,
  transformTimerBatch,
  transformTimerMessage,
} from "./timer_transform.ts";

const NOW = 1_700_000_000_000;

function message(
  properties: Record<string, string>,
  overrides: Partial<MessageToPut> = {},
): MessageToPut {
  return {
    topic: "Orders",
    queueId: 3,
    flag: 7,
    body: new TextEncoder().encode("hello"),
    properties: encodeProperties({ UNIQ_KEY: "U1", TAGS: "tagA", KEYS: "k1 k2", ...properties }),
    sysFlag: 0,
    bornTimestamp: NOW - 5,
    bornHost: { ip: new Uint8Array([10, 0, 0, 1]), port: 4242 },
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    ...overrides,
  };
}

function scheduled(m: MessageToPut): { message: MessageToPut; deliverMs: number } {
  const result = transformTimerMessage(m, NOW);
  assert.equal(result.kind, "scheduled");
  return result as { message: MessageToPut; deliverMs: number };
}

/** Encode a MessageToPut as the store would, then decode it (a stored record). */
function stored(m: MessageToPut, storeTimestamp: number) {
  return decodeRecord(storedBytes(m, storeTimestamp));
}

/** Encode a MessageToPut as the store would (the record bytes). */
function storedBytes(m: MessageToPut, storeTimestamp: number, bornIpBytes = 4): Uint8Array {
  const enc = new TextEncoder();
  const topicBytes = enc.encode(m.topic);
  const propertiesBytes = enc.encode(m.properties);
  const bytes = new Uint8Array(
    recordSize(m.body.length, topicBytes.length, propertiesBytes.length, bornIpBytes, 4),
  );
  encodeRecord({
    ...m,
    queueOffset: 0,
    commitLogOffset: 0,
    storeTimestamp,
    storeHost: { ip: new Uint8Array([127, 0, 0, 1]), port: 10911 },
    topicBytes,
    propertiesBytes,
  }, bytes);
  return bytes;
}

Deno.test("transformTimerMessage() leaves messages without timer properties alone", () => {
  assert.deepEqual(transformTimerMessage(message({}), NOW), { kind: "normal" });
});

Deno.test("transformTimerMessage() rewrites a future TIMER_DELIVER_MS to the timer topic with the exact time", () => {
  const { message: m, deliverMs } = scheduled(message({ TIMER_DELIVER_MS: String(NOW + 1234) }));
  assert.equal(deliverMs, NOW + 1234);
  assert.equal(m.topic, TIMER_TOPIC);
  assert.equal(m.queueId, 0);
  const p = decodeProperties(m.properties);
  assert.equal(p.get("REAL_TOPIC"), "Orders");
  assert.equal(p.get("REAL_QID"), "3");
  assert.equal(p.get("TIMER_OUT_MS"), String(NOW + 1234));
  assert.equal(p.get("UNIQ_KEY"), "U1");
});

Deno.test("transformTimerMessage() reads TIMER_DELAY_MS and TIMER_DELAY_SEC relative to now", () => {
  assert.equal(scheduled(message({ TIMER_DELAY_MS: "250" })).deliverMs, NOW + 250);
  assert.equal(scheduled(message({ TIMER_DELAY_SEC: "3" })).deliverMs, NOW + 3000);
  // RocketMQ's order: seconds, then ms, then the absolute time.
  assert.equal(
    scheduled(message({ TIMER_DELAY_SEC: "3", TIMER_DELAY_MS: "250" })).deliverMs,
    NOW + 3000,
  );
});

Deno.test("transformTimerMessage() stores a due or past delivery time normally", () => {
  assert.deepEqual(transformTimerMessage(message({ TIMER_DELIVER_MS: String(NOW) }), NOW), {
    kind: "normal",
  });
  assert.deepEqual(transformTimerMessage(message({ TIMER_DELIVER_MS: "5" }), NOW), {
    kind: "normal",
  });
  assert.deepEqual(transformTimerMessage(message({ TIMER_DELAY_MS: "-10" }), NOW), {
    kind: "normal",
  });
});

Deno.test("transformTimerMessage() maps the 18 delay levels, clamps above 18, ignores <= 0", () => {
  assert.equal(DELAY_LEVEL_MS.length, 18);
  const expected = [
    1,
    5,
    10,
    30,
    60,
    120,
    180,
    240,
    300,
    360,
    420,
    480,
    540,
    600,
    1200,
    1800,
    3600,
    7200,
  ];
  for (let level = 1; level <= 18; level++) {
    assert.equal(delayLevelMs(level), expected[level - 1] * 1000);
    assert.equal(
      scheduled(message({ DELAY: String(level) })).deliverMs,
      NOW + expected[level - 1] * 1000,
    );
  }
  assert.equal(scheduled(message({ DELAY: "40" })).deliverMs, NOW + 7_200_000);
  assert.deepEqual(transformTimerMessage(message({ DELAY: "0" }), NOW), { kind: "normal" });
  assert.deepEqual(transformTimerMessage(message({ DELAY: "-2" }), NOW), { kind: "normal" });
});

Deno.test("transformTimerMessage() lets a delay level win over timer properties", () => {
  const { message: m, deliverMs } = scheduled(
    message({ DELAY: "2", TIMER_DELIVER_MS: String(NOW + 999_999) }),
  );
  assert.equal(deliverMs, NOW + 5000);
  assert.equal(decodeProperties(m.properties).has("TIMER_DELIVER_MS"), false);
});

Deno.test("transformTimerMessage() refuses bad numbers and delays beyond a configured maximum", () => {
  const bad: Record<string, string>[] = [{ TIMER_DELIVER_MS: "soon" }, { TIMER_DELAY_MS: "1.5" }, {
    DELAY: "x",
  }];
  for (const props of bad) {
    const result = transformTimerMessage(message(props), NOW);
    assert.equal(result.kind, "illegal", JSON.stringify(props));
  }
  const tooFar = transformTimerMessage(message({ TIMER_DELAY_MS: "60000" }), NOW, {
    maxDelayMs: 1000,
  });
  assert.deepEqual(tooFar, {
    kind: "illegal",
    remark: "Cannot send message: delivery is 60000 ms ahead, limit is 1000",
  });
});

Deno.test("transformTimerMessage() does not touch prepared transactional messages", () => {
  const half = message({ TIMER_DELAY_MS: "5000" }, {
    sysFlag: MessageSysFlag.TRANSACTION_PREPARED_TYPE,
  });
  assert.deepEqual(transformTimerMessage(half, NOW), { kind: "normal" });
  const commit = message({ TIMER_DELAY_MS: "5000" }, {
    sysFlag: MessageSysFlag.TRANSACTION_COMMIT_TYPE,
  });
  assert.equal(transformTimerMessage(commit, NOW).kind, "scheduled");
});

Deno.test("transformTimerBatch() schedules a whole batch or refuses a mixed one", () => {
  const all = transformTimerBatch([message({ DELAY: "1" }), message({ DELAY: "2" })], NOW);
  assert.equal(all.kind, "scheduled");
  assert.equal(
    (all as { messages: MessageToPut[] }).messages.every((m) => m.topic === TIMER_TOPIC),
    true,
  );
  assert.deepEqual(transformTimerBatch([message({}), message({})], NOW), { kind: "normal" });
  assert.equal(transformTimerBatch([message({}), message({ DELAY: "1" })], NOW).kind, "illegal");
});

Deno.test("restoreTimerMessage() rebuilds the real message with its fields and timer stamps", () => {
  const original = message({ DELAY: "3", CUSTOM: "v" });
  const timer = scheduled(original).message;
  const record = stored(timer, NOW + 1);
  const restored = restoreTimerMessage(record, NOW + 10_000)!;
  assert.equal(restored.topic, "Orders");
  assert.equal(restored.queueId, 3);
  assert.equal(restored.flag, 7);
  assert.deepEqual(restored.body, original.body);
  assert.equal(restored.bornTimestamp, original.bornTimestamp);
  assert.deepEqual(restored.bornHost, original.bornHost);
  const p = decodeProperties(restored.properties);
  for (const gone of ["REAL_TOPIC", "REAL_QID", "TIMER_OUT_MS", "DELAY"]) {
    assert.equal(p.has(gone), false, gone);
  }
  assert.equal(p.get("UNIQ_KEY"), "U1");
  assert.equal(p.get("TAGS"), "tagA");
  assert.equal(p.get("KEYS"), "k1 k2");
  assert.equal(p.get("CUSTOM"), "v");
  assert.equal(p.get("TIMER_ENQUEUE_MS"), String(NOW + 1));
  assert.equal(p.get("TIMER_DEQUEUE_MS"), String(NOW + 10_000));
});

Deno.test("rollTimerMessage() keeps the timer record and counts the roll", () => {
  const timer = scheduled(message({ TIMER_DELAY_MS: "100000000" })).message;
  const once = rollTimerMessage(stored(timer, NOW));
  assert.equal(once.topic, TIMER_TOPIC);
  assert.equal(decodeProperties(once.properties).get("TIMER_ROLL_TIMES"), "1");
  assert.equal(decodeProperties(once.properties).get("TIMER_OUT_MS"), String(NOW + 100_000_000));
  const twice = rollTimerMessage(stored(once, NOW));
  assert.equal(decodeProperties(twice.properties).get("TIMER_ROLL_TIMES"), "2");
});

Deno.test("recordProperties() reads the properties of a stored record without decoding it", () => {
  const timer = scheduled(message({ TIMER_DELAY_MS: "100" })).message;
  const enc = new TextEncoder();
  const topicBytes = enc.encode(timer.topic);
  const propertiesBytes = enc.encode(timer.properties);
  const bytes = new Uint8Array(
    recordSize(timer.body.length, topicBytes.length, propertiesBytes.length, 4, 4),
  );
  encodeRecord({
    ...timer,
    queueOffset: 0,
    commitLogOffset: 0,
    storeTimestamp: NOW,
    storeHost: { ip: new Uint8Array([127, 0, 0, 1]), port: 10911 },
    topicBytes,
    propertiesBytes,
  }, bytes);
  assert.equal(recordProperties(bytes), timer.properties);
  assert.equal(timerOutMs(recordProperties(bytes)), NOW + 100);
});

/** A MessageToPut with its properties as a map, for comparing restore paths. */
function comparable(m: MessageToPut) {
  return {
    ...m,
    body: [...m.body],
    bornHost: { ip: [...m.bornHost.ip], port: m.bornHost.port },
    properties: decodeProperties(m.properties),
  };
}

Deno.test("restoreTimerRecord() builds from the bytes the same message as restoreTimerMessage()", () => {
  const cases: [MessageToPut, number][] = [
    [message({ DELAY: "3", CUSTOM: "v" }), 4],
    [message({ TIMER_DELIVER_MS: String(NOW + 50), TIMER_ENQUEUE_MS: "1" }), 4],
    [
      message({ TIMER_DELAY_SEC: "9" }, { bornHost: { ip: new Uint8Array(16).fill(7), port: 9 } }),
      16,
    ],
    [message({ TIMER_DELAY_MS: "5", "\u00e9t\u00e9": "ol\u00e9" }, { topic: "T".repeat(200) }), 4],
  ];
  for (const [original, bornIpBytes] of cases) {
    const timer = scheduled(original).message;
    const bytes = storedBytes(timer, NOW + 1, bornIpBytes);
    const fast = restoreTimerRecord(bytes, NOW + 10_000)!;
    const slow = restoreTimerMessage(decodeRecord(bytes), NOW + 10_000)!;
    assert.deepEqual(comparable(fast), comparable(slow));
    assert.deepEqual(
      comparable(rollTimerRecord(bytes)),
      comparable(rollTimerMessage(decodeRecord(bytes))),
    );
  }
});

Deno.test("restoreTimerRecord() answers undefined for a record without a real topic", () => {
  const bytes = storedBytes({ ...message({}), topic: TIMER_TOPIC }, NOW);
  assert.equal(restoreTimerRecord(bytes, NOW), undefined);
});

Deno.test("rollTimerRecord() counts rolls like rollTimerMessage()", () => {
  const timer = scheduled(message({ TIMER_DELAY_MS: "100000000" })).message;
  const once = rollTimerRecord(storedBytes(timer, NOW));
  const twice = rollTimerRecord(storedBytes(once, NOW));
  assert.equal(decodeProperties(twice.properties).get("TIMER_ROLL_TIMES"), "2");
  assert.equal(decodeProperties(twice.properties).get("TIMER_OUT_MS"), String(NOW + 100_000_000));
});
