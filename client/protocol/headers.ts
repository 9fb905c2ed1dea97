/**
 * Typed custom headers ("extFields") of the remoting requests and responses
 * this project uses.
 *
 * RocketMQ carries a request's parameters in the header's `extFields`, a flat
 * string-to-string map: integers and longs as decimal text, booleans as
 * `"true"`/`"false"`. Each header here has an interface with RocketMQ's field
 * names and a {@linkcode HeaderCodec} that encodes it into `extFields` and
 * decodes it back. Decoders validate required fields and numbers and return a
 * {@linkcode HeaderResult} instead of throwing, so a broker can answer a bad
 * request with a response code and a remark.
 *
 * `SEND_MESSAGE` (10) uses long field names; `SEND_MESSAGE_V2` (310) and
 * `SEND_BATCH_MESSAGE` (320) carry the same fields under one-letter names
 * (`a` = producerGroup ... `n` = brokerName). Both decode to
 * {@linkcode SendMessageRequestHeader}; see {@linkcode decodeSendMessageRequestHeader}.
 *
 * See `docs/wire_format.md` for every request with its header and body.
 *
 * @module
 */

import { RequestCode } from "./request_code.ts";

/** The `extFields` map of a remoting command. */
export type ExtFields = Readonly<Record<string, string>>;

/** The outcome of decoding a header: the typed header, or why it is invalid. */
export type HeaderResult<T> =
  | { readonly ok: true; readonly header: T }
  | { readonly ok: false; readonly error: string };

/** Encodes one header type into `extFields` and decodes it back with validation. */
export interface HeaderCodec<T> {
  /** The header's name, used in error messages (e.g. `PullMessageRequestHeader`). */
  readonly name: string;
  /**
   * Encode a header into `extFields` (undefined optional fields are left out).
   *
   * @param header The typed header.
   * @returns String fields for `RemotingCommand.extFields`.
   */
  encode(header: T): Record<string, string>;
  /**
   * Decode and validate `extFields`.
   *
   * @param fields The command's `extFields` (undefined is treated as empty).
   * @returns The typed header, or an error naming the first bad field.
   */
  decode(fields: ExtFields | undefined): HeaderResult<T>;
}

/** The value kinds a header field can have. */
export type FieldKind = "string" | "int" | "long" | "bool";

interface FieldSpec {
  /** Property name in the TS interface. */
  readonly key: string;
  /** Name in `extFields`. */
  readonly wire: string;
  readonly kind: FieldKind;
  readonly required: boolean;
}

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;
const DECIMAL = /^-?\d{1,19}$/;

/**
 * Build a {@linkcode HeaderCodec} from a field list: `[key, kind, required, wireName?]`.
 *
 * @param name Header name for error messages.
 * @param fields The fields.
 * @returns The codec.
 */
export function defineCodec<T>(
  name: string,
  fields: ReadonlyArray<readonly [key: string, kind: FieldKind, required: boolean, wire?: string]>,
): HeaderCodec<T> {
  const specs: FieldSpec[] = fields.map(([key, kind, required, wire]) => ({
    key,
    wire: wire ?? key,
    kind,
    required,
  }));
  return Object.freeze({
    name,
    encode(header: T): Record<string, string> {
      const out: Record<string, string> = {};
      const source = header as Record<string, unknown>;
      for (let i = 0; i < specs.length; i++) {
        const spec = specs[i];
        const value = source[spec.key];
        if (value === undefined || value === null) continue;
        out[spec.wire] = typeof value === "string" ? value : String(value);
      }
      return out;
    },
    decode(ext: ExtFields | undefined): HeaderResult<T> {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < specs.length; i++) {
        const spec = specs[i];
        const text = ext?.[spec.wire];
        if (text === undefined) {
          if (spec.required) {
            return { ok: false, error: `${name}: missing required field "${spec.wire}"` };
          }
          continue;
        }
        const parsed = parseField(spec, text);
        if (typeof parsed === "object") {
          return { ok: false, error: `${name}: ${parsed.error}` };
        }
        out[spec.key] = parsed;
      }
      return { ok: true, header: out as T };
    },
  });
}

/**
 * A decimal integer of at most 15 digits (always a safe integer) read without
 * a regex; undefined for anything else, which then takes the general path.
 */
