/**
 * SQL92 property filters: RocketMQ's `SQL92` expression type.
 *
 * A consumer selects messages with a boolean expression over message
 * properties (the user's properties plus system ones such as `TAGS`), e.g.
 * `TAGS IN ('TagA', 'TagB') AND price BETWEEN 10 AND 20.5 AND region <> 'eu'`.
 *
 * ## Grammar (keywords are case-insensitive)
 *
 * ```text
 * expression := or
 * or         := and ( OR and )*
 * and        := not ( AND not )*
 * not        := NOT not | primary
 * primary    := "(" or ")" | TRUE | FALSE | predicate
 * predicate  := value ( ( "=" | "<>" | ">" | ">=" | "<" | "<=" ) value
 *                     | [ NOT ] BETWEEN value AND value
 *                     | [ NOT ] IN "(" string ( "," string )* ")"
 *                     | IS [ NOT ] NULL )
 * value      := property | number | string | TRUE | FALSE | NULL
 * number     := [ "-" ] digits [ "." digits ] [ ( "e" | "E" ) [ "+" | "-" ] digits ]
 * string     := "'" { any character, "''" for a quote } "'"
 * property   := ( letter | "_" ) { letter | digit | "_" | "." }, not a keyword
 * ```
 *
 * Precedence from tightest: comparisons, NOT, AND, OR; parentheses group.
 *
 * ## Semantics (three-valued, like RocketMQ and SQL)
 *
 * Every property value is a string. A predicate is UNKNOWN when an operand is
 * NULL (a missing property or the `NULL` literal) or when the operands cannot
 * be compared: ordering operators and BETWEEN need numbers, so a property
 * whose text is not a decimal number makes them UNKNOWN; `=`/`<>` against a
 * number literal compare numerically (`'10.0' = 10`), against a string
 * literal compare the text exactly, and against `TRUE`/`FALSE` accept the
 * texts `true`/`false` in any case; two properties are equal when their
 * texts are equal or both are numbers of equal value. `NOT` of UNKNOWN is UNKNOWN; `AND` is
 * FALSE if any side is FALSE; `OR` is TRUE if any side is TRUE. A message
 * matches only when the whole expression is TRUE, so `NOT (a > 1)` does not
 * match a message without `a`, nor one whose `a` is `"abc"`. `IS NULL` and
 * `IS NOT NULL` are never UNKNOWN.
 *
 * Literal operands are type-checked when the expression is compiled: ordering
 * operators and BETWEEN accept only number literals, IN only string literals.
 *
 * ## Evaluation
 *
 * `compileSql92` parses once and builds a tree of closures; evaluating a
 * message calls them with a `PropertySource` (a `Map` qualifies) and
 * allocates nothing beyond what the source's `get` does.
 *
 * Pure domain code: no I/O, no Deno APIs.
 *
 * @module
 */

/** Longest SQL92 expression accepted, in UTF-16 code units. */
export const SQL92_EXPRESSION_CHARS_MAX = 4096;
/** Deepest nesting of parentheses and `NOT`s accepted. */
export const SQL92_NESTING_DEPTH_MAX = 32;
/** Most strings in one `IN (...)` list. */
export const SQL92_IN_LIST_ITEMS_MAX = 256;

/** Where an expression reads property values: a `Map<string, string>` qualifies. */
export interface PropertySource {
  /**
   * The value of a property.
   *
   * @param name Property name.
   * @returns Its value, or undefined if the message does not have it.
   */
  get(name: string): string | undefined;
}

/** A compiled SQL92 expression, reusable across messages and threads of control. */
export interface Sql92Expression {
  /** The expression text as given. */
  readonly source: string;
  /** Every property name the expression reads. */
  readonly propertyNames: ReadonlySet<string>;
  /**
   * Evaluate with three-valued logic.
   *
   * @param properties The message's properties.
   * @returns `true`, `false`, or `null` for UNKNOWN.
   */
  evaluate(properties: PropertySource): boolean | null;
  /**
   * Whether the message is selected (the expression is TRUE).
   *
   * @param properties The message's properties.
   * @returns True only if the expression evaluates to TRUE.
   */
  matches(properties: PropertySource): boolean;
}

/** Outcome of `compileSql92`. */
export type Sql92CompileResult =
  | { readonly ok: true; readonly expression: Sql92Expression }
  | {
    readonly ok: false;
    /** E.g. `Cannot parse SQL92 expression at column 7: expected a value after ">"`. */
    readonly error: string;
    /** 1-based column of the problem, when there is one. */
    readonly column?: number;
  };

