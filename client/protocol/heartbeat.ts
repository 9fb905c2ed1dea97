/**
 * JSON bodies of the remoting protocol: heartbeats, subscriptions, topic
 * routes, topic configs, consumer lists, queue locks and offset tables.
 *
 * RocketMQ's Java side writes these with fastjson, which prints maps with
 * integer keys unquoted (`{0:"10.0.0.1:10911"}`). {@linkcode parseJsonLenient}
 * accepts both that form and standard JSON; the parse helpers here use it and
 * validate the shape, returning a {@linkcode JsonResult} instead of throwing.
 *
 * @module
 */

/** The outcome of parsing a JSON body. */
export type JsonResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

/** How a consumer consumes: `CONSUME_PASSIVELY` is a push consumer. */
export type ConsumeType = "CONSUME_ACTIVELY" | "CONSUME_PASSIVELY" | "CONSUME_POP";
/** Message model of a consumer group. */
export type MessageModel = "CLUSTERING" | "BROADCASTING";
/** Where a group with no stored offset starts. */
export type ConsumeFromWhere =
  | "CONSUME_FROM_LAST_OFFSET"
  | "CONSUME_FROM_FIRST_OFFSET"
  | "CONSUME_FROM_TIMESTAMP"
  | "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST"
  | "CONSUME_FROM_MIN_OFFSET"
  | "CONSUME_FROM_MAX_OFFSET";

/** One topic subscription of a consumer group (RocketMQ `SubscriptionData`). */
export interface SubscriptionData {
  /** Class filter mode (legacy), false. */
  readonly classFilterMode?: boolean;
  /** Subscribed topic. */
  readonly topic: string;
  /** Expression: `*`, `a || b`, or SQL92. */
  readonly subString: string;
  /** Tags of a TAG expression. */
  readonly tagsSet: readonly string[];
  /** Java hash codes of `tagsSet`. */
  readonly codeSet: readonly number[];
  /** Subscription version (epoch ms). */
  readonly subVersion: number;
  /** `TAG` or `SQL92`. */
  readonly expressionType: string;
  /** Filter class source (legacy). */
  readonly filterClassSource?: string;
}

/** A producer group entry of a heartbeat. */
export interface ProducerData {
  /** Producer group. */
  readonly groupName: string;
}

/** A consumer group entry of a heartbeat. */
export interface ConsumerData {
  /** Consumer group. */
  readonly groupName: string;
  /** Consume type. */
  readonly consumeType: ConsumeType;
  /** Message model. */
  readonly messageModel: MessageModel;
  /** Start position for a group without a stored offset. */
  readonly consumeFromWhere: ConsumeFromWhere;
  /** Subscriptions. */
  readonly subscriptionDataSet: readonly SubscriptionData[];
  /** Unit mode (unused). */
  readonly unitMode?: boolean;
}

/** Body of HEART_BEAT (34). */
export interface HeartbeatData {
  /** Client id, unique per client instance (RocketMQ spelling `clientID`). */
  readonly clientID: string;
  /** Producer groups this client belongs to. */
  readonly producerDataSet: readonly ProducerData[];
  /** Consumer groups this client belongs to. */
  readonly consumerDataSet: readonly ConsumerData[];
  /** Fingerprint of the subscription data (optional). */
  readonly heartbeatFingerprint?: number;
  /** True when subscriptions were left out because they did not change. */
  readonly isWithoutSub?: boolean;
}

/** A topic's queues on one broker (RocketMQ `QueueData`). */
export interface QueueData {
  /** Broker name. */
  readonly brokerName: string;
  /** Readable queues. */
  readonly readQueueNums: number;
  /** Writable queues. */
  readonly writeQueueNums: number;
  /** Permission bits. */
  readonly perm: number;
  /** Topic sys flag. */
  readonly topicSysFlag?: number;
}