function shortDecimal(text: string): number | undefined {
  const n = text.length;
  let i = n > 0 && text.charCodeAt(0) === 0x2d ? 1 : 0;
  if (i === n || n - i > 15) return undefined;
  let value = 0;
  for (; i < n; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  return text.charCodeAt(0) === 0x2d ? -value : value;
}

function parseField(spec: FieldSpec, text: string): string | number | boolean | { error: string } {
  switch (spec.kind) {
    case "string":
      return text;
    case "bool": {
      if (text === "false") return false;
      if (text === "true") return true;
      const lower = text.toLowerCase();
      if (lower === "true") return true;
      if (lower === "false") return false;
      return { error: `field "${spec.wire}" is not a boolean: ${JSON.stringify(text)}` };
    }
    case "int": {
      const quick = shortDecimal(text);
      if (quick !== undefined && quick >= INT32_MIN && quick <= INT32_MAX) return quick;
      const value = DECIMAL.test(text) ? Number(text) : NaN;
      if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
        return { error: `field "${spec.wire}" is not a 32-bit integer: ${JSON.stringify(text)}` };
      }
      return value;
    }
    case "long": {
      const quick = shortDecimal(text);
      if (quick !== undefined) return quick;
      const value = DECIMAL.test(text) ? Number(text) : NaN;
      if (!Number.isSafeInteger(value)) {
        return {
          error: `field "${spec.wire}" is not a safe 64-bit integer: ${JSON.stringify(text)}`,
        };
      }
      return value;
    }
  }
}

// ---------------------------------------------------------------------------
// Send

/** The auto-creation template topic producers name in `defaultTopic`. */
export const DEFAULT_TOPIC = "TBW102";
/** Queue count a producer asks for when a topic is auto-created from {@linkcode DEFAULT_TOPIC}. */
export const DEFAULT_TOPIC_QUEUE_NUMS = 4;

/** Header of SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320). */
export interface SendMessageRequestHeader {
  /** Producer group name. */
  readonly producerGroup: string;
  /** Target topic. */
  readonly topic: string;
  /** Template topic for auto-creation, normally {@linkcode DEFAULT_TOPIC}. */
  readonly defaultTopic: string;
  /** Queue count for an auto-created topic. */
  readonly defaultTopicQueueNums: number;
  /** Target queue; negative lets the broker choose. */
  readonly queueId: number;
  /** MessageSysFlag bits (compression, transaction type). */
  readonly sysFlag: number;
  /** Epoch ms when the producer created the message. */
  readonly bornTimestamp: number;
  /** Opaque int carried through to consumers. */
  readonly flag: number;
  /** Encoded properties string (see `properties.ts`). */
  readonly properties?: string;
  /** Times this message was already consumed and sent back. */
  readonly reconsumeTimes?: number;
  /** Unit mode flag (unused here). */
  readonly unitMode?: boolean;
  /** True for SEND_BATCH_MESSAGE. */
  readonly batch?: boolean;
  /** Retry limit before the dead-letter queue. */
  readonly maxReconsumeTimes?: number;
  /** Target broker name. */
  readonly brokerName?: string;
}

/** SEND_MESSAGE (10) header codec: long field names. */
export const sendMessageRequestHeader: HeaderCodec<SendMessageRequestHeader> = defineCodec(
  "SendMessageRequestHeader",
  [
    ["producerGroup", "string", true],
    ["topic", "string", true],
    ["defaultTopic", "string", true],
    ["defaultTopicQueueNums", "int", true],
    ["queueId", "int", true],
    ["sysFlag", "int", true],
    ["bornTimestamp", "long", true],
    ["flag", "int", true],
    ["properties", "string", false],
    ["reconsumeTimes", "int", false],
    ["unitMode", "bool", false],
    ["batch", "bool", false],
    ["maxReconsumeTimes", "int", false],
    ["brokerName", "string", false, "bname"],
  ],
);

