/**
 * Revive (RocketMQ's `PopReviveService`): reads the revive queues, pairs
 * checkpoints with their acks, and once a checkpoint's invisible time has
 * ended re-puts every unacked message of it to the pop retry topic
 * `%RETRY%<group>_<topic>` (queue 0) with `reconsumeTimes + 1` and
 * `1ST_POP_TIME` kept from the first pop, or to `%DLQ%<group>` once it was
 * delivered `maxAttempts` times.
 *
 * When: a checkpoint and its acks (all due at `revive time - 1 s`) reach
 * the revive queue through the timer. A checkpoint is revived at its revive
 * time once the timer has delivered everything due up to `revive time - 1 s`
 * (`timerSettledUntilMs`), so every ack answered before it is in the revive
 * queue by then (a later ack is put there directly). The service wakes on revive-queue arrivals, at the next
 * revive time, and every `intervalMs`.
 *
 * Progress: the revive group's offset of each revive queue is the offset of
 * the oldest checkpoint not yet revived, so after a crash the service reads
 * again from there (a message may then be revived twice; none is lost).
 *
 * @module
 */

import { decodeRecord, MessageSysFlag } from "../../../client/protocol/message_record.ts";
import {
  decodeProperties,
  encodeProperties,
  MessageConst,
} from "../../../client/protocol/properties.ts";
import type { MessageToPut } from "../../../store/mod.ts";
import type { CancelTimer } from "../clock.ts";
import { createTopicConfig, PERM_READ_WRITE } from "../topic_config.ts";
import { isPutOk, type PopContext } from "./pop_context.ts";
import {
  type AckMsg,
  checkpointKey,
  CK_AHEAD_MS,
  parseReviveRecord,
  type PopCheckPoint,
  popRetryTopicOf,
  REVIVE_GROUP,
  reviveTimeOf,
} from "./revive_record.ts";

/** Default interval of the revive service's periodic pass, ms (`reviveInterval`). */
export const REVIVE_INTERVAL_MS_DEFAULT = 1_000;
/** Revive records read per `getMessage`. */
export const REVIVE_READ_BATCH_MESSAGES = 256;
/** Most acks kept whose checkpoint has not been read yet (oldest dropped beyond). */
export const REVIVE_EARLY_ACKS_MAX = 100_000;
/** Checkpoints revived at once within a pass. */
export const REVIVE_CONCURRENCY = 64;
/** Shortest pause between passes while a due checkpoint waits for the timer, ms. */
export const REVIVE_RECHECK_MS = 20;
/** After a refused re-put, retry after this long, ms. */
export const REVIVE_RETRY_DELAY_MS = 1_000;

/** Options of a {@linkcode ReviveService}. */
export interface ReviveServiceOptions {
  /** Every due time before this has been delivered by the timer (Infinity when it holds nothing). */
  readonly timerSettledUntilMs: () => number;
  /** Dead-letter one message (by CommitLog offset) for a group; true if stored. */
  readonly sendToDlq: (commitLogOffset: number, group: string) => Promise<boolean>;
  /** Periodic pass interval, ms. Default {@linkcode REVIVE_INTERVAL_MS_DEFAULT}. */
  readonly intervalMs?: number;
  /** Structured events. */
  readonly log?: (event: Readonly<Record<string, unknown>>) => void;
}

interface Pending {
  readonly ck: PopCheckPoint;
  /** Revive-queue offset of the (first) checkpoint record. */
  readonly offset: number;
  readonly offsets: Set<number>;
  readonly acked: Set<number>;
}

interface ReviveQueue {
  readonly qid: number;
  readOffset: number;
  readonly pending: Map<string, Pending>;
}

/** Counters. */
export interface ReviveStats {
  /** Messages re-put to a pop retry topic. */
  readonly revived: number;
  /** Messages dead-lettered. */
  readonly deadLettered: number;
  /** Checkpoints read and not yet revived. */
  readonly pendingCheckpoints: number;
}

/** The revive loop. Lives on the broker's main thread. */
export class ReviveService {
  readonly #ctx: PopContext;
  readonly #options: ReviveServiceOptions;
  readonly #queues: ReviveQueue[] = [];
  readonly #earlyAcks = new Map<string, Set<number>>();
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  #cancelWake: CancelTimer | undefined;
  #revived = 0;
  #deadLettered = 0;

