/**
 * Wiring of pop consumption for the composition root: the shared pop state,
 * the pop, ack and revive services, and the remoting controller.
 *
 * @module
 */

import type { HostAddress, MessageArrival, MessageStore } from "../store/mod.ts";
import { PopController } from "./api/pop_controller.ts";
import type { RequestHandler } from "./api/broker_context.ts";
import type { BrokerConfig } from "./config.ts";
import type { Clock } from "./domain/clock.ts";
import { AckService } from "./domain/pop/ack_service.ts";
import {
  CheckpointBuffer,
  POP_BUFFER_SCAN_INTERVAL_MS,
  storeHeld,
} from "./domain/pop/checkpoint_buffer.ts";
import { commitPopped, createPopContext, type PopContext } from "./domain/pop/pop_context.ts";
import { PopService } from "./domain/pop/pop_service.ts";
import { ReviveService } from "./domain/pop/revive_service.ts";
import { createRecordPut } from "./domain/pop/record_put.ts";
import { createTimerAwarePut, SendBackService } from "./domain/retry/send_back.ts";
import { TIMER_QUEUE_ID, TIMER_TOPIC } from "./domain/timer/timer_transform.ts";
import type { TimerMessageService } from "./domain/timer/timer_service.ts";
import type { TopicTable } from "./domain/topic_table.ts";

/** Interval of pop-offset writes, ms. */
export const POP_OFFSETS_FLUSH_INTERVAL_MS = 1_000;

/** What {@linkcode startPop} needs. */
export interface PopModuleOptions {
  /** Broker config (names, retry limit). */
  readonly config: BrokerConfig;
  /** The store. */
  readonly store: MessageStore;
  /** Topic table. */
  readonly topics: TopicTable;
  /** Clock. */
  readonly clock: Clock;
  /** This broker's address. */
  readonly storeHost: HostAddress;
  /** The running timer service (revive records wait in it). */
  readonly timers: TimerMessageService;
  /** Structured events. */
  readonly log?: (event: Readonly<Record<string, unknown>>) => void;
}

/** The started pop module. */
export interface PopModule {
  /** The shared pop state (admin, tests). */
  readonly ctx: PopContext;
  /** The pop service (a gRPC front calls it too). */
  readonly pop: PopService;
  /** The ack service. */
  readonly ack: AckService;
  /** The revive service. */
  readonly revive: ReviveService;
  /** Remoting handlers. */
  readonly handlers: [number, RequestHandler][];
  /** Feed a dispatch arrival (wakes parked pops and the revive service). */
  onArrival(arrival: MessageArrival): void;
  /** Stop revive and answer parked pops. */
  close(): Promise<void>;
}

/**
 * Build and start pop consumption.
 *
 * @param options Config, store, tables, clock and timer service.
 * @returns The module.
 */
export async function startPop(options: PopModuleOptions): Promise<PopModule> {
  const { config, store, topics, clock, timers } = options;
  const put = createTimerAwarePut((m) => store.putMessage(m), () => clock.nowMs());
  const ctx = await createPopContext({
    store,
    topics,
    put: createRecordPut(store, () => clock.nowMs()),
    clock,
    brokerName: config.brokerName,
    clusterName: config.clusterName,
    storeHost: options.storeHost,
    maxAttempts: config.retryMaxTimes + 1,
    durableAcks: config.flush === "sync",
    pollingPerKeyMax: config.popPollingPerKeyMax,
    pollingTotalMax: config.popPollingTotalMax,
  });
  let cancelBuffer = () => {};
  if (config.flush === "async" && config.popBufferMergeMs > 0) {
    const buffer = new CheckpointBuffer(
      config.popBufferMergeMs,
      (ck, reviveQid, acked) => storeHeld(ctx, ck, reviveQid, acked),
      (group, topic, queueId) => commitPopped(ctx, group, topic, queueId),
      (key) => ctx.inFlight.remove(key),
    );
    ctx.buffer = buffer;
    ctx.popOffsets.persistBound = (key) => buffer.safeOffset(key);
    cancelBuffer = clock.schedule(function storeDue() {
      void buffer.storeDue(clock.nowMs());
      cancelBuffer = clock.schedule(storeDue, POP_BUFFER_SCAN_INTERVAL_MS);
    }, POP_BUFFER_SCAN_INTERVAL_MS);
  }
  // Pop offsets are written every POP_OFFSETS_FLUSH_INTERVAL_MS (and before acks under sync flush).
  let cancelFlush = clock.schedule(function flush() {
    void ctx.popOffsets.flush().catch(() => {});
    cancelFlush = clock.schedule(flush, POP_OFFSETS_FLUSH_INTERVAL_MS);
  }, POP_OFFSETS_FLUSH_INTERVAL_MS);
  const dlq = new SendBackService({
    store,
    put,
    topics,
    retryMaxTimesDefault: config.retryMaxTimes,
  });
  const revive = new ReviveService(ctx, {
    timerSettledUntilMs: () => {
      const stats = timers.stats();
      // Timer messages not yet in the wheel may be due any time: wait for the timer to read them.
      if (stats.enqueueOffset < store.getMaxOffsetInQueue(TIMER_TOPIC, TIMER_QUEUE_ID)) return 0;
      return stats.pending === 0 ? Infinity : stats.deliveredUntilMs;
    },
    sendToDlq: async (commitLogOffset, group) =>
      (await dlq.sendBack({ commitLogOffset, group, delayLevel: -1 })).status === "PUT_OK",
    log: options.log,
  });
  const pop = new PopService(ctx);
  const ack = new AckService(ctx);
  revive.start();
  return {
    ctx,
    pop,
    ack,
    revive,
    handlers: new PopController(topics, pop, ack, ctx).handlers(),
    onArrival(arrival) {
      ctx.polling.notifyArrival(arrival.topic, arrival.queueId, arrival.tagsCode);
      if (arrival.topic === ctx.reviveTopic) revive.kick();
    },
    async close() {
      cancelFlush();
      cancelBuffer();
      await ctx.buffer?.storeDue(clock.nowMs(), true);
      ctx.polling.close();
      await revive.close();
      await ctx.orderInfos.flushed();
      await ctx.popOffsets.flush().catch(() => {});
    },
  };
}