/** SEND_MESSAGE_V2 (310) / SEND_BATCH_MESSAGE (320) header codec: one-letter field names. */
export const sendMessageRequestHeaderV2: HeaderCodec<SendMessageRequestHeader> = defineCodec(
  "SendMessageRequestHeaderV2",
  [
    ["producerGroup", "string", true, "a"],
    ["topic", "string", true, "b"],
    ["defaultTopic", "string", true, "c"],
    ["defaultTopicQueueNums", "int", true, "d"],
    ["queueId", "int", true, "e"],
    ["sysFlag", "int", true, "f"],
    ["bornTimestamp", "long", true, "g"],
    ["flag", "int", true, "h"],
    ["properties", "string", false, "i"],
    ["reconsumeTimes", "int", false, "j"],
    ["unitMode", "bool", false, "k"],
    ["maxReconsumeTimes", "int", false, "l"],
    ["batch", "bool", false, "m"],
    ["brokerName", "string", false, "n"],
  ],
);

/**
 * Decode the header of any send request, picking the field names by request code.
 *
 * @param code SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) or SEND_BATCH_MESSAGE (320).
 * @param fields The request's `extFields`.
 * @returns The typed header (with `batch: true` forced for 320), or an error.
 */
export function decodeSendMessageRequestHeader(
  code: number,
  fields: ExtFields | undefined,
): HeaderResult<SendMessageRequestHeader> {
  if (code === RequestCode.SEND_MESSAGE) return sendMessageRequestHeader.decode(fields);
  if (code === RequestCode.SEND_MESSAGE_V2) return sendMessageRequestHeaderV2.decode(fields);
  if (code === RequestCode.SEND_BATCH_MESSAGE) {
    const result = sendMessageRequestHeaderV2.decode(fields);
    return result.ok ? { ok: true, header: { ...result.header, batch: true } } : result;
  }
  return { ok: false, error: `Request code ${code} is not a send request` };
}

/** Response header of the send requests. */
export interface SendMessageResponseHeader {
  /** Offset message id; comma-joined list for a batch. */
  readonly msgId: string;
  /** Queue the message was stored in. */
  readonly queueId: number;
  /** Queue offset of the (first) message. */
  readonly queueOffset: number;
  /** The UNIQ_KEY of the message (comma-joined for a batch). */
  readonly transactionId?: string;
  /** Batch unique id, when the broker sets one. */
  readonly batchUniqId?: string;
  /** Handle to recall a delayed message. */
  readonly recallHandle?: string;
}

/** Send response header codec. */
export const sendMessageResponseHeader: HeaderCodec<SendMessageResponseHeader> = defineCodec(
  "SendMessageResponseHeader",
  [
    ["msgId", "string", true],
    ["queueId", "int", true],
    ["queueOffset", "long", true],
    ["transactionId", "string", false],
    ["batchUniqId", "string", false],
    ["recallHandle", "string", false],
  ],
);

// ---------------------------------------------------------------------------
// Pull

/** PullSysFlag bits of a PULL_MESSAGE request's `sysFlag`. */
export const PullSysFlag = Object.freeze(
  {
    /** The `commitOffset` field carries an offset to store. */
    COMMIT_OFFSET: 0x1,
    /** Park the request (long polling) when nothing is available. */
    SUSPEND: 0x2,
    /** The `subscription` field carries the filter expression. */
    SUBSCRIPTION: 0x4,
    /** Class filter (legacy). */
    CLASS_FILTER: 0x8,
    /** Lite pull consumer. */
    LITE_PULL: 0x10,
  } as const,
);

/** Header of PULL_MESSAGE (11). */
export interface PullMessageRequestHeader {
  /** Consumer group. */
  readonly consumerGroup: string;
  /** Topic. */
  readonly topic: string;
  /** Queue id. */
  readonly queueId: number;
  /** First queue offset wanted. */
  readonly queueOffset: number;
  /** Most messages to return. */
  readonly maxMsgNums: number;
  /** {@linkcode PullSysFlag} bits. */
  readonly sysFlag: number;
  /** Offset to store for the group when `sysFlag` has COMMIT_OFFSET. */
  readonly commitOffset: number;
  /** How long the broker may park the request, ms. */
  readonly suspendTimeoutMillis: number;
  /** Filter expression (`*`, `a || b`, or SQL92). */
  readonly subscription?: string;
  /** Subscription version (a timestamp). */
  readonly subVersion: number;
  /** `TAG` (default) or `SQL92`. */
  readonly expressionType?: string;
  /** Most bytes to return. */
  readonly maxMsgBytes?: number;
  /** Request source (proxy use). */
  readonly requestSource?: number;
  /** Client id forwarded by a proxy (RocketMQ's spelling). */
  readonly proxyFrowardClientId?: string;
}

