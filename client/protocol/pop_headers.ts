/**
 * Wire format of pop consumption (RocketMQ 5): the request and response
 * headers of POP_MESSAGE, ACK_MESSAGE, CHANGE_MESSAGE_INVISIBLETIME,
 * PEEK_MESSAGE and NOTIFICATION, the receipt handle (`extraInfo`), the
 * `startOffsetInfo` / `msgOffsetInfo` / `orderCountInfo` strings, and the
 * BATCH_ACK_MESSAGE body.
 *
 * Receipt handle (`extraInfo`), space-separated, echoed by ACK and
 * CHANGE_MESSAGE_INVISIBLETIME:
 *
 * | # | field          | meaning                                             |
 * |---|----------------|-----------------------------------------------------|
 * | 0 | ckStartOffset  | first queue offset of the popped batch (checkpoint)  |
 * | 1 | popTime        | epoch ms of the pop                                  |
 * | 2 | invisibleTime  | ms the batch stays invisible                         |
 * | 3 | reviveQid      | revive queue of the checkpoint (999 = FIFO)          |
 * | 4 | topicType      | 0 normal topic, 1 retry topic V1, 2 retry topic V2   |
 * | 5 | brokerName     | the broker that popped it                            |
 * | 6 | queueId        | queue of the message                                 |
 * | 7 | queueOffset    | queue offset of the message                          |
 *
 * Info strings are `;`-separated entries of space-separated fields:
 * startOffsetInfo `"<t> <queueId> <startOffset>"`, msgOffsetInfo
 * `"<t> <queueId> <o1>,<o2>,..."`, orderCountInfo `"<t> <queueId> <count>"`.
 *
 * @module
 */

import { defineCodec, type HeaderCodec } from "./headers.ts";

/** Revive queue id of FIFO pops (`POP_ORDER_REVIVE_QUEUE`). */
export const POP_ORDER_REVIVE_QUEUE = 999;
/** Most messages one POP_MESSAGE may ask for. */
export const POP_BATCH_MESSAGES_MAX = 32;
/** `initMode`: a group with no offset starts at the queue's first message. */
export const POP_INIT_MODE_MIN = 0;
/** `initMode`: a group with no offset starts at the queue's last message. */
export const POP_INIT_MODE_MAX = 1;

/** POP_MESSAGE (200050) request header. */
export interface PopMessageRequestHeader {
  /** Consumer group. */
  readonly consumerGroup: string;
  /** Topic. */
  readonly topic: string;
  /** Queue, or -1 for any readable queue. */
  readonly queueId: number;
  /** Most messages wanted (1..32). */
  readonly maxMsgNums: number;
  /** How long popped messages stay invisible, ms. */
  readonly invisibleTime: number;
  /** How long the broker may park the pop when nothing is there, ms. */
  readonly pollTime: number;
  /** Client time of the request, epoch ms. */
  readonly bornTime: number;
  /** 0 = MIN, 1 = MAX: where a group with no offset starts. */
  readonly initMode: number;
  /** Filter type: `TAG` or `SQL92`. */
  readonly expType?: string;
  /** Filter expression. */
  readonly exp?: string;
  /** FIFO pop. */
  readonly order?: boolean;
  /** Lets a retried FIFO pop get the same batch. */
  readonly attemptId?: string;
}

/** POP_MESSAGE request header codec. */
export const popMessageRequestHeader: HeaderCodec<PopMessageRequestHeader> = defineCodec(
  "PopMessageRequestHeader",
  [
    ["consumerGroup", "string", true],
    ["topic", "string", true],
    ["queueId", "int", true],
    ["maxMsgNums", "int", true],
    ["invisibleTime", "long", true],
    ["pollTime", "long", true],
    ["bornTime", "long", true],
    ["initMode", "int", true],
    ["expType", "string", false],
    ["exp", "string", false],
    ["order", "bool", false],
    ["attemptId", "string", false],
  ],
);

