/**
 * `TimerMessageService`: moves timer messages from the timer queue into the
 * timer wheel, and delivers them to their real topic when due.
 *
 * Source of truth: the `rmq_sys_wheel_timer` queue in the CommitLog. A timer
 * message is acknowledged to the producer once the store has it there, so it
 * is as durable as any message. The wheel and its TimerLog are an index over
 * that queue, rebuilt on restart from the last checkpoint.
 *
 * Pipeline (one serialized loop on the broker's main thread, so enqueue and
 * dequeue never interleave inside one step):
 *
 * - Enqueue: on an arrival in the timer queue (and at start) read new timer
 *   messages from the enqueue offset with `getMessage` and link each into the
 *   wheel by its `TIMER_OUT_MS`.
 * - Dequeue: once the wheel's next tick has started, its slot's entries are
 *   read into memory (at most `TICK_ENTRIES_MAX` at a time; entries linked
 *   later are picked up from the slot's head) and delivered in due-time
 *   order as each comes due (a ROLL entry at the tick's last millisecond).
 *   A batch of due entries is loaded with `store.readRecords` (one
 *   positional read per run of records that sit back to back in the
 *   CommitLog, each checked against the size and offset its TimerLog entry
 *   holds; `lookMessageByOffset` when the store lacks it), rebuilt straight
 *   from the record bytes and put, one `putMessages` per destination queue,
 *   all in flight together. A ROLL entry (due beyond the window) puts the
 *   timer message back into the timer queue instead. The slot is consumed
 *   from its head as entries are done; the tick is finished once it has
 *   ended and its slot is empty. A refused put (store busy, disk full)
 *   leaves the entry linked and is retried after `retryDelayMs`; nothing is
 *   dropped for it.
 * - Checkpoint (every `checkpointIntervalMs` while something changed, and on
 *   close): `store.flush()` (deliveries are durable before they count as
 *   done), TimerLog flush + wheel snapshot, then
 *   `store.persistConfig("timerCheckpoint", …)` with the enqueue offset, the
 *   next tick, the log length and the snapshot sequence.
 *
 * Restart: load the snapshot the checkpoint names and cut the TimerLog to its
 * length, re-read the timer queue from the checkpointed enqueue offset
 * (re-linking is idempotent because everything after the checkpoint was cut),
 * then deliver everything due and keep the rest. Delivery is at-least-once: a
 * crash between a delivery and the next checkpoint delivers that message
 * again after the restart (consumers deduplicate by `UNIQ_KEY`).
 *
 * Timing: the service wakes through the injected clock at the start of the
 * next tick with entries, then at each next due time in it, so a message goes
 * out when due plus scheduling and put time, never before. The precision
 * (tick length) bounds how late a ROLL is looked at and how much is
 * redelivered after a crash: entries delivered out of slot order are
 * consumed once every entry before them is done, so a crash inside a tick
 * delivers that tick's delivered entries again.
 *
 * @module
 */

import { checkRecord, getInt64, RecordPos } from "../../../client/protocol/message_record.ts";
import type { MessageStore, MessageToPut, PutMessageResult } from "../../../store/mod.ts";
import type { CancelTimer, Clock } from "../clock.ts";
import {
  recordProperties,
  restoreTimerRecord,
  rollTimerRecord,
  TIMER_QUEUE_ID,
  TIMER_TOPIC,
  timerOutMs,
} from "./timer_transform.ts";
import { RecalledSet, recallMarkerOf, uniqKeyOf } from "./timer_recall.ts";

/** Name of the checkpoint document (`store.persistConfig`). */
export const TIMER_CHECKPOINT_CONFIG = "timerCheckpoint";
/** Consumer group name the service reads the timer queue as (statistics only). */
export const TIMER_GROUP = "CID_RMQ_SYS_TIMER";

