/**
 * Pop consumption of the gRPC front's cluster mode: POP_MESSAGE to each
 * broker of a topic in turn (the last one asked holds the poll),
 * ACK_MESSAGE and CHANGE_MESSAGE_INVISIBLETIME to the broker a receipt
 * handle names. gRPC receipt handle = pop `extraInfo` + `" " +` CommitLog
 * offset, as in local mode.
 *
 * @module
 */

import type { BrokerPool } from "../../client/broker_pool.ts";
import { decodeRecord } from "../../client/protocol/message_record.ts";
import {
  ackMessageRequestHeader,
  changeInvisibleTimeRequestHeader,
  changeInvisibleTimeResponseHeader,
  encodeReceiptHandle,
  parseQueueInfo,
  parseReceiptHandle,
  POP_INIT_MODE_MIN,
  popMessageRequestHeader,
  popMessageResponseHeader,
} from "../../client/protocol/pop_headers.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type {
  BackendAckResult,
  BackendChangeInvisibleResult,
  BackendReceiveRequest,
  BackendReceiveResult,
  ReceivedRecord,
} from "../domain/backend.ts";

/** Pop, ack and change-invisible over remoting. */
export class ClusterPop {
  readonly #pool: BrokerPool;
  readonly #nowMs: () => number;
  readonly #turns = new Map<string, number>();

  /**
   * @param pool Broker channels by name.
   * @param nowMs Current time.
   */
  constructor(pool: BrokerPool, nowMs: () => number) {
    this.#pool = pool;
    this.#nowMs = nowMs;
  }

  /**
   * Pop from the topic's brokers, one after another, until one has messages;
   * the last one asked holds the poll.
   *
   * @param request What to pop.
   * @param brokers The topic's readable brokers.
   * @returns Messages with gRPC receipt handles.
   */
  async receive(
    request: BackendReceiveRequest,
    brokers: readonly string[],
  ): Promise<BackendReceiveResult> {
    if (brokers.length === 0) return { status: "EMPTY" };
    const turn = this.#turns.get(request.topic) ?? 0;
    this.#turns.set(request.topic, (turn + 1) % 0x4000_0000);
    for (let i = 0; i < brokers.length; i++) {
      const broker = brokers[(turn + i) % brokers.length];
      const last = i === brokers.length - 1;
      const result = await this.#popFrom(broker, request, last ? request.pollMs : 0);
      if (result.status !== "EMPTY" || last) return result;
    }
    return { status: "EMPTY" };
  }