/** POP_MESSAGE response header (also PEEK_MESSAGE's). */
export interface PopMessageResponseHeader {
  /** Broker time of the pop, epoch ms. */
  readonly popTime: number;
  /** Invisible time granted, ms. */
  readonly invisibleTime: number;
  /** Revive queue of the checkpoint. */
  readonly reviveQid: number;
  /** Messages left behind the popped ones. */
  readonly restNum: number;
  /** Per queue: start offset of the batch. */
  readonly startOffsetInfo?: string;
  /** Per queue: offsets of the popped messages. */
  readonly msgOffsetInfo?: string;
  /** FIFO: per queue, how often the batch was popped. */
  readonly orderCountInfo?: string;
}

/** POP_MESSAGE response header codec. */
export const popMessageResponseHeader: HeaderCodec<PopMessageResponseHeader> = defineCodec(
  "PopMessageResponseHeader",
  [
    ["popTime", "long", true],
    ["invisibleTime", "long", true],
    ["reviveQid", "int", true],
    ["restNum", "long", true],
    ["startOffsetInfo", "string", false],
    ["msgOffsetInfo", "string", false],
    ["orderCountInfo", "string", false],
  ],
);

/** ACK_MESSAGE (200051) request header. */
export interface AckMessageRequestHeader {
  /** Consumer group. */
  readonly consumerGroup: string;
  /** Topic the message was popped from (the pop retry topic for a retry). */
  readonly topic: string;
  /** Queue of the message. */
  readonly queueId: number;
  /** The receipt handle. */
  readonly extraInfo: string;
  /** Queue offset of the message. */
  readonly offset: number;
}

/** ACK_MESSAGE request header codec. */
export const ackMessageRequestHeader: HeaderCodec<AckMessageRequestHeader> = defineCodec(
  "AckMessageRequestHeader",
  [
    ["consumerGroup", "string", true],
    ["topic", "string", true],
    ["queueId", "int", true],
    ["extraInfo", "string", true],
    ["offset", "long", true],
  ],
);

/** CHANGE_MESSAGE_INVISIBLETIME (200053) request header. */
export interface ChangeInvisibleTimeRequestHeader extends AckMessageRequestHeader {
  /** New invisible time from now, ms. */
  readonly invisibleTime: number;
}

/** CHANGE_MESSAGE_INVISIBLETIME request header codec. */
export const changeInvisibleTimeRequestHeader: HeaderCodec<ChangeInvisibleTimeRequestHeader> =
  defineCodec("ChangeInvisibleTimeRequestHeader", [
    ["consumerGroup", "string", true],
    ["topic", "string", true],
    ["queueId", "int", true],
    ["extraInfo", "string", true],
    ["offset", "long", true],
    ["invisibleTime", "long", true],
  ]);

/** CHANGE_MESSAGE_INVISIBLETIME response header. */
export interface ChangeInvisibleTimeResponseHeader {
  /** New pop time, epoch ms. */
  readonly popTime: number;
  /** New invisible time, ms. */
  readonly invisibleTime: number;
  /** Revive queue of the new checkpoint. */
  readonly reviveQid: number;
}

/** CHANGE_MESSAGE_INVISIBLETIME response header codec. */
export const changeInvisibleTimeResponseHeader: HeaderCodec<ChangeInvisibleTimeResponseHeader> =
  defineCodec("ChangeInvisibleTimeResponseHeader", [
    ["popTime", "long", true],
    ["invisibleTime", "long", true],
    ["reviveQid", "int", true],
  ]);

/** PEEK_MESSAGE (200052) request header. */
export interface PeekMessageRequestHeader {
  /** Consumer group. */
  readonly consumerGroup: string;
  /** Topic. */
  readonly topic: string;
  /** Queue (-1 = every readable queue). */
  readonly queueId: number;
  /** Most messages wanted. */
  readonly maxMsgNums: number;
}