/** Tunables of the service. */
export interface TimerMessageServiceOptions {
  /** Checkpoint at most this often while state changes, ms. Default 1000. */
  readonly checkpointIntervalMs?: number;
  /** After a refused put, wait this long before retrying the slot, ms. Default 1000. */
  readonly retryDelayMs?: number;
  /** Timer messages read per `getMessage`. Default 1024. */
  readonly enqueueBatchMessages?: number;
  /** Due entries delivered per round (and most messages per `putMessages`). Default 1024. */
  readonly deliverBatchMessages?: number;
  /** Structured events (errors, lost messages, rebuilds). Default: discard. */
  readonly log?: (event: Readonly<Record<string, unknown>>) => void;
}

/** A linked timer entry, as the wheel returns it. */
export interface TimerSlotEntry {
  /** TimerLog position of the entry. */
  readonly pos: number;
  /** CommitLog offset of the timer message. */
  readonly commitLogOffset: number;
  /** Size of the timer message, bytes. */
  readonly size: number;
  /** Exact due time, epoch ms. */
  readonly deliverMs: number;
  /** True for a ROLL entry (due beyond the window). */
  readonly roll: boolean;
}

/**
 * The port the service needs from the store's timer wheel (implemented by
 * `TimerWheel` in `store/domain/timer/timer_wheel.ts`; see it for semantics).
 */
export interface TimerWheelPort {
  /** Tick length, ms. */
  readonly precisionMs: number;
  /** Number of slots. */
  readonly slotCount: number;
  /** Next tick to process. */
  readonly nextTick: number;
  /** Entries linked and not yet consumed. */
  readonly pendingCount: number;
  /** floor(ms / precisionMs). */
  tickOf(ms: number): number;
  /** The first millisecond a tick covers. */
  tickStartMs(tick: number): number;
  /** The last millisecond a tick covers (when it may be finished). */
  slotDueMs(tick: number): number;
  /** Whether a tick's slot still holds linked entries. */
  slotPending(tick: number): boolean;
  /** Start empty at a tick, with an empty log. */
  reset(nextTick: number): void;
  /** Link a timer. */
  insert(deliverMs: number, commitLogOffset: number, size: number): unknown;
  /** Up to `maxEntries` entries of a tick's slot, head first, stopping before `stopPos`. */
  readSlot(tick: number, maxEntries: number, stopPos?: number): readonly TimerSlotEntry[];
  /** Mark the slot's head entry as done. */
  consume(tick: number, entry: TimerSlotEntry): void;
  /** Finish `nextTick`; returns entries dropped because their log segment was gone. */
  finishTick(): number;
  /** Move `nextTick` forward when nothing is pending. */
  skipTo(tick: number): void;
  /** Flush the log and write snapshot `seq`; returns the log length it covers. */
  saveSnapshot(seq: number): number;
  /** Restore snapshot `seq` and cut the log to it. */
  load(
    seq: number,
    nextTick: number,
  ): { readonly status: "OK" } | { readonly status: "BROKEN"; readonly reason: string };
  /** Delete log segments every entry of which sits in a tick before `processedTick`. */
  deleteProcessedLog(processedTick: number): number;
  /** Flush and close the log. */
  close(): void;
}

/** Counters, for metrics, admin and tests. */
export interface TimerServiceStats {
  /** Timer messages linked into the wheel (rolls included). */
  readonly enqueued: number;
  /** Messages delivered to their real topic. */
  readonly delivered: number;
  /** ROLL entries put back into the timer queue. */
  readonly rolled: number;
  /** Entries whose message was gone from the CommitLog or named no real topic. */
  readonly lost: number;
  /** Deliveries the store refused for good (MESSAGE_ILLEGAL, PROPERTIES_SIZE_EXCEEDED). */
  readonly refused: number;
  /** Refused puts that will be retried. */
  readonly retries: number;
  /** Timers linked and not yet delivered. */
  readonly pending: number;
  /** Next QueueOffset of the timer queue to read. */
  readonly enqueueOffset: number;
  /** Every due time before this has been processed, epoch ms. */
  readonly deliveredUntilMs: number;
  /** Checkpoints written. */
  readonly checkpoints: number;
}

