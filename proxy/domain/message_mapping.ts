/**
 * gRPC `Message` ⇄ the remoting form (encoded properties + record fields),
 * so a message sent over one protocol is consumed over the other with the
 * same id, tag, keys, properties and timestamps.
 *
 * | gRPC (`SystemProperties`)                | remoting property / record field            |
 * | ---------------------------------------- | ------------------------------------------- |
 * | `message_id`                             | `UNIQ_KEY` (the id remoting clients see)    |
 * | `tag`                                    | `TAGS`                                      |
 * | `keys[]`                                 | `KEYS`, joined by one space                 |
 * | `message_group`                          | `__SHARDINGKEY`                             |
 * | `delivery_timestamp`                     | `TIMER_DELIVER_MS`                          |
 * | `message_type` TRANSACTION               | `TRAN_MSG=true` (+ `PGROUP`)                |
 * | `orphaned_transaction_recovery_duration` | `CHECK_IMMUNITY_TIME_IN_SECONDS`            |
 * | `trace_context`                          | `TRACE_CONTEXT`                             |
 * | `born_timestamp` / `born_host`           | record born timestamp / born host           |
 * | `store_timestamp` / `store_host`         | record store timestamp / store host         |
 * | `delivery_attempt`                       | record reconsume times + 1                  |
 * | `queue_id` / `queue_offset`              | record queue id / queue offset              |
 * | `body_digest`                            | MD5 of the body, uppercase hex              |
 * | `user_properties`                        | every property that is not a system one     |
 *
 * @module
 */

import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createHash } from "node:crypto";
import { inflateSync, unzipSync } from "node:zlib";
import {
  decodeProperties,
  encodeProperties,
  MessageConst,
} from "../../client/protocol/properties.ts";
import { createOffsetMessageId } from "../../client/protocol/message_id.ts";
import { clientResource } from "./namespace.ts";
import { type MessageRecord, MessageSysFlag } from "../../client/protocol/message_record.ts";
import {
  DigestType,
  Encoding,
  type Message,
  MessageSchema,
  MessageType,
  SystemPropertiesSchema,
} from "../gen/apache/rocketmq/v2/definition_pb.ts";

/** Property holding the gRPC trace context. */
export const TRACE_CONTEXT_PROPERTY = "TRACE_CONTEXT";

/** Separator of keys in the `KEYS` property. */
export const KEY_SEPARATOR = " ";

/**
 * Properties the broker or the protocols own: never shown as user
 * properties, never accepted from a gRPC client as user properties.
 */
export const SYSTEM_PROPERTY_NAMES: ReadonlySet<string> = new Set([
  ...Object.values(MessageConst),
  TRACE_CONTEXT_PROPERTY,
  "MSG_REGION",
  "TRACE_ON",
  "WAIT",
]);

/** The remoting side of a message converted from gRPC. */
export interface MappedMessage {
  /** Encoded properties (with `UNIQ_KEY` = message id). */
  readonly properties: string;
  /** The message id. */
  readonly messageId: string;
  /** Born time, ms. */
  readonly bornTimestamp: number;
  /** The gRPC message type the client declared. */
  readonly messageType: MessageType;
  /** The message group (FIFO), if any. */
  readonly messageGroup: string | undefined;
  /** Body bytes (decompressed). */
  readonly body: Uint8Array;
}

/** Outcome of converting a gRPC message. */
export type MappingResult =
  | { readonly ok: true; readonly message: MappedMessage }
  | { readonly ok: false; readonly reason: string; readonly field: "property" | "body" | "id" };

/**
 * Convert a message a gRPC client sent into the remoting form.
 *
 * @param message The gRPC message.
 * @param nowMs Broker time, used when the client gave no born time.
 * @returns The properties and fields, or why the message is bad.
 */
export function fromGrpcMessage(message: Message, nowMs: number): MappingResult {
  const sys = message.systemProperties;
  if (sys === undefined) {
    return { ok: false, reason: "message has no system_properties", field: "property" };
  }
  const properties = new Map<string, string>();
  for (const [name, value] of Object.entries(message.userProperties)) {
    if (SYSTEM_PROPERTY_NAMES.has(name)) {
      return { ok: false, reason: `user property ${name} is reserved`, field: "property" };
    }
    properties.set(name, value);
  }
  const messageId = sys.messageId;
  if (messageId === "") return { ok: false, reason: "message_id is empty", field: "id" };
  properties.set(MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX, messageId);
  if (sys.tag !== undefined && sys.tag !== "") properties.set(MessageConst.TAGS, sys.tag);
  if (sys.keys.length > 0) properties.set(MessageConst.KEYS, sys.keys.join(KEY_SEPARATOR));
  if (sys.messageGroup !== undefined && sys.messageGroup !== "") {
    properties.set(MessageConst.SHARDING_KEY, sys.messageGroup);
  }
  if (sys.deliveryTimestamp !== undefined) {
    properties.set(
      MessageConst.TIMER_DELIVER_MS,
      String(timestampDate(sys.deliveryTimestamp).getTime()),
    );
  }
  if (sys.messageType === MessageType.TRANSACTION) {
    properties.set(MessageConst.TRANSACTION_PREPARED, "true");
    const immunity = sys.orphanedTransactionRecoveryDuration;
    if (immunity !== undefined) {
      properties.set(MessageConst.CHECK_IMMUNITY_TIME_IN_SECONDS, String(Number(immunity.seconds)));
    }
  }
  if (sys.traceContext !== undefined && sys.traceContext !== "") {
    properties.set(TRACE_CONTEXT_PROPERTY, sys.traceContext);
  }
  let body = message.body;
  if (sys.bodyEncoding === Encoding.GZIP) {
    try {
      body = new Uint8Array(unzipSync(body));
    } catch {
      return { ok: false, reason: "body_encoding is GZIP but the body is not", field: "body" };
    }
  }
  let encoded: string;
  try {
    encoded = encodeProperties(properties);
  } catch (error) {
    return { ok: false, reason: (error as Error).message, field: "property" };
  }
  const born = sys.bornTimestamp === undefined ? nowMs : timestampDate(sys.bornTimestamp).getTime();
  return {
    ok: true,
    message: {
      properties: encoded,
      messageId,
      bornTimestamp: born,
      messageType: sys.messageType,
      messageGroup: sys.messageGroup,
      body,
    },
  };
}