/** PULL_MESSAGE request header codec. */
export const pullMessageRequestHeader: HeaderCodec<PullMessageRequestHeader> = defineCodec(
  "PullMessageRequestHeader",
  [
    ["consumerGroup", "string", true],
    ["topic", "string", true],
    ["queueId", "int", true],
    ["queueOffset", "long", true],
    ["maxMsgNums", "int", true],
    ["sysFlag", "int", true],
    ["commitOffset", "long", true],
    ["suspendTimeoutMillis", "long", true],
    ["subscription", "string", false],
    ["subVersion", "long", true],
    ["expressionType", "string", false],
    ["maxMsgBytes", "int", false],
    ["requestSource", "int", false],
    ["proxyFrowardClientId", "string", false],
  ],
);

/** Response header of PULL_MESSAGE; the body is concatenated message records. */
export interface PullMessageResponseHeader {
  /** Broker id to pull from next (0 = master). */
  readonly suggestWhichBrokerId: number;
  /** Queue offset to pull from next. */
  readonly nextBeginOffset: number;
  /** Queue's min offset. */
  readonly minOffset: number;
  /** Queue's max offset (next to be written). */
  readonly maxOffset: number;
  /** Offset delta (batch consume queues). */
  readonly offsetDelta?: number;
  /** Topic sys flag. */
  readonly topicSysFlag?: number;
  /** Group sys flag. */
  readonly groupSysFlag?: number;
  /** Forbidden type (ACL). */
  readonly forbiddenType?: number;
}

/** PULL_MESSAGE response header codec. */
export const pullMessageResponseHeader: HeaderCodec<PullMessageResponseHeader> = defineCodec(
  "PullMessageResponseHeader",
  [
    ["suggestWhichBrokerId", "long", true],
    ["nextBeginOffset", "long", true],
    ["minOffset", "long", true],
    ["maxOffset", "long", true],
    ["offsetDelta", "long", false],
    ["topicSysFlag", "int", false],
    ["groupSysFlag", "int", false],
    ["forbiddenType", "int", false],
  ],
);

// ---------------------------------------------------------------------------
// Offsets

/** Header of QUERY_CONSUMER_OFFSET (14). */
export interface QueryConsumerOffsetRequestHeader {
  /** Consumer group. */
  readonly consumerGroup: string;
  /** Topic. */
  readonly topic: string;
  /** Queue id. */
  readonly queueId: number;
  /** Answer 0 instead of QUERY_NOT_FOUND when nothing is stored. */
  readonly setZeroIfNotFound?: boolean;
}

/** QUERY_CONSUMER_OFFSET request header codec. */
export const queryConsumerOffsetRequestHeader: HeaderCodec<QueryConsumerOffsetRequestHeader> =
  defineCodec("QueryConsumerOffsetRequestHeader", [
    ["consumerGroup", "string", true],
    ["topic", "string", true],
    ["queueId", "int", true],
    ["setZeroIfNotFound", "bool", false],
  ]);

/** Response header carrying one offset: QUERY_CONSUMER_OFFSET, GET_MAX_OFFSET, GET_MIN_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP. */
export interface OffsetResponseHeader {
  /** The offset. */
  readonly offset: number;
}

/** Codec of {@linkcode OffsetResponseHeader}. */
export const offsetResponseHeader: HeaderCodec<OffsetResponseHeader> = defineCodec(
  "OffsetResponseHeader",
  [["offset", "long", true]],
);

/** Header of UPDATE_CONSUMER_OFFSET (15). The response has no header fields. */
export interface UpdateConsumerOffsetRequestHeader {
  /** Consumer group. */
  readonly consumerGroup: string;
  /** Topic. */
  readonly topic: string;
  /** Queue id. */
  readonly queueId: number;
  /** Next queue offset the group will consume. */
  readonly commitOffset: number;
}

/** UPDATE_CONSUMER_OFFSET request header codec. */
export const updateConsumerOffsetRequestHeader: HeaderCodec<UpdateConsumerOffsetRequestHeader> =
  defineCodec("UpdateConsumerOffsetRequestHeader", [
    ["consumerGroup", "string", true],
    ["topic", "string", true],
    ["queueId", "int", true],
    ["commitOffset", "long", true],
  ]);

