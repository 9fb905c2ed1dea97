/**
 * ReceiveMessage, AckMessage, ChangeInvisibleDuration and
 * ForwardMessageToDeadLetterQueue: consumption by pop. A receive pops up to
 * `batch_size` messages that stay invisible to the group until acked or
 * until their invisible time ends (then they come back, with
 * `delivery_attempt` + 1); an empty pop is held (long polling) but always
 * answered before the client's deadline.
 *
 * Limits (grpc-compat.md pitfall 7): the official Node.js push consumer
 * asks for nack delays computed in seconds but sent as ms, so tiny invisible
 * times are clamped up to {@linkcode INVISIBLE_MIN_MS} rather than refused.
 * A push consumer sends no invisible time (`auto_renew`); it gets
 * {@linkcode INVISIBLE_DEFAULT_MS} (handles are not renewed by the front).
 *
 * @module
 */

import { create } from "@bufbuild/protobuf";
import { decodeRecord } from "../../client/protocol/message_record.ts";
import { toGrpcMessage } from "../domain/message_mapping.ts";
import {
  type AckMessageRequest,
  type AckMessageResponse,
  AckMessageResponseSchema,
  type AckMessageResultEntry,
  AckMessageResultEntrySchema,
  type ChangeInvisibleDurationRequest,
  type ChangeInvisibleDurationResponse,
  ChangeInvisibleDurationResponseSchema,
  type ForwardMessageToDeadLetterQueueRequest,
  type ForwardMessageToDeadLetterQueueResponse,
  ForwardMessageToDeadLetterQueueResponseSchema,
  type ReceiveMessageRequest,
  type ReceiveMessageResponse,
  ReceiveMessageResponseSchema,
  type Status,
} from "../domain/protocol.ts";
import type { BackendAckResult } from "../domain/backend.ts";
import { Code, okStatus, status } from "../domain/status.ts";
import { qualifiedName } from "../domain/namespace.ts";
import type { CallContext } from "./call_context.ts";
import type { FrontContext } from "./front_context.ts";
import { backendFilter, holdWithinDeadline } from "./pull_activity.ts";
import { durationMs } from "./telemetry_activity.ts";

/** Most messages one ReceiveMessage returns (the pop batch limit). */
export const RECEIVE_BATCH_MAX = 32;
/** Shortest invisible time; shorter requests are raised to it, ms. */
export const INVISIBLE_MIN_MS = 1_000;
/** Longest invisible time accepted, ms (12 h). */
export const INVISIBLE_MAX_MS = 12 * 3_600_000;
/** Invisible time of a receive that names none (push consumers), ms. */
export const INVISIBLE_DEFAULT_MS = 60_000;
/** Long polling of a receive that names none, ms. */
export const RECEIVE_POLL_DEFAULT_MS = 20_000;

function clampInvisible(ms: number): number {
  return Math.max(INVISIBLE_MIN_MS, ms);
}

function ackStatus(result: BackendAckResult): Status {
  switch (result.status) {
    case "OK":
      return okStatus();
    case "INVALID_HANDLE":
      return status(Code.INVALID_RECEIPT_HANDLE, result.remark);
    case "NOT_FOUND":
      return status(Code.MESSAGE_NOT_FOUND, result.remark);
    case "UNSUPPORTED":
      return status(Code.NOT_IMPLEMENTED, result.remark);
    case "ERROR":
      return status(Code.INTERNAL_SERVER_ERROR, result.remark);
  }
}

/** The pop-based consumer RPCs. */
export class ConsumerActivity {
  readonly #ctx: FrontContext;

  /** @param ctx The front's context. */
  constructor(ctx: FrontContext) {
    this.#ctx = ctx;
  }

