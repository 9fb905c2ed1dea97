/**
 * The dispatch worker: builds ConsumeQueues from committed CommitLog bytes
 * (RocketMQ's `ReputMessageService`) and announces arrivals to the main thread.
 *
 * Started by `WorkerMessageStore` after the store worker has recovered. It
 * receives one `DispatchWorkerInit` by postMessage, then loops:
 *
 * 1. Read committedOffset from the control block. If it moved, run the domain
 *    `Dispatcher` up to it (reading the CommitLog through this thread's own
 *    `CommitLogReader` handles); the Dispatcher commits the touched queues'
 *    units to their files before returning.
 * 2. Write one ARRIVAL per touched queue into the arrival ring (declaring new
 *    queues with a QUEUE record first) and one PROGRESS, publish once, then
 *    store dispatchedOffset.
 * 3. Idle: wait with `Atomics.waitAsync` on committedOffset (bounded), and every
 *    `flushConsumeQueueIntervalMs` trim queues and index below the CommitLog
 *    min offset (after retention), flush them and write the checkpoint.
 *
 * It also owns the writable `IndexService` (a dispatch sink) when
 * `messageIndexEnable` is set; at start it re-dispatches whatever the index
 * lacks before announcing anything.
 *
 * The idle wait is `waitAsync` rather than `Atomics.wait` because this worker
 * also takes control requests (deleteTopic, flush, close) by postMessage:
 * while idle its event loop stays free for them, and while busy it yields at
 * least every 50 ms. Those requests are rare and never per message.
 *
 * @module
 */

import { writeCheckpoint } from "../domain/checkpoint.ts";
import { CommitLogReader } from "../domain/commit_log.ts";
import { CONSUME_QUEUE_FLUSH_BUDGET_MS, ConsumeQueueStore } from "../domain/consume_queue_store.ts";
import { Dispatcher, type DispatchRound, type DispatchSink } from "../domain/dispatch.ts";
import { indexReplayStart, IndexService } from "../domain/index_service.ts";
import { TopicFences } from "../domain/topic_fence.ts";
import { type Clock, systemClock } from "../domain/segment.ts";
import { type MessageStoreConfig, storeThreadHandles } from "../message_store.ts";
import { FsStoreFileSystem } from "./fs_segment.ts";
import { RingProducer } from "./ring_buffer.ts";
import {
  ARRIVAL_RECORD_BYTES,
  ArrivalKind,
  type ControlBlock,
  controlBlock,
  CPU_PUBLISH_INTERVAL_MS,
  CTRL_COMMITTED,
  CTRL_DISPATCH_CPU_MICROS,
  CTRL_DISPATCHED,
  CTRL_FLUSHED,
  CTRL_FLUSHED_TIMESTAMP,
  CTRL_MIN,
  type DispatchControlRequest,
  type DispatchWorkerInit,
  loadOffset,
  publishThreadCpu,
  QUEUE_RECORD_FIXED_BYTES,
  storeOffset,
  waitForCommittedAsync,
  type WorkerReport,
} from "./worker_protocol.ts";

/** Longest idle wait on committedOffset, ms (bounds the ConsumeQueue flush timer's lateness). */
const IDLE_WAIT_MS = 50;
/** While busy, yield to the event loop at least this often, ms (bounds control-request latency). */
const BUSY_YIELD_MS = 50;
/** Longest wait for room in the arrival ring per attempt, ms. */
const ROOM_WAIT_MS = 100;

const textEncoder = new TextEncoder();

/** The worker's state. Lives in the dispatch worker thread only. */
class DispatchWorker {
  readonly #config: MessageStoreConfig;
  readonly #clock: Clock;
  readonly #control: ControlBlock;
  readonly #arrivals: RingProducer;
  readonly #fs: FsStoreFileSystem;
  readonly #reader: CommitLogReader;
  readonly #queues: ConsumeQueueStore;
  readonly #dispatcher: Dispatcher;
  readonly #index: IndexService | undefined;
  readonly #queueIndex = new Map<string, number>();
  #lastFlushMs: number;
  /** CommitLog min offset the queues and index were last trimmed to. */
  #trimmedToOffset: number;
  closed = false;

