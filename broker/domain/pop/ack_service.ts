/**
 * ACK_MESSAGE, BATCH_ACK_MESSAGE and CHANGE_MESSAGE_INVISIBLETIME as a domain
 * API (RocketMQ's `AckMessageProcessor` and `ChangeInvisibleTimeProcessor`).
 *
 * A receipt handle is checked before anything is written: it must parse,
 * name this broker and the request's queue and offset, the offset must lie
 * in the queue (else NO_MESSAGE), and the checkpoint must be one this
 * process popped and has not revived yet (or, for a handle popped before the
 * last restart, still be within its invisible time). A stale or forged
 * handle is refused and changes nothing; acking the same message twice is
 * harmless. An ack is a durable record in the revive queue (a timer message
 * due with its checkpoint); it is answered only once that record and the pop
 * offset past the message are durable, so an answered ack survives a crash.
 *
 * @module
 */

import {
  type BatchAck,
  decodeBitSet,
  parseReceiptHandle,
  POP_ORDER_REVIVE_QUEUE,
  type ReceiptHandle,
} from "../../../client/protocol/pop_headers.ts";
import {
  ackMessage,
  type AckMsg,
  checkpointKey,
  checkpointMessage,
  popRetryTopicOf,
} from "./revive_record.ts";
import { isPutOk, type PopContext } from "./pop_context.ts";

/** A handle claiming a pop time this far in the future is forged, ms. */
export const POP_TIME_FUTURE_SLACK_MS = 60_000;

/** One ack or change-invisible request. */
export interface AckRequest {
  /** Consumer group. */
  readonly group: string;
  /** Topic as the client sends it (original or pop retry topic). */
  readonly topic: string;
  /** Queue. */
  readonly queueId: number;
  /** Receipt handle. */
  readonly extraInfo: string;
  /** Queue offset. */
  readonly offset: number;
}

/** Outcome of an ack. */
export type AckResult =
  | { readonly status: "OK" }
  | { readonly status: "NO_MESSAGE" | "INVALID_HANDLE" | "PUT_FAILED"; readonly remark: string };

/** Outcome of a change of invisible time. */
export type ChangeInvisibleResult =
  | {
    readonly status: "OK";
    readonly popTime: number;
    readonly invisibleTime: number;
    readonly reviveQid: number;
  }
  | { readonly status: "NO_MESSAGE" | "INVALID_HANDLE" | "PUT_FAILED"; readonly remark: string };

type Checked =
  | {
    readonly ok: true;
    readonly handle: ReceiptHandle;
    readonly topic: string;
    readonly key: string;
    readonly alreadyAcked: boolean;
  }
  | {
    readonly ok: false;
    readonly status: "NO_MESSAGE" | "INVALID_HANDLE";
    readonly remark: string;
  };

/** Acks and invisible-time changes. Lives on the broker's main thread. */
export class AckService {
  readonly #ctx: PopContext;

  /** @param ctx The shared pop state. */
  constructor(ctx: PopContext) {
    this.#ctx = ctx;
  }

  /**
   * Ack one popped message.
   *
   * @param request The ack.
   * @returns OK, or why nothing was changed.
   */
  async ack(request: AckRequest): Promise<AckResult> {
    const parsed = parseReceiptHandle(request.extraInfo);
    if (!parsed.ok) return invalid(`Cannot ack: ${parsed.error}`);
    const checked = this.#check(request.group, request.topic, parsed.handle, request);
    if (!checked.ok) return { status: checked.status, remark: `Cannot ack: ${checked.remark}` };
    if (checked.alreadyAcked) return { status: "OK" };
    return await this.#write(request.group, checked.topic, checked.handle, [request.offset]);
  }