/** A broker's addresses (RocketMQ `BrokerData`); `brokerAddrs` maps broker id (0 = master) to `host:port`. */
export interface BrokerData {
  /** Cluster name. */
  readonly cluster: string;
  /** Broker name. */
  readonly brokerName: string;
  /** Broker id to address. */
  readonly brokerAddrs: Readonly<Record<string, string>>;
}

/** Body of the GET_ROUTEINFO_BY_TOPIC (105) response. */
export interface TopicRouteData {
  /** Ordered-topic configuration (legacy). */
  readonly orderTopicConf?: string;
  /** The topic's queues, per broker. */
  readonly queueDatas: readonly QueueData[];
  /** The brokers hosting the topic. */
  readonly brokerDatas: readonly BrokerData[];
  /** Filter servers (legacy). */
  readonly filterServerTable?: Readonly<Record<string, readonly string[]>>;
}

/** A topic's configuration (RocketMQ `TopicConfig`, spec §1.2). */
export interface TopicConfig {
  /** Topic name. */
  readonly topicName: string;
  /** Readable queues. */
  readonly readQueueNums: number;
  /** Writable queues. */
  readonly writeQueueNums: number;
  /** Permission bits (6 = read + write). */
  readonly perm: number;
  /** `SINGLE_TAG` or `MULTI_TAG`. */
  readonly topicFilterType?: string;
  /** Topic sys flag. */
  readonly topicSysFlag?: number;
  /** Ordered topic (legacy). */
  readonly order?: boolean;
  /** Attributes. */
  readonly attributes?: Readonly<Record<string, string>>;
}

/** Body of the GET_ALL_TOPIC_CONFIG (21) response (RocketMQ `TopicConfigSerializeWrapper`). */
export interface TopicConfigTable {
  /** Topic name to config. */
  readonly topicConfigTable: Readonly<Record<string, TopicConfig>>;
  /** Data version, when present. */
  readonly dataVersion?: unknown;
}

/** Body of the GET_CONSUMER_LIST_BY_GROUP (38) response. */
export interface ConsumerListBody {
  /** Client ids of the group's live members. */
  readonly consumerIdList: readonly string[];
}

/** A message queue: `(topic, brokerName, queueId)`. */
export interface MessageQueueData {
  /** Topic. */
  readonly topic: string;
  /** Broker name. */
  readonly brokerName: string;
  /** Queue id. */
  readonly queueId: number;
}

/** Body of LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42). */
export interface LockBatchRequestBody {
  /** Consumer group. */
  readonly consumerGroup: string;
  /** Client id. */
  readonly clientId: string;
  /** Lock only on this broker. */
  readonly onlyThisBroker?: boolean;
  /** Queues to lock or unlock. */
  readonly mqSet: readonly MessageQueueData[];
}

/** Body of the LOCK_BATCH_MQ (41) response. */
export interface LockBatchResponseBody {
  /** Queues now locked by the caller. */
  readonly lockOKMQSet: readonly MessageQueueData[];
}

/**
 * Body of the GET_ALL_CONSUMER_OFFSET (43) response (RocketMQ
 * `ConsumerOffsetSerializeWrapper`): keys are `topic@group`, values map queue
 * id to the committed offset.
 */