/** PEEK_MESSAGE request header codec. */
export const peekMessageRequestHeader: HeaderCodec<PeekMessageRequestHeader> = defineCodec(
  "PeekMessageRequestHeader",
  [
    ["consumerGroup", "string", true],
    ["topic", "string", true],
    ["queueId", "int", true],
    ["maxMsgNums", "int", true],
  ],
);

/** NOTIFICATION (200054) request header. */
export interface NotificationRequestHeader {
  /** Consumer group. */
  readonly consumerGroup: string;
  /** Topic. */
  readonly topic: string;
  /** Queue, or -1 for any. */
  readonly queueId: number;
  /** How long the broker may park the request, ms. */
  readonly pollTime: number;
  /** Client time, epoch ms. */
  readonly bornTime: number;
  /** FIFO: a blocked queue counts as empty. */
  readonly order?: boolean;
  /** FIFO attempt id. */
  readonly attemptId?: string;
}

/** NOTIFICATION request header codec. */
export const notificationRequestHeader: HeaderCodec<NotificationRequestHeader> = defineCodec(
  "NotificationRequestHeader",
  [
    ["consumerGroup", "string", true],
    ["topic", "string", true],
    ["queueId", "int", true],
    ["pollTime", "long", true],
    ["bornTime", "long", true],
    ["order", "bool", false],
    ["attemptId", "string", false],
  ],
);

/** NOTIFICATION response header. */
export interface NotificationResponseHeader {
  /** True if a pop would now find a message. */
  readonly hasMsg: boolean;
}

/** NOTIFICATION response header codec. */
export const notificationResponseHeader: HeaderCodec<NotificationResponseHeader> = defineCodec(
  "NotificationResponseHeader",
  [["hasMsg", "bool", true]],
);

/** A decoded receipt handle. */
export interface ReceiptHandle {
  /** First queue offset of the checkpoint. */
  readonly ckStartOffset: number;
  /** Pop time, epoch ms. */
  readonly popTime: number;
  /** Invisible time, ms. */
  readonly invisibleTime: number;
  /** Revive queue. */
  readonly reviveQid: number;
  /** 0 normal topic, 1 retry V1, 2 retry V2. */
  readonly topicType: number;
  /** Broker that popped the message. */
  readonly brokerName: string;
  /** Queue. */
  readonly queueId: number;
  /** Queue offset of the message. */
  readonly queueOffset: number;
}

/**
 * The receipt handle text of one message.
 *
 * @param handle The fields.
 * @returns The space-separated `extraInfo`.
 */
export function encodeReceiptHandle(handle: ReceiptHandle): string {
  return [
    handle.ckStartOffset,
    handle.popTime,
    handle.invisibleTime,
    handle.reviveQid,
    handle.topicType,
    handle.brokerName,
    handle.queueId,
    handle.queueOffset,
  ].join(" ");
}

const INTEGER = /^-?\d{1,16}$/;

/**
 * Parse a receipt handle (8 fields, or 9 with the proxy's CommitLog offset).
 *
 * @param text The `extraInfo`.
 * @returns The handle, or an error saying which field is bad.
 */
export function parseReceiptHandle(
  text: string,
): { ok: true; handle: ReceiptHandle } | { ok: false; error: string } {
  const parts = text.trim().split(" ");
  if (parts.length !== 8 && parts.length !== 9) {
    return { ok: false, error: `receipt handle has ${parts.length} fields, expected 8` };
  }
  const names = ["ckStartOffset", "popTime", "invisibleTime", "reviveQid", "topicType"];
  const numbers: number[] = [];
  for (const [i, name] of names.entries()) {
    if (!INTEGER.test(parts[i])) {
      return { ok: false, error: `receipt handle ${name} is not a number` };
    }
    numbers.push(Number(parts[i]));
  }
  if (!INTEGER.test(parts[6]) || !INTEGER.test(parts[7])) {
    return { ok: false, error: "receipt handle queueId/queueOffset is not a number" };
  }
  if (parts[5] === "") return { ok: false, error: "receipt handle brokerName is empty" };
  return {
    ok: true,
    handle: {
      ckStartOffset: numbers[0],
      popTime: numbers[1],
      invisibleTime: numbers[2],
      reviveQid: numbers[3],
      topicType: numbers[4],
      brokerName: parts[5],
      queueId: Number(parts[6]),
      queueOffset: Number(parts[7]),
    },
  };
}