/**
 * Parse and compile an SQL92 filter expression.
 *
 * @param text The expression, at most `SQL92_EXPRESSION_CHARS_MAX` characters.
 * @returns The compiled expression, or an error message naming the column.
 *
 * @example
 * ```ts
 * const compiled = compileSql92("a BETWEEN 1 AND 3 AND b = 'x'");
 * if (compiled.ok) compiled.expression.matches(new Map([["a", "2"], ["b", "x"]])); // true
 * ```
 */
export function compileSql92(text: string): Sql92CompileResult {
  if (text.length > SQL92_EXPRESSION_CHARS_MAX) {
    return {
      ok: false,
      error:
        `Cannot parse SQL92 expression: expression is ${text.length} characters, limit is ${SQL92_EXPRESSION_CHARS_MAX}`,
    };
  }
  try {
    const tokens = tokenize(text);
    const parser = new Parser(tokens);
    const root = parser.parseExpression();
    const compiled = new CompiledExpression(text, parser.propertyNames, root);
    return { ok: true, expression: compiled };
  } catch (error) {
    if (error instanceof Sql92SyntaxError) {
      return {
        ok: false,
        error: `Cannot parse SQL92 expression at column ${error.column}: ${error.message}`,
        column: error.column,
      };
    }
    throw error;
  }
}

/**
 * Adapt a plain object to a `PropertySource` (own properties only).
 *
 * @param properties Names to values; `undefined` means absent.
 * @returns A source reading from the object.
 */
export function propertySourceOf(
  properties: Readonly<Record<string, string | undefined>>,
): PropertySource {
  return {
    get: (name) => Object.hasOwn(properties, name) ? properties[name] : undefined,
  };
}

// ---------------------------------------------------------------------------
// Three-valued truth, as small integers so the closures return primitives.

type Truth = 0 | 1 | 2;
const FALSE: Truth = 0;
const TRUE: Truth = 1;
const UNKNOWN: Truth = 2;

type Condition = (properties: PropertySource) => Truth;

class CompiledExpression implements Sql92Expression {
  readonly source: string;
  readonly propertyNames: ReadonlySet<string>;
  readonly #root: Condition;

  constructor(source: string, propertyNames: ReadonlySet<string>, root: Condition) {
    this.source = source;
    this.propertyNames = propertyNames;
    this.#root = root;
  }

  evaluate(properties: PropertySource): boolean | null {
    const truth = this.#root(properties);
    return truth === UNKNOWN ? null : truth === TRUE;
  }

  matches(properties: PropertySource): boolean {
    return this.#root(properties) === TRUE;
  }
}

// ---------------------------------------------------------------------------
// Tokens.

type TokenKind = "property" | "number" | "string" | "keyword" | "symbol" | "end";

interface Token {
  readonly kind: TokenKind;
  /** Keyword in upper case, symbol text, property name, decoded string; number source text. */
  readonly text: string;
  /** Numeric value of a number token. */
  readonly number: number;
  /** 1-based column of the first character. */
  readonly column: number;
  /** Source text of the token (for messages). */
  readonly raw: string;
}

const KEYWORDS: ReadonlySet<string> = new Set([
  "AND",
  "OR",
  "NOT",
  "BETWEEN",
  "IN",
  "IS",
  "NULL",
  "TRUE",
  "FALSE",
]);

const COMPARISON_SYMBOLS: ReadonlySet<string> = new Set(["=", "<>", ">", ">=", "<", "<="]);