  constructor(init: DispatchWorkerInit, clock: Clock) {
    this.#config = init.config;
    this.#clock = clock;
    this.#control = controlBlock(init.control);
    this.#arrivals = new RingProducer(init.arrivalRing);
    this.#fs = new FsStoreFileSystem(
      init.config.dataDir,
      storeThreadHandles(init.config.openFilesMax).dispatchWorker,
    );
    this.#reader = new CommitLogReader(
      this.#fs.segments("commitlog"),
      init.config.commitLogSegmentBytes,
    );
    this.#queues = new ConsumeQueueStore(this.#fs, init.config.consumeQueueSegmentUnits, true);
    // Queues are loaded on first dispatch (recovery in the store worker already
    // checked them all): with tens of thousands of queues, loading each again
    // here took seconds at every start.
    const committed = loadOffset(this.#control, CTRL_COMMITTED);
    const minOffset = loadOffset(this.#control, CTRL_MIN);
    this.#trimmedToOffset = minOffset;
    let from = init.dispatchFromOffset;
    const sinks: DispatchSink[] = [];
    if (init.config.messageIndexEnable) {
      this.#index = new IndexService(this.#fs, {
        writable: true,
        slotCount: init.config.indexSlotsPerFile,
        entryCount: init.config.indexEntriesPerFile,
        clock,
      });
      this.#index.load(committed);
      sinks.push(this.#index);
      // Records the index lacks (lost or discarded files) are dispatched again;
      // records below the recovered dispatch offset feed the index only.
      from = indexReplayStart(
        this.#index.redispatchFromOffset,
        from,
        minOffset,
        init.config.commitLogSegmentBytes,
      );
    }
    this.#dispatcher = new Dispatcher(this.#reader, this.#queues, from, {
      sinks,
      queuesFromOffset: init.dispatchFromOffset,
      fences: new TopicFences(this.#fs),
    });
    // Catch up before announcing anything: recovery already built the queues up
    // to the committed offset, so this round only feeds the index.
    this.#dispatcher.dispatchUpTo(committed);
    this.#index?.commit();
    storeOffset(this.#control, CTRL_DISPATCHED, this.#dispatcher.dispatchedOffset);
    this.#lastFlushMs = clock.nowMs();
  }

  /** Where dispatch stands. */
  get dispatchedOffset(): number {
    return this.#dispatcher.dispatchedOffset;
  }

  /** Publish this worker's CPU time for the main thread's stats. */
  publishCpu(): void {
    publishThreadCpu(this.#control, CTRL_DISPATCH_CPU_MICROS);
  }

  /** Dispatch everything committed so far. Returns the bytes dispatched. */
  dispatchCommitted(): number {
    const before = this.#dispatcher.dispatchedOffset;
    const committed = loadOffset(this.#control, CTRL_COMMITTED);
    if (committed <= before) return 0;
    const round = this.#dispatcher.dispatchUpTo(committed);
    if (round.dispatchedOffset === before) return 0;
    // Index entries become visible to readers before the arrivals are announced.
    this.#index?.commit();
    this.#announce(round);
    storeOffset(this.#control, CTRL_DISPATCHED, round.dispatchedOffset);
    return round.dispatchedOffset - before;
  }

  #reserve(bytes: number): number {
    let at = this.#arrivals.tryReserve(bytes);
    while (at < 0) {
      this.#arrivals.publish();
      this.#arrivals.waitForRoom(bytes, ROOM_WAIT_MS);
      at = this.#arrivals.tryReserve(bytes);
    }
    return at;
  }

  #announce(round: DispatchRound): void {
    const view = this.#arrivals.ring.view;
    for (const arrival of round.arrivals) {
      const key = `${arrival.queueId}@${arrival.topic}`;
      let index = this.#queueIndex.get(key);
      if (index === undefined) {
        index = this.#queueIndex.size;
        this.#queueIndex.set(key, index);
        const topic = textEncoder.encode(arrival.topic);
        const at = this.#reserve(QUEUE_RECORD_FIXED_BYTES + topic.length);
        view.setInt32(at, ArrivalKind.QUEUE, true);
        view.setInt32(at + 4, index, true);
        view.setInt32(at + 8, arrival.queueId, true);
        view.setInt32(at + 12, 0, true);
        this.#arrivals.data.set(topic, at + QUEUE_RECORD_FIXED_BYTES);
      }
      const at = this.#reserve(ARRIVAL_RECORD_BYTES);
      view.setInt32(at, ArrivalKind.ARRIVAL, true);
      view.setInt32(at + 4, index, true);
      view.setFloat64(at + 8, arrival.maxOffset, true);
      view.setFloat64(at + 16, arrival.tagsCode, true);
    }
    const at = this.#reserve(ARRIVAL_RECORD_BYTES);
    view.setInt32(at, ArrivalKind.PROGRESS, true);
    view.setInt32(at + 4, 0, true);
    view.setFloat64(at + 8, round.dispatchedOffset, true);
    view.setFloat64(at + 16, 0, true);
    this.#arrivals.publish();
  }

  /** Flush queues and write the checkpoint when the interval has passed (or now if `force`). */
  flushIfDue(force: boolean): void {
    const now = this.#clock.nowMs();
    if (!force && now - this.#lastFlushMs < this.#config.flushConsumeQueueIntervalMs) return;
    this.#lastFlushMs = now;
    this.#trimExpired();
    let unflushed: number | undefined;
    if (force) {
      this.#queues.flushAll();
    } else {
      const clock = () => this.#clock.nowMs();
      unflushed = this.#queues.flushDirty(now + CONSUME_QUEUE_FLUSH_BUDGET_MS, clock);
    }
    const indexTimestamp = this.#index?.flush();
    const flushedTimestamp = loadOffset(this.#control, CTRL_FLUSHED_TIMESTAMP);
    writeCheckpoint(this.#fs, {
      physicMsgTimestamp: flushedTimestamp,
      logicsMsgTimestamp: flushedTimestamp,
      indexMsgTimestamp: indexTimestamp ?? flushedTimestamp,
      masterFlushedOffset: 0,
      confirmPhyOffset: 0,
      commitLogFlushedOffset: loadOffset(this.#control, CTRL_FLUSHED),
      dispatchedOffset: Math.min(
        this.#dispatcher.dispatchedOffset,
        unflushed ?? Number.MAX_SAFE_INTEGER,
      ),
    });
  }

  /** After retention moved the CommitLog min offset: drop queue and index segments below it. */
  #trimExpired(): void {
    const minOffset = loadOffset(this.#control, CTRL_MIN);
    if (minOffset <= this.#trimmedToOffset) return;
    this.#trimmedToOffset = minOffset;
    // Every queue on disk, loaded or not: an idle queue's old segments must go too.
    for (const { topic, queueId } of this.#queues.listOnDisk()) {
      this.#queues.findOrCreate(topic, queueId).deleteExpired(minOffset);
    }
    this.#index?.deleteExpired(minOffset);
    this.#reader.release(minOffset);
  }

  /** Wait (without blocking the event loop) on committedOffset for at most `timeoutMs`. */
  idle(timeoutMs: number): Promise<void> {
    return waitForCommittedAsync(this.#control, this.#dispatcher.dispatchedOffset, timeoutMs);
  }

  handle(request: DispatchControlRequest): void {
    // Everything committed before the request was sent is dispatched first: for
    // deleteTopic that is every earlier put of the topic, which must not
    // re-create its queues after the deletion.
    this.dispatchCommitted();
    if (request.kind === "deleteTopic") {
      // Queue indexes stay assigned: the main thread keeps its mapping, and a
      // re-created queue reuses its index.
      this.#queues.deleteTopic(request.topic);
      return;
    }
    this.flushIfDue(true);
    if (request.kind === "close") {
      this.#index?.close();
      this.#queues.close();
      this.#reader.close();
      this.closed = true;
    }
  }
}

/** The worker global, typed narrowly. */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<DispatchWorkerInit | DispatchControlRequest>) => void) | null;
  postMessage(message: WorkerReport): void;
  close(): void;
};

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Let the event loop run (timers and control messages); costs about 2 ms here. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function run(worker: DispatchWorker): Promise<void> {
  // Idle: sleep with Atomics.waitAsync, so control messages are handled at
  // once. Busy: yield to the event loop at most every BUSY_YIELD_MS.
  let lastYield = performance.now();
  let lastCpuPublish = 0;
  while (!worker.closed) {
    if (lastYield - lastCpuPublish >= CPU_PUBLISH_INTERVAL_MS) {
      lastCpuPublish = lastYield;
      worker.publishCpu();
    }
    if (worker.dispatchCommitted() > 0) {
      // Under sustained load the worker is never idle: flush on schedule anyway.
      worker.flushIfDue(false);
      if (performance.now() - lastYield > BUSY_YIELD_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
      continue;
    }
    worker.flushIfDue(false);
    await worker.idle(IDLE_WAIT_MS);
    lastYield = performance.now();
  }
}

scope.onmessage = (event) => {
  const init = event.data as DispatchWorkerInit;
  let worker: DispatchWorker;
  try {
    worker = new DispatchWorker(init, systemClock);
  } catch (error) {
    scope.postMessage({ kind: "fatal", error: errorText(error) });
    scope.close();
    return;
  }
  scope.onmessage = (control) => {
    const request = control.data as DispatchControlRequest;
    try {
      worker.handle(request);
      scope.postMessage({ kind: "done", id: request.id });
    } catch (error) {
      scope.postMessage({ kind: "fatal", error: errorText(error) });
      scope.close();
    }
  };
  scope.postMessage({
    kind: "opened",
    committedOffset: loadOffset(controlBlock(init.control), CTRL_COMMITTED),
    dispatchFromOffset: worker.dispatchedOffset,
    minOffset: 0,
    cleanShutdown: true,
  });
  run(worker).then(
    () => scope.close(),
    (error) => {
      scope.postMessage({ kind: "fatal", error: errorText(error) });
      scope.close();
    },
  );
};
