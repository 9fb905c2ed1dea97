import assert from "node:assert/strict";
import { parseSubscription, parseTags, toSubscriptionData } from "./subscription.ts";

Deno.test("parseTags() splits on ||, trims, drops duplicates, and reads * as all", () => {
  assert.deepEqual(parseTags(" A || B ||A "), ["A", "B"]);
  assert.deepEqual(parseTags("*"), []);
  assert.deepEqual(parseTags(""), []);
});

Deno.test("parseSubscription() accepts tag strings, TAG and SQL92 objects, and rejects bad input", () => {
  assert.deepEqual(parseSubscription("T", undefined), {
    topic: "T",
    type: "TAG",
    expression: "*",
    tags: [],
  });
  assert.deepEqual(parseSubscription("T", "x||y").tags, ["x", "y"]);
  assert.equal(
    parseSubscription("T", { type: "SQL92", expression: " a > 1 " }).expression,
    "a > 1",
  );
  assert.throws(() => parseSubscription("T", { type: "SQL92", expression: " " }), TypeError);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => parseSubscription("T", { type: "XML" as any, expression: "a" }),
    TypeError,
  );
});

Deno.test("toSubscriptionData() carries tag hash codes and the version", () => {
  const data = toSubscriptionData(parseSubscription("T", "TagA"), 42);
  assert.deepEqual(data.tagsSet, ["TagA"]);
  assert.equal(data.codeSet.length, 1);
  assert.equal(data.subVersion, 42);
  assert.equal(data.expressionType, "TAG");
});
