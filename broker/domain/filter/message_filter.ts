/**
 * Consumer subscriptions compiled into the store's `MessageFilter` port.
 *
 * A pull request carries a subscription (`subscription` + `expressionType`
 * header fields, see the spec §2.7 and §7.5). The broker compiles it once per
 * subscription version and hands the filter to `MessageStore.getMessage`,
 * which calls `matchesTagsCode` on each ConsumeQueue unit and, when present,
 * `matchesMessage` on each candidate record:
 *
 * | expressionType      | matchesTagsCode            | matchesMessage                      |
 * |---------------------|----------------------------|-------------------------------------|
 * | `TAG`, `*`          | always true                | absent (no record is decoded)       |
 * | `TAG`, `a \|\| b`   | tagsCode in the hash codes | `TAGS` property in the tag set      |
 * | `SQL92`             | always true                | expression is TRUE on the properties |
 *
 * The same filter re-checks messages on the client side through
 * `matchesProperties`, with a plain property map.
 *
 * Whether SQL92 filtering is enabled on a broker (`enablePropertyFilter`) is
 * the caller's decision; this module only compiles and evaluates.
 *
 * Pure domain code: no I/O, no Deno APIs.
 *
 * @module
 */

import { decodeRecord } from "../../../client/protocol/message_record.ts";
import { decodeProperties, MessageConst } from "../../../client/protocol/properties.ts";
import type { MessageFilter } from "../../../store/mod.ts";
import {
  compileSql92,
  type PropertySource,
  propertySourceOf,
  type Sql92Expression,
} from "./sql92.ts";
import {
  matchesTag,
  matchesTagsCode,
  parseTagExpression,
  type TagExpression,
} from "./tag_expression.ts";

export type { MessageFilter };

/** The expression types RocketMQ defines (`ExpressionType`). */
export type ExpressionType = "TAG" | "SQL92";

/** A plain property map: a `Map` or an object of names to values. */
export type PropertyMap =
  | ReadonlyMap<string, string>
  | Readonly<Record<string, string | undefined>>;

/** A compiled subscription: the store's `MessageFilter` plus what produced it. */
export interface SubscriptionFilter extends MessageFilter {
  /** The expression type after defaulting (empty or missing means `TAG`). */
  readonly expressionType: ExpressionType;
  /** The expression text as given (`*` when a tag expression was missing). */
  readonly expression: string;
  /**
   * Pre-check on a ConsumeQueue unit's tag hash code.
   *
   * @param tagsCode The unit's tagsCode (0 for an untagged message).
   * @returns False only if the message certainly does not match.
   */
  matchesTagsCode(tagsCode: number): boolean;
  /**
   * Evaluate the subscription on a message's properties (client-side re-check, tests).
   *
   * @param properties The message's properties.
   * @returns True if the subscription selects the message.
   */
  matchesProperties(properties: PropertyMap): boolean;
}

/** Outcome of `compileSubscription`. */
export type CompileSubscriptionResult =
  | { readonly ok: true; readonly filter: SubscriptionFilter }
  | { readonly ok: false; readonly error: string };

/**
 * Compile a consumer subscription into a filter for `MessageStore.getMessage`.
 *
 * @param expressionType `TAG` or `SQL92`; `undefined` or empty means `TAG`,
 *   as in RocketMQ.
 * @param expression The subscription string; for `TAG`, `undefined` means `*`.
 * @returns The filter, or an error message fit for a response remark, e.g.
 *   `Cannot parse SQL92 expression at column 7: expected a value after ">"`.
 *
 * @example
 * ```ts
 * const compiled = compileSubscription("TAG", "TagA || TagB");
 * if (compiled.ok) compiled.filter.matchesProperties({ TAGS: "TagB" }); // true
 * ```
 */
export function compileSubscription(
  expressionType: ExpressionType | string | undefined,
  expression: string | undefined,
): CompileSubscriptionResult {
  if (expressionType === undefined || expressionType === "" || expressionType === "TAG") {
    const parsed = parseTagExpression(expression);
    if (!parsed.ok) return parsed;
    return { ok: true, filter: tagFilterOf(parsed.expression, expression ?? "*") };
  }
  if (expressionType === "SQL92") {
    if (expression === undefined) {
      return { ok: false, error: "Cannot parse SQL92 expression: the expression is missing" };
    }
    const compiled = compileSql92(expression);
    if (!compiled.ok) return { ok: false, error: compiled.error };
    return { ok: true, filter: new Sql92Filter(compiled.expression) };
  }
  return {
    ok: false,
    error: `Cannot compile subscription: unknown expression type "${
      expressionType.slice(0, 32)
    }", expected TAG or SQL92`,
  };
}

function sourceOf(properties: PropertyMap): PropertySource {
  return properties instanceof Map
    ? properties
    : propertySourceOf(properties as Readonly<Record<string, string | undefined>>);
}

/** Decode the properties of the record at the start of `record`. */
function recordProperties(record: Uint8Array): Map<string, string> {
  return decodeProperties(decodeRecord(record, 0).properties);
}

function tagFilterOf(expression: TagExpression, text: string): SubscriptionFilter {
  if (expression.kind === "all") {
    // No `matchesMessage`: the store then skips decoding records entirely.
    return {
      expressionType: "TAG",
      expression: text,
      matchesTagsCode: () => true,
      matchesProperties: () => true,
    };
  }
  return {
    expressionType: "TAG",
    expression: text,
    matchesTagsCode: (tagsCode) => matchesTagsCode(expression, tagsCode),
    matchesMessage: (record) =>
      matchesTag(expression, recordProperties(record).get(MessageConst.TAGS)),
    matchesProperties: (properties) =>
      matchesTag(expression, sourceOf(properties).get(MessageConst.TAGS)),
  };
}

/** An SQL92 subscription: no tag pre-check, evaluation on the decoded properties. */
class Sql92Filter implements SubscriptionFilter {
  readonly expressionType: ExpressionType = "SQL92";
  readonly expression: string;
  readonly #compiled: Sql92Expression;

  constructor(compiled: Sql92Expression) {
    this.expression = compiled.source;
    this.#compiled = compiled;
  }

  matchesTagsCode(_tagsCode: number): boolean {
    return true;
  }

  matchesMessage(record: Uint8Array): boolean {
    return this.#compiled.matches(recordProperties(record));
  }

  matchesProperties(properties: PropertyMap): boolean {
    return this.#compiled.matches(sourceOf(properties));
  }
}
