/**
 * The durable records of pop consumption: checkpoints (`ck`) and acks
 * (`ack`, `bAck`), stored as JSON bodies of messages in the revive topic
 * `rmq_sys_REVIVE_LOG_<cluster>` (RocketMQ's `PopCheckPoint` / `AckMsg`).
 * Each is put as a timer message, so it reaches its revive queue shortly
 * before the popped batch's invisible time ends: both at
 * `popTime + invisibleTime - 1000` (RocketMQ delays acks to the revive time
 * itself; one second earlier lets revive act at the revive time instead of
 * waiting for the timer to finish that tick). An ack answered later than
 * that is put into the revive queue at once.
 *
 * Checkpoint JSON (`PopCheckPoint`):
 *
 * | key  | field                                                     |
 * |------|-----------------------------------------------------------|
 * | `so` | start offset (the queue offset the pop read from)          |
 * | `pt` | pop time, epoch ms                                         |
 * | `it` | invisible time, ms                                         |
 * | `bm` | ack bitmap (always 0 here: acks are separate records)      |
 * | `n`  | message count                                              |
 * | `q`  | queue id                                                   |
 * | `t`  | topic (the pop retry topic for a retry)                    |
 * | `c`  | consumer group                                             |
 * | `ro` | revive offset (unused here, 0)                             |
 * | `d`  | per message: queueOffset - so                              |
 * | `bn` | broker name                                                |
 * | `rp` | re-put count                                               |
 *
 * Ack JSON (`AckMsg`): `ao` acked offset, `so` checkpoint start offset, `c`
 * group, `t` topic, `q` queue, `pt` pop time, `bn` broker name; a batch ack
 * (`bAck`) carries `aol`, the list of acked offsets, instead of `ao`.
 *
 * @module
 */

import { decodeRecord } from "../../../client/protocol/message_record.ts";
import {
  decodeProperties,
  encodeProperties,
  MessageConst,
} from "../../../client/protocol/properties.ts";
import type { HostAddress, MessageToPut } from "../../../store/mod.ts";

/** Prefix of the revive topic; the cluster name follows. */
export const REVIVE_TOPIC_PREFIX = "rmq_sys_REVIVE_LOG_";
/** The group the revive service reads revive queues as (its offsets are its progress). */
export const REVIVE_GROUP = "CID_RMQ_SYS_REVIVE_GROUP";
/** A checkpoint reaches its revive queue this long before its revive time, ms (`ackTimeInterval`). */
export const CK_AHEAD_MS = 1_000;
/** Tag of a checkpoint record. */
export const CK_TAG = "ck";
/** Tag of an ack record. */
export const ACK_TAG = "ack";
/** Tag of a batch ack record. */
export const BATCH_ACK_TAG = "bAck";

/** A popped batch (RocketMQ `PopCheckPoint`). */
export interface PopCheckPoint {
  /** Start offset. */
  readonly so: number;
  /** Pop time, epoch ms. */
  readonly pt: number;
  /** Invisible time, ms. */
  readonly it: number;
  /** Ack bitmap (0: acks travel as their own records). */
  readonly bm: number;
  /** Message count. */
  readonly n: number;
  /** Queue id. */
  readonly q: number;
  /** Topic popped (normal or pop retry topic). */
  readonly t: string;
  /** Consumer group. */
  readonly c: string;
  /** Revive offset (unused, 0). */
  readonly ro: number;
  /** Offsets relative to `so`. */
  readonly d: readonly number[];
  /** Broker name. */
  readonly bn: string;
  /** Re-put count. */
  readonly rp: number;
}

/** An ack of one message, or (with `aol`) several of one checkpoint. */
export interface AckMsg {
  /** Acked offset (single ack). */
  readonly ao?: number;
  /** Acked offsets (batch ack). */
  readonly aol?: readonly number[];
  /** Checkpoint start offset. */
  readonly so: number;
  /** Consumer group. */
  readonly c: string;
  /** Topic. */
  readonly t: string;
  /** Queue id. */
  readonly q: number;
  /** Pop time of the checkpoint. */
  readonly pt: number;
  /** Broker name. */
  readonly bn: string;
}

/**
 * The revive topic of a cluster.
 *
 * @param clusterName Cluster name.
 * @returns `rmq_sys_REVIVE_LOG_<cluster>`.
 */
export function reviveTopicOf(clusterName: string): string {
  return REVIVE_TOPIC_PREFIX + clusterName;
}

/**
 * The pop retry topic (V1) of a group and topic.
 *
 * @param group Consumer group.
 * @param topic Original topic.
 * @returns `%RETRY%<group>_<topic>`.
 */