export interface ConsumerOffsetTable {
  /** `topic@group` to queue id to offset. */
  readonly offsetTable: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/**
 * Encode a JSON body as UTF-8.
 *
 * @param value Any JSON-serializable value.
 * @returns The body bytes.
 */
export function encodeJsonBody(value: unknown): Uint8Array {
  return textEncoder.encode(JSON.stringify(value));
}

/**
 * Parse JSON, accepting fastjson's unquoted integer map keys (`{0:"a"}`).
 *
 * @param text JSON text or UTF-8 bytes.
 * @returns The parsed value, or an error.
 */
export function parseJsonLenient(text: string | Uint8Array | undefined): JsonResult<unknown> {
  if (text === undefined) return { ok: false, error: "body is missing" };
  const source = typeof text === "string" ? text : textDecoder.decode(text);
  try {
    return { ok: true, value: JSON.parse(source) };
  } catch (first) {
    // Quote bare integer keys outside strings, then try once more.
    const quoted = quoteBareIntegerKeys(source);
    if (quoted !== source) {
      try {
        return { ok: true, value: JSON.parse(quoted) };
      } catch {
        // Fall through to the first error, which describes the original text.
      }
    }
    return { ok: false, error: `body is not valid JSON: ${(first as Error).message}` };
  }
}

function quoteBareIntegerKeys(source: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (inString) {
      out += c;
      if (c === "\\") {
        out += source[++i] ?? "";
      } else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      continue;
    }
    if (c === "{" || c === ",") {
      out += c;
      const match = /^(\s*)(-?\d+)(\s*):/.exec(source.slice(i + 1, i + 40));
      if (match !== null) {
        out += `${match[1]}"${match[2]}"${match[3]}:`;
        i += match[0].length;
      }
      continue;
    }
    out += c;
  }
  return out;
}

type Check = (value: unknown, path: string) => string | undefined;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function field(
  obj: Record<string, unknown>,
  key: string,
  kind: "string" | "number" | "boolean" | "array" | "object",
  required: boolean,
  path: string,
): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) {
    return required ? `${path}.${key} is missing` : undefined;
  }
  const ok = kind === "array"
    ? Array.isArray(value)
    : kind === "object"
    ? isObject(value)
    : kind === "number"
    ? typeof value === "number" && Number.isFinite(value)
    : kind === "string"
    ? typeof value === "string"
    : typeof value === "boolean";
  return ok ? undefined : `${path}.${key} is not a${kind === "array" ? "n" : ""} ${kind}`;
}

function checkAll(errors: Array<string | undefined>): string | undefined {
  return errors.find((e) => e !== undefined);
}

function checkArray(
  obj: Record<string, unknown>,
  key: string,
  item: Check,
  path: string,
  required = true,
): string | undefined {
  const bad = field(obj, key, "array", required, path);
  if (bad !== undefined || obj[key] === undefined || obj[key] === null) return bad;
  const list = obj[key] as unknown[];
  for (let i = 0; i < list.length; i++) {
    const error = item(list[i], `${path}.${key}[${i}]`);
    if (error !== undefined) return error;
  }
  return undefined;
}

const checkSubscription: Check = (v, path) => {
  if (!isObject(v)) return `${path} is not an object`;
  return checkAll([
    field(v, "topic", "string", true, path),
    field(v, "subString", "string", true, path),
    field(v, "tagsSet", "array", false, path),
    field(v, "codeSet", "array", false, path),
    field(v, "subVersion", "number", false, path),
    field(v, "expressionType", "string", false, path),
  ]);
};

const checkConsumerData: Check = (v, path) => {
  if (!isObject(v)) return `${path} is not an object`;
  return checkAll([
    field(v, "groupName", "string", true, path),
    field(v, "consumeType", "string", false, path),
    field(v, "messageModel", "string", false, path),
    field(v, "consumeFromWhere", "string", false, path),
    checkArray(v, "subscriptionDataSet", checkSubscription, path, false),
  ]);
};

const checkProducerData: Check = (v, path) =>
  isObject(v) ? field(v, "groupName", "string", true, path) : `${path} is not an object`;

const checkMessageQueue: Check = (v, path) => {
  if (!isObject(v)) return `${path} is not an object`;
  return checkAll([
    field(v, "topic", "string", true, path),
    field(v, "brokerName", "string", true, path),
    field(v, "queueId", "number", true, path),
  ]);
};

function parseWith<T>(
  body: string | Uint8Array | undefined,
  name: string,
  check: Check,
  normalize: (v: Record<string, unknown>) => T,
): JsonResult<T> {
  const parsed = parseJsonLenient(body);
  if (!parsed.ok) return { ok: false, error: `${name}: ${parsed.error}` };
  const error = check(parsed.value, name);
  if (error !== undefined) return { ok: false, error };
  return { ok: true, value: normalize(parsed.value as Record<string, unknown>) };
}

