import assert from "node:assert/strict";
import {
  compileSql92,
  propertySourceOf,
  SQL92_EXPRESSION_CHARS_MAX,
  SQL92_IN_LIST_ITEMS_MAX,
  SQL92_NESTING_DEPTH_MAX,
  type Sql92Expression,
} from "./sql92.ts";

function compiled(text: string): Sql92Expression {
  const result = compileSql92(text);
  if (!result.ok) {
    throw new Error(`expected ${JSON.stringify(text.slice(0, 80))} to compile: ${result.error}`);
  }
  return result.expression;
}

type Props = Record<string, string>;

/** [expression, properties, expected three-valued result (null = UNKNOWN)] */
const EVALUATIONS: readonly [string, Props, boolean | null][] = [
  // Numeric ordering, integers and decimals, negative literals.
  ["a > 1", { a: "2" }, true],
  ["a > 1", { a: "1" }, false],
  ["a >= 1", { a: "1" }, true],
  ["a >= 1", { a: "0.999" }, false],
  ["a < 1.5", { a: "1.49" }, true],
  ["a < 1.5", { a: "1.5" }, false],
  ["a <= -2", { a: "-2" }, true],
  ["a <= -2", { a: "-1.9" }, false],
  ["a > -0.5", { a: "0" }, true],
  ["a > 1e3", { a: "1001" }, true],
  ["a > 10", { a: "9.5e1" }, true],
  ["a > 10", { a: "+11" }, true],
  ["a > 10", { a: ".5" }, false],
  ["2 > 1", {}, true],
  ["a > b", { a: "3", b: "2" }, true],
  ["a < b", { a: "3", b: "20" }, true], // numeric, not lexicographic
  // Ordering with a missing or non-numeric operand is UNKNOWN.
  ["a > 1", {}, null],
  ["a > 1", { a: "abc" }, null],
  ["a > 1", { a: " 2" }, null],
  ["a > 1", { a: "0x10" }, null],
  ["a > 1", { a: "Infinity" }, null],
  ["a > b", { a: "3" }, null],
  // Equality on numbers, strings, booleans.
  ["a = 10", { a: "10" }, true],
  ["a = 10", { a: "10.0" }, true],
  ["a = 10", { a: "11" }, false],
  ["a = 10", { a: "ten" }, null],
  ["a = '10'", { a: "10.0" }, false], // string literal: exact text
  ["a = 'x'", { a: "x" }, true],
  ["a = 'x'", { a: "X" }, false],
  ["a = 'it''s'", { a: "it's" }, true],
  ["a = ''", { a: "x" }, false],
  ["'x' = a", { a: "x" }, true],
  ["a <> 'x'", { a: "y" }, true],
  ["a <> 'x'", { a: "x" }, false],
  ["a <> 'x'", {}, null],
  ["a <> 1", { a: "2" }, true],
  ["a <> 1", { a: "one" }, null],
  ["a = TRUE", { a: "true" }, true],
  ["a = TRUE", { a: "TRUE" }, true],
  ["a = FALSE", { a: "true" }, false],
  ["a = TRUE", { a: "yes" }, null],
  ["TRUE = a", { a: "True" }, true],
  ["a = b", { a: "x", b: "x" }, true],
  ["a = b", { a: "1", b: "1.0" }, true],
  ["a = b", { a: "x", b: "y" }, false],
  ["a = b", { a: "x" }, null],
  ["1 = 1", {}, true],
  ["1 = 2", {}, false],
  ["'a' = 1", {}, null],
  // NULL literal and IS [NOT] NULL.
  ["a = NULL", { a: "x" }, null],
  ["a IS NULL", {}, true],
  ["a IS NULL", { a: "x" }, false],
  ["a IS NOT NULL", { a: "x" }, true],
  ["a IS NOT NULL", {}, false],
  ["NULL IS NULL", {}, true],
  ["1 IS NULL", {}, false],
  // BETWEEN is inclusive; NOT BETWEEN is its complement; UNKNOWN stays UNKNOWN.
  ["a BETWEEN 1 AND 3", { a: "1" }, true],
  ["a BETWEEN 1 AND 3", { a: "3" }, true],
  ["a BETWEEN 1 AND 3", { a: "3.01" }, false],
  ["a BETWEEN -1.5 AND -0.5", { a: "-1" }, true],
  ["a BETWEEN 1 AND 3", {}, null],
  ["a BETWEEN 1 AND 3", { a: "two" }, null],
  ["a NOT BETWEEN 1 AND 3", { a: "4" }, true],
  ["a NOT BETWEEN 1 AND 3", { a: "2" }, false],
  ["a NOT BETWEEN 1 AND 3", {}, null],
  ["a BETWEEN lo AND hi", { a: "5", lo: "1", hi: "9" }, true],
  ["a BETWEEN lo AND hi", { a: "5", lo: "1" }, null],
  // IN / NOT IN compare the text.
  ["a IN ('x', 'y')", { a: "y" }, true],
  ["a IN ('x', 'y')", { a: "z" }, false],
  ["a IN ('x', 'y')", {}, null],
  ["a NOT IN ('x', 'y')", { a: "z" }, true],
  ["a NOT IN ('x', 'y')", { a: "x" }, false],
  ["a NOT IN ('x', 'y')", {}, null],
  ["a IN ('1')", { a: "1.0" }, false],
  ["TAGS IN ('TagA', 'TagB')", { TAGS: "TagA" }, true],
  // Three-valued NOT, AND, OR.
  ["NOT (a > 1)", {}, null],
  ["NOT (a > 1)", { a: "abc" }, null],
  ["NOT (a > 1)", { a: "0" }, true],
  ["NOT a > 1", { a: "2" }, false], // NOT applies to the whole comparison
  ["NOT NOT a > 1", { a: "2" }, true],
  ["a > 1 AND b > 1", { a: "2", b: "2" }, true],
  ["a > 1 AND b > 1", { a: "2", b: "0" }, false],
  ["a > 1 AND b > 1", { a: "2" }, null],
  ["a > 1 AND b > 1", { a: "0" }, false], // FALSE AND UNKNOWN
  ["a > 1 OR b > 1", { a: "0" }, null], // FALSE OR UNKNOWN
  ["a > 1 OR b > 1", { b: "2" }, true], // UNKNOWN OR TRUE
  ["a > 1 OR b > 1", { a: "0", b: "0" }, false],
  ["a > 1 AND b > 1 AND c > 1", { a: "2", b: "2", c: "2" }, true],
  ["a > 1 AND b > 1 AND c > 1", { a: "2", b: "2" }, null],
  ["a > 1 AND b > 1 AND c > 1", { b: "0" }, false],
  ["a > 1 OR b > 1 OR c > 1", { c: "2" }, true],
  ["a > 1 OR b > 1 OR c > 1", {}, null],
  // Precedence: NOT > AND > OR; parentheses override.
  ["a = 1 OR b = 1 AND c = 1", { a: "1", b: "0", c: "0" }, true],
  ["(a = 1 OR b = 1) AND c = 1", { a: "1", b: "0", c: "0" }, false],
  ["NOT a = 1 AND b = 1", { a: "0", b: "1" }, true],
  ["NOT (a = 1 AND b = 1)", { a: "0", b: "1" }, true],
  ["NOT a = 1 OR b = 1", { a: "1", b: "0" }, false],
  ["NOT (a = 1 OR b = 1)", { a: "1", b: "0" }, false],
  ["((a = 1))", { a: "1" }, true],
  // Boolean constants, keywords in any case, property names with dots and digits.
  ["TRUE", {}, true],
  ["FALSE", {}, false],
  ["FALSE OR a = 1", { a: "1" }, true],
  ["true and not false", {}, true],
  ["a between 1 and 3 and b is not null", { a: "2", b: "x" }, true],
  ["order.region_2 = 'eu'", { "order.region_2": "eu" }, true],
  ["_x = 'y'", { _x: "y" }, true],
  ["préfixe = 'é'", { "préfixe": "é" }, true],
  ["a\n>\t1", { a: "2" }, true],
];

