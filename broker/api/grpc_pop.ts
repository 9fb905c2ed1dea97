/**
 * Local mode of the gRPC front's consumer RPCs: ReceiveMessage, AckMessage,
 * ChangeInvisibleDuration and ForwardMessageToDeadLetterQueue over the
 * broker's pop service (domain objects, no remoting).
 *
 * gRPC receipt handle = the pop receipt handle (`extraInfo`, 8 fields:
 * checkpoint start offset, pop time, invisible time, revive queue, topic
 * type, broker name, queue id, queue offset) + `" " +` the message's
 * CommitLog offset, as RocketMQ's proxy builds it (spec §11.3); the last
 * field lets a dead-letter forward find the message.
 *
 * @module
 */

import { getInt64, RecordPos } from "../../client/protocol/message_record.ts";
import type {
  BackendAckResult,
  BackendChangeInvisibleResult,
  BackendReceiveRequest,
  BackendReceiveResult,
  ReceivedRecord,
} from "../../proxy/mod.ts";
import type { MessageFilter } from "../../store/mod.ts";
import { compileSubscription } from "../domain/filter/message_filter.ts";
import type { SendBackService } from "../domain/retry/send_back.ts";
import type { TopicTable } from "../domain/topic_table.ts";

/** `initMode` of a pop: a group that never consumed starts at the oldest retained message. */
const POP_INIT_MODE_MIN = 0;

/** One entry of a pop result's per-queue info. */
interface QueueInfoLike<T> {
  readonly topicType: number;
  readonly queueId: number;
  readonly value: T;
}

/** The pop service as this bridge uses it (the broker's `PopService`). */
export interface PopServicePort {
  pop(request: {
    group: string;
    topic: string;
    queueId: number;
    readQueueNums: number;
    maxCount: number;
    invisibleTimeMs: number;
    pollTimeMs: number;
    initMode: number;
    filter?: MessageFilter;
    order: boolean;
    attemptId?: string;
  }): Promise<
    | {
      readonly status: "FOUND";
      readonly popTime: number;
      readonly invisibleTime: number;
      readonly reviveQid: number;
      readonly messages: readonly {
        readonly record: Uint8Array;
        readonly topicType: number;
        readonly queueId: number;
        readonly queueOffset: number;
      }[];
      readonly startOffsetInfo: readonly QueueInfoLike<number>[];
      readonly orderCountInfo: readonly QueueInfoLike<number>[];
    }
    | { readonly status: "NOT_FOUND" | "POLLING_TIMEOUT" | "POLLING_FULL" }
  >;
}

/** An ack or change-invisible request of the pop domain. */
interface AckRequestLike {
  group: string;
  topic: string;
  queueId: number;
  extraInfo: string;
  offset: number;
}

/** The ack service as this bridge uses it (the broker's `AckService`). */
export interface AckServicePort {
  ack(request: AckRequestLike): Promise<
    { readonly status: "OK" } | { readonly status: string; readonly remark: string }
  >;
  changeInvisible(request: AckRequestLike, invisibleTimeMs: number): Promise<
    | {
      readonly status: "OK";
      readonly popTime: number;
      readonly invisibleTime: number;
      readonly reviveQid: number;
    }
    | { readonly status: string; readonly remark: string }
  >;
}

/** A parsed gRPC receipt handle. */
interface GrpcHandle {
  /** The pop `extraInfo` (8 fields). */
  readonly extraInfo: string;
  readonly fields: readonly string[];
  readonly queueId: number;
  readonly queueOffset: number;
  /** CommitLog offset of the message. */
  readonly commitLogOffset: number;
}

function parseGrpcHandle(handle: string): GrpcHandle | undefined {
  const fields = handle.trim().split(" ");
  if (fields.length !== 9) return undefined;
  const numbers = [0, 1, 2, 3, 4, 6, 7, 8].map((i) => Number(fields[i]));
  if (!numbers.every(Number.isSafeInteger) || fields[5] === "") return undefined;
  return {
    extraInfo: fields.slice(0, 8).join(" "),
    fields,
    queueId: Number(fields[6]),
    queueOffset: Number(fields[7]),
    commitLogOffset: Number(fields[8]),
  };
}

function failure(status: string, remark: string): BackendAckResult {
  if (status === "INVALID_HANDLE") return { status: "INVALID_HANDLE", remark };
  if (status === "NO_MESSAGE") return { status: "NOT_FOUND", remark };
  return { status: "ERROR", remark };
}

const BAD_HANDLE: BackendAckResult = {
  status: "INVALID_HANDLE",
  remark: "receipt_handle is not one this broker issued",
};

/** The consumer RPCs of the gRPC front, over the broker's pop domain. */
export class GrpcPopBridge {
  readonly #topics: TopicTable;
  readonly #brokerName: string;
  readonly #pop: PopServicePort;
  readonly #ack: AckServicePort;
  readonly #dlq: SendBackService;

  /**
   * @param topics The topic table.
   * @param brokerName This broker's name (receipt handles).
   * @param pop The pop service.
   * @param ack The ack service.
   * @param dlq Send-back (dead-letter forwards).
   */
  constructor(
    topics: TopicTable,
    brokerName: string,
    pop: PopServicePort,
    ack: AckServicePort,
    dlq: SendBackService,
  ) {
    this.#topics = topics;
    this.#brokerName = brokerName;
    this.#pop = pop;
    this.#ack = ack;
    this.#dlq = dlq;
  }

