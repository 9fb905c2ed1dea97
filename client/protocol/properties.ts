/**
 * Message properties: RocketMQ's string encoding and the system property keys.
 *
 * On the wire and on disk a message's properties are one string: each pair is
 * `name \x01 value \x02` (the last pair ends with `\x02` too). Names and values
 * must not contain `\x01` or `\x02`.
 *
 * @module
 */

const NAME_VALUE_SEPARATOR = "\u0001";
const PROPERTY_SEPARATOR = "\u0002";

/** System property keys (RocketMQ `MessageConst`). */
export const MessageConst = Object.freeze(
  {
    KEYS: "KEYS",
    TAGS: "TAGS",
    WAIT_STORE_MSG_OK: "WAIT",
    DELAY_TIME_LEVEL: "DELAY",
    RETRY_TOPIC: "RETRY_TOPIC",
    REAL_TOPIC: "REAL_TOPIC",
    REAL_QUEUE_ID: "REAL_QID",
    TRANSACTION_PREPARED: "TRAN_MSG",
    PRODUCER_GROUP: "PGROUP",
    MIN_OFFSET: "MIN_OFFSET",
    MAX_OFFSET: "MAX_OFFSET",
    ORIGIN_MESSAGE_ID: "ORIGIN_MESSAGE_ID",
    RECONSUME_TIME: "RECONSUME_TIME",
    UNIQ_CLIENT_MESSAGE_ID_KEYIDX: "UNIQ_KEY",
    MAX_RECONSUME_TIMES: "MAX_RECONSUME_TIMES",
    CONSUME_START_TIME: "CONSUME_START_TIME",
    TRANSACTION_PREPARED_QUEUE_OFFSET: "TRAN_PREPARED_QUEUE_OFFSET",
    TRANSACTION_ID: "__transactionId__",
    TRANSACTION_CHECK_TIMES: "TRANSACTION_CHECK_TIMES",
    CHECK_IMMUNITY_TIME_IN_SECONDS: "CHECK_IMMUNITY_TIME_IN_SECONDS",
    CLUSTER: "CLUSTER",
    MSG_TYPE: "MSG_TYPE",
    SHARDING_KEY: "__SHARDINGKEY",
    TIMER_DELAY_SEC: "TIMER_DELAY_SEC",
    TIMER_DELIVER_MS: "TIMER_DELIVER_MS",
    TIMER_DELAY_MS: "TIMER_DELAY_MS",
    TIMER_ENQUEUE_MS: "TIMER_ENQUEUE_MS",
    TIMER_DEQUEUE_MS: "TIMER_DEQUEUE_MS",
    TIMER_ROLL_TIMES: "TIMER_ROLL_TIMES",
    TIMER_OUT_MS: "TIMER_OUT_MS",
    TIMER_DEL_UNIQKEY: "TIMER_DEL_UNIQKEY",
    TIMER_DELAY_LEVEL: "TIMER_DELAY_LEVEL",
    BORN_TIMESTAMP: "BORN_TIMESTAMP",
    DLQ_ORIGIN_TOPIC: "DLQ_ORIGIN_TOPIC",
    DLQ_ORIGIN_MESSAGE_ID: "DLQ_ORIGIN_MESSAGE_ID",
    POP_CK: "POP_CK",
    FIRST_POP_TIME: "1ST_POP_TIME",
  } as const,
);

/**
 * Encode a property map into RocketMQ's string form.
 *
 * Pairs whose value is `undefined` are skipped.
 *
 * @param properties Names to values.
 * @returns The encoded string (empty for no properties).
 * @throws {TypeError} If a name or value contains `\x01` or `\x02`, or a name is empty.
 */
export function encodeProperties(
  properties: Readonly<Record<string, string | undefined>> | ReadonlyMap<string, string>,
): string {
  let out = "";
  const entries = properties instanceof Map
    ? properties.entries()
    : Object.entries(properties as Record<string, string | undefined>);
  for (const [name, value] of entries) {
    if (value === undefined) continue;
    if (name.length === 0) {
      throw new TypeError("Cannot encode properties: a property name is empty");
    }
    if (hasSeparator(name) || hasSeparator(value)) {
      throw new TypeError(
        `Cannot encode properties: property "${name}" contains a reserved separator (\\x01 or \\x02)`,
      );
    }
    out += name + NAME_VALUE_SEPARATOR + value + PROPERTY_SEPARATOR;
  }
  return out;
}

/**
 * Decode RocketMQ's property string into a map.
 *
 * Follows RocketMQ's tolerant parser: pieces shorter than 3 characters or
 * without a `\x01` separator (or with it first or last) are ignored.
 *
 * @param text The encoded properties.
 * @returns Names to values, in encounter order.
 */
export function decodeProperties(text: string): Map<string, string> {
  const map = new Map<string, string>();
  if (text.length === 0) return map;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(PROPERTY_SEPARATOR, start);
    if (end === -1) end = text.length;
    if (end - start >= 3) {
      const sep = text.indexOf(NAME_VALUE_SEPARATOR, start);
      if (sep > start && sep < end - 1) {
        map.set(text.slice(start, sep), text.slice(sep + 1, end));
      }
    }
    start = end + 1;
  }
  return map;
}

/**
 * Read one property from an encoded string without decoding the rest.
 *
 * @param text The encoded properties.
 * @param name The property name.
 * @returns Its value, or undefined.
 */
export function getProperty(text: string, name: string): string | undefined {
  return findPropertyValue(text, propertyNeedle(name));
}

/**
 * The search needle of a property name (`name \x01`), for hot paths that look
 * the same name up in many strings with {@linkcode findPropertyValue}.
 *
 * @param name The property name.
 * @returns The needle.
 */
export function propertyNeedle(name: string): string {
  return name + NAME_VALUE_SEPARATOR;
}

/**
 * {@linkcode getProperty} with a prebuilt needle: the value of the first pair
 * whose name matches, or undefined.
 *
 * @param text The encoded properties.
 * @param needle `propertyNeedle(name)`.
 * @returns Its value, or undefined.
 */
export function findPropertyValue(text: string, needle: string): string | undefined {
  let at = 0;
  while (at <= text.length) {
    const found = text.indexOf(needle, at);
    if (found === -1) return undefined;
    if (found === 0 || text.charCodeAt(found - 1) === 2) {
      const valueStart = found + needle.length;
      let end = text.indexOf(PROPERTY_SEPARATOR, valueStart);
      if (end === -1) end = text.length;
      return text.slice(valueStart, end);
    }
    at = found + 1;
  }
  return undefined;
}

function hasSeparator(s: string): boolean {
  return s.includes(NAME_VALUE_SEPARATOR) || s.includes(PROPERTY_SEPARATOR);
}

/**
 * Java's `String.hashCode()` over UTF-16 code units, with int32 wrap-around.
 *
 * RocketMQ uses it for tag hash codes (ConsumeQueue), index keys and sharding.
 *
 * @param s Any string.
 * @returns A signed 32-bit integer.
 */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * The ConsumeQueue tag code of a message: the hash of its `TAGS` property, 0 if it has none.
 *
 * @param tags The tag, or undefined.
 * @returns The tag hash code.
 */
export function tagsHashCode(tags: string | undefined): number {
  return tags === undefined || tags.length === 0 ? 0 : javaStringHashCode(tags);
}