/** One entry of an info string. */
export interface QueueInfo<T> {
  /** 0 normal topic, 1 retry V1, 2 retry V2. */
  readonly topicType: number;
  /** Queue. */
  readonly queueId: number;
  /** The value (start offset, offsets, or count). */
  readonly value: T;
}

/**
 * Build an info string.
 *
 * @param entries Entries.
 * @returns `;`-separated `"<t> <queueId> <value>"`.
 */
export function encodeQueueInfo(entries: readonly QueueInfo<number | readonly number[]>[]): string {
  return entries.map((e) =>
    `${e.topicType} ${e.queueId} ${Array.isArray(e.value) ? e.value.join(",") : e.value}`
  ).join(";");
}

/**
 * Parse an info string.
 *
 * @param text `;`-separated entries.
 * @returns Entries with their values as offset lists (one element for start offsets and counts).
 */
export function parseQueueInfo(text: string | undefined): QueueInfo<number[]>[] {
  if (text === undefined || text.trim() === "") return [];
  return text.split(";").map((entry) => {
    const [t, q, v] = entry.trim().split(" ");
    return {
      topicType: Number(t),
      queueId: Number(q),
      value: (v ?? "").split(",").filter((s) => s !== "").map(Number),
    };
  });
}

/** One checkpoint's acks in a BATCH_ACK_MESSAGE body (RocketMQ's `BatchAck`). */
export interface BatchAck {
  /** Consumer group. */
  readonly c: string;
  /** Topic (the original topic; `r` says whether it was the retry topic). */
  readonly t: string;
  /** "1" if popped from the pop retry topic. */
  readonly r: string;
  /** Checkpoint start offset. */
  readonly so: number;
  /** Queue. */
  readonly q: number;
  /** Revive queue. */
  readonly rq: number;
  /** Pop time. */
  readonly pt: number;
  /** Invisible time. */
  readonly it: number;
  /** Acked message indexes relative to `so`, as Java `BitSet.toByteArray()` in base64. */
  readonly b: string;
}

/** BATCH_ACK_MESSAGE body (RocketMQ's `BatchAckMessageRequestBody`). */
export interface BatchAckMessageRequestBody {
  /** Broker the acks are for. */
  readonly brokerName: string;
  /** Acks, one per checkpoint. */
  readonly acks: readonly BatchAck[];
}

/**
 * Encode acked offset distances as Java `BitSet.toByteArray()` in base64.
 *
 * @param indexes Bit indexes (offset - startOffset).
 * @returns Base64 text.
 */
export function encodeBitSet(indexes: readonly number[]): string {
  const max = indexes.reduce((m, i) => Math.max(m, i), -1);
  const bytes = new Uint8Array(max < 0 ? 0 : (max >> 3) + 1);
  for (const i of indexes) bytes[i >> 3] |= 1 << (i & 7);
  return btoa(String.fromCharCode(...bytes));
}

/**
 * Decode a base64 Java `BitSet.toByteArray()`.
 *
 * @param text Base64 text.
 * @returns The set bit indexes, ascending; undefined if the text is not base64.
 */
export function decodeBitSet(text: string): number[] | undefined {
  let raw: string;
  try {
    raw = atob(text);
  } catch {
    return undefined;
  }
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const byte = raw.charCodeAt(i);
    for (let bit = 0; bit < 8; bit++) if ((byte & (1 << bit)) !== 0) out.push(i * 8 + bit);
  }
  return out;
}