/** Header of GET_MAX_OFFSET (30), GET_MIN_OFFSET (31) and GET_EARLIEST_MSG_STORETIME (32). */
export interface QueueRequestHeader {
  /** Topic. */
  readonly topic: string;
  /** Queue id. */
  readonly queueId: number;
  /** GET_MAX_OFFSET only: count only committed (replicated) messages. */
  readonly committed?: boolean;
}

/** Codec of {@linkcode QueueRequestHeader}. */
export const queueRequestHeader: HeaderCodec<QueueRequestHeader> = defineCodec(
  "QueueRequestHeader",
  [
    ["topic", "string", true],
    ["queueId", "int", true],
    ["committed", "bool", false],
  ],
);

/** Response header of GET_EARLIEST_MSG_STORETIME (32). */
export interface TimestampResponseHeader {
  /** Epoch ms. */
  readonly timestamp: number;
}

/** Codec of {@linkcode TimestampResponseHeader}. */
export const timestampResponseHeader: HeaderCodec<TimestampResponseHeader> = defineCodec(
  "TimestampResponseHeader",
  [["timestamp", "long", true]],
);

/** Header of SEARCH_OFFSET_BY_TIMESTAMP (29); the response is an {@linkcode OffsetResponseHeader}. */
export interface SearchOffsetRequestHeader {
  /** Topic. */
  readonly topic: string;
  /** Queue id. */
  readonly queueId: number;
  /** Epoch ms to search for. */
  readonly timestamp: number;
  /** `lower` (default: first message stored at or after) or `upper`. */
  readonly boundaryType?: string;
}

/** SEARCH_OFFSET_BY_TIMESTAMP request header codec. */
export const searchOffsetRequestHeader: HeaderCodec<SearchOffsetRequestHeader> = defineCodec(
  "SearchOffsetRequestHeader",
  [
    ["topic", "string", true],
    ["queueId", "int", true],
    ["timestamp", "long", true],
    ["boundaryType", "string", false],
  ],
);

// ---------------------------------------------------------------------------
// Lookup

/** Header of VIEW_MESSAGE_BY_ID (33); the response body is one message record. */
export interface ViewMessageRequestHeader {
  /** Topic (optional, informational). */
  readonly topic?: string;
  /** CommitLog offset taken from the offset message id. */
  readonly offset: number;
}

/** VIEW_MESSAGE_BY_ID request header codec. */
export const viewMessageRequestHeader: HeaderCodec<ViewMessageRequestHeader> = defineCodec(
  "ViewMessageRequestHeader",
  [
    ["topic", "string", false],
    ["offset", "long", true],
  ],
);

/** Header of QUERY_MESSAGE (12); the response body is concatenated records. */
export interface QueryMessageRequestHeader {
  /** Topic. */
  readonly topic: string;
  /** Message key (or UNIQ_KEY when `uniqueKeyQuery`). */
  readonly key: string;
  /** Most messages to return. */
  readonly maxNum: number;
  /** Epoch ms lower bound. */
  readonly beginTimestamp: number;
  /** Epoch ms upper bound. */
  readonly endTimestamp: number;
  /** `key` is a UNIQ_KEY (wire name `_UNIQUE_KEY_QUERY`). */
  readonly uniqueKeyQuery?: boolean;
}

/** QUERY_MESSAGE request header codec. */
export const queryMessageRequestHeader: HeaderCodec<QueryMessageRequestHeader> = defineCodec(
  "QueryMessageRequestHeader",
  [
    ["topic", "string", true],
    ["key", "string", true],
    ["maxNum", "int", true],
    ["beginTimestamp", "long", true],
    ["endTimestamp", "long", true],
    ["uniqueKeyQuery", "bool", false, "_UNIQUE_KEY_QUERY"],
  ],
);

/** Response header of QUERY_MESSAGE (12). */
export interface QueryMessageResponseHeader {
  /** Epoch ms of the index's last update. */
  readonly indexLastUpdateTimestamp: number;
  /** CommitLog offset the index covers. */
  readonly indexLastUpdatePhyoffset: number;
}

