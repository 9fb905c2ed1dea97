/**
 * A consumer's subscription: one topic and its filter expression (TAG or
 * SQL92), parsed once and turned into the heartbeat's `SubscriptionData`.
 *
 * @module
 */

import type { SubscriptionData } from "../protocol/heartbeat.ts";
import { javaStringHashCode } from "../protocol/properties.ts";

/** A filter expression and its kind. */
export interface SubscriptionExpression {
  /** `TAG` (`*` or `TagA || TagB`) or `SQL92` (evaluated by the broker on properties). */
  readonly type: "TAG" | "SQL92";
  /** The expression text. */
  readonly expression: string;
}

/** One subscribed topic with its parsed filter. */
export interface Subscription {
  /** The topic. */
  readonly topic: string;
  /** Expression kind. */
  readonly type: "TAG" | "SQL92";
  /** Expression text (`*` for all). */
  readonly expression: string;
  /** Tags of a TAG expression; empty = all. */
  readonly tags: readonly string[];
}

/**
 * Split a tag expression into its distinct tags; `*` or empty means all (`[]`).
 *
 * @param expression `*`, `TagA`, or `TagA || TagB`.
 * @returns The distinct tags.
 */
export function parseTags(expression: string): string[] {
  const trimmed = expression.trim();
  if (trimmed === "" || trimmed === "*") return [];
  return [...new Set(trimmed.split("||").map((t) => t.trim()).filter((t) => t.length > 0))];
}

/**
 * A subscription that takes everything of `topic` (used for retry topics).
 *
 * @param topic The topic.
 * @returns A TAG `*` subscription.
 */
export function subscribeAll(topic: string): Subscription {
  return { topic, type: "TAG", expression: "*", tags: [] };
}

/**
 * Parse the `subscription` option of a consumer.
 *
 * @param topic Subscribed topic.
 * @param option A tag expression string, an expression object, or undefined (`*`).
 * @returns The parsed subscription.
 * @throws {TypeError} On a malformed option or an empty SQL92 expression.
 */
export function parseSubscription(
  topic: string,
  option: string | SubscriptionExpression | undefined,
): Subscription {
  if (option === undefined || typeof option === "string") {
    const expression = option?.trim() || "*";
    return { topic, type: "TAG", expression, tags: parseTags(expression) };
  }
  if (typeof option !== "object" || option === null) {
    throw new TypeError("Cannot create consumer: subscription must be a string or an object");
  }
  if (option.type !== "TAG" && option.type !== "SQL92") {
    throw new TypeError(
      `Cannot create consumer: subscription type must be TAG or SQL92, got ${String(option.type)}`,
    );
  }
  const expression = typeof option.expression === "string" ? option.expression.trim() : "";
  if (option.type === "SQL92") {
    if (expression === "") {
      throw new TypeError("Cannot create consumer: SQL92 subscription expression is empty");
    }
    return { topic, type: "SQL92", expression, tags: [] };
  }
  const tagExpression = expression || "*";
  return { topic, type: "TAG", expression: tagExpression, tags: parseTags(tagExpression) };
}

/**
 * The heartbeat form of a subscription.
 *
 * @param subscription The parsed subscription.
 * @param subVersion The consumer's subscription version (epoch ms).
 * @returns RocketMQ's `SubscriptionData`.
 */
export function toSubscriptionData(
  subscription: Subscription,
  subVersion: number,
): SubscriptionData {
  return {
    classFilterMode: false,
    topic: subscription.topic,
    subString: subscription.expression,
    tagsSet: subscription.tags,
    codeSet: subscription.tags.map(javaStringHashCode),
    subVersion,
    expressionType: subscription.type,
  };
}