for (const [text, properties, expected] of EVALUATIONS) {
  Deno.test(
    `compileSql92() evaluates ${JSON.stringify(text)} on ${JSON.stringify(properties)} to ${
      expected === null ? "UNKNOWN" : String(expected).toUpperCase()
    }`,
    () => {
      const expression = compiled(text);
      const source = new Map(Object.entries(properties));
      assert.equal(expression.evaluate(source), expected);
      assert.equal(expression.matches(source), expected === true);
      assert.equal(expression.matches(propertySourceOf(properties)), expected === true);
    },
  );
}

/** [expression, exact error message] */
const ERRORS: readonly [string, string][] = [
  ["", "at column 1: expression is empty"],
  ["   ", "at column 1: expression is empty"],
  ["price >", 'at column 8: expected a value after ">"'],
  ["price > AND x = 1", 'at column 9: expected a value after ">", found keyword AND'],
  [
    "a",
    'at column 2: expected a comparison (=, <>, >, >=, <, <=, BETWEEN, IN, IS) after property "a"',
  ],
  [
    "NULL",
    "at column 5: expected a comparison (=, <>, >, >=, <, <=, BETWEEN, IN, IS) after keyword NULL",
  ],
  ["a = 1 AND", "at column 10: expected a condition"],
  ["AND = 1", "at column 1: expected a condition, found keyword AND"],
  ["()", 'at column 2: expected a condition, found ")"'],
  ["NOT", "at column 4: expected a condition"],
  ["(a = 1", 'at column 7: expected ")" to close "(" at column 1, found end of input'],
  ["a = 1)", 'at column 6: unmatched ")"'],
  ["a = 1 b = 2", 'at column 7: expected AND, OR or end of input, found property "b"'],
  ["a > 1 >", 'at column 7: expected AND, OR or end of input, found ">"'],
  ["TRUE TRUE", "at column 6: expected AND, OR or end of input, found keyword TRUE"],
  ["a = 'x", "at column 5: string literal is not closed"],
  ["a = 'it''s", "at column 5: string literal is not closed"],
  ["a != 1", 'at column 3: unexpected "!=", use "<>" for not equal'],
  ["a == 1", 'at column 3: unexpected "==", use "=" for equal'],
  ["a # 1", 'at column 3: unexpected character "#"'],
  ["12abc > 1", 'at column 1: malformed number "12abc"'],
  ["a = 1.2.3", 'at column 5: malformed number "1.2.3"'],
  ["a = 5.", 'at column 5: malformed number "5."'],
  ["a = - 5", 'at column 7: expected digits right after "-", found number 5'],
  ["a = -", 'at column 6: expected digits after "-"'],
  ["a > 'x'", "at column 5: \">\" compares numbers, found string 'x'"],
  ["a > TRUE", 'at column 5: ">" compares numbers, found boolean TRUE'],
  ["a <= NULL", 'at column 6: "<=" compares numbers, found NULL NULL'],
  ["'x' < a", "at column 1: \"<\" compares numbers, found string 'x'"],
  ["a BETWEEN 1 AND 'z'", "at column 17: BETWEEN compares numbers, found string 'z'"],
  [
    "a BETWEEN 1 OR 2",
    "at column 13: expected AND to complete BETWEEN at column 3, found keyword OR",
  ],
  ["a BETWEEN 1", "at column 12: expected AND to complete BETWEEN at column 3, found end of input"],
  ["a NOT > 1", 'at column 7: expected BETWEEN or IN after NOT, found ">"'],
  ["a IN 'x'", "at column 6: expected \"(\" after IN, found string 'x'"],
  ["a IN (1, 2)", "at column 7: expected a string in the IN list at column 3, found number 1"],
  ["a IN ()", 'at column 7: expected a string in the IN list at column 3, found ")"'],
  ["a IN ('x',", "at column 11: expected a string in the IN list at column 3"],
  [
    "a IN ('x' 'y')",
    'at column 11: expected "," or ")" in the IN list at column 3, found string \'y\'',
  ],
  ["5 IN ('5')", "at column 1: IN compares strings, found number 5"],
  ["a IS 1", "at column 6: expected NULL after IS, found number 1"],
  ["a IS NOT", "at column 9: expected NULL after IS NOT"],
];

