/**
 * Queue reads of the gRPC front's local mode: lite pull over the store and
 * the broker's long-polling service, and recall of delayed messages (a marker
 * for the timer service, see `timer_recall.ts`).
 *
 * @module
 */

import type {
  BackendHost,
  BackendPullRequest,
  BackendPullResult,
  BackendRecallResult,
} from "../../proxy/mod.ts";
import type { GetMessageResult } from "../../store/mod.ts";
import { compileSubscription } from "../domain/filter/message_filter.ts";
import { createRecallMarker } from "../domain/timer/timer_recall.ts";
import type { BrokerContext } from "./broker_context.ts";

/**
 * Lite pull: read a queue, holding an empty read in the broker's
 * long-polling service until a message arrives or `holdMs` passes.
 *
 * @param ctx The broker's object graph.
 * @param request What to read.
 * @returns The records, or why not.
 */
export async function pullQueue(
  ctx: BrokerContext,
  request: BackendPullRequest,
): Promise<BackendPullResult> {
  const compiled = request.filter === undefined
    ? undefined
    : compileSubscription(request.filter.type, request.filter.expression);
  if (compiled !== undefined && !compiled.ok) {
    return { status: "BAD_FILTER", remark: compiled.error };
  }
  const filter = compiled?.filter;
  const { store, config, pullHold } = ctx;
  const read = () =>
    store.getMessage({
      group: request.group,
      topic: request.topic,
      queueId: request.queueId,
      queueOffset: request.offset,
      maxCount: Math.max(1, Math.min(request.maxCount, config.pullMessagesMax)),
      filter,
    });
  let result = await read();
  if (result.messages.length === 0 && isWaitable(result) && request.holdMs > 0) {
    await new Promise<void>((resolve) => {
      if (request.signal.aborted) return resolve();
      request.signal.addEventListener("abort", () => resolve(), { once: true });
      const held = pullHold.hold({
        topic: request.topic,
        queueId: request.queueId,
        queueOffset: request.offset,
        channelId: `grpc:${request.group}`,
        matchesTagsCode: filter === undefined ? undefined : (code) => filter.matchesTagsCode(code),
        timeoutMs: Math.min(request.holdMs, config.pullSuspendMaxMs),
      }, () => resolve());
      if (held !== "HELD") return resolve();
      const maxOffset = store.getMaxOffsetInQueue(request.topic, request.queueId);
      if (maxOffset > request.offset) {
        pullHold.wakeQueue(request.topic, request.queueId, maxOffset);
      }
    });
    if (!request.signal.aborted) result = await read();
  }
  const records = result.messages.map((m) => m.record);
  const status = records.length > 0
    ? "FOUND"
    : result.status === "OFFSET_OVERFLOW_BADLY" || result.status === "OFFSET_TOO_SMALL"
    ? "OFFSET_ILLEGAL"
    : "NO_NEW_MESSAGE";
  return { status, records, nextOffset: result.nextBeginOffset };
}

/**
 * Put a recall marker for a delayed message not yet due (see `timer_recall.ts`).
 *
 * @param ctx The broker's object graph.
 * @param topic Its topic.
 * @param messageId Its UNIQ_KEY.
 * @param deliverMs Its due time.
 * @param bornHost Who asks.
 * @returns The outcome.
 */
export async function recallTimerMessage(
  ctx: BrokerContext,
  topic: string,
  messageId: string,
  deliverMs: number,
  bornHost: BackendHost,
): Promise<BackendRecallResult> {
  const nowMs = ctx.clock.nowMs();
  if (ctx.topics.get(topic) === undefined) {
    return { status: "NOT_FOUND", remark: `topic ${topic} does not exist` };
  }
  if (deliverMs <= nowMs) {
    return { status: "NOT_FOUND", remark: `message ${messageId} was due already` };
  }
  const result = await ctx.store.putMessage(
    createRecallMarker({ topic, uniqKey: messageId, deliverMs, bornHost, nowMs }),
  );
  if (result.status !== "PUT_OK" && result.status !== "FLUSH_DISK_TIMEOUT") {
    return { status: "INVALID", remark: `recall not stored: ${result.status}` };
  }
  return { status: "OK", messageId };
}

function isWaitable(result: GetMessageResult): boolean {
  return result.status === "OFFSET_OVERFLOW_ONE" || result.status === "NO_MESSAGE_IN_QUEUE" ||
    result.status === "NO_MATCHED_MESSAGE" || result.status === "OFFSET_FOUND_NULL" ||
    result.status === "NO_MATCHED_LOGIC_QUEUE";
}
