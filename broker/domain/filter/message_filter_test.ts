import assert from "node:assert/strict";
import { encodeRecord, recordSize } from "../../../client/protocol/message_record.ts";
import { encodeProperties, tagsHashCode } from "../../../client/protocol/properties.ts";
import type { MessageFilter } from "../../../store/message_store.ts";
import { compileSubscription, type SubscriptionFilter } from "./message_filter.ts";

const encoder = new TextEncoder();

/** A CommitLog record carrying these properties, as the store hands it to a filter. */
function record(properties: Record<string, string>): Uint8Array {
  const body = encoder.encode("hello");
  const topicBytes = encoder.encode("TopicTest");
  const propertiesBytes = encoder.encode(encodeProperties(properties));
  const bytes = new Uint8Array(recordSize(body.length, topicBytes.length, propertiesBytes.length));
  encodeRecord({
    queueId: 0,
    flag: 0,
    queueOffset: 7,
    commitLogOffset: 4096,
    sysFlag: 0,
    bornTimestamp: 1_700_000_000_000,
    bornHost: { ip: new Uint8Array([127, 0, 0, 1]), port: 5000 },
    storeTimestamp: 1_700_000_000_001,
    storeHost: { ip: new Uint8Array([127, 0, 0, 1]), port: 10911 },
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    body,
    topicBytes,
    propertiesBytes,
  }, bytes);
  return bytes;
}

function compiled(type: string | undefined, expression: string | undefined): SubscriptionFilter {
  const result = compileSubscription(type, expression);
  if (!result.ok) throw new Error(`expected to compile: ${result.error}`);
  return result.filter;
}

/** What the store does with a filter: the unit pre-check, then the record check if any. */
function storeAccepts(filter: MessageFilter, properties: Record<string, string>): boolean {
  return filter.matchesTagsCode(tagsHashCode(properties.TAGS)) &&
    (filter.matchesMessage?.(record(properties)) ?? true);
}

Deno.test("compileSubscription() treats a missing or empty expression type as TAG", () => {
  for (const type of [undefined, "", "TAG"]) {
    const filter = compiled(type, "TagA");
    assert.equal(filter.expressionType, "TAG");
    assert.equal(storeAccepts(filter, { TAGS: "TagA" }), true);
    assert.equal(storeAccepts(filter, { TAGS: "TagB" }), false);
  }
});

Deno.test("compileSubscription() TAG * matches everything without decoding records", () => {
  for (const expression of [undefined, "", "*"]) {
    const filter = compiled("TAG", expression);
    assert.equal(filter.matchesMessage, undefined);
    assert.equal(filter.matchesTagsCode(0), true);
    assert.equal(filter.matchesTagsCode(tagsHashCode("x")), true);
    assert.equal(filter.matchesProperties({}), true);
  }
  assert.equal(compiled("TAG", undefined).expression, "*");
});

Deno.test("compileSubscription() TAG filter pre-checks the tagsCode and checks the record's TAGS exactly", () => {
  const filter = compiled("TAG", "TagA || Aa");
  assert.equal(filter.matchesTagsCode(tagsHashCode("TagA")), true);
  assert.equal(filter.matchesTagsCode(tagsHashCode("TagC")), false);
  assert.equal(filter.matchesTagsCode(0), false);
  assert.equal(filter.matchesMessage?.(record({ TAGS: "TagA", KEYS: "k1" })), true);
  // "BB" collides with "Aa": the unit pre-check passes, the record check refuses.
  assert.equal(filter.matchesTagsCode(tagsHashCode("BB")), true);
  assert.equal(filter.matchesMessage?.(record({ TAGS: "BB" })), false);
  assert.equal(storeAccepts(filter, { TAGS: "BB" }), false);
  assert.equal(storeAccepts(filter, { TAGS: "Aa" }), true);
  assert.equal(filter.matchesMessage?.(record({ KEYS: "untagged" })), false);
});