  /**
   * @param ctx The shared pop state.
   * @param options Timer progress, DLQ port, interval.
   */
  constructor(ctx: PopContext, options: ReviveServiceOptions) {
    this.#ctx = ctx;
    this.#options = options;
    for (let qid = 0; qid < ctx.reviveQueueNums; qid++) {
      const stored = ctx.store.queryConsumerOffset(REVIVE_GROUP, ctx.reviveTopic, qid);
      this.#queues.push({
        qid,
        readOffset: stored ?? ctx.store.getMinOffsetInQueue(ctx.reviveTopic, qid),
        pending: new Map(),
      });
    }
  }

  /** Start the first pass. */
  start(): void {
    this.kick();
  }

  /** Counters. */
  stats(): ReviveStats {
    let pending = 0;
    for (const q of this.#queues) pending += q.pending.size;
    return {
      revived: this.#revived,
      deadLettered: this.#deadLettered,
      pendingCheckpoints: pending,
    };
  }

  /** Run a pass soon (a revive record arrived). */
  kick(): void {
    if (this.#closed) return;
    this.#again = true;
    this.#running ??= this.#loop();
  }

  /** Resolves once no pass is running. */
  async whenIdle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  /** Stop; a running pass finishes first. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#cancelWake?.();
    await this.whenIdle();
  }

  async #loop(): Promise<void> {
    let retryMs: number | undefined;
    try {
      while (this.#again && !this.#closed) {
        this.#again = false;
        retryMs = await this.#pass();
      }
    } catch (error) {
      this.#options.log?.({ event: "revive_error", error: String(error) });
      retryMs = REVIVE_RETRY_DELAY_MS;
    } finally {
      this.#running = undefined;
      this.#arm(retryMs);
    }
  }

  #arm(retryMs: number | undefined): void {
    this.#cancelWake?.();
    if (this.#closed) return;
    const now = this.#ctx.clock.nowMs();
    let at = now + (this.#options.intervalMs ?? REVIVE_INTERVAL_MS_DEFAULT);
    for (const q of this.#queues) {
      for (const p of q.pending.values()) at = Math.min(at, reviveTimeOf(p.ck) + 1);
    }
    if (retryMs !== undefined) at = Math.min(at, now + retryMs);
    // A due checkpoint waiting for the timer is looked at again shortly, not in a busy loop.
    at = Math.max(at, now + REVIVE_RECHECK_MS);
    this.#cancelWake = this.#ctx.clock.schedule(() => this.kick(), Math.max(0, at - now));
  }

  /** One pass; returns a retry delay if a re-put was refused. */
  async #pass(): Promise<number | undefined> {
    // Read the watermark first: acks due before it were put before the reads below.
    const settled = this.#options.timerSettledUntilMs();
    const now = this.#ctx.clock.nowMs();
    let retry: number | undefined;
    for (const q of this.#queues) {
      await this.#read(q);
      const due: [string, Pending][] = [];
      for (const [key, p] of q.pending) {
        const reviveTime = reviveTimeOf(p.ck);
        // Acks are due CK_AHEAD_MS before the revive time: once the timer is past that, all are here.
        if (reviveTime > now || reviveTime - CK_AHEAD_MS >= settled) continue;
        due.push([key, p]);
      }
      // Checkpoints of one pass are revived concurrently, a bounded number at a time.
      for (let i = 0; i < due.length; i += REVIVE_CONCURRENCY) {
        const part = due.slice(i, i + REVIVE_CONCURRENCY);
        const done = await Promise.all(part.map(([, p]) => this.#revive(p)));
        for (const [j, [key]] of part.entries()) {
          if (!done[j]) {
            retry = REVIVE_RETRY_DELAY_MS;
            continue;
          }
          q.pending.delete(key);
          this.#ctx.inFlight.remove(key);
        }
      }
      let commit = q.readOffset;
      for (const p of q.pending.values()) commit = Math.min(commit, p.offset);
      this.#ctx.store.commitConsumerOffset(REVIVE_GROUP, this.#ctx.reviveTopic, q.qid, commit);
    }
    return retry;
  }

  async #read(q: ReviveQueue): Promise<void> {
    const { store, reviveTopic } = this.#ctx;
    for (;;) {
      const result = await store.getMessage({
        group: REVIVE_GROUP,
        topic: reviveTopic,
        queueId: q.qid,
        queueOffset: q.readOffset,
        maxCount: REVIVE_READ_BATCH_MESSAGES,
      });
      for (const m of result.messages) {
        const record = parseReviveRecord(m.record);
        if (record.kind === "ck") this.#addCheckpoint(q, record.ck, m.queueOffset);
        else if (record.kind === "ack") this.#addAck(q, record.ack);
      }
      if (result.nextBeginOffset <= q.readOffset) return;
      q.readOffset = result.nextBeginOffset;
      if (result.status !== "FOUND") return;
    }
  }

  #addCheckpoint(q: ReviveQueue, ck: PopCheckPoint, offset: number): void {
    const key = checkpointKey(ck.t, ck.c, ck.q, ck.so, ck.pt);
    let p = q.pending.get(key);
    if (p === undefined) {
      p = { ck, offset, offsets: new Set(), acked: new Set() };
      q.pending.set(key, p);
    }
    for (const d of ck.d) p.offsets.add(ck.so + d);
    const early = this.#earlyAcks.get(key);
    if (early !== undefined) {
      for (const o of early) p.acked.add(o);
      this.#earlyAcks.delete(key);
    }
  }

  #addAck(q: ReviveQueue, ack: AckMsg): void {
    const key = checkpointKey(ack.t, ack.c, ack.q, ack.so, ack.pt);
    const offsets = ack.aol ?? (ack.ao === undefined ? [] : [ack.ao]);
    const p = q.pending.get(key);
    if (p !== undefined) {
      for (const o of offsets) p.acked.add(o);
      return;
    }
    let early = this.#earlyAcks.get(key);
    if (early === undefined) {
      if (this.#earlyAcks.size >= REVIVE_EARLY_ACKS_MAX) {
        this.#earlyAcks.delete(this.#earlyAcks.keys().next().value!);
      }
      this.#earlyAcks.set(key, early = new Set());
    }
    for (const o of offsets) early.add(o);
  }

  /** Re-put every unacked message of a checkpoint; true when all are stored. */
  async #revive(p: Pending): Promise<boolean> {
    const { ck } = p;
    const unacked = [...p.offsets].filter((o) => !p.acked.has(o)).sort((a, b) => a - b);
    if (unacked.length === 0) return true;
    const retryTopic = ck.t.startsWith("%RETRY%") ? ck.t : popRetryTopicOf(ck.c, ck.t);
    await this.#ensureRetryTopic(retryTopic);
    const puts: Promise<boolean>[] = [];
    // One read covers the checkpoint's range (at most 32 messages plus filtered gaps).
    const first = unacked[0];
    const span = Math.min(unacked[unacked.length - 1] - first + 1, REVIVE_READ_BATCH_MESSAGES);
    const read = await this.#ctx.store.getMessage({
      group: REVIVE_GROUP,
      topic: ck.t,
      queueId: ck.q,
      queueOffset: first,
      maxCount: span,
    });
    const byOffset = new Map(read.messages.map((m) => [m.queueOffset, m]));
    for (const offset of unacked) {
      let stored = byOffset.get(offset);
      if (stored === undefined) {
        const one = await this.#ctx.store.getMessage({
          group: REVIVE_GROUP,
          topic: ck.t,
          queueId: ck.q,
          queueOffset: offset,
          maxCount: 1,
        });
        stored = one.messages.find((m) => m.queueOffset === offset);
      }
      if (stored === undefined) continue; // gone (retention): nothing to revive
      const record = decodeRecord(stored.record);
      if (record.reconsumeTimes + 1 >= this.#ctx.maxAttempts) {
        puts.push(
          this.#options.sendToDlq(stored.commitLogOffset, ck.c).then((ok) => {
            if (ok) this.#deadLettered++;
            return ok;
          }),
        );
        continue;
      }
      puts.push(
        this.#ctx.put(retryMessage(record, retryTopic, ck)).then((r) => {
          const ok = isPutOk(r);
          if (ok) this.#revived++;
          return ok;
        }),
      );
    }
    return (await Promise.all(puts)).every((ok) => ok);
  }

  async #ensureRetryTopic(topic: string): Promise<void> {
    if (this.#ctx.topics.get(topic) !== undefined) return;
    await this.#ctx.topics.put(
      createTopicConfig(topic, { readQueueNums: 1, writeQueueNums: 1, perm: PERM_READ_WRITE }),
    );
  }
}