/** The checkpoint document, as JSON. */
interface TimerCheckpoint {
  readonly version: 1;
  readonly seq: number;
  readonly enqueueOffset: number;
  readonly nextTick: number;
  readonly logLength: number;
  readonly precisionMs: number;
  readonly slotCount: number;
  /** Recalled keys not yet due (`timer_recall.ts`); absent in older checkpoints. */
  readonly recalled?: [string, number][];
}

type State = "new" | "running" | "closing" | "closed";

const PERMANENT_REFUSALS = new Set(["MESSAGE_ILLEGAL", "PROPERTIES_SIZE_EXCEEDED"]);

function recordPhysicalOffset(record: Uint8Array, at: number): number {
  return getInt64(
    new DataView(record.buffer, record.byteOffset, record.byteLength),
    at + RecordPos.PHYSICAL_OFFSET,
  );
}

function isWritten(result: PutMessageResult): boolean {
  return result.status === "PUT_OK" || result.status === "FLUSH_DISK_TIMEOUT";
}

type Outcome = "written" | "refused";

/** Most entries of one tick held in memory at once; a bigger tick is worked in parts. */
const TICK_ENTRIES_MAX = 65_536;
/** Most CommitLog bytes fetched by one `readRecords`. */
const READ_RUN_BYTES_MAX = 1 << 20;

/** One entry of the tick being worked, with its delivery state. */
interface Work {
  readonly entry: TimerSlotEntry;
  /** When it may go out: its due time, or the tick's last millisecond for a ROLL. */
  readonly dueMs: number;
  done: boolean;
}

/**
 * The tick being worked: its unconsumed entries in slot order (`list`, head
 * first from `head`) and the undelivered ones by due time (`queue` from `next`).
 */
interface TickWork {
  readonly tick: number;
  list: Work[];
  head: number;
  queue: Work[];
  next: number;
}

interface Item {
  readonly work: Work;
  readonly message: MessageToPut | undefined;
  /** True when the message was recalled: done without a put. */
  readonly recalled?: boolean;
}

/**
 * Delivers timer and delay-level messages when due. Lives on the broker's
 * main thread; depends on the MessageStore port, the TimerWheelPort
 * (the store's `TimerWheel`) and the Clock port. See the module doc for the pipeline and guarantees.
 */
export class TimerMessageService implements AsyncDisposable {
  readonly #store: MessageStore;
  readonly #wheel: TimerWheelPort;
  readonly #clock: Clock;
  readonly #checkpointIntervalMs: number;
  readonly #retryDelayMs: number;
  readonly #enqueueBatch: number;
  readonly #deliverBatch: number;
  readonly #log: (event: Readonly<Record<string, unknown>>) => void;
  #state: State = "new";
  #unsubscribe: () => void = () => {};
  #cancelWake: CancelTimer | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #enqueueOffset = 0;
  #seq = 0;
  #dirty = false;
  #lastCheckpointMs = 0;
  #blockedUntilMs = 0;
  #tickWork: TickWork | undefined;
  /** While rebuilding without a usable snapshot: messages below this offset due before `#skipBeforeMs` were delivered. */
  #skipBelowOffset = 0;
  #skipBeforeMs = 0;
  #enqueued = 0;
  #delivered = 0;
  #rolled = 0;
  #lost = 0;
  #refused = 0;
  /** Keys of recalled messages (markers read from the timer queue). */
  readonly #recalled = new RecalledSet();
  #retries = 0;
  #checkpoints = 0;

