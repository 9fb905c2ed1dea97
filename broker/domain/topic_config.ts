/**
 * Topic configuration (RocketMQ `TopicConfig`) and the naming rules for
 * topics and consumer groups.
 *
 * @module
 */

/** Topic permission bits (RocketMQ `PermName`). */
export const Perm = Object.freeze(
  {
    PRIORITY: 8,
    READ: 4,
    WRITE: 2,
    INHERIT: 1,
  } as const,
);

/** Read + write: the default permission of a topic. */
export const PERM_READ_WRITE = Perm.READ | Perm.WRITE;

/** Longest topic name, characters. */
export const TOPIC_CHARS_MAX = 127;
/** Longest `%RETRY%` / `%DLQ%` topic name, characters. */
export const RETRY_TOPIC_CHARS_MAX = 255;
/** Longest consumer or producer group name, characters. */
export const GROUP_CHARS_MAX = 120;

/** The auto-create template topic. */
export const AUTO_CREATE_TEMPLATE_TOPIC = "TBW102";
/** Prefix of retry topics (`%RETRY%<group>`). */
export const RETRY_TOPIC_PREFIX = "%RETRY%";
/** Prefix of dead-letter topics (`%DLQ%<group>`). */
export const DLQ_TOPIC_PREFIX = "%DLQ%";
/** Reserved prefix of system topics. */
export const SYSTEM_TOPIC_PREFIX = "rmq_sys_";

/** Topic names users may not create or send to directly. */
export const RESERVED_TOPICS: ReadonlySet<string> = new Set([
  AUTO_CREATE_TEMPLATE_TOPIC,
  "SCHEDULE_TOPIC_XXXX",
  "RMQ_SYS_TRANS_HALF_TOPIC",
  "RMQ_SYS_TRANS_OP_HALF_TOPIC",
  "TRANS_CHECK_MAX_TIME_TOPIC",
  "RMQ_SYS_TRACE_TOPIC",
  "OFFSET_MOVED_EVENT",
  "SELF_TEST_TOPIC",
  "BenchmarkTest",
  "CHECKPOINT_TOPIC",
]);

/** A topic's configuration on this broker (JSON form as RocketMQ's `TopicConfig`). */
export interface TopicConfig {
  readonly topicName: string;
  /** Queues consumers read. */
  readonly readQueueNums: number;
  /** Queues producers write. */
  readonly writeQueueNums: number;
  /** {@linkcode Perm} bits. */
  readonly perm: number;
  /** `SINGLE_TAG` or `MULTI_TAG`. */
  readonly topicFilterType: string;
  /** bit0 unit, bit1 unit-sub. */
  readonly topicSysFlag: number;
  /** Globally ordered (legacy). */
  readonly order: boolean;
  /** Free-form attributes (`queue.type`, `message.type`, ...). */
  readonly attributes: Readonly<Record<string, string>>;
}

const NAME_RE = /^[A-Za-z0-9_%|-]+$/;

/**
 * Check a topic name's characters and length.
 *
 * @param topic The name.
 * @returns undefined when valid, else the reason (e.g. `topic "a b" has characters outside [A-Za-z0-9_%|-]`).
 */
export function checkTopicName(topic: string): string | undefined {
  if (topic.length === 0) return "topic is empty";
  const max = topic.startsWith(RETRY_TOPIC_PREFIX) || topic.startsWith(DLQ_TOPIC_PREFIX)
    ? RETRY_TOPIC_CHARS_MAX
    : TOPIC_CHARS_MAX;
  if (topic.length > max) return `topic is ${topic.length} characters, limit is ${max}`;
  if (!NAME_RE.test(topic)) {
    return `topic ${JSON.stringify(topic)} has characters outside [A-Za-z0-9_%|-]`;
  }
  return undefined;
}

/**
 * Check that a valid topic name is not reserved for the system.
 *
 * @param topic The name.
 * @returns undefined when users may create it, else the reason.
 */
export function checkTopicNotReserved(topic: string): string | undefined {
  if (RESERVED_TOPICS.has(topic)) return `topic ${JSON.stringify(topic)} is reserved`;
  if (topic.startsWith(SYSTEM_TOPIC_PREFIX)) {
    return `topic ${JSON.stringify(topic)} uses the reserved prefix ${SYSTEM_TOPIC_PREFIX}`;
  }
  return undefined;
}

/**
 * Check a consumer or producer group name.
 *
 * @param group The name.
 * @returns undefined when valid, else the reason.
 */
export function checkGroupName(group: string): string | undefined {
  if (group.length === 0) return "group is empty";
  if (group.length > GROUP_CHARS_MAX) {
    return `group is ${group.length} characters, limit is ${GROUP_CHARS_MAX}`;
  }
  if (!NAME_RE.test(group)) {
    return `group ${JSON.stringify(group)} has characters outside [A-Za-z0-9_%|-]`;
  }
  return undefined;
}

/**
 * Build a topic config with RocketMQ's defaults for the fields not given.
 *
 * @param topicName The topic.
 * @param fields Fields to set.
 * @returns A frozen config.
 */
export function createTopicConfig(
  topicName: string,
  fields: Partial<Omit<TopicConfig, "topicName">> = {},
): TopicConfig {
  return Object.freeze({
    topicName,
    readQueueNums: fields.readQueueNums ?? 16,
    writeQueueNums: fields.writeQueueNums ?? 16,
    perm: fields.perm ?? PERM_READ_WRITE,
    topicFilterType: fields.topicFilterType ?? "SINGLE_TAG",
    topicSysFlag: fields.topicSysFlag ?? 0,
    order: fields.order ?? false,
    attributes: Object.freeze({ ...(fields.attributes ?? {}) }),
  });
}

/**
 * Whether a permission allows reading.
 *
 * @param perm {@linkcode Perm} bits.
 * @returns True if READ is set.
 */
export function isReadable(perm: number): boolean {
  return (perm & Perm.READ) !== 0;
}

/**
 * Whether a permission allows writing.
 *
 * @param perm {@linkcode Perm} bits.
 * @returns True if WRITE is set.
 */
export function isWriteable(perm: number): boolean {
  return (perm & Perm.WRITE) !== 0;
}
