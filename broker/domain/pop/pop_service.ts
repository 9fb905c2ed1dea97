/**
 * POP_MESSAGE and PEEK_MESSAGE as a domain API (RocketMQ's
 * `PopMessageProcessor`): the broker hands batches of a queue to any client
 * of a group; each batch stays invisible for `invisibleTime` and comes back
 * (through the pop retry topic) unless acked. The remoting controller and a
 * gRPC front both call this.
 *
 * Per pop: pick the revive queue (round robin; 999 for FIFO); read the pop
 * retry topic `%RETRY%<group>_<topic>` first with probability
 * {@linkcode POP_RETRY_FIRST_PROBABILITY}, else the topic first and the retry
 * topic only to fill the batch; `queueId = -1` walks every readable queue
 * from a random one. Per queue (skipped if another pop holds it): read from
 * the pop offset; store the checkpoint durably (timer message into the
 * revive queue, due at `popTime + invisibleTime - 1 s`); only then move the
 * pop offset past the batch. FIFO (`order`): no checkpoint; a queue whose
 * outstanding batch is still invisible is skipped; an expired one is popped
 * again, with its consume counts raised.
 *
 * @module
 */

import type { PopCheckPoint } from "./revive_record.ts";
import { checkpointMessage, popRetryTopicOf } from "./revive_record.ts";
import type { QueueInfo } from "../../../client/protocol/pop_headers.ts";
import { POP_INIT_MODE_MIN, POP_ORDER_REVIVE_QUEUE } from "../../../client/protocol/pop_headers.ts";
import type { MessageFilter } from "../../../store/mod.ts";
import type { PopContext } from "./pop_context.ts";
import { commitPopped, isPutOk } from "./pop_context.ts";
import type { ParkResult } from "./pop_long_polling.ts";

/** Share of pops that read the pop retry topic first (`popFromRetryProbability`, 20 %). */
export const POP_RETRY_FIRST_PROBABILITY = 0.2;

/** One pop request, decoded and validated by the caller. */
export interface PopRequest {
  /** Consumer group. */
  readonly group: string;
  /** Topic. */
  readonly topic: string;
  /** Queue, or -1 for any readable queue. */
  readonly queueId: number;
  /** Readable queues of the topic. */
  readonly readQueueNums: number;
  /** Most messages (1..32). */
  readonly maxCount: number;
  /** Invisible time, ms. */
  readonly invisibleTimeMs: number;
  /** Longest park when nothing is found, ms (0 = answer at once). */
  readonly pollTimeMs: number;
  /** 0 = MIN, 1 = MAX. */
  readonly initMode: number;
  /** The subscription filter; undefined = all. */
  readonly filter?: MessageFilter;
  /** FIFO pop. */
  readonly order: boolean;
  /** FIFO attempt id. */
  readonly attemptId?: string;
}

/** A popped message. */
export interface PoppedMessage {
  /** The stored record bytes. */
  readonly record: Uint8Array;
  /** 0 normal topic, 1 pop retry topic. */
  readonly topicType: number;
  /** Queue. */
  readonly queueId: number;
  /** Queue offset. */
  readonly queueOffset: number;
}

/** Outcome of a pop. */
export type PopResult =
  | {
    readonly status: "FOUND";
    readonly popTime: number;
    readonly invisibleTime: number;
    readonly reviveQid: number;
    readonly restNum: number;
    readonly messages: readonly PoppedMessage[];
    readonly startOffsetInfo: readonly QueueInfo<number>[];
    readonly msgOffsetInfo: readonly QueueInfo<number[]>[];
    readonly orderCountInfo: readonly QueueInfo<number>[];
  }
  | {
    /** Nothing now (`NOT_FOUND`), nothing within the poll time, or too many parked. */
    readonly status: "NOT_FOUND" | "POLLING_TIMEOUT" | "POLLING_FULL";
    readonly popTime: number;
    readonly invisibleTime: number;
    readonly reviveQid: number;
    readonly restNum: number;
  };

interface Collect {
  readonly request: PopRequest;
  readonly popTime: number;
  readonly reviveQid: number;
  readonly messages: PoppedMessage[];
  readonly startOffsetInfo: QueueInfo<number>[];
  readonly msgOffsetInfo: QueueInfo<number[]>[];
  readonly orderCountInfo: QueueInfo<number>[];
  /** Queues skipped because another pop held them. */
  readonly skipped: [string, number, number][];
  restNum: number;
}