  /**
   * Build the service (no I/O until `start`).
   *
   * @param store The message store (opened).
   * @param wheel A TimerWheel over the TimerLog in the store's data dir; the service loads and closes it.
   * @param clock Wall time and timers.
   * @param options Tunables.
   * @throws {RangeError} On a non-positive interval or batch size.
   */
  constructor(
    store: MessageStore,
    wheel: TimerWheelPort,
    clock: Clock,
    options: TimerMessageServiceOptions = {},
  ) {
    this.#store = store;
    this.#wheel = wheel;
    this.#clock = clock;
    this.#checkpointIntervalMs = positive(
      "checkpointIntervalMs",
      options.checkpointIntervalMs ?? 1000,
    );
    this.#retryDelayMs = positive("retryDelayMs", options.retryDelayMs ?? 1000);
    this.#enqueueBatch = positive("enqueueBatchMessages", options.enqueueBatchMessages ?? 1024);
    this.#deliverBatch = positive("deliverBatchMessages", options.deliverBatchMessages ?? 1024);
    this.#log = options.log ?? (() => {});
  }

  /**
   * Load the checkpoint (or start fresh), subscribe to timer-queue arrivals,
   * then catch up: deliver what is due, keep the rest scheduled.
   *
   * @throws {Error} If already started, or on an I/O failure loading the wheel.
   */
  async start(): Promise<void> {
    if (this.#state !== "new") throw new Error(`Cannot start timer service: it is ${this.#state}`);
    const now = this.#clock.nowMs();
    const checkpoint = parseCheckpoint(await this.#store.loadConfig(TIMER_CHECKPOINT_CONFIG));
    const minOffset = this.#store.getMinOffsetInQueue(TIMER_TOPIC, TIMER_QUEUE_ID);
    if (checkpoint === undefined) {
      this.#wheel.reset(this.#wheel.tickOf(now));
      this.#enqueueOffset = minOffset;
    } else {
      const loaded = this.#wheel.load(checkpoint.seq, checkpoint.nextTick);
      this.#seq = checkpoint.seq;
      this.#recalled.restore(checkpoint.recalled);
      if (loaded.status === "OK") {
        this.#enqueueOffset = checkpoint.enqueueOffset;
      } else {
        // Rebuild from the whole retained timer queue, skipping what the checkpoint says went out.
        this.#log({ event: "timer_wheel_rebuild", reason: loaded.reason });
        this.#wheel.reset(this.#wheel.tickOf(now));
        this.#enqueueOffset = minOffset;
        this.#skipBelowOffset = checkpoint.enqueueOffset;
        this.#skipBeforeMs = (checkpoint.nextTick - 1) * checkpoint.precisionMs;
        this.#dirty = true;
      }
    }
    this.#lastCheckpointMs = now;
    this.#state = "running";
    this.#unsubscribe = this.#store.onArrival((arrival) => {
      if (arrival.topic === TIMER_TOPIC) this.#kick();
    });
    this.#kick();
    await this.whenIdle();
  }

  /**
   * Stop: wait for the current step, checkpoint, close the wheel. Idempotent.
   *
   * @returns Resolves when the checkpoint is written.
   */
  async close(): Promise<void> {
    if (this.#state === "closed" || this.#state === "closing") return await this.whenIdle();
    const wasRunning = this.#state === "running";
    this.#state = "closing";
    this.#unsubscribe();
    this.#cancelWake?.();
    this.#cancelWake = undefined;
    try {
      await this.whenIdle();
      if (wasRunning) await this.#checkpoint();
    } finally {
      this.#wheel.close();
      this.#state = "closed";
    }
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Resolves once no step is running (for tests and orderly shutdown).
   *
   * @returns Resolves when idle.
   */
  async whenIdle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  /** Counters. */
  stats(): TimerServiceStats {
    return {
      enqueued: this.#enqueued,
      delivered: this.#delivered,
      rolled: this.#rolled,
      lost: this.#lost,
      refused: this.#refused,
      retries: this.#retries,
      pending: this.#wheel.pendingCount,
      enqueueOffset: this.#enqueueOffset,
      deliveredUntilMs: this.#wheel.nextTick * this.#wheel.precisionMs,
      checkpoints: this.#checkpoints,
    };
  }

  #kick(): void {
    if (this.#state !== "running") return;
    this.#again = true;
    this.#running ??= this.#loop();
  }

  async #loop(): Promise<void> {
    try {
      while (this.#again && this.#state === "running") {
        this.#again = false;
        await this.#step();
      }
    } catch (error) {
      // An I/O failure of the store or the wheel: try again later rather than stop delivering.
      this.#log({ event: "timer_error", error: String(error) });
      this.#blockedUntilMs = this.#clock.nowMs() + this.#retryDelayMs;
    } finally {
      this.#running = undefined;
      this.#arm();
    }
  }

  async #step(): Promise<void> {
    let more = true;
    while (more && this.#state === "running") {
      more = await this.#enqueueBatchOnce();
      await this.#processDue();
    }
    if (this.#dirty && this.#clock.nowMs() - this.#lastCheckpointMs >= this.#checkpointIntervalMs) {
      await this.#checkpoint();
    }
  }

  /** Schedule the next wake: the next due entry, a retry, or a pending checkpoint. */
  #arm(): void {
    this.#cancelWake?.();
    this.#cancelWake = undefined;
    if (this.#state !== "running") return;
    const now = this.#clock.nowMs();
    let at = Infinity;
    if (this.#wheel.pendingCount > 0) {
      const tick = this.#wheel.nextTick;
      const work = this.#tickWork;
      // A tick's entries go out as they come due once it has started; a tick
      // with an empty slot only needs finishing at its end (a timer linked
      // into it meanwhile arrives through the timer queue and wakes the loop).
      at = work?.tick !== tick
        ? (this.#wheel.slotPending(tick)
          ? this.#wheel.tickStartMs(tick)
          : this.#wheel.slotDueMs(tick))
        : work.next < work.queue.length
        ? work.queue[work.next].dueMs
        : this.#wheel.slotDueMs(tick);
      at = Math.max(at, this.#blockedUntilMs);
    }
    if (this.#dirty) at = Math.min(at, this.#lastCheckpointMs + this.#checkpointIntervalMs);
    if (at === Infinity) return;
    this.#cancelWake = this.#clock.schedule(() => {
      this.#cancelWake = undefined;
      this.#kick();
    }, Math.max(0, at - now));
  }

  /** Read one batch of the timer queue into the wheel; true if there may be more. */
  async #enqueueBatchOnce(): Promise<boolean> {
    const result = await this.#store.getMessage({
      group: TIMER_GROUP,
      topic: TIMER_TOPIC,
      queueId: TIMER_QUEUE_ID,
      queueOffset: this.#enqueueOffset,
      maxCount: this.#enqueueBatch,
    });
    if (result.status === "FOUND") {
      for (const stored of result.messages) {
        // A timer record without a readable due time is delivered at once.
        const properties = recordProperties(stored.record);
        const recall = recallMarkerOf(properties);
        if (recall !== undefined) {
          // A recall marker is not delivered: it names a message that must not be.
          this.#recalled.add(recall.uniqKey, recall.deliverMs);
          continue;
        }
        const deliverMs = timerOutMs(properties) ?? 0;
        if (stored.queueOffset < this.#skipBelowOffset && deliverMs < this.#skipBeforeMs) continue;
        this.#wheel.insert(deliverMs, stored.commitLogOffset, stored.record.length);
        this.#enqueued++;
      }
      this.#enqueueOffset = result.nextBeginOffset;
      this.#dirty = true;
      return true;
    }
    if (result.nextBeginOffset !== this.#enqueueOffset) {
      // Retention moved the queue's start, or the store lost a tail after a crash.
      if (result.status !== "NO_MATCHED_MESSAGE") {
        this.#log({
          event: "timer_enqueue_offset_reset",
          status: result.status,
          from: this.#enqueueOffset,
        });
      }
      this.#enqueueOffset = result.nextBeginOffset;
      this.#dirty = true;
      return result.status === "NO_MATCHED_MESSAGE" || result.status === "OFFSET_TOO_SMALL";
    }
    return false;
  }

  /**
   * Deliver everything due: whole ticks that have ended, then the entries of
   * the current tick whose due time has come. Stops early (and blocks until a
   * retry time) when a put is refused.
   */
  async #processDue(): Promise<void> {
    const wheel = this.#wheel;
    let now = this.#clock.nowMs();
    if (now < this.#blockedUntilMs) return;
    while (this.#state === "running" && wheel.tickStartMs(wheel.nextTick) <= now) {
      if (wheel.pendingCount === 0) {
        this.#tickWork = undefined;
        if (wheel.slotDueMs(wheel.nextTick) <= now) {
          wheel.skipTo(Math.floor((now + 1) / wheel.precisionMs));
          this.#dirty = true;
        }
        return;
      }
      const outcome = await this.#workTick(wheel.nextTick);
      if (outcome === "refused") {
        this.#retries++;
        this.#blockedUntilMs = this.#clock.nowMs() + this.#retryDelayMs;
        return;
      }
      if (outcome === "waiting") return;
      this.#tickWork = undefined;
      const dropped = wheel.finishTick();
      if (dropped > 0) {
        this.#lost += dropped;
        this.#log({ event: "timer_entries_lost", tick: wheel.nextTick - 1, count: dropped });
      }
      this.#dirty = true;
      now = this.#clock.nowMs();
    }
  }

  /**
   * Work a started tick: pick up entries linked since the last round, deliver
   * the due ones in due-time order, consume the delivered head of the slot.
   * Entries delivered out of slot order are consumed once every entry before
   * them in the slot is done, so a crash in between delivers them again
   * (at-least-once, at most one tick's worth).
   *
   * @returns `finished` (the tick has ended and its slot is empty),
   *   `waiting` (entries not yet due, or the tick has not ended), or `refused`.
   */
  async #workTick(tick: number): Promise<"finished" | "waiting" | "refused"> {
    const wheel = this.#wheel;
    for (;;) {
      let work = this.#tickWork;
      if (work === undefined || work.tick !== tick) {
        work = this.#tickWork = { tick, list: [], head: 0, queue: [], next: 0 };
      }
      this.#refreshTick(work);
      for (;;) {
        const now = this.#clock.nowMs();
        if (work.next >= work.queue.length || work.queue[work.next].dueMs > now) break;
        let end = work.next + 1;
        while (
          end < work.queue.length && end - work.next < this.#deliverBatch &&
          work.queue[end].dueMs <= now
        ) end++;
        const batch = work.queue.slice(work.next, end);
        const complete = await this.#deliverWorks(batch, now);
        this.#consumeDone(work);
        this.#dirty = true;
        if (!complete) {
          // Keep what was not written at the front, in due order, for the retry.
          work.queue = work.queue.slice(work.next).filter((w) => !w.done);
          work.next = 0;
          return "refused";
        }
        work.next = end;
        if (this.#state !== "running") return "waiting";
      }
      if (work.next < work.queue.length) return "waiting";
      if (wheel.slotDueMs(tick) > this.#clock.nowMs()) return "waiting";
      // Everything known is done, so all of it is consumed; a slot bigger than
      // TICK_ENTRIES_MAX has more.
      this.#consumeDone(work);
      if (work.head < work.list.length) throw new Error(`timer tick ${tick} has done entries left`);
      if (!wheel.slotPending(tick) || wheel.readSlot(tick, 1).length === 0) return "finished";
    }
  }

  /** Add entries linked into the tick since the last round (they sit at the slot's head). */
  #refreshTick(work: TickWork): void {
    const wheel = this.#wheel;
    const known = work.head < work.list.length ? work.list[work.head].entry.pos : -1;
    const fresh = known === -1
      ? wheel.readSlot(work.tick, TICK_ENTRIES_MAX)
      : wheel.readSlot(work.tick, Number.MAX_SAFE_INTEGER, known);
    if (fresh.length === 0) return;
    if (known !== -1 && fresh[fresh.length - 1].pos !== known) {
      // The walk did not reach the known head (a lost log segment): start the tick over.
      // Entries delivered and not yet consumed go out again (at-least-once).
      this.#log({ event: "timer_tick_reread", tick: work.tick });
      work.list = [];
      work.head = 0;
      work.queue = [];
      work.next = 0;
      this.#refreshTick(work);
      return;
    }
    const dueAtEnd = wheel.slotDueMs(work.tick);
    const added = fresh.map((entry): Work => ({
      entry,
      dueMs: entry.roll ? dueAtEnd : Math.min(entry.deliverMs, dueAtEnd),
      done: false,
    }));
    work.list = work.head === 0 && work.list.length === 0
      ? added
      : added.concat(work.list.slice(work.head));
    work.head = 0;
    const pending = work.next === 0 ? work.queue : work.queue.slice(work.next);
    work.queue = pending.concat(added).sort(byDue);
    work.next = 0;
  }

  /** Consume the slot's head entries while they are done. */
  #consumeDone(work: TickWork): void {
    while (work.head < work.list.length && work.list[work.head].done) {
      this.#wheel.consume(work.tick, work.list[work.head].entry);
      work.head++;
    }
    if (work.head >= 4096 && work.head * 2 >= work.list.length) {
      work.list = work.list.slice(work.head);
      work.head = 0;
    }
  }

  /**
   * Load and put a batch of due entries; mark each one done once its outcome is known.
   *
   * @returns False if a put was refused for now (some stay not done).
   */
  async #deliverWorks(works: readonly Work[], now: number): Promise<boolean> {
    const records = await this.#readTimerRecords(works.map((w) => w.entry));
    const items: Item[] = [];
    // One put per destination queue, all in flight together (they share a flush).
    const groups = new Map<string, Item[]>();
    for (let i = 0; i < works.length; i++) {
      const work = works[i];
      const record = records[i];
      let message: MessageToPut | undefined;
      if (
        record !== undefined && !work.entry.roll &&
        this.#recalled.take(uniqKeyOf(recordProperties(record)))
      ) {
        items.push({ work, message: undefined, recalled: true });
        continue;
      }
      if (record !== undefined) {
        message = work.entry.roll ? rollTimerRecord(record) : restoreTimerRecord(record, now);
      }
      const item = { work, message };
      items.push(item);
      if (message === undefined) continue;
      const key = `${message.queueId}\u0000${message.topic}`;
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [item]);
      else group.push(item);
    }
    const outcome = new Map<Item, Outcome>();
    const written = await Promise.all([...groups.values()].map((g) => this.#deliver(g, outcome)));
    for (const item of items) {
      if (item.recalled === true) {
        item.work.done = true;
        continue;
      }
      const result = item.message === undefined ? "lost" : outcome.get(item);
      if (result === undefined) continue;
      item.work.done = true;
      if (result === "lost") {
        this.#lost++;
        this.#log({
          event: "timer_message_lost",
          commitLogOffset: item.work.entry.commitLogOffset,
        });
      } else if (result === "refused") {
        this.#refused++;
      } else if (item.work.entry.roll) {
        this.#rolled++;
      } else {
        this.#delivered++;
      }
    }
    return written.every((ok) => ok);
  }

  /**
   * The timer records of some entries, each checked against its entry (size,
   * magic, field lengths, PHYSICALOFFSET). Records that sit back to back in
   * the CommitLog are fetched with one `readRecords`.
   *
   * @returns One record per entry, or undefined for a record that is gone.
   */
  async #readTimerRecords(
    entries: readonly TimerSlotEntry[],
  ): Promise<(Uint8Array | undefined)[]> {
    const out: (Uint8Array | undefined)[] = new Array(entries.length).fill(undefined);
    const order = entries.map((_, i) => i).sort((a, b) =>
      entries[a].commitLogOffset - entries[b].commitLogOffset
    );
    const store = this.#store;
    let i = 0;
    while (i < order.length) {
      const first = entries[order[i]];
      let j = i + 1;
      let end = first.commitLogOffset + first.size;
      while (j < order.length) {
        const e = entries[order[j]];
        if (
          e.commitLogOffset !== end || end + e.size - first.commitLogOffset > READ_RUN_BYTES_MAX
        ) {
          break;
        }
        end += e.size;
        j++;
      }
      const run = store.readRecords === undefined
        ? undefined
        : await store.readRecords(first.commitLogOffset, end - first.commitLogOffset);
      for (let k = i; k < j; k++) {
        const entry = entries[order[k]];
        let record: Uint8Array | undefined;
        if (run !== undefined) {
          const at = entry.commitLogOffset - first.commitLogOffset;
          const check = checkRecord(run, at, at + entry.size, false);
          if (
            check.status === "OK" && check.size === entry.size &&
            recordPhysicalOffset(run, at) === entry.commitLogOffset
          ) {
            record = run.subarray(at, at + entry.size);
          }
        }
        // No light read, or the bytes are not the expected record: the full lookup decides.
        record ??= (await store.lookMessageByOffset(entry.commitLogOffset))?.record;
        out[order[k]] = record;
      }
      i = j;
    }
    return out;
  }

  /**
   * Put messages of one destination queue; record each one's outcome.
   *
   * @returns False when the store refused a put that may succeed later.
   */
  async #deliver(group: Item[], outcome: Map<Item, Outcome>): Promise<boolean> {
    const messages = group.map((item) => item.message!);
    const result = messages.length === 1
      ? await this.#store.putMessage(messages[0])
      : await this.#store.putMessages(messages);
    if (isWritten(result)) {
      for (const item of group) outcome.set(item, "written");
      return true;
    }
    if (!PERMANENT_REFUSALS.has(result.status)) {
      this.#log({
        event: "timer_put_refused",
        status: result.status,
        remark: "remark" in result ? result.remark : "",
      });
      return false;
    }
    // A permanent refusal may concern one message of the batch: put them one by one.
    for (const item of group) {
      const single = messages.length === 1 ? result : await this.#store.putMessage(item.message!);
      if (isWritten(single)) {
        outcome.set(item, "written");
      } else if (PERMANENT_REFUSALS.has(single.status)) {
        outcome.set(item, "refused");
        this.#log({
          event: "timer_delivery_refused",
          status: single.status,
          remark: "remark" in single ? single.remark : "",
          topic: item.message!.topic,
        });
      } else {
        return false;
      }
    }
    return true;
  }

  /** Recalls whose ticks are not finished yet (the others can no longer match). */
  #recalledToKeep(): [string, number][] {
    this.#recalled.prune(this.#wheel.tickStartMs(this.#wheel.nextTick));
    return this.#recalled.entries();
  }

  async #checkpoint(): Promise<void> {
    // Deliveries and rolls must be on disk before the checkpoint counts them as done.
    await this.#store.flush();
    const seq = this.#seq + 1;
    const logLength = this.#wheel.saveSnapshot(seq);
    const checkpoint: TimerCheckpoint = {
      version: 1,
      seq,
      enqueueOffset: this.#enqueueOffset,
      nextTick: this.#wheel.nextTick,
      logLength,
      precisionMs: this.#wheel.precisionMs,
      slotCount: this.#wheel.slotCount,
      recalled: this.#recalledToKeep(),
    };
    await this.#store.persistConfig(TIMER_CHECKPOINT_CONFIG, JSON.stringify(checkpoint));
    this.#seq = seq;
    this.#dirty = false;
    this.#lastCheckpointMs = this.#clock.nowMs();
    this.#checkpoints++;
    this.#skipBelowOffset = Math.min(this.#skipBelowOffset, this.#enqueueOffset);
    this.#wheel.deleteProcessedLog(checkpoint.nextTick);
  }
}

function byDue(a: Work, b: Work): number {
  return a.dueMs - b.dueMs || a.entry.commitLogOffset - b.entry.commitLogOffset;
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot build timer service: ${name} is ${value}, expected an integer >= 1`,
    );
  }
  return value;
}

function parseCheckpoint(text: string | undefined): TimerCheckpoint | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<TimerCheckpoint>;
    const fields = [
      value.seq,
      value.enqueueOffset,
      value.nextTick,
      value.logLength,
      value.precisionMs,
      value.slotCount,
    ];
    if (
      value.version !== 1 || !fields.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)
    ) return undefined;
    return value as TimerCheckpoint;
  } catch {
    return undefined;
  }
}