for (const [text, message] of ERRORS) {
  Deno.test(`compileSql92() rejects ${JSON.stringify(text)} naming the column`, () => {
    const result = compileSql92(text);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error, `Cannot parse SQL92 expression ${message}`);
    assert.equal(result.column, Number(/column (\d+)/.exec(message)?.[1]));
  });
}

Deno.test("compileSql92() rejects an expression longer than SQL92_EXPRESSION_CHARS_MAX", () => {
  const atLimit = "a = '" + "x".repeat(SQL92_EXPRESSION_CHARS_MAX - 6) + "'";
  assert.equal(atLimit.length, SQL92_EXPRESSION_CHARS_MAX);
  assert.equal(compileSql92(atLimit).ok, true);
  const result = compileSql92(atLimit + " ");
  assert.deepEqual(result, {
    ok: false,
    error: `Cannot parse SQL92 expression: expression is ${
      SQL92_EXPRESSION_CHARS_MAX + 1
    } characters, limit is ${SQL92_EXPRESSION_CHARS_MAX}`,
  });
});

Deno.test("compileSql92() accepts nesting up to SQL92_NESTING_DEPTH_MAX and rejects deeper", () => {
  const depth = SQL92_NESTING_DEPTH_MAX;
  const parens = (n: number) => "(".repeat(n) + "a = 1" + ")".repeat(n);
  assert.equal(compiled(parens(depth)).matches(new Map([["a", "1"]])), true);
  const deeper = compileSql92(parens(depth + 1));
  assert.equal(deeper.ok, false);
  if (!deeper.ok) {
    assert.equal(
      deeper.error,
      `Cannot parse SQL92 expression at column ${
        depth + 1
      }: nesting is deeper than ${depth} levels`,
    );
  }
  const nots = (n: number) => "NOT ".repeat(n) + "a = 1";
  assert.equal(compiled(nots(depth)).evaluate(new Map([["a", "1"]])), depth % 2 === 0);
  assert.equal(compileSql92(nots(depth + 1)).ok, false);
  // Parentheses and NOTs count together.
  const mixed = "NOT (".repeat(depth / 2) + "a = 1" + ")".repeat(depth / 2);
  assert.equal(compileSql92(mixed).ok, true);
  assert.equal(compileSql92("NOT " + mixed).ok, false);
});