/**
 * Parse and validate a HEART_BEAT body. Missing optional lists become empty,
 * and missing subscription fields get RocketMQ's defaults (`TAG`, empty sets).
 *
 * @param body The request body.
 * @returns The heartbeat, or an error naming the first bad field.
 */
export function parseHeartbeatData(
  body: string | Uint8Array | undefined,
): JsonResult<HeartbeatData> {
  return parseWith(body, "HeartbeatData", (v, path) => {
    if (!isObject(v)) return `${path} is not an object`;
    return checkAll([
      field(v, "clientID", "string", true, path),
      checkArray(v, "producerDataSet", checkProducerData, path, false),
      checkArray(v, "consumerDataSet", checkConsumerData, path, false),
    ]);
  }, (v) => {
    const consumers = (v.consumerDataSet as Record<string, unknown>[] | undefined) ?? [];
    return {
      ...v,
      clientID: v.clientID as string,
      producerDataSet: (v.producerDataSet as ProducerData[] | undefined) ?? [],
      consumerDataSet: consumers.map((c) => ({
        ...c,
        groupName: c.groupName as string,
        consumeType: (c.consumeType as ConsumeType | undefined) ?? "CONSUME_PASSIVELY",
        messageModel: (c.messageModel as MessageModel | undefined) ?? "CLUSTERING",
        consumeFromWhere: (c.consumeFromWhere as ConsumeFromWhere | undefined) ??
          "CONSUME_FROM_LAST_OFFSET",
        subscriptionDataSet: ((c.subscriptionDataSet as Record<string, unknown>[] | undefined) ??
          []).map((s) => ({
            ...s,
            topic: s.topic as string,
            subString: s.subString as string,
            tagsSet: (s.tagsSet as string[] | undefined) ?? [],
            codeSet: (s.codeSet as number[] | undefined) ?? [],
            subVersion: (s.subVersion as number | undefined) ?? 0,
            expressionType: (s.expressionType as string | undefined) ?? "TAG",
          })),
      })),
    };
  });
}

/**
 * Parse and validate a GET_ROUTEINFO_BY_TOPIC response body.
 *
 * @param body The response body.
 * @returns The route, or an error.
 */
export function parseTopicRouteData(
  body: string | Uint8Array | undefined,
): JsonResult<TopicRouteData> {
  const checkQueueData: Check = (v, path) => {
    if (!isObject(v)) return `${path} is not an object`;
    return checkAll([
      field(v, "brokerName", "string", true, path),
      field(v, "readQueueNums", "number", true, path),
      field(v, "writeQueueNums", "number", true, path),
      field(v, "perm", "number", true, path),
    ]);
  };
  const checkBrokerData: Check = (v, path) => {
    if (!isObject(v)) return `${path} is not an object`;
    return checkAll([
      field(v, "brokerName", "string", true, path),
      field(v, "brokerAddrs", "object", true, path),
    ]);
  };
  return parseWith(body, "TopicRouteData", (v, path) => {
    if (!isObject(v)) return `${path} is not an object`;
    return checkAll([
      checkArray(v, "queueDatas", checkQueueData, path),
      checkArray(v, "brokerDatas", checkBrokerData, path),
    ]);
  }, (v) => v as unknown as TopicRouteData);
}

/**
 * Parse and validate a GET_ALL_TOPIC_CONFIG response body.
 *
 * @param body The response body.
 * @returns The topic table, or an error.
 */
