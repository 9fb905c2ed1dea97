import assert from "node:assert/strict";
import { encodeProperties, MessageConst } from "../../client/protocol/properties.ts";
import type { MessageToPut } from "../../store/mod.ts";
import { mayTriggerPutHooks, prepareBatchForStore, prepareForStore } from "./put_hooks.ts";

const NOW = 1_700_000_000_000;
const utf8 = new TextEncoder();

/** A message as the batch send path builds it: properties with their sent UTF-8 bytes. */
function sent(properties: Record<string, string>): MessageToPut {
  const text = encodeProperties({ UNIQ_KEY: "U1", TAGS: "tagA", ...properties });
  return {
    topic: "Orders",
    queueId: 2,
    flag: 0,
    body: utf8.encode("hello"),
    properties: text,
    propertiesBytes: utf8.encode(text),
    sysFlag: 0,
    bornTimestamp: NOW,
    bornHost: { ip: new Uint8Array([10, 0, 0, 1]), port: 4242 },
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  };
}

/** The bytes the store would write for a message's properties. */
function storedPropertiesBytes(m: MessageToPut): Uint8Array {
  return m.propertiesBytes ?? utf8.encode(m.properties);
}

Deno.test("prepareForStore() keeps the sent propertiesBytes of a message it does not rewrite", () => {
  const m = sent({});
  const prepared = prepareForStore(m, "G", NOW);
  assert.equal(prepared.kind, "put");
  if (prepared.kind !== "put") return;
  assert.equal(prepared.value.propertiesBytes, m.propertiesBytes);
});

Deno.test("prepareForStore() drops stale propertiesBytes when it parks a delayed message", () => {
  const m = sent({ [MessageConst.TIMER_DELAY_MS]: "60000" });
  const prepared = prepareForStore(m, "G", NOW);
  assert.equal(prepared.kind, "put");
  if (prepared.kind !== "put") return;
  assert.notEqual(prepared.value.properties, m.properties);
  assert.equal(prepared.value.propertiesBytes, undefined);
  assert.deepEqual(storedPropertiesBytes(prepared.value), utf8.encode(prepared.value.properties));
});

Deno.test("prepareForStore() drops stale propertiesBytes when it parks a transactional prepare", () => {
  const m = sent({ [MessageConst.TRANSACTION_PREPARED]: "true" });
  const prepared = prepareForStore(m, "G", NOW);
  assert.equal(prepared.kind, "put");
  if (prepared.kind !== "put") return;
  assert.notEqual(prepared.value.properties, m.properties);
  assert.equal(prepared.value.propertiesBytes, undefined);
  assert.deepEqual(storedPropertiesBytes(prepared.value), utf8.encode(prepared.value.properties));
});

Deno.test("prepareBatchForStore() drops stale propertiesBytes of every message of a delayed batch", () => {
  const batch = [1, 2, 3].map((i) =>
    sent({ UNIQ_KEY: `U${i}`, [MessageConst.DELAY_TIME_LEVEL]: "3" })
  );
  const prepared = prepareBatchForStore(batch, NOW);
  assert.equal(prepared.kind, "put");
  if (prepared.kind !== "put") return;
  assert.equal(prepared.value.length, 3);
  for (const m of prepared.value) {
    assert.equal(m.propertiesBytes, undefined);
    assert.ok(m.properties.includes(MessageConst.REAL_TOPIC));
  }
});

Deno.test("prepareBatchForStore() passes an immediate batch through with its propertiesBytes", () => {
  const batch = [sent({}), sent({ UNIQ_KEY: "U2" })];
  const prepared = prepareBatchForStore(batch, NOW);
  assert.equal(prepared.kind, "put");
  if (prepared.kind !== "put") return;
  assert.equal(prepared.value, batch);
});

Deno.test("mayTriggerPutHooks() is false only for properties no hook acts on", () => {
  assert.equal(mayTriggerPutHooks(sent({}).properties + sent({ KEYS: "k" }).properties), false);
  for (
    const name of [
      MessageConst.TRANSACTION_PREPARED,
      MessageConst.DELAY_TIME_LEVEL,
      MessageConst.TIMER_DELAY_SEC,
      MessageConst.TIMER_DELAY_MS,
      MessageConst.TIMER_DELIVER_MS,
    ]
  ) {
    assert.equal(mayTriggerPutHooks(sent({ [name]: "1" }).properties), true, name);
  }
});

Deno.test("prepareBatchForStore() returns a batch unchanged when mayTriggerPutHooks() is false", () => {
  const batch = [sent({}), sent({ UNIQ_KEY: "U2", KEYS: "a b" })];
  assert.equal(mayTriggerPutHooks(batch.map((m) => m.properties).join("")), false);
  const prepared = prepareBatchForStore(batch, NOW);
  assert.deepEqual(prepared, { kind: "put", value: batch });
});