/** Pops and peeks. Lives on the broker's main thread. */
export class PopService {
  readonly #ctx: PopContext;
  /** Queues being popped now, with the pop's completion. */
  readonly #busy = new Map<string, Promise<void>>();
  #reviveCounter = 0;

  /** @param ctx Store, tables and settings shared by the pop services. */
  constructor(ctx: PopContext) {
    this.#ctx = ctx;
  }

  /**
   * Pop, parking up to `pollTimeMs` when nothing is there.
   *
   * @param request The pop.
   * @returns The batch, or why there is none.
   */
  async pop(request: PopRequest): Promise<PopResult> {
    const deadline = this.#ctx.clock.nowMs() + request.pollTimeMs;
    for (;;) {
      const result = await this.popOnce(request);
      if (result.status === "FOUND" || request.pollTimeMs <= 0) return result;
      const left = deadline - this.#ctx.clock.nowMs();
      if (left <= 0) return { ...result, status: "POLLING_TIMEOUT" };
      const parked: ParkResult = await this.#ctx.polling.park({
        topics: [request.topic, popRetryTopicOf(request.group, request.topic)],
        group: request.group,
        queueId: request.queueId,
        timeoutMs: left,
        matchesTagsCode: request.filter === undefined
          ? undefined
          : (code) => request.filter!.matchesTagsCode(code),
      });
      if (parked === "FULL") return { ...result, status: "POLLING_FULL" };
      if (parked === "CLOSED") return result;
      if (parked === "TIMEOUT") {
        const last = await this.popOnce(request);
        return last.status === "FOUND" ? last : { ...last, status: "POLLING_TIMEOUT" };
      }
    }
  }

  /**
   * One pop attempt, no parking.
   *
   * @param request The pop.
   * @returns The batch or NOT_FOUND.
   */
  async popOnce(request: PopRequest): Promise<PopResult> {
    const { clock, topics, reviveQueueNums } = this.#ctx;
    const popTime = clock.nowMs();
    const reviveQid = request.order
      ? POP_ORDER_REVIVE_QUEUE
      : (this.#reviveCounter++ & 0x7fffffff) % reviveQueueNums;
    const c: Collect = {
      request,
      popTime,
      reviveQid,
      messages: [],
      startOffsetInfo: [],
      msgOffsetInfo: [],
      orderCountInfo: [],
      skipped: [],
      restNum: 0,
    };
    const retryTopic = popRetryTopicOf(request.group, request.topic);
    const retryQueues = request.order ? 0 : topics.get(retryTopic)?.readQueueNums ?? 0;
    const retryFirst = retryQueues > 0 && Math.random() < POP_RETRY_FIRST_PROBABILITY;
    if (retryFirst) await this.#popTopic(c, retryTopic, 1, -1, retryQueues);
    await this.#popTopic(c, request.topic, 0, request.queueId, request.readQueueNums);
    if (!retryFirst && retryQueues > 0) await this.#popTopic(c, retryTopic, 1, -1, retryQueues);
    // Every queue was busy with other pops: wait for them (milliseconds) rather than park.
    for (const [topic, topicType, queueId] of c.skipped) {
      if (c.messages.length > 0) break;
      await this.#busy.get(`${topic}@${request.group}@${queueId}`);
      await this.#popQueue(c, topic, topicType, queueId);
    }
    const base = { popTime, invisibleTime: request.invisibleTimeMs, reviveQid, restNum: c.restNum };
    if (c.messages.length === 0) return { status: "NOT_FOUND", ...base };
    return {
      status: "FOUND",
      ...base,
      messages: c.messages,
      startOffsetInfo: c.startOffsetInfo,
      msgOffsetInfo: c.msgOffsetInfo,
      orderCountInfo: c.orderCountInfo,
    };
  }

  async #popTopic(
    c: Collect,
    topic: string,
    topicType: number,
    queueId: number,
    queueNums: number,
  ): Promise<void> {
    if (queueId >= 0) return this.#popQueue(c, topic, topicType, queueId);
    const start = Math.floor(Math.random() * queueNums);
    for (let i = 0; i < queueNums && c.messages.length < c.request.maxCount; i++) {
      await this.#popQueue(c, topic, topicType, (start + i) % queueNums);
    }
  }

  /**
   * Where the next pop of a queue reads: the furthest of the group's
   * consumer offset and the pop offset; with neither, by `initMode`.
   *
   * @returns The queue offset.
   */
  startOffset(group: string, topic: string, queueId: number, initMode: number): number {
    const { store, popOffsets } = this.#ctx;
    const committed = store.queryConsumerOffset(group, topic, queueId);
    const popped = popOffsets.get(group, topic, queueId);
    if (committed === undefined && popped === undefined) {
      // Retry topics always start at their beginning: everything in them is for this group.
      if (initMode === POP_INIT_MODE_MIN || topic.startsWith("%RETRY%")) {
        return store.getMinOffsetInQueue(topic, queueId);
      }
      return Math.max(0, store.getMaxOffsetInQueue(topic, queueId) - 1);
    }
    return Math.max(committed ?? 0, popped ?? 0);
  }

  async #popQueue(c: Collect, topic: string, topicType: number, queueId: number): Promise<void> {
    const { request } = c;
    const lockKey = `${topic}@${request.group}@${queueId}`;
    if (this.#busy.has(lockKey)) {
      c.skipped.push([topic, topicType, queueId]);
      return;
    }
    const running = request.order
      ? this.#popOrderly(c, topic, queueId)
      : this.#popConcurrently(c, topic, topicType, queueId);
    const done = running.then(() => {}, () => {});
    this.#busy.set(lockKey, done);
    try {
      await running;
    } finally {
      this.#busy.delete(lockKey);
    }
  }

  async #popConcurrently(
    c: Collect,
    topic: string,
    topicType: number,
    queueId: number,
  ): Promise<void> {
    const { store, inFlight } = this.#ctx;
    const { request } = c;
    const offset = this.startOffset(request.group, topic, queueId, request.initMode);
    const result = await store.getMessage({
      group: request.group,
      topic,
      queueId,
      queueOffset: offset,
      maxCount: request.maxCount - c.messages.length,
      filter: request.filter,
    });
    if (result.status !== "FOUND" || result.messages.length === 0) {
      c.restNum += Math.max(0, result.maxOffset - offset);
      // Skip what cannot be read (filtered out, expired): the next pop starts past it.
      if (result.nextBeginOffset > offset && result.status !== "OFFSET_OVERFLOW_ONE") {
        this.#advance(request.group, topic, queueId, result.nextBeginOffset);
      }
      return;
    }
    c.restNum += Math.max(0, result.maxOffset - result.nextBeginOffset);
    const offsets = result.messages.map((m) => m.queueOffset);
    const ck: PopCheckPoint = {
      so: offset,
      pt: c.popTime,
      it: request.invisibleTimeMs,
      bm: 0,
      n: offsets.length,
      q: queueId,
      t: topic,
      c: request.group,
      ro: 0,
      d: offsets.map((o) => o - offset),
      bn: this.#ctx.brokerName,
      rp: 0,
    };
    const buffer = this.#ctx.buffer;
    if (buffer !== undefined && buffer.accepts(request.invisibleTimeMs)) {
      // Held in memory; the queue's durable offsets stay before it until it is resolved.
      buffer.hold(ck, c.reviveQid);
    } else {
      const put = await this.#ctx.put(checkpointMessage(ck, this.#ctx.reviveTarget(c.reviveQid)));
      // Without a durable checkpoint the batch would never come back: pop nothing.
      if (!isPutOk(put)) return;
    }
    inFlight.add({
      group: request.group,
      topic,
      queueId,
      startOffset: offset,
      popTime: c.popTime,
      invisibleTime: request.invisibleTimeMs,
      offsets: new Set(offsets),
    });
    this.#advance(request.group, topic, queueId, result.nextBeginOffset);
    for (const m of result.messages) {
      c.messages.push({ record: m.record, topicType, queueId, queueOffset: m.queueOffset });
    }
    c.startOffsetInfo.push({ topicType, queueId, value: offset });
    c.msgOffsetInfo.push({ topicType, queueId, value: offsets });
  }

  #advance(group: string, topic: string, queueId: number, offset: number): void {
    this.#ctx.popOffsets.advance(group, topic, queueId, offset);
    commitPopped(this.#ctx, group, topic, queueId);
  }

  async #popOrderly(c: Collect, topic: string, queueId: number): Promise<void> {
    const { store, orderInfos, clock } = this.#ctx;
    const { request } = c;
    const now = clock.nowMs();
    const outstanding = orderInfos.outstanding(topic, request.group, queueId);
    if (outstanding !== undefined && outstanding.unacked.some((u) => u.visibleMs > now)) {
      return; // blocked until the batch is acked or its invisible time ends
    }
    const offset = outstanding?.unacked[0].offset ??
      this.startOffset(request.group, topic, queueId, request.initMode);
    const wanted = outstanding === undefined
      ? request.maxCount - c.messages.length
      : outstanding.unacked[outstanding.unacked.length - 1].offset - offset + 1;
    const result = await store.getMessage({
      group: request.group,
      topic,
      queueId,
      queueOffset: offset,
      maxCount: Math.max(1, wanted),
      filter: outstanding === undefined ? request.filter : undefined,
    });
    if (result.status !== "FOUND" || result.messages.length === 0) {
      c.restNum += Math.max(0, result.maxOffset - offset);
      if (outstanding === undefined && result.nextBeginOffset > offset) {
        store.commitConsumerOffset(request.group, topic, queueId, result.nextBeginOffset);
      }
      return;
    }
    let messages = result.messages;
    if (outstanding !== undefined) {
      const again = new Set(outstanding.unacked.map((u) => u.offset));
      messages = messages.filter((m) => again.has(m.queueOffset));
      if (messages.length === 0) return;
    }
    c.restNum += Math.max(0, result.maxOffset - result.nextBeginOffset);
    const offsets = messages.map((m) => m.queueOffset);
    const counts = orderInfos.record(
      topic,
      request.group,
      queueId,
      offsets,
      c.popTime,
      request.invisibleTimeMs,
      request.attemptId,
    );
    if (outstanding === undefined) {
      // The group's offset stays at the batch start until it is acked.
      store.commitConsumerOffset(request.group, topic, queueId, offsets[0]);
    }
    for (const m of messages) {
      c.messages.push({ record: m.record, topicType: 0, queueId, queueOffset: m.queueOffset });
    }
    c.startOffsetInfo.push({ topicType: 0, queueId, value: offsets[0] });
    c.msgOffsetInfo.push({ topicType: 0, queueId, value: offsets });
    c.orderCountInfo.push({ topicType: 0, queueId, value: Math.max(...counts) });
  }

  /**
   * Read what the next pop would get, changing nothing.
   *
   * @param group Consumer group.
   * @param topic Topic.
   * @param queueIds Queues to read.
   * @param maxCount Most messages.
   * @returns Popped-message shaped records (no checkpoint).
   */
  async peek(
    group: string,
    topic: string,
    queueIds: readonly number[],
    maxCount: number,
  ): Promise<PoppedMessage[]> {
    const out: PoppedMessage[] = [];
    for (const queueId of queueIds) {
      if (out.length >= maxCount) break;
      const offset = this.startOffset(group, topic, queueId, POP_INIT_MODE_MIN);
      const result = await this.#ctx.store.getMessage({
        group,
        topic,
        queueId,
        queueOffset: offset,
        maxCount: maxCount - out.length,
      });
      for (const m of result.messages) {
        out.push({ record: m.record, topicType: 0, queueId, queueOffset: m.queueOffset });
      }
    }
    return out;
  }

  /**
   * Would a pop of the group find something now (NOTIFICATION)?
   *
   * @returns True if a queue (or the pop retry topic) has messages past the pop offset.
   */
  hasMessage(group: string, topic: string, queueIds: readonly number[], order: boolean): boolean {
    const { store, topics, orderInfos, clock } = this.#ctx;
    const now = clock.nowMs();
    for (const queueId of queueIds) {
      if (order && orderInfos.blocked(topic, group, queueId, now)) continue;
      const offset = this.startOffset(group, topic, queueId, POP_INIT_MODE_MIN);
      if (store.getMaxOffsetInQueue(topic, queueId) > offset) return true;
    }
    const retryTopic = popRetryTopicOf(group, topic);
    const retryQueues = order ? 0 : topics.get(retryTopic)?.readQueueNums ?? 0;
    for (let q = 0; q < retryQueues; q++) {
      if (store.getMaxOffsetInQueue(retryTopic, q) > this.startOffset(group, retryTopic, q, 0)) {
        return true;
      }
    }
    return false;
  }
}