class Sql92SyntaxError extends Error {
  readonly column: number;
  constructor(column: number, message: string) {
    super(message);
    this.name = "Sql92SyntaxError";
    this.column = column;
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isIdentifierStart(ch: string): boolean {
  return ch === "_" || /^\p{L}$/u.test(ch);
}

function isIdentifierPart(ch: string): boolean {
  return ch === "_" || ch === "." || /^[\p{L}\p{Nd}]$/u.test(ch);
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    const c = text.charCodeAt(i);
    const column = i + 1;
    if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") {
      i++;
      continue;
    }
    if (isDigit(c)) {
      const start = i;
      while (i < text.length && isDigit(text.charCodeAt(i))) i++;
      if (text[i] === "." && isDigit(text.charCodeAt(i + 1))) {
        i++;
        while (i < text.length && isDigit(text.charCodeAt(i))) i++;
      }
      if (text[i] === "e" || text[i] === "E") {
        let j = i + 1;
        if (text[j] === "+" || text[j] === "-") j++;
        if (isDigit(text.charCodeAt(j))) {
          while (j < text.length && isDigit(text.charCodeAt(j))) j++;
          i = j;
        }
      }
      if (i < text.length && (isIdentifierPart(text[i]) || text[i] === ".")) {
        let end = i;
        while (end < text.length && isIdentifierPart(text[end])) end++;
        throw new Sql92SyntaxError(column, `malformed number "${text.slice(start, end)}"`);
      }
      const raw = text.slice(start, i);
      tokens.push({ kind: "number", text: raw, number: Number(raw), column, raw });
      continue;
    }
    if (ch === "'") {
      let value = "";
      let j = i + 1;
      for (;;) {
        const quote = text.indexOf("'", j);
        if (quote === -1) {
          throw new Sql92SyntaxError(column, "string literal is not closed");
        }
        value += text.slice(j, quote);
        if (text[quote + 1] === "'") {
          value += "'";
          j = quote + 2;
          continue;
        }
        j = quote + 1;
        break;
      }
      tokens.push({ kind: "string", text: value, number: NaN, column, raw: text.slice(i, j) });
      i = j;
      continue;
    }
    if (isIdentifierStart(ch)) {
      const start = i;
      while (i < text.length && isIdentifierPart(text[i])) i++;
      const raw = text.slice(start, i);
      const upper = raw.toUpperCase();
      tokens.push(
        KEYWORDS.has(upper)
          ? { kind: "keyword", text: upper, number: NaN, column, raw }
          : { kind: "property", text: raw, number: NaN, column, raw },
      );
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === "==") {
      throw new Sql92SyntaxError(column, `unexpected "==", use "=" for equal`);
    }
    if (two === "<>" || two === ">=" || two === "<=") {
      tokens.push({ kind: "symbol", text: two, number: NaN, column, raw: two });
      i += 2;
      continue;
    }
    if (
      ch === "=" || ch === ">" || ch === "<" || ch === "(" || ch === ")" || ch === "," || ch === "-"
    ) {
      tokens.push({ kind: "symbol", text: ch, number: NaN, column, raw: ch });
      i++;
      continue;
    }
    if (two === "!=") {
      throw new Sql92SyntaxError(column, `unexpected "!=", use "<>" for not equal`);
    }
    const shown = String.fromCodePoint(text.codePointAt(i) ?? c);
    throw new Sql92SyntaxError(column, `unexpected character "${shown}"`);
  }
  tokens.push({ kind: "end", text: "", number: NaN, column: text.length + 1, raw: "" });
  return tokens;
}

const DESCRIBE_CHARS_MAX = 32;

function describe(token: Token): string {
  const raw = token.raw.length > DESCRIBE_CHARS_MAX
    ? token.raw.slice(0, DESCRIBE_CHARS_MAX) + "..."
    : token.raw;
  switch (token.kind) {
    case "end":
      return "end of input";
    case "keyword":
      return `keyword ${token.text}`;
    case "property":
      return `property "${raw}"`;
    case "number":
      return `number ${raw}`;
    case "string":
      return `string ${raw}`;
    case "symbol":
      return `"${raw}"`;
  }
}

// ---------------------------------------------------------------------------
// Operands: what a predicate compares.

type Operand =
  | { readonly kind: "property"; readonly name: string; readonly token: Token }
  | {
    readonly kind: "literal";
    readonly value: string | number | boolean | null;
    readonly token: Token;
  };

/** Literal type names for messages. */
function literalType(value: string | number | boolean | null): string {
  if (value === null) return "NULL";
  if (typeof value === "string") return "string";
  if (typeof value === "number") return "number";
  return "boolean";
}

// ---------------------------------------------------------------------------
// Parser: recursive descent, building closures as it goes.

class Parser {
  readonly propertyNames: Set<string> = new Set();
  readonly #tokens: Token[];
  #at = 0;
  #depth = 0;

  constructor(tokens: Token[]) {
    this.#tokens = tokens;
  }

