import assert from "node:assert/strict";
import { javaStringHashCode, tagsHashCode } from "../../../client/protocol/properties.ts";
import {
  matchesTag,
  matchesTagsCode,
  parseTagExpression,
  TAG_EXPRESSION_CHARS_MAX,
  type TagExpression,
} from "./tag_expression.ts";

function parsed(text: string | undefined): TagExpression {
  const result = parseTagExpression(text);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(text)} to parse: ${result.error}`);
  return result.expression;
}

/** [subscription, expected tags, or "all"] */
const PARSES: readonly [string | undefined, readonly string[] | "all"][] = [
  [undefined, "all"],
  ["", "all"],
  ["   ", "all"],
  ["*", "all"],
  [" * ", "all"],
  ["TagA || *", "all"],
  ["TagA", ["TagA"]],
  ["  TagA  ", ["TagA"]],
  ["TagA||TagB", ["TagA", "TagB"]],
  ["TagA || TagB || TagC", ["TagA", "TagB", "TagC"]],
  ["TagA ||  || TagB ||", ["TagA", "TagB"]],
  ["|| TagA", ["TagA"]],
  ["TagA || TagA", ["TagA"]],
  ["Tag A || b|c", ["Tag A", "b|c"]],
];

for (const [text, expected] of PARSES) {
  Deno.test(
    `parseTagExpression() reads ${JSON.stringify(text)} as ${
      expected === "all" ? "all messages" : JSON.stringify(expected)
    }`,
    () => {
      const expression = parsed(text);
      if (expected === "all") {
        assert.deepEqual(expression, { kind: "all" });
        return;
      }
      assert.equal(expression.kind, "tags");
      if (expression.kind !== "tags") return;
      assert.deepEqual([...expression.tags], expected);
      assert.deepEqual([...expression.codes], expected.map(javaStringHashCode));
    },
  );
}

Deno.test("parseTagExpression() rejects an expression made only of separators", () => {
  assert.deepEqual(parseTagExpression(" || || "), {
    ok: false,
    error: 'Cannot parse tag expression: "|| ||" names no tag',
  });
});

Deno.test("parseTagExpression() rejects an expression longer than TAG_EXPRESSION_CHARS_MAX", () => {
  assert.equal(parseTagExpression("a".repeat(TAG_EXPRESSION_CHARS_MAX)).ok, true);
  assert.deepEqual(parseTagExpression("a".repeat(TAG_EXPRESSION_CHARS_MAX + 1)), {
    ok: false,
    error: `Cannot parse tag expression: expression is ${
      TAG_EXPRESSION_CHARS_MAX + 1
    } characters, limit is ${TAG_EXPRESSION_CHARS_MAX}`,
  });
});

Deno.test("matchesTagsCode() accepts the hash codes of the subscribed tags only", () => {
  const expression = parsed("TagA || TagB");
  assert.equal(matchesTagsCode(expression, tagsHashCode("TagA")), true);
  assert.equal(matchesTagsCode(expression, tagsHashCode("TagB")), true);
  assert.equal(matchesTagsCode(expression, tagsHashCode("TagC")), false);
  assert.equal(matchesTagsCode(expression, tagsHashCode(undefined)), false);
});

Deno.test("matchesTagsCode() and matchesTag() accept everything for *", () => {
  const expression = parsed("*");
  assert.equal(matchesTagsCode(expression, 0), true);
  assert.equal(matchesTagsCode(expression, -123456), true);
  assert.equal(matchesTag(expression, undefined), true);
  assert.equal(matchesTag(expression, "anything"), true);
});

Deno.test("matchesTag() settles a hash collision that matchesTagsCode() lets through", () => {
  // "Aa" and "BB" have the same Java String.hashCode (2112).
  assert.equal(javaStringHashCode("Aa"), javaStringHashCode("BB"));
  const expression = parsed("Aa");
  assert.equal(matchesTagsCode(expression, tagsHashCode("BB")), true);
  assert.equal(matchesTag(expression, "BB"), false);
  assert.equal(matchesTag(expression, "Aa"), true);
});

Deno.test("matchesTag() compares tags exactly: case, spaces and untagged messages", () => {
  const expression = parsed("TagA");
  assert.equal(matchesTag(expression, "TagA"), true);
  assert.equal(matchesTag(expression, "taga"), false);
  assert.equal(matchesTag(expression, " TagA"), false);
  assert.equal(matchesTag(expression, undefined), false);
});