  /**
   * Ack several messages, one entry per checkpoint (BATCH_ACK_MESSAGE body).
   * Every entry is checked first; if any is stale or forged nothing is acked.
   *
   * @param brokerName The broker the body names.
   * @param acks The entries.
   * @returns OK, or why nothing was changed.
   */
  async batchAck(brokerName: string, acks: readonly BatchAck[]): Promise<AckResult> {
    const plans: { group: string; topic: string; handle: ReceiptHandle; offsets: number[] }[] = [];
    for (const entry of acks) {
      const indexes = typeof entry?.b === "string" ? decodeBitSet(entry.b) : undefined;
      if (indexes === undefined || typeof entry.c !== "string" || typeof entry.t !== "string") {
        return invalid("Cannot batch-ack: an entry is malformed");
      }
      const offsets: number[] = [];
      let handle: ReceiptHandle | undefined;
      for (const index of indexes) {
        const offset = Number(entry.so) + index;
        handle = {
          ckStartOffset: Number(entry.so),
          popTime: Number(entry.pt),
          invisibleTime: Number(entry.it),
          reviveQid: Number(entry.rq),
          topicType: entry.r === "1" ? 1 : 0,
          brokerName,
          queueId: Number(entry.q),
          queueOffset: offset,
        };
        const checked = this.#check(entry.c, entry.t, handle, { queueId: handle.queueId, offset });
        if (!checked.ok) {
          return { status: checked.status, remark: `Cannot batch-ack: ${checked.remark}` };
        }
        if (!checked.alreadyAcked) offsets.push(offset);
      }
      if (handle !== undefined && offsets.length > 0) {
        plans.push({
          group: entry.c,
          topic: this.#realTopic(entry.c, entry.t, handle),
          handle,
          offsets,
        });
      }
    }
    for (const plan of plans) {
      const result = await this.#write(plan.group, plan.topic, plan.handle, plan.offsets);
      if (result.status !== "OK") return result;
    }
    return { status: "OK" };
  }