Deno.test("compileSql92() bounds IN lists at SQL92_IN_LIST_ITEMS_MAX strings", () => {
  const list = (n: number) =>
    "a IN (" + Array.from({ length: n }, (_, i) => `'v${i}'`).join(",") + ")";
  const full = compiled(list(SQL92_IN_LIST_ITEMS_MAX));
  assert.equal(full.matches(new Map([["a", `v${SQL92_IN_LIST_ITEMS_MAX - 1}`]])), true);
  const over = compileSql92(list(SQL92_IN_LIST_ITEMS_MAX + 1));
  assert.equal(over.ok, false);
  if (!over.ok) {
    assert.match(over.error, new RegExp(`IN list has more than ${SQL92_IN_LIST_ITEMS_MAX} items$`));
  }
});

Deno.test("compileSql92() evaluates long AND/OR chains without deep recursion", () => {
  // A flat chain is not nesting: 200 conjuncts stay inside the limits.
  const terms = Array.from({ length: 200 }, (_, i) => `p${i} = '${i}'`);
  const properties = new Map(terms.map((_, i) => [`p${i}`, String(i)]));
  assert.equal(compiled(terms.join(" AND ")).matches(properties), true);
  properties.set("p199", "x");
  assert.equal(compiled(terms.join(" AND ")).matches(properties), false);
  assert.equal(compiled(terms.join(" OR ")).matches(properties), true);
});