  parseExpression(): Condition {
    if (this.#peek().kind === "end") {
      throw new Sql92SyntaxError(1, "expression is empty");
    }
    const root = this.#parseOr();
    const next = this.#peek();
    if (next.kind !== "end") {
      throw new Sql92SyntaxError(
        next.column,
        next.kind === "symbol" && next.text === ")"
          ? `unmatched ")"`
          : `expected AND, OR or end of input, found ${describe(next)}`,
      );
    }
    return root;
  }

  #peek(offset = 0): Token {
    return this.#tokens[Math.min(this.#at + offset, this.#tokens.length - 1)];
  }

  #next(): Token {
    const token = this.#peek();
    if (token.kind !== "end") this.#at++;
    return token;
  }

  #isKeyword(token: Token, keyword: string): boolean {
    return token.kind === "keyword" && token.text === keyword;
  }

  #isSymbol(token: Token, symbol: string): boolean {
    return token.kind === "symbol" && token.text === symbol;
  }

  #enter(token: Token): void {
    this.#depth++;
    if (this.#depth > SQL92_NESTING_DEPTH_MAX) {
      throw new Sql92SyntaxError(
        token.column,
        `nesting is deeper than ${SQL92_NESTING_DEPTH_MAX} levels`,
      );
    }
  }

  #parseOr(): Condition {
    const first = this.#parseAnd();
    if (!this.#isKeyword(this.#peek(), "OR")) return first;
    const parts = [first];
    while (this.#isKeyword(this.#peek(), "OR")) {
      this.#next();
      parts.push(this.#parseAnd());
    }
    return orOf(parts);
  }

  #parseAnd(): Condition {
    const first = this.#parseNot();
    if (!this.#isKeyword(this.#peek(), "AND")) return first;
    const parts = [first];
    while (this.#isKeyword(this.#peek(), "AND")) {
      this.#next();
      parts.push(this.#parseNot());
    }
    return andOf(parts);
  }

  #parseNot(): Condition {
    const token = this.#peek();
    if (!this.#isKeyword(token, "NOT")) return this.#parsePrimary();
    this.#next();
    this.#enter(token);
    const inner = this.#parseNot();
    this.#depth--;
    return notOf(inner);
  }

  #parsePrimary(): Condition {
    const token = this.#peek();
    if (this.#isSymbol(token, "(")) {
      this.#next();
      this.#enter(token);
      const inner = this.#parseOr();
      const close = this.#peek();
      if (!this.#isSymbol(close, ")")) {
        throw new Sql92SyntaxError(
          close.column,
          `expected ")" to close "(" at column ${token.column}, found ${describe(close)}`,
        );
      }
      this.#next();
      this.#depth--;
      return inner;
    }
    if (
      (this.#isKeyword(token, "TRUE") || this.#isKeyword(token, "FALSE")) &&
      !this.#startsPredicateTail(this.#peek(1))
    ) {
      this.#next();
      return token.text === "TRUE" ? constant(TRUE) : constant(FALSE);
    }
    const left = this.#parseOperand(undefined, "a condition");
    return this.#parsePredicateTail(left);
  }

  #startsPredicateTail(token: Token): boolean {
    return (token.kind === "symbol" && COMPARISON_SYMBOLS.has(token.text)) ||
      this.#isKeyword(token, "BETWEEN") || this.#isKeyword(token, "IN") ||
      this.#isKeyword(token, "IS") || this.#isKeyword(token, "NOT");
  }

  /**
   * Read a value. `after` names the previous token for messages; `wanted`
   * says what was expected when there is no previous token to name.
   */
  #parseOperand(after: Token | undefined, wanted = "a value"): Operand {
    const token = this.#next();
    const expected = () => {
      const where = after === undefined
        ? `expected ${wanted}`
        : `expected a value after ${after.kind === "keyword" ? after.text : `"${after.raw}"`}`;
      return token.kind === "end" ? where : `${where}, found ${describe(token)}`;
    };
    switch (token.kind) {
      case "property":
        this.propertyNames.add(token.text);
        return { kind: "property", name: token.text, token };
      case "number":
        return { kind: "literal", value: token.number, token };
      case "string":
        return { kind: "literal", value: token.text, token };
      case "keyword":
        if (token.text === "NULL") return { kind: "literal", value: null, token };
        if (token.text === "TRUE") return { kind: "literal", value: true, token };
        if (token.text === "FALSE") return { kind: "literal", value: false, token };
        break;
      case "symbol":
        if (token.text === "-") {
          const digits = this.#peek();
          if (digits.kind === "number" && digits.column === token.column + 1) {
            this.#next();
            const negated: Token = {
              kind: "number",
              text: "-" + digits.text,
              number: -digits.number,
              column: token.column,
              raw: "-" + digits.raw,
            };
            return { kind: "literal", value: negated.number, token: negated };
          }
          throw new Sql92SyntaxError(
            digits.column,
            digits.kind === "end"
              ? `expected digits after "-"`
              : `expected digits right after "-", found ${describe(digits)}`,
          );
        }
        break;
    }
    throw new Sql92SyntaxError(token.column, expected());
  }

  #parsePredicateTail(left: Operand): Condition {
    const token = this.#next();
    if (token.kind === "symbol" && COMPARISON_SYMBOLS.has(token.text)) {
      const right = this.#parseOperand(token);
      if (token.text === "=" || token.text === "<>") {
        const equal = equalityOf(left, right);
        return token.text === "=" ? equal : notOf(equal);
      }
      this.#requireNumeric(left, token);
      this.#requireNumeric(right, token);
      return orderingOf(token.text, left, right);
    }
    let negated = false;
    let keyword = token;
    if (this.#isKeyword(token, "NOT")) {
      negated = true;
      keyword = this.#next();
      if (!this.#isKeyword(keyword, "BETWEEN") && !this.#isKeyword(keyword, "IN")) {
        throw new Sql92SyntaxError(
          keyword.column,
          `expected BETWEEN or IN after NOT, found ${describe(keyword)}`,
        );
      }
    }
    if (this.#isKeyword(keyword, "BETWEEN")) {
      this.#requireNumeric(left, keyword);
      const low = this.#parseOperand(keyword);
      this.#requireNumeric(low, keyword);
      const and = this.#next();
      if (!this.#isKeyword(and, "AND")) {
        throw new Sql92SyntaxError(
          and.column,
          `expected AND to complete BETWEEN at column ${keyword.column}, found ${describe(and)}`,
        );
      }
      const high = this.#parseOperand(and);
      this.#requireNumeric(high, keyword);
      const between = andOf([orderingOf(">=", left, low), orderingOf("<=", left, high)]);
      return negated ? notOf(between) : between;
    }
    if (this.#isKeyword(keyword, "IN")) {
      this.#requireString(left, keyword);
      const values = this.#parseInList(keyword);
      const inList = inListOf(left, values);
      return negated ? notOf(inList) : inList;
    }
    if (this.#isKeyword(token, "IS")) {
      let isNot = false;
      let nullToken = this.#next();
      if (this.#isKeyword(nullToken, "NOT")) {
        isNot = true;
        nullToken = this.#next();
      }
      if (!this.#isKeyword(nullToken, "NULL")) {
        throw new Sql92SyntaxError(
          nullToken.column,
          `expected NULL after ${isNot ? "IS NOT" : "IS"}${
            nullToken.kind === "end" ? "" : `, found ${describe(nullToken)}`
          }`,
        );
      }
      const isNull = isNullOf(left);
      return isNot ? notOf(isNull) : isNull;
    }
    const subject = left.kind === "property" ? `property "${left.name}"` : describe(left.token);
    throw new Sql92SyntaxError(
      token.column,
      `expected a comparison (=, <>, >, >=, <, <=, BETWEEN, IN, IS) after ${subject}${
        token.kind === "end" ? "" : `, found ${describe(token)}`
      }`,
    );
  }

  #parseInList(inToken: Token): ReadonlySet<string> {
    const open = this.#next();
    if (!this.#isSymbol(open, "(")) {
      throw new Sql92SyntaxError(
        open.column,
        `expected "(" after IN${open.kind === "end" ? "" : `, found ${describe(open)}`}`,
      );
    }
    const values = new Set<string>();
    let count = 0;
    for (;;) {
      const item = this.#next();
      if (item.kind !== "string") {
        throw new Sql92SyntaxError(
          item.column,
          `expected a string in the IN list at column ${inToken.column}${
            item.kind === "end" ? "" : `, found ${describe(item)}`
          }`,
        );
      }
      count++;
      if (count > SQL92_IN_LIST_ITEMS_MAX) {
        throw new Sql92SyntaxError(
          item.column,
          `IN list has more than ${SQL92_IN_LIST_ITEMS_MAX} items`,
        );
      }
      values.add(item.text);
      const separator = this.#next();
      if (this.#isSymbol(separator, ")")) return values;
      if (!this.#isSymbol(separator, ",")) {
        throw new Sql92SyntaxError(
          separator.column,
          `expected "," or ")" in the IN list at column ${inToken.column}${
            separator.kind === "end" ? "" : `, found ${describe(separator)}`
          }`,
        );
      }
    }
  }

  #requireNumeric(operand: Operand, operator: Token): void {
    if (operand.kind === "literal" && typeof operand.value !== "number") {
      throw new Sql92SyntaxError(
        operand.token.column,
        `${operatorName(operator)} compares numbers, found ${
          literalType(operand.value)
        } ${operand.token.raw}`,
      );
    }
  }

  #requireString(operand: Operand, operator: Token): void {
    if (operand.kind === "literal" && typeof operand.value !== "string") {
      throw new Sql92SyntaxError(
        operand.token.column,
        `${operatorName(operator)} compares strings, found ${
          literalType(operand.value)
        } ${operand.token.raw}`,
      );
    }
  }
}