export function popRetryTopicOf(group: string, topic: string): string {
  return `%RETRY%${group}_${topic}`;
}

/**
 * The key that ties acks to their checkpoint.
 *
 * @param topic Topic popped.
 * @param group Consumer group.
 * @param queueId Queue.
 * @param startOffset Checkpoint start offset.
 * @param popTime Pop time.
 * @returns `topic@group@queueId@startOffset@popTime`.
 */
export function checkpointKey(
  topic: string,
  group: string,
  queueId: number,
  startOffset: number,
  popTime: number,
): string {
  return `${topic}@${group}@${queueId}@${startOffset}@${popTime}`;
}

/** Revive time of a checkpoint: when its unacked messages come back. */
export function reviveTimeOf(ck: Pick<PopCheckPoint, "pt" | "it">): number {
  return ck.pt + ck.it;
}

/** Where and as what a revive record is put. */
export interface ReviveRecordTarget {
  /** Revive topic. */
  readonly reviveTopic: string;
  /** Revive queue. */
  readonly reviveQid: number;
  /** This broker's address (born host). */
  readonly storeHost: HostAddress;
  /** Broker time, epoch ms. */
  readonly nowMs: number;
}

function recordMessage(
  target: ReviveRecordTarget,
  tag: string,
  uniqKey: string,
  deliverMs: number,
  json: unknown,
): MessageToPut {
  const properties: Record<string, string> = {
    [MessageConst.TAGS]: tag,
    [MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX]: uniqKey,
    [MessageConst.TIMER_DELIVER_MS]: String(deliverMs),
  };
  return {
    topic: target.reviveTopic,
    queueId: target.reviveQid,
    flag: 0,
    body: new TextEncoder().encode(JSON.stringify(json)),
    properties: encodeProperties(properties),
    sysFlag: 0,
    bornTimestamp: target.nowMs,
    bornHost: target.storeHost,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  };
}

/**
 * The timer message that stores a checkpoint until its revive time.
 *
 * @param ck The checkpoint.
 * @param target Revive topic and queue.
 * @returns The message to put (through the timer-aware put).
 */
export function checkpointMessage(ck: PopCheckPoint, target: ReviveRecordTarget): MessageToPut {
  const key = checkpointKey(ck.t, ck.c, ck.q, ck.so, ck.pt);
  return recordMessage(target, CK_TAG, `${key}@${ck.bn}@ck`, reviveTimeOf(ck) - CK_AHEAD_MS, ck);
}

/**
 * The timer message that stores an ack until its checkpoint's revive time.
 *
 * @param ack The ack.
 * @param invisibleTime The checkpoint's invisible time (the ack is due with it).
 * @param target Revive topic and queue.
 * @returns The message to put.
 */
export function ackMessage(
  ack: AckMsg,
  invisibleTime: number,
  target: ReviveRecordTarget,
): MessageToPut {
  const batch = ack.aol !== undefined;
  const offsets = batch ? ack.aol!.join(",") : String(ack.ao);
  const key = `${ack.t}@${ack.q}@${offsets}@${ack.c}@${ack.pt}@${ack.bn}@${batch ? "bAck" : "ack"}`;
  return recordMessage(
    target,
    batch ? BATCH_ACK_TAG : ACK_TAG,
    key,
    ack.pt + invisibleTime - CK_AHEAD_MS,
    ack,
  );
}

/** A revive record read back. */
export type ReviveRecord =
  | { readonly kind: "ck"; readonly ck: PopCheckPoint; readonly storeTimestamp: number }
  | { readonly kind: "ack"; readonly ack: AckMsg; readonly storeTimestamp: number }
  | { readonly kind: "unknown" };

/**
 * Decode a stored revive-topic record.
 *
 * @param bytes The record bytes.
 * @returns The checkpoint or ack, or `unknown` for anything else.
 */
export function parseReviveRecord(bytes: Uint8Array): ReviveRecord {
  try {
    const record = decodeRecord(bytes);
    const tag = decodeProperties(record.properties).get(MessageConst.TAGS);
    const json = JSON.parse(new TextDecoder().decode(record.body));
    if (tag === CK_TAG && Array.isArray(json.d) && typeof json.t === "string") {
      return { kind: "ck", ck: json as PopCheckPoint, storeTimestamp: record.storeTimestamp };
    }
    if ((tag === ACK_TAG || tag === BATCH_ACK_TAG) && typeof json.t === "string") {
      return { kind: "ack", ack: json as AckMsg, storeTimestamp: record.storeTimestamp };
    }
  } catch {
    // Not ours or damaged: skipped.
  }
  return { kind: "unknown" };
}