/** QUERY_MESSAGE response header codec. */
export const queryMessageResponseHeader: HeaderCodec<QueryMessageResponseHeader> = defineCodec(
  "QueryMessageResponseHeader",
  [
    ["indexLastUpdateTimestamp", "long", true],
    ["indexLastUpdatePhyoffset", "long", true],
  ],
);

// ---------------------------------------------------------------------------
// Groups and clients

/**
 * Header of GET_CONSUMER_LIST_BY_GROUP (38) and NOTIFY_CONSUMER_IDS_CHANGED (40).
 * The list response body is JSON `{"consumerIdList":[...]}`.
 */
export interface ConsumerGroupRequestHeader {
  /** Consumer group. */
  readonly consumerGroup: string;
}

/** Codec of {@linkcode ConsumerGroupRequestHeader}. */
export const consumerGroupRequestHeader: HeaderCodec<ConsumerGroupRequestHeader> = defineCodec(
  "ConsumerGroupRequestHeader",
  [["consumerGroup", "string", true]],
);

/** Header of UNREGISTER_CLIENT (35). */
export interface UnregisterClientRequestHeader {
  /** The client id sent in heartbeats. */
  readonly clientID: string;
  /** Producer group to leave. */
  readonly producerGroup?: string;
  /** Consumer group to leave. */
  readonly consumerGroup?: string;
}

/** UNREGISTER_CLIENT request header codec. */
export const unregisterClientRequestHeader: HeaderCodec<UnregisterClientRequestHeader> =
  defineCodec("UnregisterClientRequestHeader", [
    ["clientID", "string", true],
    ["producerGroup", "string", false],
    ["consumerGroup", "string", false],
  ]);

// ---------------------------------------------------------------------------
// Topics and routes

/** Topic permission bits. */
export const PermName = Object.freeze(
  {
    PERM_PRIORITY: 8,
    PERM_READ: 4,
    PERM_WRITE: 2,
    PERM_INHERIT: 1,
  } as const,
);

/** Header of UPDATE_AND_CREATE_TOPIC (17). */
export interface CreateTopicRequestHeader {
  /** Topic name. */
  readonly topic: string;
  /** Template topic, normally {@linkcode DEFAULT_TOPIC}. */
  readonly defaultTopic: string;
  /** Readable queue count. */
  readonly readQueueNums: number;
  /** Writable queue count. */
  readonly writeQueueNums: number;
  /** {@linkcode PermName} bits, 6 = read + write. */
  readonly perm: number;
  /** `SINGLE_TAG` or `MULTI_TAG`. */
  readonly topicFilterType: string;
  /** Topic sys flag. */
  readonly topicSysFlag?: number;
  /** Ordered topic (legacy). */
  readonly order: boolean;
  /** Attribute changes, `+k=v,-k`. */
  readonly attributes?: string;
  /** Force the update. */
  readonly force?: boolean;
}

/** UPDATE_AND_CREATE_TOPIC request header codec. */
export const createTopicRequestHeader: HeaderCodec<CreateTopicRequestHeader> = defineCodec(
  "CreateTopicRequestHeader",
  [
    ["topic", "string", true],
    ["defaultTopic", "string", true],
    ["readQueueNums", "int", true],
    ["writeQueueNums", "int", true],
    ["perm", "int", true],
    ["topicFilterType", "string", true],
    ["topicSysFlag", "int", false],
    ["order", "bool", true],
    ["attributes", "string", false],
    ["force", "bool", false],
  ],
);

/** Header of DELETE_TOPIC_IN_BROKER (215). */
export interface TopicRequestHeader {
  /** Topic name. */
  readonly topic: string;
}

/** Codec of {@linkcode TopicRequestHeader}. */
export const topicRequestHeader: HeaderCodec<TopicRequestHeader> = defineCodec(
  "TopicRequestHeader",
  [["topic", "string", true]],
);

/** Header of GET_ROUTEINFO_BY_TOPIC (105); the response body is `TopicRouteData` JSON. */
export interface GetRouteInfoRequestHeader {
  /** Topic name. */
  readonly topic: string;
  /** Ask for standard JSON (quoted map keys). */
  readonly acceptStandardJsonOnly?: boolean;
}