Deno.test("compileSubscription() TAG filter re-checks plain property maps and Maps", () => {
  const filter = compiled("TAG", "TagA");
  assert.equal(filter.matchesProperties({ TAGS: "TagA" }), true);
  assert.equal(filter.matchesProperties(new Map([["TAGS", "TagA"]])), true);
  assert.equal(filter.matchesProperties({ TAGS: "BB" }), false);
  assert.equal(filter.matchesProperties({}), false);
});

Deno.test("compileSubscription() SQL92 filter passes every tagsCode and evaluates the record's properties", () => {
  const filter = compiled(
    "SQL92",
    "TAGS IN ('TagA', 'TagB') AND (price BETWEEN 10 AND 20) AND region <> 'eu'",
  );
  assert.equal(filter.expressionType, "SQL92");
  assert.equal(filter.matchesTagsCode(0), true);
  assert.equal(filter.matchesTagsCode(tagsHashCode("TagZ")), true);
  const cases: [Record<string, string>, boolean][] = [
    [{ TAGS: "TagA", price: "15", region: "us" }, true],
    [{ TAGS: "TagB", price: "10", region: "ap" }, true],
    [{ TAGS: "TagC", price: "15", region: "us" }, false],
    [{ TAGS: "TagA", price: "25", region: "us" }, false],
    [{ TAGS: "TagA", price: "15", region: "eu" }, false],
    [{ TAGS: "TagA", price: "15" }, false], // region missing: UNKNOWN
    [{ TAGS: "TagA", price: "cheap", region: "us" }, false],
    [{ price: "15", region: "us" }, false],
  ];
  for (const [properties, expected] of cases) {
    assert.equal(filter.matchesMessage?.(record(properties)), expected, JSON.stringify(properties));
    assert.equal(filter.matchesProperties(properties), expected, JSON.stringify(properties));
    assert.equal(filter.matchesProperties(new Map(Object.entries(properties))), expected);
    assert.equal(storeAccepts(filter, properties), expected);
  }
});

Deno.test("compileSubscription() SQL92 NOT does not select messages missing the property", () => {
  const filter = compiled("SQL92", "NOT (a > 1)");
  assert.equal(filter.matchesMessage?.(record({ a: "0" })), true);
  assert.equal(filter.matchesMessage?.(record({ a: "2" })), false);
  assert.equal(filter.matchesMessage?.(record({ b: "0" })), false);
  assert.equal(filter.matchesMessage?.(record({})), false);
});

Deno.test("compileSubscription() returns the parse error of a bad SQL92 expression", () => {
  assert.deepEqual(compileSubscription("SQL92", "price >"), {
    ok: false,
    error: 'Cannot parse SQL92 expression at column 8: expected a value after ">"',
  });
  assert.deepEqual(compileSubscription("SQL92", undefined), {
    ok: false,
    error: "Cannot parse SQL92 expression: the expression is missing",
  });
});

Deno.test("compileSubscription() returns the error of a bad tag expression", () => {
  assert.deepEqual(compileSubscription("TAG", "||"), {
    ok: false,
    error: 'Cannot parse tag expression: "||" names no tag',
  });
});

Deno.test("compileSubscription() refuses an unknown expression type", () => {
  assert.deepEqual(compileSubscription("XPATH", "a"), {
    ok: false,
    error: 'Cannot compile subscription: unknown expression type "XPATH", expected TAG or SQL92',
  });
  assert.equal(compileSubscription("sql92", "a = 1").ok, false);
});

Deno.test("compileSubscription() filters evaluate many records with one compilation (sanity, no timing)", () => {
  // Perf sanity without timing: one compiled filter over a batch like a pull
  // of 1024 messages, checking the count it selects.
  const filter = compiled("SQL92", "seq >= 100 AND seq < 612 AND TAGS = 'even'");
  let selected = 0;
  for (let seq = 0; seq < 1024; seq++) {
    const properties = { TAGS: seq % 2 === 0 ? "even" : "odd", seq: String(seq) };
    if (storeAccepts(filter, properties)) selected++;
  }
  assert.equal(selected, 256);
});