  async #popFrom(
    broker: string,
    request: BackendReceiveRequest,
    pollMs: number,
  ): Promise<BackendReceiveResult> {
    let response;
    try {
      response = await this.#pool.client(broker).request(
        RequestCode.POP_MESSAGE,
        popMessageRequestHeader.encode({
          consumerGroup: request.group,
          topic: request.topic,
          queueId: -1,
          maxMsgNums: request.maxCount,
          invisibleTime: request.invisibleMs,
          pollTime: pollMs,
          bornTime: this.#nowMs(),
          initMode: POP_INIT_MODE_MIN,
          expType: request.filter?.type,
          exp: request.filter?.expression,
          order: request.fifo,
          attemptId: request.attemptId,
        }),
        undefined,
        { timeoutMs: pollMs + 3_000, signal: request.signal },
      );
    } catch (error) {
      return { status: "BUSY", remark: (error as Error).message };
    }
    if (response.code !== ResponseCode.SUCCESS) return { status: "EMPTY" };
    const decoded = popMessageResponseHeader.decode(response.extFields);
    if (!decoded.ok) return { status: "BUSY", remark: decoded.error };
    const h = decoded.header;
    const key = (topicType: number, queueId: number) => `${topicType} ${queueId}`;
    const starts = new Map(
      parseQueueInfo(h.startOffsetInfo).map((e) => [key(e.topicType, e.queueId), e.value[0]]),
    );
    const messages: ReceivedRecord[] = [];
    const body = response.body ?? new Uint8Array(0);
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    for (let at = 0; at + 4 <= body.length;) {
      const size = view.getInt32(at);
      if (size <= 0 || at + size > body.length) break;
      const record = body.slice(at, at + size);
      at += size;
      let decodedRecord;
      try {
        decodedRecord = decodeRecord(record);
      } catch {
        break;
      }
      const { queueId, queueOffset, commitLogOffset } = decodedRecord;
      const topicType = decodedRecord.topic.startsWith("%RETRY%") ? 1 : 0;
      const extraInfo = encodeReceiptHandle({
        ckStartOffset: starts.get(key(topicType, queueId)) ?? queueOffset,
        popTime: h.popTime,
        invisibleTime: h.invisibleTime,
        reviveQid: h.reviveQid,
        topicType,
        brokerName: broker,
        queueId,
        queueOffset,
      });
      messages.push({
        record,
        receiptHandle: `${extraInfo} ${commitLogOffset}`,
      });
    }
    return messages.length === 0
      ? { status: "EMPTY" }
      : { status: "FOUND", messages, invisibleMs: h.invisibleTime };
  }

  /**
   * Ack on the broker the receipt handle names.
   *
   * @param group Consumer group.
   * @param topic Topic.
   * @param receiptHandle gRPC receipt handle.
   * @returns The outcome.
   */
  async ack(group: string, topic: string, receiptHandle: string): Promise<BackendAckResult> {
    const parsed = parseReceiptHandle(receiptHandle);
    if (!parsed.ok) return { status: "INVALID_HANDLE", remark: parsed.error };
    const h = parsed.handle;
    try {
      const response = await this.#pool.client(h.brokerName).request(
        RequestCode.ACK_MESSAGE,
        ackMessageRequestHeader.encode({
          consumerGroup: group,
          topic,
          queueId: h.queueId,
          extraInfo: encodeReceiptHandle(h),
          offset: h.queueOffset,
        }),
      );
      if (response.code === ResponseCode.SUCCESS) return { status: "OK" };
      return { status: "INVALID_HANDLE", remark: response.remark ?? `code ${response.code}` };
    } catch (error) {
      return { status: "ERROR", remark: (error as Error).message };
    }
  }

  /**
   * Change the invisible time on the broker the receipt handle names.
   *
   * @param group Consumer group.
   * @param topic Topic.
   * @param receiptHandle gRPC receipt handle.
   * @param invisibleMs New invisible time, ms.
   * @returns The new handle.
   */
  async changeInvisible(
    group: string,
    topic: string,
    receiptHandle: string,
    invisibleMs: number,
  ): Promise<BackendChangeInvisibleResult> {
    const parsed = parseReceiptHandle(receiptHandle);
    if (!parsed.ok) return { status: "INVALID_HANDLE", remark: parsed.error };
    const h = parsed.handle;
    try {
      const response = await this.#pool.client(h.brokerName).request(
        RequestCode.CHANGE_MESSAGE_INVISIBLETIME,
        changeInvisibleTimeRequestHeader.encode({
          consumerGroup: group,
          topic,
          queueId: h.queueId,
          extraInfo: encodeReceiptHandle(h),
          offset: h.queueOffset,
          invisibleTime: invisibleMs,
        }),
      );
      if (response.code !== ResponseCode.SUCCESS) {
        return { status: "INVALID_HANDLE", remark: response.remark ?? `code ${response.code}` };
      }
      const decoded = changeInvisibleTimeResponseHeader.decode(response.extFields);
      if (!decoded.ok) return { status: "ERROR", remark: decoded.error };
      const next = encodeReceiptHandle({ ...h, ...decoded.header });
      return { status: "OK", receiptHandle: `${next} ${receiptHandle.trim().split(" ")[8] ?? 0}` };
    } catch (error) {
      return { status: "ERROR", remark: (error as Error).message };
    }
  }
}