Deno.test("compileSql92() reports the property names an expression reads", () => {
  const expression = compiled("a > 1 AND (b IN ('x') OR c.d IS NULL) AND a < 5");
  assert.deepEqual([...expression.propertyNames].sort(), ["a", "b", "c.d"]);
  assert.equal(expression.source, "a > 1 AND (b IN ('x') OR c.d IS NULL) AND a < 5");
});

Deno.test("compileSql92() expressions are reusable across many property maps", () => {
  const expression = compiled("TAGS = 'TagA' AND price BETWEEN 10 AND 20");
  let matched = 0;
  for (let price = 0; price < 30; price++) {
    if (expression.matches(new Map([["TAGS", "TagA"], ["price", String(price)]]))) matched++;
  }
  assert.equal(matched, 11);
});

Deno.test("propertySourceOf() reads own properties only", () => {
  const source = propertySourceOf({ a: "1", b: undefined });
  assert.equal(source.get("a"), "1");
  assert.equal(source.get("b"), undefined);
  assert.equal(source.get("toString"), undefined);
  assert.equal(compiled("toString IS NULL").matches(source), true);
});

Deno.test("compileSql92() answers every input with a result, never an exception", () => {
  // Deterministic fuzzing: random sequences of grammar fragments and stray
  // characters must compile or give a positioned error, and compiled ones
  // must evaluate without throwing.
  const fragments = [
    "a",
    "b.c",
    "1",
    "-2",
    "3.5",
    "'x'",
    "'it''s'",
    "'",
    "(",
    ")",
    ",",
    "=",
    "<>",
    ">",
    ">=",
    "<",
    "<=",
    "-",
    "AND",
    "OR",
    "NOT",
    "BETWEEN",
    "IN",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "!",
    "#",
    "1e",
    "..",
    " ",
    "é",
  ];
  let seed = 0x2f6b_1a3d;
  const random = (n: number) => {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    return seed % n;
  };
  const properties = new Map([["a", "1"], ["b.c", "x"]]);
  let compiledCount = 0;
  for (let i = 0; i < 3000; i++) {
    const parts: string[] = [];
    const length = 1 + random(12);
    for (let j = 0; j < length; j++) parts.push(fragments[random(fragments.length)]);
    const text = parts.join(random(4) === 0 ? "" : " ");
    const result = compileSql92(text);
    if (result.ok) {
      compiledCount++;
      const truth = result.expression.evaluate(properties);
      assert.ok(truth === true || truth === false || truth === null);
    } else {
      assert.match(result.error, /^Cannot parse SQL92 expression at column \d+: /, text);
      assert.ok(result.column! >= 1 && result.column! <= text.length + 1, text);
    }
  }
  assert.ok(compiledCount > 0);
});

Deno.test("Sql92Expression.matches() runs many evaluations on one compilation (sanity, no timing)", () => {
  const expression = compiled(
    "(region IN ('eu', 'us') AND price BETWEEN 10 AND 99.5) OR (vip = TRUE AND NOT level < 3)",
  );
  const properties = new Map<string, string>();
  let matched = 0;
  for (let i = 0; i < 100_000; i++) {
    properties.set("region", i % 3 === 0 ? "eu" : "ap");
    properties.set("price", String(i % 200));
    if (i % 10 === 0) properties.set("vip", "true");
    else properties.delete("vip");
    properties.set("level", String(i % 5));
    if (expression.matches(properties)) matched++;
  }
  // Count by brute force with the same rules written out in plain TypeScript.
  let expected = 0;
  for (let i = 0; i < 100_000; i++) {
    const price = i % 200;
    const first = i % 3 === 0 && price >= 10 && price <= 99.5;
    const second = i % 10 === 0 && i % 5 >= 3;
    if (first || second) expected++;
  }
  assert.equal(matched, expected);
});