/** GET_ROUTEINFO_BY_TOPIC request header codec. */
export const getRouteInfoRequestHeader: HeaderCodec<GetRouteInfoRequestHeader> = defineCodec(
  "GetRouteInfoRequestHeader",
  [
    ["topic", "string", true],
    ["acceptStandardJsonOnly", "bool", false],
  ],
);

// ---------------------------------------------------------------------------
// Transactions and retries

/** `commitOrRollback` values of END_TRANSACTION. */
export const TransactionState = Object.freeze(
  {
    UNKNOWN: 0,
    COMMIT: 8,
    ROLLBACK: 12,
  } as const,
);

/** Header of END_TRANSACTION (37). */
export interface EndTransactionRequestHeader {
  /** Topic of the half message. */
  readonly topic?: string;
  /** Producer group. */
  readonly producerGroup: string;
  /** Queue offset of the half message. */
  readonly tranStateTableOffset: number;
  /** CommitLog offset of the half message. */
  readonly commitLogOffset: number;
  /** {@linkcode TransactionState} value. */
  readonly commitOrRollback: number;
  /** True when answering CHECK_TRANSACTION_STATE. */
  readonly fromTransactionCheck?: boolean;
  /** UNIQ_KEY of the half message. */
  readonly msgId: string;
  /** Transaction id. */
  readonly transactionId?: string;
}

/** END_TRANSACTION request header codec. */
export const endTransactionRequestHeader: HeaderCodec<EndTransactionRequestHeader> = defineCodec(
  "EndTransactionRequestHeader",
  [
    ["topic", "string", false],
    ["producerGroup", "string", true],
    ["tranStateTableOffset", "long", true],
    ["commitLogOffset", "long", true],
    ["commitOrRollback", "int", true],
    ["fromTransactionCheck", "bool", false],
    ["msgId", "string", true],
    ["transactionId", "string", false],
  ],
);

/** Header of CHECK_TRANSACTION_STATE (39, broker to producer); the body is the half message record. */
export interface CheckTransactionStateRequestHeader {
  /** Topic. */
  readonly topic?: string;
  /** Queue offset of the half message. */
  readonly tranStateTableOffset: number;
  /** CommitLog offset of the half message. */
  readonly commitLogOffset: number;
  /** UNIQ_KEY. */
  readonly msgId?: string;
  /** Transaction id. */
  readonly transactionId?: string;
  /** Offset message id. */
  readonly offsetMsgId?: string;
}

/** CHECK_TRANSACTION_STATE request header codec. */
export const checkTransactionStateRequestHeader: HeaderCodec<CheckTransactionStateRequestHeader> =
  defineCodec("CheckTransactionStateRequestHeader", [
    ["topic", "string", false],
    ["tranStateTableOffset", "long", true],
    ["commitLogOffset", "long", true],
    ["msgId", "string", false],
    ["transactionId", "string", false],
    ["offsetMsgId", "string", false],
  ]);

/** Header of CONSUMER_SEND_MSG_BACK (36). */
export interface ConsumerSendMsgBackRequestHeader {
  /** CommitLog offset of the failed message. */
  readonly offset: number;
  /** Consumer group. */
  readonly group: string;
  /** Delay level: 0 = broker decides, negative = straight to the dead-letter queue. */
  readonly delayLevel: number;
  /** Original msgId. */
  readonly originMsgId?: string;
  /** Original topic. */
  readonly originTopic?: string;
  /** Unit mode. */
  readonly unitMode?: boolean;
  /** Retry limit. */
  readonly maxReconsumeTimes?: number;
}

/** CONSUMER_SEND_MSG_BACK request header codec. */
export const consumerSendMsgBackRequestHeader: HeaderCodec<ConsumerSendMsgBackRequestHeader> =
  defineCodec("ConsumerSendMsgBackRequestHeader", [
    ["offset", "long", true],
    ["group", "string", true],
    ["delayLevel", "int", true],
    ["originMsgId", "string", false],
    ["originTopic", "string", false],
    ["unitMode", "bool", false],
    ["maxReconsumeTimes", "int", false],
  ]);

/**
 * LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42) carry only the common fields in
 * their header; their bodies are JSON (see `heartbeat.ts`
 * `LockBatchRequestBody`). This codec accepts any header.
 */
export const emptyHeader: HeaderCodec<Record<string, never>> = defineCodec("EmptyHeader", []);
