/**
 * The long-polling pull loop of one owned queue (RocketMQ's
 * `PullMessageService` + `PullAPIWrapper`): pull from `nextPullOffset`,
 * piggy-back the commit offset, pause while the queue's buffer is full, back
 * off on errors, follow OFFSET_MOVED.
 *
 * @module
 */

import { type BrokerAccess, channelOf } from "./brokers.ts";
import { decodeReceivedMessages, type ReceivedMessage } from "../message.ts";
import {
  pullMessageRequestHeader,
  pullMessageResponseHeader,
  PullSysFlag,
} from "../protocol/headers.ts";
import type { RemotingCommand } from "../protocol/remoting_command.ts";
import { RequestCode } from "../protocol/request_code.ts";
import { ResponseCode } from "../protocol/response_code.ts";
import type { ProcessQueue } from "./process_queue.ts";

/** Delay before re-pulling after an error, ms. */
export const PULL_ERROR_BACKOFF_MS = 1_000;

/** What a pull loop needs from its consumer. */
export interface PullContext {
  /** The broker channel. */
  readonly client: BrokerAccess;
  /** The consumer group. */
  readonly group: string;
  /** Subscription version sent with each pull. */
  readonly subVersion: number;
  /** Messages per pull. */
  readonly pullBatchSize: number;
  /** How long the broker may park a pull, ms. */
  readonly suspendTimeoutMs: number;
  /** How long the client waits for a pull, ms. */
  readonly pullTimeoutMs: number;
  /** Buffered messages per queue above which pulling pauses. */
  readonly bufferedMax: number;
  /** True if pulls carry the commit offset (remote offset store). */
  readonly commitWithPull: boolean;
  /** True once the consumer is closing. */
  isClosed(): boolean;
  /** May this queue be pulled now (orderly: lock current)? */
  deliverable(pq: ProcessQueue, nowMs: number): boolean;
  /** Hand a pulled, filtered, non-empty batch to the delivery buffer. */
  deliver(pq: ProcessQueue, messages: ReceivedMessage[]): void;
  /** Store the queue's consumed offset now. */
  commit(pq: ProcessQueue): Promise<void>;
}

/**
 * Decode a pulled body and re-check tags (the broker filters by tag hash code).
 *
 * @param pq The queue's state.
 * @param body The response body.
 * @returns The messages, or undefined if the body cannot be decoded.
 */
export function decodePulled(
  pq: ProcessQueue,
  body: Uint8Array | undefined,
): ReceivedMessage[] | undefined {
  let messages: ReceivedMessage[];
  try {
    // Lazy: a message's fields are read from the pulled bytes only when accessed.
    messages = body === undefined ? [] : decodeReceivedMessages(body, pq.queue.brokerName);
  } catch {
    return undefined;
  }
  const tags = pq.subscription.tags;
  if (tags.length > 0) messages = messages.filter((message) => tags.includes(message.tags ?? ""));
  return messages;
}

function accept(
  ctx: PullContext,
  pq: ProcessQueue,
  body: Uint8Array | undefined,
  nextBeginOffset: number,
): void {
  const messages = decodePulled(pq, body);
  // A body we cannot decode: skip nothing, pull the same range again after the backoff.
  if (messages === undefined) return;
  pq.nextPullOffset = nextBeginOffset;
  if (messages.length === 0) {
    if (pq.drained) pq.markDone(nextBeginOffset);
    return;
  }
  ctx.deliver(pq, messages);
}

/**
 * Pull one queue until it is given up or the consumer closes.
 *
 * @param ctx The consumer side.
 * @param pq The queue's state.
 */
export async function pullLoop(ctx: PullContext, pq: ProcessQueue): Promise<void> {
  const signal = pq.controller.signal;
  const subscription = pq.subscription;
  while (pq.active && !ctx.isClosed()) {
    if (pq.buffered >= ctx.bufferedMax) {
      await new Promise<void>((resolve) => (pq.resume = resolve));
      pq.resume = undefined;
      continue;
    }
    if (!ctx.deliverable(pq, performance.now())) {
      // Orderly: pull only queues whose lock is current.
      await pause(PULL_ERROR_BACKOFF_MS, signal);
      continue;
    }
    let response: RemotingCommand;
    const commitOffset = pq.consumedOffset;
    const commitFlag = ctx.commitWithPull ? PullSysFlag.COMMIT_OFFSET : 0;
    try {
      response = await channelOf(ctx.client, pq.queue.brokerName).request(
        RequestCode.PULL_MESSAGE,
        pullMessageRequestHeader.encode({
          consumerGroup: ctx.group,
          topic: pq.queue.topic,
          queueId: pq.queue.queueId,
          queueOffset: pq.nextPullOffset,
          maxMsgNums: ctx.pullBatchSize,
          sysFlag: PullSysFlag.SUSPEND | PullSysFlag.SUBSCRIPTION | commitFlag,
          commitOffset,
          suspendTimeoutMillis: ctx.suspendTimeoutMs,
          subscription: subscription.expression,
          subVersion: ctx.subVersion,
          expressionType: subscription.type,
        }),
        undefined,
        { timeoutMs: ctx.pullTimeoutMs, signal },
      );
    } catch {
      if (!pq.active || ctx.isClosed()) return;
      await pause(PULL_ERROR_BACKOFF_MS, signal);
      continue;
    }
    if (!pq.active) return;
    const header = pullMessageResponseHeader.decode(response.extFields);
    switch (response.code) {
      case ResponseCode.SUCCESS: {
        if (!header.ok) {
          await pause(PULL_ERROR_BACKOFF_MS, signal);
          continue;
        }
        // The broker stored commitOffset with this pull.
        if (ctx.commitWithPull && commitOffset > pq.committedOffset) {
          pq.committedOffset = commitOffset;
        }
        accept(ctx, pq, response.body, header.header.nextBeginOffset);
        break;
      }
      case ResponseCode.PULL_NOT_FOUND:
      case ResponseCode.PULL_RETRY_IMMEDIATELY:
        if (header.ok) pq.nextPullOffset = header.header.nextBeginOffset;
        break;
      case ResponseCode.PULL_OFFSET_MOVED:
        if (header.ok) {
          pq.nextPullOffset = header.header.nextBeginOffset;
          if (pq.drained) {
            pq.maxDone = pq.nextPullOffset;
            pq.updateConsumed();
          }
          await ctx.commit(pq).catch(() => {});
        }
        break;
      default:
        await pause(PULL_ERROR_BACKOFF_MS, signal);
    }
  }
}

/**
 * Wait `ms` or until `signal` aborts.
 *
 * @param ms The pause, ms.
 * @param signal Ends the pause early.
 */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
