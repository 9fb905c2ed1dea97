/**
 * The store worker: owns CommitLog appends, flushes and recovery.
 *
 * Started by `WorkerMessageStore` with
 * `new Worker(new URL("./store_worker.ts", import.meta.url), { type: "module" })`.
 * It receives one `StoreWorkerInit` by postMessage (the rings and the control
 * block), recovers the store, answers `opened`, then runs a synchronous loop:
 *
 * 1. Drain the request ring (up to one write buffer of bytes): append every PUT
 *    through the domain `CommitLog`, which patches QUEUEOFFSET, PHYSICALOFFSET
 *    and STORETIMESTAMP in place and copies into its write buffer.
 * 2. Commit the buffer with one `writeSync`, publish the committed offset in the
 *    control block and wake the dispatch worker if it sleeps on it.
 * 3. `sync` flush mode: one fdatasync covers the whole batch (group commit); a
 *    sync slower than `syncFlushTimeoutMs` answers `FLUSH_DISK_TIMEOUT`.
 *    `async` mode: fdatasync every `flushIntervalMs` instead.
 * 4. Write one response per request and publish the response ring once.
 * 5. Idle: block in `Atomics.wait` on the request ring (bounded), then run
 *    timed work (async flush).
 *
 * The loop never returns to the event loop: control requests (FLUSH, CLOSE,
 * DELETE_TOPIC) arrive through the request ring, in order with the puts. An
 * I/O failure is fatal: the worker posts `fatal` and closes, and the main
 * thread answers every pending and later put with `SERVICE_NOT_AVAILABLE`.
 *
 * @module
 */

import { CommitLog } from "../domain/commit_log.ts";
import { ConsumeQueueStore } from "../domain/consume_queue_store.ts";
import { QueueOffsetTable } from "../domain/queue_offset_table.ts";
import { recoverStore, type StoreRecovery } from "../domain/recovery.ts";
import {
  DELETE_SEGMENTS_PER_ROUND_MAX,
  DISK_CLEAN_FORCIBLY_RATIO,
} from "../local_message_store.ts";
import { type Clock, systemClock } from "../domain/segment.ts";
import { TopicFences } from "../domain/topic_fence.ts";
import {
  DISK_FREE_RESERVE_BYTES_DEFAULT,
  DiskSpaceGuard,
  isNoSpace,
  isTooManyOpenFiles,
} from "../domain/disk_space_guard.ts";
import { fsDiskFreeBytes } from "./fs_config_files.ts";
import { type MessageStoreConfig, storeThreadHandles } from "../message_store.ts";
import { FsStoreFileSystem } from "./fs_segment.ts";
import { RingConsumer, RingProducer } from "./ring_buffer.ts";
import {
  type ControlBlock,
  controlBlock,
  CPU_PUBLISH_INTERVAL_MS,
  CTRL_COMMITTED,
  CTRL_DISK_USED_PPM,
  CTRL_DISPATCHED,
  CTRL_FLUSHED,
  CTRL_FLUSHED_TIMESTAMP,
  CTRL_MIN,
  CTRL_STORE_CPU_MICROS,
  loadOffset,
  notifyDispatch,
  publishThreadCpu,
  PutCode,
  REQUEST_HEADER_BYTES,
  RequestOp,
  RESPONSE_FIXED_BYTES,
  storeOffset,
  type StoreWorkerInit,
  type WorkerReport,
} from "./worker_protocol.ts";