function operatorName(token: Token): string {
  return token.kind === "keyword" ? token.text : `"${token.raw}"`;
}

// ---------------------------------------------------------------------------
// Value conversion. Property values are strings; these read them without
// allocating.

/**
 * The number a property text spells, or NaN if it is not a plain decimal
 * (`[+-]digits[.digits][e[+-]digits]`, also `.5` and `5.`; no spaces, hex,
 * `Infinity` or `NaN`).
 */
function numberOfText(text: string | undefined): number {
  if (text === undefined || text.length === 0) return NaN;
  let i = 0;
  const n = text.length;
  let c = text.charCodeAt(0);
  if (c === 43 || c === 45) i++; // + -
  let digits = 0;
  while (i < n && isDigit(text.charCodeAt(i))) {
    i++;
    digits++;
  }
  if (i < n && text.charCodeAt(i) === 46) { // .
    i++;
    while (i < n && isDigit(text.charCodeAt(i))) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return NaN;
  if (i < n) {
    c = text.charCodeAt(i);
    if (c !== 101 && c !== 69) return NaN; // e E
    i++;
    if (i < n && (text.charCodeAt(i) === 43 || text.charCodeAt(i) === 45)) i++;
    const exponentStart = i;
    while (i < n && isDigit(text.charCodeAt(i))) i++;
    if (i === exponentStart || i < n) return NaN;
  }
  return Number(text);
}

/** 1 for `true`, 0 for `false` (any case), -1 for anything else. */
function booleanOfText(text: string): number {
  if (text.length === 4 && text.toLowerCase() === "true") return 1;
  if (text.length === 5 && text.toLowerCase() === "false") return 0;
  return -1;
}

// ---------------------------------------------------------------------------
// Closure builders.

function constant(truth: Truth): Condition {
  return () => truth;
}

function notOf(inner: Condition): Condition {
  return (p) => {
    const v = inner(p);
    return v === UNKNOWN ? UNKNOWN : v === TRUE ? FALSE : TRUE;
  };
}

function andOf(parts: readonly Condition[]): Condition {
  if (parts.length === 2) {
    const [a, b] = parts;
    return (p) => {
      const x = a(p);
      if (x === FALSE) return FALSE;
      const y = b(p);
      if (y === FALSE) return FALSE;
      return x === TRUE && y === TRUE ? TRUE : UNKNOWN;
    };
  }
  return (p) => {
    let result: Truth = TRUE;
    for (let i = 0; i < parts.length; i++) {
      const v = parts[i](p);
      if (v === FALSE) return FALSE;
      if (v === UNKNOWN) result = UNKNOWN;
    }
    return result;
  };
}

function orOf(parts: readonly Condition[]): Condition {
  return (p) => {
    let result: Truth = FALSE;
    for (let i = 0; i < parts.length; i++) {
      const v = parts[i](p);
      if (v === TRUE) return TRUE;
      if (v === UNKNOWN) result = UNKNOWN;
    }
    return result;
  };
}

type NumberReader = (p: PropertySource) => number;

function numberReaderOf(operand: Operand): NumberReader {
  if (operand.kind === "property") {
    const name = operand.name;
    return (p) => numberOfText(p.get(name));
  }
  const value = operand.value as number;
  return () => value;
}

function compareNumbers(operator: string, a: number, b: number): Truth {
  // NaN marks a missing or non-numeric operand: UNKNOWN.
  if (a !== a || b !== b) return UNKNOWN;
  switch (operator) {
    case ">":
      return a > b ? TRUE : FALSE;
    case ">=":
      return a >= b ? TRUE : FALSE;
    case "<":
      return a < b ? TRUE : FALSE;
    default:
      return a <= b ? TRUE : FALSE;
  }
}

function orderingOf(operator: string, left: Operand, right: Operand): Condition {
  // The common shape, property against a number literal, reads one property
  // and compares with a captured constant.
  if (left.kind === "property" && right.kind === "literal") {
    const name = left.name;
    const bound = right.value as number;
    switch (operator) {
      case ">":
        return (p) => {
          const a = numberOfText(p.get(name));
          return a !== a ? UNKNOWN : a > bound ? TRUE : FALSE;
        };
      case ">=":
        return (p) => {
          const a = numberOfText(p.get(name));
          return a !== a ? UNKNOWN : a >= bound ? TRUE : FALSE;
        };
      case "<":
        return (p) => {
          const a = numberOfText(p.get(name));
          return a !== a ? UNKNOWN : a < bound ? TRUE : FALSE;
        };
      default:
        return (p) => {
          const a = numberOfText(p.get(name));
          return a !== a ? UNKNOWN : a <= bound ? TRUE : FALSE;
        };
    }
  }
  const readLeft = numberReaderOf(left);
  const readRight = numberReaderOf(right);
  return (p) => compareNumbers(operator, readLeft(p), readRight(p));
}

/** `=` between a property text and a literal, or UNKNOWN when they cannot be compared. */
function textEqualsLiteral(text: string | undefined, literal: string | number | boolean): Truth {
  if (text === undefined) return UNKNOWN;
  if (typeof literal === "string") return text === literal ? TRUE : FALSE;
  if (typeof literal === "number") {
    const n = numberOfText(text);
    return n !== n ? UNKNOWN : n === literal ? TRUE : FALSE;
  }
  const b = booleanOfText(text);
  return b < 0 ? UNKNOWN : (b === 1) === literal ? TRUE : FALSE;
}

function literalsEqual(
  a: string | number | boolean | null,
  b: string | number | boolean | null,
): Truth {
  if (a === null || b === null) return UNKNOWN;
  if (typeof a !== typeof b) return UNKNOWN;
  return a === b ? TRUE : FALSE;
}

function equalityOf(left: Operand, right: Operand): Condition {
  if (left.kind === "literal" && right.kind === "literal") {
    return constant(literalsEqual(left.value, right.value));
  }
  if (left.kind === "property" && right.kind === "property") {
    // Two property texts: equal numbers compare as numbers ('1.0' = '1'),
    // anything else compares the text exactly.
    const a = left.name;
    const b = right.name;
    return (p) => {
      const x = p.get(a);
      const y = p.get(b);
      if (x === undefined || y === undefined) return UNKNOWN;
      if (x === y) return TRUE;
      const nx = numberOfText(x);
      const ny = numberOfText(y);
      if (nx === nx && ny === ny) return nx === ny ? TRUE : FALSE;
      return FALSE;
    };
  }
  const property = (left.kind === "property" ? left : right) as Operand & { kind: "property" };
  const literal = (left.kind === "literal" ? left : right) as Operand & { kind: "literal" };
  const name = property.name;
  const value = literal.value;
  if (value === null) return constant(UNKNOWN);
  if (typeof value === "string") {
    return (p) => {
      const text = p.get(name);
      return text === undefined ? UNKNOWN : text === value ? TRUE : FALSE;
    };
  }
  return (p) => textEqualsLiteral(p.get(name), value);
}

function inListOf(left: Operand, values: ReadonlySet<string>): Condition {
  if (left.kind === "literal") {
    const value = left.value;
    return constant(value === null ? UNKNOWN : values.has(value as string) ? TRUE : FALSE);
  }
  const name = left.name;
  return (p) => {
    const text = p.get(name);
    return text === undefined ? UNKNOWN : values.has(text) ? TRUE : FALSE;
  };
}

function isNullOf(operand: Operand): Condition {
  if (operand.kind === "literal") return constant(operand.value === null ? TRUE : FALSE);
  const name = operand.name;
  return (p) => p.get(name) === undefined ? TRUE : FALSE;
}