  /**
   * Pop from every readable queue of the topic.
   *
   * @param request What to pop.
   * @returns Messages with gRPC receipt handles.
   */
  async receive(request: BackendReceiveRequest): Promise<BackendReceiveResult> {
    const config = this.#topics.get(request.topic);
    if (config === undefined) return { status: "EMPTY" };
    let filter: MessageFilter | undefined;
    if (request.filter !== undefined) {
      const compiled = compileSubscription(request.filter.type, request.filter.expression);
      if (!compiled.ok) return { status: "BAD_FILTER", remark: compiled.error };
      filter = compiled.filter;
    }
    // A held pop is given up when the call ends (client gone, server closing); messages the pop
    // takes after that stay invisible until their invisible time ends, then come back.
    const aborted = new Promise<undefined>((resolve) => {
      if (request.signal.aborted) resolve(undefined);
      request.signal.addEventListener("abort", () => resolve(undefined), { once: true });
    });
    const result = await Promise.race([
      aborted,
      this.#pop.pop({
        group: request.group,
        topic: request.topic,
        queueId: -1,
        readQueueNums: config.readQueueNums,
        maxCount: request.maxCount,
        invisibleTimeMs: request.invisibleMs,
        pollTimeMs: request.pollMs,
        initMode: POP_INIT_MODE_MIN,
        filter,
        order: request.fifo,
        attemptId: request.attemptId,
      }),
    ]);
    if (result === undefined) return { status: "EMPTY" };
    if (result.status === "POLLING_FULL") {
      return { status: "BUSY", remark: "too many receives are waiting; retry later" };
    }
    if (result.status !== "FOUND") return { status: "EMPTY" };
    const key = (info: { topicType: number; queueId: number }) =>
      `${info.topicType} ${info.queueId}`;
    const starts = new Map(result.startOffsetInfo.map((e) => [key(e), e.value]));
    const counts = new Map(result.orderCountInfo.map((e) => [key(e), e.value]));
    const messages: ReceivedRecord[] = result.messages.map((m) => {
      const view = new DataView(m.record.buffer, m.record.byteOffset, m.record.byteLength);
      const commitLogOffset = getInt64(view, RecordPos.PHYSICAL_OFFSET);
      const handle = [
        starts.get(key(m)) ?? m.queueOffset,
        result.popTime,
        result.invisibleTime,
        result.reviveQid,
        m.topicType,
        this.#brokerName,
        m.queueId,
        m.queueOffset,
        commitLogOffset,
      ].join(" ");
      const count = counts.get(key(m));
      return {
        record: m.record,
        receiptHandle: handle,
        deliveryAttempt: count === undefined ? undefined : count + 1,
      };
    });
    return { status: "FOUND", messages, invisibleMs: result.invisibleTime };
  }

  /**
   * Ack one popped message.
   *
   * @param group Consumer group.
   * @param topic Topic as received.
   * @param receiptHandle gRPC receipt handle.
   * @returns The outcome.
   */
  async ack(group: string, topic: string, receiptHandle: string): Promise<BackendAckResult> {
    const handle = parseGrpcHandle(receiptHandle);
    if (handle === undefined) return BAD_HANDLE;
    const result = await this.#ack.ack({
      group,
      topic,
      queueId: handle.queueId,
      extraInfo: handle.extraInfo,
      offset: handle.queueOffset,
    });
    return result.status === "OK"
      ? { status: "OK" }
      : failure(result.status, (result as { remark: string }).remark);
  }

  /**
   * Change a popped message's invisible time.
   *
   * @param group Consumer group.
   * @param topic Topic as received.
   * @param receiptHandle gRPC receipt handle.
   * @param invisibleMs New invisible time from now, ms.
   * @returns The new handle.
   */
  async changeInvisible(
    group: string,
    topic: string,
    receiptHandle: string,
    invisibleMs: number,
  ): Promise<BackendChangeInvisibleResult> {
    const handle = parseGrpcHandle(receiptHandle);
    if (handle === undefined) return BAD_HANDLE as BackendChangeInvisibleResult;
    const result = await this.#ack.changeInvisible({
      group,
      topic,
      queueId: handle.queueId,
      extraInfo: handle.extraInfo,
      offset: handle.queueOffset,
    }, invisibleMs);
    if (result.status !== "OK") {
      return failure(
        result.status,
        (result as { remark: string }).remark,
      ) as BackendChangeInvisibleResult;
    }
    const changed = result as { popTime: number; invisibleTime: number; reviveQid: number };
    const f = handle.fields;
    const next = [
      f[0],
      changed.popTime,
      changed.invisibleTime,
      changed.reviveQid,
      f[4],
      f[5],
      f[6],
      f[7],
      f[8],
    ].join(" ");
    return { status: "OK", receiptHandle: next };
  }

  /**
   * Move a popped message to `%DLQ%<group>`, then ack it.
   *
   * @param group Consumer group.
   * @param topic Topic as received.
   * @param receiptHandle gRPC receipt handle.
   * @returns The outcome.
   */
  async forwardToDeadLetter(
    group: string,
    topic: string,
    receiptHandle: string,
  ): Promise<BackendAckResult> {
    const handle = parseGrpcHandle(receiptHandle);
    if (handle === undefined) return BAD_HANDLE;
    const sent = await this.#dlq.sendBack({
      commitLogOffset: handle.commitLogOffset,
      group,
      delayLevel: -1,
    });
    if (sent.status !== "PUT_OK") return failure(sent.status, sent.remark);
    return await this.ack(group, topic, receiptHandle);
  }
}
