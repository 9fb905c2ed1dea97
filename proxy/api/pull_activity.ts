/**
 * Lite pull: PullMessage (streaming: status, messages, next offset),
 * UpdateOffset, GetOffset and QueryOffset, over the backend's queue reads
 * and committed offsets. The official Node.js client never calls these; the
 * Java client's PullConsumer does.
 *
 * @module
 */

import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { decodeRecord } from "../../client/protocol/message_record.ts";
import type { BackendFilter } from "../domain/backend.ts";
import { toGrpcMessage } from "../domain/message_mapping.ts";
import {
  type FilterExpression,
  FilterType,
  type GetOffsetRequest,
  type GetOffsetResponse,
  GetOffsetResponseSchema,
  type MessageQueue,
  type PullMessageRequest,
  type PullMessageResponse,
  PullMessageResponseSchema,
  QueryOffsetPolicy,
  type QueryOffsetRequest,
  type QueryOffsetResponse,
  QueryOffsetResponseSchema,
  type Status,
  type UpdateOffsetRequest,
  type UpdateOffsetResponse,
  UpdateOffsetResponseSchema,
} from "../domain/protocol.ts";
import { Code, okStatus, status } from "../domain/status.ts";
import { type NamedResource, qualifiedName } from "../domain/namespace.ts";
import type { CallContext } from "./call_context.ts";
import type { FrontContext } from "./front_context.ts";
import { durationMs } from "./telemetry_activity.ts";

/** Messages one PullMessage returns at most. */
export const PULL_BATCH_MAX = 1024;
/** Margin kept between a held poll's answer and the client's deadline, ms. */
export const DEADLINE_MARGIN_MS = 200;

/**
 * How long a poll may be held: the asked time, cut to end before the call's deadline.
 *
 * @param askedMs The client's long-polling timeout.
 * @param call The call.
 * @param nowMs Current time.
 * @returns The hold, ms (0 or more).
 */
export function holdWithinDeadline(askedMs: number, call: CallContext, nowMs: number): number {
  return Math.max(0, Math.min(askedMs, call.deadlineMs - nowMs - DEADLINE_MARGIN_MS));
}

/**
 * A filter expression as the backend takes it.
 *
 * @param expression The request's filter.
 * @returns The filter (undefined: everything).
 */
export function backendFilter(expression: FilterExpression | undefined): BackendFilter | undefined {
  if (expression === undefined || expression.expression === "") return undefined;
  return {
    type: expression.type === FilterType.SQL ? "SQL92" : "TAG",
    expression: expression.expression,
  };
}

/** The lite-pull RPCs. */
export class PullActivity {
  readonly #ctx: FrontContext;

  /** @param ctx The front's context. */
  constructor(ctx: FrontContext) {
    this.#ctx = ctx;
  }