/** Delivery details added to a message handed to a consumer. */
export interface DeliveryInfo {
  /** The receipt handle (pop) to ack or change with. */
  readonly receiptHandle?: string;
  /** Invisible duration, ms. */
  readonly invisibleMs?: number;
  /** Delivery attempt, when not reconsume times + 1. */
  readonly deliveryAttempt?: number;
  /** The consumer's namespace: topic names are shown without it. */
  readonly namespace?: string;
}

/**
 * Convert a stored record into the gRPC message a consumer receives.
 *
 * @param record The decoded record.
 * @param delivery Receipt handle and related fields, for pop deliveries.
 * @returns The gRPC message (body decompressed, MD5 digest set).
 */
export function toGrpcMessage(record: MessageRecord, delivery: DeliveryInfo = {}): Message {
  const all = decodeProperties(record.properties);
  const userProperties: Record<string, string> = {};
  for (const [name, value] of all) {
    if (!SYSTEM_PROPERTY_NAMES.has(name)) userProperties[name] = value;
  }
  let body: Uint8Array = record.body;
  if ((record.sysFlag & MessageSysFlag.COMPRESSED) !== 0) {
    try {
      body = new Uint8Array(inflateSync(body));
    } catch {
      // Not zlib after all: deliver as stored (the digest still matches what is sent).
    }
  } else {
    body = body.slice();
  }
  const group = all.get(MessageConst.SHARDING_KEY);
  const deliverMs = Number(all.get(MessageConst.TIMER_DELIVER_MS));
  const keys = all.get(MessageConst.KEYS);
  const tag = all.get(MessageConst.TAGS);
  const trace = all.get(TRACE_CONTEXT_PROPERTY);
  return create(MessageSchema, {
    // A redelivery read from a retry topic names its original topic.
    topic: clientResource(
      all.get(MessageConst.RETRY_TOPIC) ?? record.topic,
      delivery.namespace ?? "",
    ),
    userProperties,
    body,
    systemProperties: create(SystemPropertiesSchema, {
      tag: tag === undefined || tag === "" ? undefined : tag,
      keys: keys === undefined || keys === "" ? [] : keys.split(KEY_SEPARATOR).filter((k) => k),
      messageId: all.get(MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX) ??
        createOffsetMessageId(record.storeHost, record.commitLogOffset),
      bodyDigest: { type: DigestType.MD5, checksum: md5Hex(body) },
      bodyEncoding: Encoding.IDENTITY,
      messageType: messageTypeOf(all, record.sysFlag),
      bornTimestamp: timestampFromMs(record.bornTimestamp),
      bornHost: hostText(record.bornHost.ip),
      storeTimestamp: timestampFromMs(record.storeTimestamp),
      storeHost: `${hostText(record.storeHost.ip)}:${record.storeHost.port}`,
      deliveryTimestamp: Number.isFinite(deliverMs) && deliverMs > 0
        ? timestampFromMs(deliverMs)
        : undefined,
      receiptHandle: delivery.receiptHandle,
      queueId: record.queueId,
      queueOffset: BigInt(record.queueOffset),
      invisibleDuration: delivery.invisibleMs === undefined ? undefined : {
        seconds: BigInt(Math.floor(delivery.invisibleMs / 1000)),
        nanos: (delivery.invisibleMs % 1000) * 1_000_000,
      },
      deliveryAttempt: Math.max(delivery.deliveryAttempt ?? 0, record.reconsumeTimes + 1),
      messageGroup: group === undefined || group === "" ? undefined : group,
      traceContext: trace,
    }),
  });
}

/**
 * MD5 of a body as uppercase hex (the digest the official clients check).
 *
 * @param body The body.
 * @returns 32 uppercase hex digits.
 */
export function md5Hex(body: Uint8Array): string {
  return createHash("md5").update(body).digest("hex").toUpperCase();
}

function messageTypeOf(properties: Map<string, string>, sysFlag: number): MessageType {
  if (properties.has(MessageConst.SHARDING_KEY)) return MessageType.FIFO;
  if (
    properties.has(MessageConst.TIMER_DELIVER_MS) || properties.has(MessageConst.DELAY_TIME_LEVEL)
  ) {
    return MessageType.DELAY;
  }
  const transactionType = sysFlag & MessageSysFlag.TRANSACTION_ROLLBACK_TYPE;
  if (
    properties.get(MessageConst.TRANSACTION_PREPARED) === "true" ||
    transactionType === MessageSysFlag.TRANSACTION_COMMIT_TYPE
  ) {
    return MessageType.TRANSACTION;
  }
  return MessageType.NORMAL;
}

function hostText(ip: Uint8Array): string {
  if (ip.length === 4) return Array.from(ip).join(".");
  const parts: string[] = [];
  for (let i = 0; i < ip.length; i += 2) parts.push(((ip[i] << 8) | ip[i + 1]).toString(16));
  return parts.join(":");
}