export function parseTopicConfigTable(
  body: string | Uint8Array | undefined,
): JsonResult<TopicConfigTable> {
  return parseWith(body, "TopicConfigTable", (v, path) => {
    if (!isObject(v)) return `${path} is not an object`;
    const bad = field(v, "topicConfigTable", "object", true, path);
    if (bad !== undefined) return bad;
    for (const [name, config] of Object.entries(v.topicConfigTable as Record<string, unknown>)) {
      const at = `${path}.topicConfigTable[${JSON.stringify(name)}]`;
      if (!isObject(config)) return `${at} is not an object`;
      const error = checkAll([
        field(config, "readQueueNums", "number", true, at),
        field(config, "writeQueueNums", "number", true, at),
        field(config, "perm", "number", true, at),
      ]);
      if (error !== undefined) return error;
    }
    return undefined;
  }, (v) => {
    const table: Record<string, TopicConfig> = {};
    for (const [name, config] of Object.entries(v.topicConfigTable as Record<string, unknown>)) {
      table[name] = { ...(config as TopicConfig), topicName: name };
    }
    return { ...v, topicConfigTable: table };
  });
}

/**
 * Parse and validate a GET_CONSUMER_LIST_BY_GROUP response body.
 *
 * @param body The response body.
 * @returns The member list, or an error.
 */
export function parseConsumerListBody(
  body: string | Uint8Array | undefined,
): JsonResult<ConsumerListBody> {
  return parseWith(body, "ConsumerListBody", (v, path) => {
    if (!isObject(v)) return `${path} is not an object`;
    return checkArray(
      v,
      "consumerIdList",
      (item, at) => typeof item === "string" ? undefined : `${at} is not a string`,
      path,
    );
  }, (v) => v as unknown as ConsumerListBody);
}

/**
 * Parse and validate a LOCK_BATCH_MQ / UNLOCK_BATCH_MQ request body.
 *
 * @param body The request body.
 * @returns The lock request, or an error.
 */
export function parseLockBatchRequestBody(
  body: string | Uint8Array | undefined,
): JsonResult<LockBatchRequestBody> {
  return parseWith(body, "LockBatchRequestBody", (v, path) => {
    if (!isObject(v)) return `${path} is not an object`;
    return checkAll([
      field(v, "consumerGroup", "string", true, path),
      field(v, "clientId", "string", true, path),
      checkArray(v, "mqSet", checkMessageQueue, path),
    ]);
  }, (v) => v as unknown as LockBatchRequestBody);
}

/**
 * Parse and validate a LOCK_BATCH_MQ response body.
 *
 * @param body The response body.
 * @returns The locked queues, or an error.
 */
export function parseLockBatchResponseBody(
  body: string | Uint8Array | undefined,
): JsonResult<LockBatchResponseBody> {
  return parseWith(body, "LockBatchResponseBody", (v, path) => {
    if (!isObject(v)) return `${path} is not an object`;
    return checkArray(v, "lockOKMQSet", checkMessageQueue, path);
  }, (v) => v as unknown as LockBatchResponseBody);
}

/**
 * Parse and validate a GET_ALL_CONSUMER_OFFSET response body.
 *
 * @param body The response body.
 * @returns The offset table, or an error.
 */
export function parseConsumerOffsetTable(
  body: string | Uint8Array | undefined,
): JsonResult<ConsumerOffsetTable> {
  return parseWith(body, "ConsumerOffsetTable", (v, path) => {
    if (!isObject(v)) return `${path} is not an object`;
    const bad = field(v, "offsetTable", "object", true, path);
    if (bad !== undefined) return bad;
    for (const [key, queues] of Object.entries(v.offsetTable as Record<string, unknown>)) {
      const at = `${path}.offsetTable[${JSON.stringify(key)}]`;
      if (!isObject(queues)) return `${at} is not an object`;
      for (const [queueId, offset] of Object.entries(queues)) {
        if (!/^\d+$/.test(queueId)) return `${at} has a non-integer queue id ${queueId}`;
        if (typeof offset !== "number" || !Number.isSafeInteger(offset)) {
          return `${at}[${queueId}] is not an integer offset`;
        }
      }
    }
    return undefined;
  }, (v) => v as unknown as ConsumerOffsetTable);
}