  /**
   * Give one popped message a new invisible time from now: a new
   * single-message checkpoint, then an ack of the old handle. The new
   * handle is the old one with the returned popTime, invisibleTime and
   * reviveQid.
   *
   * @param request The message's handle.
   * @param invisibleTimeMs New invisible time from now, ms.
   * @returns The new handle fields, or why nothing was changed.
   */
  async changeInvisible(
    request: AckRequest,
    invisibleTimeMs: number,
  ): Promise<ChangeInvisibleResult> {
    const parsed = parseReceiptHandle(request.extraInfo);
    if (!parsed.ok) return invalid(`Cannot change invisible time: ${parsed.error}`);
    const checked = this.#check(request.group, request.topic, parsed.handle, request);
    const verb = "Cannot change invisible time";
    if (!checked.ok) return { status: checked.status, remark: `${verb}: ${checked.remark}` };
    if (checked.alreadyAcked) return invalid(`${verb}: the message was already acked`);
    const { handle, topic } = checked;
    const now = this.#ctx.clock.nowMs();
    if (handle.reviveQid === POP_ORDER_REVIVE_QUEUE) {
      const visibleMs = now + invisibleTimeMs;
      const changed = this.#ctx.orderInfos.changeInvisible(
        topic,
        request.group,
        request.queueId,
        request.offset,
        handle.popTime,
        visibleMs,
      );
      if (!changed) {
        return invalid(`${verb}: the ordered batch of this handle is no longer current`);
      }
      return {
        status: "OK",
        popTime: handle.popTime,
        invisibleTime: visibleMs - handle.popTime,
        reviveQid: POP_ORDER_REVIVE_QUEUE,
      };
    }
    const so = handle.ckStartOffset;
    const put = await this.#ctx.put(checkpointMessage({
      so,
      pt: now,
      it: invisibleTimeMs,
      bm: 0,
      n: 1,
      q: request.queueId,
      t: topic,
      c: request.group,
      ro: 0,
      d: [request.offset - so],
      bn: this.#ctx.brokerName,
      rp: 0,
    }, this.#ctx.reviveTarget(handle.reviveQid)));
    if (!isPutOk(put)) return { status: "PUT_FAILED", remark: `${verb}: ${put.status}` };
    this.#ctx.inFlight.add({
      group: request.group,
      topic,
      queueId: request.queueId,
      startOffset: so,
      popTime: now,
      invisibleTime: invisibleTimeMs,
      offsets: new Set([request.offset]),
    });
    const acked = await this.#write(request.group, topic, handle, [request.offset]);
    if (acked.status !== "OK") return acked;
    return {
      status: "OK",
      popTime: now,
      invisibleTime: invisibleTimeMs,
      reviveQid: handle.reviveQid,
    };
  }

  #realTopic(group: string, topic: string, handle: ReceiptHandle): string {
    return handle.topicType !== 0 && !topic.startsWith("%RETRY%")
      ? popRetryTopicOf(group, topic)
      : topic;
  }

  #check(
    group: string,
    clientTopic: string,
    handle: ReceiptHandle,
    request: { readonly queueId: number; readonly offset: number },
  ): Checked {
    const { store, brokerName, clock, inFlight, startedAtMs } = this.#ctx;
    if (handle.brokerName !== brokerName) {
      return bad(`receipt handle belongs to broker ${handle.brokerName}, not ${brokerName}`);
    }
    if (handle.queueId !== request.queueId || handle.queueOffset !== request.offset) {
      return bad(
        `receipt handle is for queue ${handle.queueId} offset ${handle.queueOffset}, not queue ${request.queueId} offset ${request.offset}`,
      );
    }
    const topic = this.#realTopic(group, clientTopic, handle);
    const min = store.getMinOffsetInQueue(topic, request.queueId);
    const max = store.getMaxOffsetInQueue(topic, request.queueId);
    if (request.offset < min || request.offset >= max) {
      return {
        ok: false,
        status: "NO_MESSAGE",
        remark:
          `offset ${request.offset} is outside [${min}, ${max}) of ${topic} queue ${request.queueId}`,
      };
    }
    const now = clock.nowMs();
    if (handle.popTime > now + POP_TIME_FUTURE_SLACK_MS || handle.invisibleTime < 0) {
      return bad("receipt handle has an impossible pop time or invisible time");
    }
    const key = checkpointKey(topic, group, request.queueId, handle.ckStartOffset, handle.popTime);
    if (handle.reviveQid === POP_ORDER_REVIVE_QUEUE) {
      return { ok: true, handle, topic, key, alreadyAcked: false };
    }
    if (handle.reviveQid < 0 || handle.reviveQid >= this.#ctx.reviveQueueNums) {
      return bad(`receipt handle names revive queue ${handle.reviveQid}`);
    }
    switch (inFlight.check(key, request.offset)) {
      case "KNOWN":
        return { ok: true, handle, topic, key, alreadyAcked: false };
      case "ALREADY_ACKED":
        return { ok: true, handle, topic, key, alreadyAcked: true };
      case "NOT_IN_CHECKPOINT":
        return bad(`offset ${request.offset} was not popped with this receipt handle`);
      case "UNKNOWN":
        // Popped before this process started: trust the fields while the handle is current.
        if (handle.popTime < startedAtMs && now < handle.popTime + handle.invisibleTime) {
          return { ok: true, handle, topic, key, alreadyAcked: false };
        }
        return bad(
          "receipt handle is stale (its invisible time ended and the message was handed out again, or it was replaced by a change of invisible time) or was never issued",
        );
    }
  }

  /** Write the ack record(s), then make the pop offset past them durable. */
  async #write(
    group: string,
    topic: string,
    handle: ReceiptHandle,
    offsets: readonly number[],
  ): Promise<AckResult> {
    const { put, brokerName, inFlight, orderInfos, popOffsets, store, polling } = this.#ctx;
    const queueId = handle.queueId;
    if (handle.reviveQid === POP_ORDER_REVIVE_QUEUE) {
      for (const offset of offsets) {
        const acked = orderInfos.ack(topic, group, queueId, offset, handle.popTime);
        if (acked.status !== "OK") return invalid(`Cannot ack: ${acked.remark}`);
        store.commitConsumerOffset(group, topic, queueId, acked.commitOffset);
      }
      await orderInfos.flushed();
      polling.wakeGroup(topic, group);
      return { status: "OK" };
    }
    const key = checkpointKey(topic, group, queueId, handle.ckStartOffset, handle.popTime);
    if (this.#ctx.buffer?.ack(key, offsets)) {
      for (const offset of offsets) inFlight.ack(key, offset);
      return { status: "OK" }; // merged into the held checkpoint: nothing to store
    }
    const ack: AckMsg = {
      ...(offsets.length === 1 ? { ao: offsets[0] } : { aol: offsets }),
      so: handle.ckStartOffset,
      c: group,
      t: topic,
      q: queueId,
      pt: handle.popTime,
      bn: brokerName,
    };
    const result = await put(
      ackMessage(ack, handle.invisibleTime, this.#ctx.reviveTarget(handle.reviveQid)),
    );
    if (!isPutOk(result)) return { status: "PUT_FAILED", remark: `Cannot ack: ${result.status}` };
    for (const offset of offsets) inFlight.ack(key, offset);
    if (this.#ctx.durableAcks) {
      await popOffsets.durablePast(group, topic, queueId, Math.max(...offsets));
    }
    return { status: "OK" };
  }
}

function invalid(remark: string): { status: "INVALID_HANDLE"; remark: string } {
  return { status: "INVALID_HANDLE", remark };
}

function bad(remark: string): Checked {
  return { ok: false, status: "INVALID_HANDLE", remark };
}