/** Most requests handled between two group commits. */
const BATCH_REQUESTS_MAX = 4096;
/** Longest idle sleep on the request ring, ms (bounds timed work latency). */
const IDLE_WAIT_MS_MAX = 100;
/** CommitLog write buffer: one commit (writeSync) per batch of this many bytes. */
const WRITE_BUFFER_BYTES = 1024 * 1024;

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/** Response slots of one batch, kept in preallocated arrays (no per-request objects). */
class ResponseBatch {
  count = 0;
  readonly ids = new Int32Array(BATCH_REQUESTS_MAX);
  readonly codes = new Int32Array(BATCH_REQUESTS_MAX);
  readonly counts = new Int32Array(BATCH_REQUESTS_MAX);
  readonly wroteBytes = new Int32Array(BATCH_REQUESTS_MAX);
  readonly commitLogOffsets = new Float64Array(BATCH_REQUESTS_MAX);
  readonly queueOffsets = new Float64Array(BATCH_REQUESTS_MAX);
  readonly storeTimestamps = new Float64Array(BATCH_REQUESTS_MAX);
  readonly remarks: (string | undefined)[] = new Array(BATCH_REQUESTS_MAX).fill(undefined);
  /** Whether each slot is a PUT (its code may turn into FLUSH_DISK_TIMEOUT). */
  readonly isPut = new Uint8Array(BATCH_REQUESTS_MAX);

  add(id: number, code: number, remark?: string): number {
    const i = this.count++;
    this.ids[i] = id;
    this.codes[i] = code;
    this.counts[i] = 0;
    this.wroteBytes[i] = 0;
    this.commitLogOffsets[i] = 0;
    this.queueOffsets[i] = 0;
    this.storeTimestamps[i] = 0;
    this.remarks[i] = remark;
    this.isPut[i] = 0;
    return i;
  }
}

/** The worker's state and loop. Lives in the store worker thread only. */
class StoreWorker {
  readonly #config: MessageStoreConfig;
  readonly #clock: Clock;
  readonly #requests: RingConsumer;
  readonly #responses: RingProducer;
  readonly #control: ControlBlock;
  readonly #fs: FsStoreFileSystem;
  readonly #queueOffsets = new QueueOffsetTable();
  readonly #commitLog: CommitLog;
  readonly #fences: TopicFences;
  readonly #diskSpace: DiskSpaceGuard;
  readonly #batch = new ResponseBatch();
  /** Private copy of the request being appended. */
  #scratch = new Uint8Array(64 * 1024);
  #lastFlushMs = 0;
  #lastRetentionMs = 0;
  #lastCpuPublishMs = 0;
  readonly #retentionIntervalMs: number;
  #closing = false;