const STALE = [
  MessageConst.DELAY_TIME_LEVEL,
  MessageConst.TIMER_DELIVER_MS,
  MessageConst.TIMER_DELAY_MS,
  MessageConst.TIMER_DELAY_SEC,
  MessageConst.TIMER_OUT_MS,
  MessageConst.TIMER_ROLL_TIMES,
  MessageConst.REAL_TOPIC,
  MessageConst.REAL_QUEUE_ID,
];

function retryMessage(
  record: ReturnType<typeof decodeRecord>,
  retryTopic: string,
  ck: PopCheckPoint,
): MessageToPut {
  const properties = decodeProperties(record.properties);
  for (const name of STALE) properties.delete(name);
  if (!properties.has(MessageConst.RETRY_TOPIC)) {
    properties.set(MessageConst.RETRY_TOPIC, ck.t.startsWith("%RETRY%") ? record.topic : ck.t);
  }
  if (!properties.has(MessageConst.FIRST_POP_TIME)) {
    properties.set(MessageConst.FIRST_POP_TIME, String(ck.pt));
  }
  return {
    topic: retryTopic,
    queueId: 0,
    flag: record.flag,
    body: record.body.slice(),
    properties: encodeProperties(properties),
    sysFlag: record.sysFlag & ~(MessageSysFlag.BORNHOST_V6 | MessageSysFlag.STOREHOST_V6),
    bornTimestamp: record.bornTimestamp,
    bornHost: { ip: record.bornHost.ip.slice(), port: record.bornHost.port },
    reconsumeTimes: record.reconsumeTimes + 1,
    preparedTransactionOffset: 0,
  };
}