  /** ReceiveMessage: status, then the messages (MESSAGE_NOT_FOUND when none). */
  async receiveMessage(
    request: ReceiveMessageRequest,
    call: CallContext,
    write: (response: ReceiveMessageResponse) => void,
  ): Promise<void> {
    const reply = (s: Status) =>
      write(create(ReceiveMessageResponseSchema, { content: { case: "status", value: s } }));
    const group = qualifiedName(request.group, call.namespace);
    const topicName = qualifiedName(request.messageQueue?.topic, call.namespace);
    if (group === "") return reply(status(Code.ILLEGAL_CONSUMER_GROUP, "group is empty"));
    const topic = topicName === "" ? undefined : await this.#ctx.backend.topic(topicName);
    if (topic === undefined) {
      return reply(status(Code.TOPIC_NOT_FOUND, `topic ${topicName} does not exist`));
    }
    if (!topic.readable) return reply(status(Code.FORBIDDEN, `topic ${topicName} is not readable`));
    const asked = request.invisibleDuration === undefined
      ? INVISIBLE_DEFAULT_MS
      : durationMs(request.invisibleDuration);
    if (asked > INVISIBLE_MAX_MS) {
      return reply(
        status(
          Code.ILLEGAL_INVISIBLE_TIME,
          `invisible_duration is ${asked} ms, limit is ${INVISIBLE_MAX_MS}`,
        ),
      );
    }
    const poll = request.longPollingTimeout === undefined
      ? RECEIVE_POLL_DEFAULT_MS
      : durationMs(request.longPollingTimeout);
    const result = await this.#ctx.backend.receive({
      group,
      topic: topicName,
      maxCount: Math.min(Math.max(request.batchSize, 1), RECEIVE_BATCH_MAX),
      invisibleMs: clampInvisible(asked),
      pollMs: holdWithinDeadline(poll, call, this.#ctx.nowMs()),
      filter: backendFilter(request.filterExpression),
      fifo: this.#ctx.backend.groupRetryPolicy(group, [topicName]).fifo,
      attemptId: request.attemptId,
      signal: call.signal,
    });
    switch (result.status) {
      case "EMPTY":
        return reply(status(Code.MESSAGE_NOT_FOUND, "no new message"));
      case "BAD_FILTER":
        return reply(status(Code.ILLEGAL_FILTER_EXPRESSION, result.remark));
      case "BUSY":
        return reply(status(Code.TOO_MANY_REQUESTS, result.remark));
      case "UNSUPPORTED":
        return reply(status(Code.NOT_IMPLEMENTED, result.remark));
      case "FOUND":
        reply(okStatus());
        for (const popped of result.messages) {
          write(create(ReceiveMessageResponseSchema, {
            content: {
              case: "message",
              value: toGrpcMessage(decodeRecord(popped.record), {
                receiptHandle: popped.receiptHandle,
                invisibleMs: result.invisibleMs,
                deliveryAttempt: popped.deliveryAttempt,
                namespace: call.namespace,
              }),
            },
          }));
        }
    }
  }

  /** AckMessage: each entry acked on its own; the top status sums them up. */
  async ackMessage(request: AckMessageRequest, call: CallContext): Promise<AckMessageResponse> {
    const group = qualifiedName(request.group, call.namespace);
    const topic = qualifiedName(request.topic, call.namespace);
    if (group === "" || topic === "") {
      return create(AckMessageResponseSchema, {
        status: status(Code.BAD_REQUEST, "group and topic are required"),
      });
    }
    const entries: AckMessageResultEntry[] = await Promise.all(
      request.entries.map(async (entry) =>
        create(AckMessageResultEntrySchema, {
          messageId: entry.messageId,
          receiptHandle: entry.receiptHandle,
          status: ackStatus(await this.#ctx.backend.ack(group, topic, entry.receiptHandle)),
        })
      ),
    );
    const failed = entries.filter((e) => e.status?.code !== Code.OK);
    const top = failed.length === 0
      ? okStatus()
      : entries.length === 1
      ? failed[0].status!
      : status(Code.MULTIPLE_RESULTS, `${failed.length} of ${entries.length} acks failed`);
    return create(AckMessageResponseSchema, { status: top, entries });
  }

  /** ChangeInvisibleDuration: a new invisible time from now, and a new handle. */
  async changeInvisibleDuration(
    request: ChangeInvisibleDurationRequest,
    call: CallContext,
  ): Promise<ChangeInvisibleDurationResponse> {
    const group = qualifiedName(request.group, call.namespace);
    const topic = qualifiedName(request.topic, call.namespace);
    if (group === "" || topic === "" || request.invisibleDuration === undefined) {
      return create(ChangeInvisibleDurationResponseSchema, {
        status: status(Code.BAD_REQUEST, "group, topic and invisible_duration are required"),
      });
    }
    const asked = durationMs(request.invisibleDuration);
    if (asked > INVISIBLE_MAX_MS) {
      return create(ChangeInvisibleDurationResponseSchema, {
        status: status(
          Code.ILLEGAL_INVISIBLE_TIME,
          `invisible_duration is ${asked} ms, limit is ${INVISIBLE_MAX_MS}`,
        ),
      });
    }
    const result = await this.#ctx.backend.changeInvisible(
      group,
      topic,
      request.receiptHandle,
      clampInvisible(asked),
    );
    if (result.status === "OK") {
      return create(ChangeInvisibleDurationResponseSchema, {
        status: okStatus(),
        receiptHandle: result.receiptHandle,
      });
    }
    return create(ChangeInvisibleDurationResponseSchema, { status: ackStatus(result) });
  }

  /** ForwardMessageToDeadLetterQueue: a FIFO consumer gave up on a message. */
  async forwardToDeadLetterQueue(
    request: ForwardMessageToDeadLetterQueueRequest,
    call: CallContext,
  ): Promise<ForwardMessageToDeadLetterQueueResponse> {
    const group = qualifiedName(request.group, call.namespace);
    const topic = qualifiedName(request.topic, call.namespace);
    if (group === "" || topic === "") {
      return create(ForwardMessageToDeadLetterQueueResponseSchema, {
        status: status(Code.BAD_REQUEST, "group and topic are required"),
      });
    }
    const result = await this.#ctx.backend.forwardToDeadLetter(group, topic, request.receiptHandle);
    return create(ForwardMessageToDeadLetterQueueResponseSchema, { status: ackStatus(result) });
  }
}