  /** PullMessage: status first, then the messages, then the next offset. */
  async pullMessage(
    request: PullMessageRequest,
    call: CallContext,
    write: (response: PullMessageResponse) => void,
  ): Promise<void> {
    const reply = (s: Status) =>
      write(create(PullMessageResponseSchema, { content: { case: "status", value: s } }));
    const queue = this.#queue(request.group, request.messageQueue, call.namespace);
    if (typeof queue === "string") return reply(status(Code.BAD_REQUEST, queue));
    const offset = Number(request.offset);
    const asked = request.longPollingTimeout === undefined
      ? 0
      : durationMs(request.longPollingTimeout);
    const result = await this.#ctx.backend.pull({
      group: queue.group,
      topic: queue.topic,
      queueId: queue.queueId,
      offset,
      maxCount: Math.min(Math.max(request.batchSize, 1), PULL_BATCH_MAX),
      filter: backendFilter(request.filterExpression),
      holdMs: holdWithinDeadline(asked, call, this.#ctx.nowMs()),
      signal: call.signal,
    });
    if (result.status === "BAD_FILTER") {
      return reply(status(Code.ILLEGAL_FILTER_EXPRESSION, result.remark));
    }
    if (result.status === "UNSUPPORTED") return reply(status(Code.NOT_IMPLEMENTED, result.remark));
    if (result.status === "OFFSET_ILLEGAL") {
      reply(status(Code.ILLEGAL_OFFSET, `offset ${offset} is out of the queue's range`));
    } else if (result.records.length === 0) {
      reply(status(Code.MESSAGE_NOT_FOUND, "no new message"));
    } else {
      reply(okStatus());
      for (const record of result.records) {
        write(create(PullMessageResponseSchema, {
          content: {
            case: "message",
            value: toGrpcMessage(decodeRecord(record), { namespace: call.namespace }),
          },
        }));
      }
    }
    write(create(PullMessageResponseSchema, {
      content: { case: "nextOffset", value: BigInt(result.nextOffset) },
    }));
  }

  /** UpdateOffset: commit the group's offset of a queue. */
  updateOffset(request: UpdateOffsetRequest, call: CallContext): UpdateOffsetResponse {
    const queue = this.#queue(request.group, request.messageQueue, call.namespace);
    if (typeof queue === "string") {
      return create(UpdateOffsetResponseSchema, { status: status(Code.BAD_REQUEST, queue) });
    }
    const offset = Number(request.offset);
    if (!Number.isSafeInteger(offset) || offset < 0) {
      return create(UpdateOffsetResponseSchema, {
        status: status(Code.ILLEGAL_OFFSET, `offset ${request.offset} is not valid`),
      });
    }
    this.#ctx.backend.commitOffset(queue.group, queue.topic, queue.queueId, offset);
    return create(UpdateOffsetResponseSchema, { status: okStatus() });
  }

  /** GetOffset: the group's committed offset of a queue. */
  getOffset(request: GetOffsetRequest, call: CallContext): GetOffsetResponse {
    const queue = this.#queue(request.group, request.messageQueue, call.namespace);
    if (typeof queue === "string") {
      return create(GetOffsetResponseSchema, { status: status(Code.BAD_REQUEST, queue) });
    }
    const offset = this.#ctx.backend.committedOffset(queue.group, queue.topic, queue.queueId);
    if (offset === undefined) {
      return create(GetOffsetResponseSchema, {
        status: status(Code.OFFSET_NOT_FOUND, `group ${queue.group} has no offset for this queue`),
      });
    }
    return create(GetOffsetResponseSchema, { status: okStatus(), offset: BigInt(offset) });
  }

  /** QueryOffset: the beginning, the end, or the first offset at a time. */
  async queryOffset(
    request: QueryOffsetRequest,
    call: CallContext,
  ): Promise<QueryOffsetResponse> {
    const queue = this.#queue({ name: "-" }, request.messageQueue, call.namespace);
    if (typeof queue === "string") {
      return create(QueryOffsetResponseSchema, { status: status(Code.BAD_REQUEST, queue) });
    }
    const offsets = this.#ctx.backend.queueOffsets(queue.topic, queue.queueId)!;
    let offset: number;
    switch (request.queryOffsetPolicy) {
      case QueryOffsetPolicy.BEGINNING:
        offset = offsets.minOffset;
        break;
      case QueryOffsetPolicy.END:
        offset = offsets.maxOffset;
        break;
      case QueryOffsetPolicy.TIMESTAMP:
        if (request.timestamp === undefined) {
          return create(QueryOffsetResponseSchema, {
            status: status(Code.BAD_REQUEST, "policy TIMESTAMP needs a timestamp"),
          });
        }
        offset = await this.#ctx.backend.offsetByTime(
          queue.topic,
          queue.queueId,
          timestampDate(request.timestamp).getTime(),
        );
        break;
      default:
        return create(QueryOffsetResponseSchema, {
          status: status(Code.BAD_REQUEST, `unknown policy ${request.queryOffsetPolicy}`),
        });
    }
    return create(QueryOffsetResponseSchema, { status: okStatus(), offset: BigInt(offset) });
  }

  #queue(
    groupResource: NamedResource | undefined,
    queue: MessageQueue | undefined,
    namespace: string,
  ): { group: string; topic: string; queueId: number } | string {
    const group = qualifiedName(groupResource, namespace);
    if (group === "") return "group is empty";
    const topic = qualifiedName(queue?.topic, namespace);
    if (topic === "") return "message_queue.topic is empty";
    const queueId = queue!.id;
    if (this.#ctx.backend.queueOffsets(topic, queueId) === undefined) {
      return `topic ${topic} has no queue ${queueId}`;
    }
    return { group, topic, queueId };
  }
}