  constructor(init: StoreWorkerInit, clock: Clock) {
    this.#config = init.config;
    this.#clock = clock;
    this.#requests = new RingConsumer(init.requestRing);
    this.#responses = new RingProducer(init.responseRing);
    this.#control = controlBlock(init.control);
    this.#fs = new FsStoreFileSystem(
      init.config.dataDir,
      storeThreadHandles(init.config.openFilesMax).storeWorker,
    );
    this.#fences = new TopicFences(this.#fs);
    const dataDir = init.config.dataDir;
    this.#diskSpace = new DiskSpaceGuard(
      () => fsDiskFreeBytes(dataDir),
      init.config.diskFreeReserveBytes ?? DISK_FREE_RESERVE_BYTES_DEFAULT,
      () => clock.nowMs(),
    );
    this.#retentionIntervalMs = init.retentionIntervalMs;
    this.#commitLog = new CommitLog(this.#fs.segments("commitlog"), this.#queueOffsets, {
      segmentBytes: init.config.commitLogSegmentBytes,
      clock,
      writeBufferBytes: WRITE_BUFFER_BYTES,
    });
  }

  /** Recover (domain `recoverStore`, which also writes the abort marker) and publish offsets. */
  open(): StoreRecovery {
    const queues = new ConsumeQueueStore(this.#fs, this.#config.consumeQueueSegmentUnits, true);
    let recovery: StoreRecovery;
    try {
      recovery = recoverStore({
        fs: this.#fs,
        commitLog: this.#commitLog,
        queueOffsets: this.#queueOffsets,
        queues,
        checkCrc: this.#config.checkCrcOnRecover,
        fences: this.#fences,
      });
    } finally {
      // The dispatch worker owns the ConsumeQueues from here on.
      queues.close();
    }
    this.#publishOffsets();
    this.#lastFlushMs = this.#lastRetentionMs = this.#clock.nowMs();
    return recovery;
  }

  #publishOffsets(): void {
    storeOffset(this.#control, CTRL_MIN, this.#commitLog.minOffset);
    storeOffset(this.#control, CTRL_FLUSHED, this.#commitLog.flushedOffset);
    storeOffset(this.#control, CTRL_FLUSHED_TIMESTAMP, this.#commitLog.lastStoreTimestamp);
    storeOffset(this.#control, CTRL_COMMITTED, this.#commitLog.committedOffset);
    notifyDispatch(this.#control);
  }

  /** Run until a CLOSE request has been answered. */
  run(): void {
    const asyncMode = this.#config.flushMode === "async";
    const idleWaitMs = Math.max(
      1,
      Math.min(
        IDLE_WAIT_MS_MAX,
        this.#retentionIntervalMs,
        asyncMode ? this.#config.flushIntervalMs : IDLE_WAIT_MS_MAX,
      ),
    );
    while (!this.#closing) {
      const handled = this.#processBatch();
      const now = this.#clock.nowMs();
      if (asyncMode && now - this.#lastFlushMs >= this.#config.flushIntervalMs) this.#flush();
      if (now - this.#lastRetentionMs >= this.#retentionIntervalMs) this.#runRetention(now);
      if (now - this.#lastCpuPublishMs >= CPU_PUBLISH_INTERVAL_MS) {
        this.#lastCpuPublishMs = now;
        publishThreadCpu(this.#control, CTRL_STORE_CPU_MICROS);
      }
      if (handled === 0) this.#requests.waitForData(idleWaitMs);
    }
  }

  /**
   * One retention round, as `LocalMessageStore.runRetention`: at a
   * `deleteWhenHours` hour or above `diskMaxUsedSpaceRatio` (ratio published
   * by the main thread), delete expired CommitLog segments (any age above
   * `DISK_CLEAN_FORCIBLY_RATIO`), then publish the new min offset; the
   * dispatch worker trims the ConsumeQueues and index after it.
   */
  #runRetention(now: number): void {
    this.#lastRetentionMs = now;
    const diskRatio = loadOffset(this.#control, CTRL_DISK_USED_PPM) / 1_000_000;
    const due = this.#config.deleteWhenHours.includes(new Date(now).getHours()) ||
      diskRatio > this.#config.diskMaxUsedSpaceRatio;
    if (!due) return;
    const deleted = this.#commitLog.deleteExpired(
      now,
      this.#config.fileReservedTimeHours * 3_600_000,
      DELETE_SEGMENTS_PER_ROUND_MAX,
      diskRatio > DISK_CLEAN_FORCIBLY_RATIO,
      loadOffset(this.#control, CTRL_DISPATCHED),
    );
    if (deleted.length > 0) storeOffset(this.#control, CTRL_MIN, this.#commitLog.minOffset);
  }

  #flush(): number {
    const started = performance.now();
    this.#commitLog.flush();
    this.#lastFlushMs = this.#clock.nowMs();
    storeOffset(this.#control, CTRL_FLUSHED, this.#commitLog.flushedOffset);
    storeOffset(this.#control, CTRL_FLUSHED_TIMESTAMP, this.#commitLog.lastStoreTimestamp);
    return performance.now() - started;
  }

  /**
   * A write failed for lack of space: drop what did not reach the file, and
   * answer every put of this batch that ended past it SERVICE_NOT_AVAILABLE.
   */
  #refuseUncommitted(error: unknown): void {
    this.#commitLog.discardUncommitted();
    this.#diskSpace.markFull(error);
    const committed = this.#commitLog.committedOffset;
    const batch = this.#batch;
    for (let i = 0; i < batch.count; i++) {
      if (batch.isPut[i] !== 1) continue;
      if (batch.commitLogOffsets[i] + batch.wroteBytes[i] <= committed) continue;
      batch.codes[i] = PutCode.SERVICE_NOT_AVAILABLE;
      batch.remarks[i] = this.#diskSpace.full;
      batch.isPut[i] = 0;
    }
  }

  /** Drain, append, commit, flush per policy, answer. Returns requests handled. */
  #processBatch(): number {
    const batch = this.#batch;
    batch.count = 0;
    const requests = this.#requests;
    const view = requests.view;
    const data = requests.data;
    let appendedBytes = 0;
    let puts = 0;
    let flushRequested = false;
    while (batch.count < BATCH_REQUESTS_MAX && appendedBytes < WRITE_BUFFER_BYTES) {
      const at = requests.next();
      if (at < 0) break;
      const length = requests.recordBytes;
      const id = view.getInt32(at, true);
      const op = view.getInt32(at + 4, true);
      const count = view.getInt32(at + 8, true);
      // Copy out of shared memory first: decoding text from a SharedArrayBuffer
      // view costs a copy per call, and the CommitLog decodes the topic.
      const payloadBytes = length - REQUEST_HEADER_BYTES;
      if (payloadBytes > this.#scratch.length) this.#scratch = new Uint8Array(payloadBytes);
      const payload = this.#scratch.subarray(0, payloadBytes);
      payload.set(data.subarray(at + REQUEST_HEADER_BYTES, at + length));
      if (op === RequestOp.PUT) {
        const full = this.#diskSpace.check(this.#commitLog.writtenOffset);
        if (full !== undefined) {
          batch.add(id, PutCode.SERVICE_NOT_AVAILABLE, full);
          continue;
        }
        const slot = batch.add(id, PutCode.PUT_OK);
        batch.isPut[slot] = 1;
        try {
          const result = count === 1
            ? this.#commitLog.append(payload)
            : this.#commitLog.appendBatch(payload, count);
          batch.counts[slot] = count;
          batch.wroteBytes[slot] = result.wroteBytes;
          batch.commitLogOffsets[slot] = result.commitLogOffset;
          batch.queueOffsets[slot] = result.queueOffset;
          batch.storeTimestamps[slot] = result.storeTimestamp;
          appendedBytes += result.wroteBytes;
          puts++;
        } catch (error) {
          if (isNoSpace(error)) {
            // Not fatal: refuse this put and every one not yet in the file, go on.
            this.#refuseUncommitted(error);
            batch.codes[slot] = PutCode.SERVICE_NOT_AVAILABLE;
            batch.remarks[slot] = this.#diskSpace.full;
            batch.isPut[slot] = 0;
            continue;
          }
          if (isTooManyOpenFiles(error)) {
            // Busy for this put (SYSTEM_BUSY on the wire); the worker keeps serving.
            this.#commitLog.discardUncommitted();
            batch.codes[slot] = PutCode.OS_PAGE_CACHE_BUSY;
            batch.remarks[slot] = (error as Error).message;
            batch.isPut[slot] = 0;
            continue;
          }
          if ((error as Error)?.name !== "AssertionError") throw error;
          // A record the CommitLog refuses (malformed or too large): answer it, keep going.
          batch.codes[slot] = PutCode.MESSAGE_ILLEGAL;
          batch.remarks[slot] = (error as Error).message;
          batch.isPut[slot] = 0;
        }
      } else if (op === RequestOp.REPLICATE) {
        // HA: a master's records, appended byte for byte (CommitLog.appendReplicated).
        const slot = batch.add(id, PutCode.OK);
        try {
          const offset = new DataView(payload.buffer, payload.byteOffset).getFloat64(0, true);
          batch.commitLogOffsets[slot] = this.#commitLog.appendReplicated(
            offset,
            payload.subarray(8),
          );
          appendedBytes += payloadBytes;
          puts++;
        } catch (error) {
          if ((error as Error)?.name !== "AssertionError") throw error;
          batch.codes[slot] = PutCode.MESSAGE_ILLEGAL;
          batch.remarks[slot] = (error as Error).message;
        }
      } else if (op === RequestOp.FLUSH) {
        batch.add(id, PutCode.OK);
        flushRequested = true;
      } else if (op === RequestOp.DELETE_TOPIC) {
        const topic = textDecoder.decode(payload);
        // Before the dispatch worker removes the queues: recovery must never rebuild them.
        // Flushed first: after a power cut the CommitLog must not end below the fence.
        this.#commitLog.flush();
        this.#fences.add(topic, this.#commitLog.flushedOffset, this.#commitLog.minOffset);
        this.#queueOffsets.deleteTopic(topic);
        batch.add(id, PutCode.OK);
      } else if (op === RequestOp.CLOSE) {
        batch.add(id, PutCode.OK);
        flushRequested = true;
        this.#closing = true;
        break;
      } else {
        batch.add(id, PutCode.UNKNOWN_ERROR, `unknown request op ${op}`);
      }
    }
    if (batch.count === 0) return 0;
    // The CommitLog copied every record into its write buffer: the ring space is free.
    requests.release();
    try {
      this.#commitLog.commit();
    } catch (error) {
      if (!isNoSpace(error)) throw error;
      this.#refuseUncommitted(error);
    }
    storeOffset(this.#control, CTRL_COMMITTED, this.#commitLog.committedOffset);
    notifyDispatch(this.#control);
    if (flushRequested || (puts > 0 && this.#config.flushMode === "sync")) {
      let syncMs: number;
      try {
        syncMs = this.#flush();
      } catch (error) {
        if (!isNoSpace(error)) throw error;
        this.#diskSpace.markFull(error);
        syncMs = Infinity; // appended but not known durable: FLUSH_DISK_TIMEOUT
      }
      if (syncMs > this.#config.syncFlushTimeoutMs) {
        for (let i = 0; i < batch.count; i++) {
          if (batch.isPut[i] === 1) batch.codes[i] = PutCode.FLUSH_DISK_TIMEOUT;
        }
      }
    }
    this.#answer();
    return batch.count;
  }

  #answer(): void {
    const batch = this.#batch;
    const responses = this.#responses;
    const view = responses.ring.view;
    for (let i = 0; i < batch.count; i++) {
      const remark = batch.remarks[i];
      const remarkBytes = remark === undefined ? undefined : textEncoder.encode(remark);
      const size = RESPONSE_FIXED_BYTES + (remarkBytes?.length ?? 0);
      let at = responses.tryReserve(size);
      while (at < 0) {
        // The main thread is behind: let it see what is written, then wait for room.
        responses.publish();
        responses.waitForRoom(size, IDLE_WAIT_MS_MAX);
        at = responses.tryReserve(size);
      }
      view.setInt32(at, batch.ids[i], true);
      view.setInt32(at + 4, batch.codes[i], true);
      view.setInt32(at + 8, batch.counts[i], true);
      view.setInt32(at + 12, batch.wroteBytes[i], true);
      view.setFloat64(at + 16, batch.commitLogOffsets[i], true);
      view.setFloat64(at + 24, batch.queueOffsets[i], true);
      view.setFloat64(at + 32, batch.storeTimestamps[i], true);
      if (remarkBytes !== undefined) responses.data.set(remarkBytes, at + RESPONSE_FIXED_BYTES);
      batch.remarks[i] = undefined;
    }
    responses.publish();
  }

  close(): void {
    this.#commitLog.flush();
    this.#publishOffsets();
    this.#commitLog.close();
  }
}

/** The worker global, typed narrowly. */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<StoreWorkerInit>) => void) | null;
  postMessage(message: WorkerReport): void;
  close(): void;
};

scope.onmessage = (event) => {
  scope.onmessage = null;
  const init = event.data;
  let worker: StoreWorker | undefined;
  try {
    worker = new StoreWorker(init, systemClock);
    const recovery = worker.open();
    scope.postMessage({
      kind: "opened",
      committedOffset: recovery.commitLog.endOffset,
      dispatchFromOffset: recovery.dispatchedOffset,
      minOffset: 0,
      cleanShutdown: !recovery.abnormal,
    });
    worker.run();
    worker.close();
    scope.postMessage({ kind: "done", id: 0 });
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    scope.postMessage({ kind: "fatal", error: message });
  }
  scope.close();
};
