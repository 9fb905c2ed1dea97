/**
 * Tag subscriptions: RocketMQ's `TAG` expression type.
 *
 * A consumer subscribes to a topic with `*` (every message) or a list of
 * tags joined by `||`, e.g. `TagA || TagB`. The broker filters in two steps:
 *
 * 1. a cheap pre-check on the ConsumeQueue unit's `tagsCode`, the Java
 *    `String.hashCode` of the message's `TAGS` property (0 when untagged);
 * 2. an exact check of the record's `TAGS` property against the tag set,
 *    because different tags can share a hash code (`"Aa"` and `"BB"`).
 *
 * Parsing follows RocketMQ's client: the whole expression and each piece are
 * trimmed and empty pieces are ignored. A piece equal to `*` widens the
 * subscription to every message (RocketMQ would treat it as a literal tag
 * named `*`, which no producer sends). An expression made only of separators
 * (`" || "`) names no tag and is rejected rather than silently matching
 * nothing.
 *
 * Pure domain code: no I/O, no Deno APIs.
 *
 * @module
 */

import { javaStringHashCode } from "../../../client/protocol/properties.ts";

/** Longest tag expression accepted, in UTF-16 code units. */
export const TAG_EXPRESSION_CHARS_MAX = 4096;

/** The subscription string that selects every message. */
export const TAG_EXPRESSION_ALL = "*";

/** The piece separator of a tag expression. */
export const TAG_SEPARATOR = "||";

/** A parsed tag subscription. */
export type TagExpression =
  | { readonly kind: "all" }
  | {
    readonly kind: "tags";
    /** The exact tags, trimmed, without duplicates. */
    readonly tags: ReadonlySet<string>;
    /** Java `String.hashCode` of each tag (the ConsumeQueue `tagsCode`s to accept). */
    readonly codes: ReadonlySet<number>;
  };

/** Outcome of `parseTagExpression`. */
export type TagExpressionParseResult =
  | { readonly ok: true; readonly expression: TagExpression }
  | { readonly ok: false; readonly error: string };

const ALL: TagExpression = Object.freeze({ kind: "all" });

/**
 * Parse a tag subscription string.
 *
 * `undefined`, empty, blank and `*` select every message; otherwise the
 * string is split on `||`, each piece is trimmed and empty pieces are
 * dropped.
 *
 * @param text The subscription string as the consumer sent it.
 * @returns The parsed expression, or an error message for an expression that
 *   is too long or names no tag.
 *
 * @example
 * ```ts
 * const parsed = parseTagExpression("TagA || TagB");
 * // parsed.ok === true; parsed.expression.kind === "tags"
 * ```
 */
export function parseTagExpression(text: string | undefined): TagExpressionParseResult {
  if (text === undefined) return { ok: true, expression: ALL };
  if (text.length > TAG_EXPRESSION_CHARS_MAX) {
    return {
      ok: false,
      error:
        `Cannot parse tag expression: expression is ${text.length} characters, limit is ${TAG_EXPRESSION_CHARS_MAX}`,
    };
  }
  const trimmed = text.trim();
  if (trimmed.length === 0 || trimmed === TAG_EXPRESSION_ALL) return { ok: true, expression: ALL };
  const tags = new Set<string>();
  const codes = new Set<number>();
  for (const piece of trimmed.split(TAG_SEPARATOR)) {
    const tag = piece.trim();
    if (tag.length === 0) continue;
    if (tag === TAG_EXPRESSION_ALL) return { ok: true, expression: ALL };
    tags.add(tag);
    codes.add(javaStringHashCode(tag));
  }
  if (tags.size === 0) {
    return {
      ok: false,
      error: `Cannot parse tag expression: "${trimmed}" names no tag`,
    };
  }
  return { ok: true, expression: { kind: "tags", tags, codes } };
}

/**
 * The broker's pre-check on a ConsumeQueue unit.
 *
 * May accept a message whose tag merely shares a hash code with a subscribed
 * tag; `matchesTag` settles those.
 *
 * @param expression A parsed tag subscription.
 * @param tagsCode The unit's tag hash code (0 for an untagged message).
 * @returns True if the message may match.
 */
export function matchesTagsCode(expression: TagExpression, tagsCode: number): boolean {
  return expression.kind === "all" || expression.codes.has(tagsCode);
}

/**
 * The exact check on a message's `TAGS` property.
 *
 * @param expression A parsed tag subscription.
 * @param tag The message's `TAGS` property, or undefined if it has none.
 * @returns True if the subscription selects the message.
 */
export function matchesTag(expression: TagExpression, tag: string | undefined): boolean {
  if (expression.kind === "all") return true;
  return tag !== undefined && expression.tags.has(tag);
}
