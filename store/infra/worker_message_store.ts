/**
 * `WorkerMessageStore`: the MessageStore port with the CommitLog writer in a
 * store Worker and ConsumeQueue building in a dispatch Worker, reached through
 * SharedArrayBuffer rings. The production shape (see `docs/threading.md`).
 *
 * Threads and what they own:
 *
 * - Main thread (this class): validates and encodes each put straight into the
 *   request ring, resolves puts from the response ring, learns arrivals from
 *   the arrival ring, and serves reads with its own positional-read handles
 *   (`MessageReader` over a reader `ConsumeQueueStore` and a `CommitLogReader`).
 *   It never waits on disk writes: ring waits use `Atomics.waitAsync`.
 * - Store worker (`store_worker.ts`): recovery, appends, group commit, flushes.
 * - Dispatch worker (`dispatch_worker.ts`): ConsumeQueues, checkpoint.
 *
 * Reads see only dispatched data: a queue's max offset moves when the main
 * thread processes the queue's ARRIVAL, which the dispatch worker writes after
 * committing the units. So a queue read right after a put may not see the
 * message yet (with `awaitDispatch: false`); `onArrival` announces when it
 * does. Reads by CommitLog offset (`lookMessageByOffset`, `readRecords`) are
 * bounded by the committed offset instead, so they see every acknowledged put.
 *
 * @module
 */

import { BLANK_MARKER_BYTES, recordSize } from "../../client/protocol/message_record.ts";
import { ABORT_PATH } from "../domain/checkpoint.ts";
import { type CommitLogRead, CommitLogReader } from "../domain/commit_log.ts";
import type { ConsumeQueue } from "../domain/consume_queue.ts";
import { ConsumeQueueStore } from "../domain/consume_queue_store.ts";
import { CONSUMER_OFFSET_CONFIG, ConsumerOffsetTable } from "../domain/consumer_offset_table.ts";
import {
  encodeMessagesInto,
  prepareBatch,
  type PreparedMessage,
  prepareMessage,
  type PutRefusal,
} from "../domain/message_encoder.ts";
import { IndexService } from "../domain/index_service.ts";
import { lookupMessagesByKey } from "../domain/message_lookup.ts";
import { MessageReader } from "../domain/message_reader.ts";
import { CLEAN_RESOURCE_INTERVAL_MS } from "../local_message_store.ts";
import type {
  ConsumerOffsetEntry,
  GetMessageRequest,
  GetMessageResult,
  MessageArrival,
  MessageStore,
  MessageStoreConfig,
  MessageToPut,
  PutMessageResult,
  ReplicaAppendResult,
  StoredMessage,
  StoreStats,
} from "../message_store.ts";
import { storeThreadHandles } from "../message_store.ts";
import { type ConfigFiles, FsConfigFiles, fsDiskUsedRatio } from "./fs_config_files.ts";
import { FsStoreFileSystem } from "./fs_segment.ts";
import { RingBuffer, RingConsumer, RingProducer } from "./ring_buffer.ts";
import {
  ArrivalKind,
  type ControlBlock,
  controlBlock,
  CTRL_COMMITTED,
  CTRL_DISK_USED_PPM,
  CTRL_DISPATCH_CPU_MICROS,
  CTRL_DISPATCHED,
  CTRL_FLUSHED,
  CTRL_MIN,
  CTRL_STORE_CPU_MICROS,
  type DispatchControlRequest,
  type DispatchWorkerInit,
  loadOffset,
  PutCode,
  putStatusOf,
  QUEUE_RECORD_FIXED_BYTES,
  REQUEST_HEADER_BYTES,
  RequestOp,
  RESPONSE_FIXED_BYTES,
  storeOffset,
  type StoreWorkerInit,
  threadCpuMicros,
  type WorkerReport,
} from "./worker_protocol.ts";

/** Default response ring capacity, bytes (about 26k responses). */
export const RESPONSE_RING_BYTES_DEFAULT = 1024 * 1024;
/** Default arrival ring capacity, bytes. */
export const ARRIVAL_RING_BYTES_DEFAULT = 1024 * 1024;
/** Default bound on waiting for a worker to open or answer a control request, ms. */
export const CONTROL_TIMEOUT_MS_DEFAULT = 300_000;
/** Publish the request ring early once this many bytes are unpublished. */
const PUBLISH_EARLY_BYTES = 64 * 1024;
/** Longest single sleep of the main thread's ring loops, ms (they loop while open). */
const LOOP_WAIT_MS = 1000;
/** Most topics whose UTF-8 bytes are cached for the put fast path. */
const TOPIC_CACHE_ENTRIES_MAX = 4096;

/** Options of a `WorkerMessageStore` (all optional). */
export interface WorkerMessageStoreOptions {
  /** Response ring capacity, bytes (a power of two). */
  readonly responseRingBytes?: number;
  /** Arrival ring capacity, bytes (a power of two). */
  readonly arrivalRingBytes?: number;
  /** Bound on waiting for a worker to open or answer a control request, ms. */
  readonly controlTimeoutMs?: number;
  /** Config documents. Default: `config/<name>.json` under `config.dataDir`. */
  readonly configFiles?: ConfigFiles;
  /** Disk use ratio 0..1 of the data disk. Default: statfs of `config.dataDir`. */
  readonly diskUsedRatio?: () => number;
  /**
   * Resolve a put only once dispatch has made it readable (read-your-writes,
   * as `LocalMessageStore` does). Default true. With false a put resolves as
   * soon as the flush policy acknowledges it (RocketMQ's behaviour) and
   * becomes readable a little later; `onArrival` says when.
   */
  readonly awaitDispatch?: boolean;
  /**
   * How often retention runs, ms: the main thread refreshes the disk use
   * ratio, the store worker deletes expired CommitLog segments, and the
   * readers follow the new min offset. Default `CLEAN_RESOURCE_INTERVAL_MS` (10 s).
   */
  readonly retentionIntervalMs?: number;
}

type State = "new" | "opening" | "open" | "closing" | "closed" | "failed";

/** A request written to (or waiting for) the request ring, in FIFO order. */
interface Pending {
  readonly id: number;
  /** Resolves a put; control requests resolve with the raw status code. */
  readonly resolvePut?: (result: PutMessageResult) => void;
  readonly resolveControl?: (code: number, remark: string) => void;
  /** Record sizes of a batch put (to derive every record's offset). */
  readonly sizes?: readonly number[];
}

/** A request that did not fit in the ring yet. */
interface Backlogged {
  readonly op: number;
  readonly prepared?: readonly PreparedMessage[];
  readonly payload?: Uint8Array;
  readonly pending: Omit<Pending, "id">;
}

/** A put acknowledged by the store worker, waiting for dispatch to make it readable. */
interface Parked {
  /** CommitLog offset one past its last record. */
  readonly endOffset: number;
  readonly result: PutMessageResult;
  readonly resolve: (result: PutMessageResult) => void;
}

/** A FIFO without per-shift array copies. */
class Fifo<T> {
  #items: (T | undefined)[] = new Array(1024);
  #head = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head];
  }

  push(item: T): void {
    if (this.#size === this.#items.length) {
      const grown: (T | undefined)[] = new Array(this.#items.length * 2);
      for (let i = 0; i < this.#size; i++) {
        grown[i] = this.#items[(this.#head + i) % this.#items.length];
      }
      this.#items = grown;
      this.#head = 0;
    }
    this.#items[(this.#head + this.#size) % this.#items.length] = item;
    this.#size++;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#size--;
    return item;
  }
}

/** Bytes the main thread's CommitLog read window holds. */
const READ_WINDOW_BYTES = 128 * 1024;
/** Reads at least this large bypass the window (one pread straight into the caller's buffer). */
const READ_WINDOW_BYPASS_BYTES = 32 * 1024;

/**
 * CommitLog reads for the main thread through one read-ahead window.
 *
 * A queue's records are usually interleaved with other queues' records, so a
 * 32-message pull would otherwise cost 32 preads. Small reads are served from
 * a window filled by one pread; the window never extends past the dispatched
 * offset (`limit()`), below which CommitLog bytes never change while the store
 * is open, so a cached window is never stale.
 */
class WindowedCommitLogRead implements CommitLogRead {
  readonly segmentBytes: number;
  readonly #inner: CommitLogRead;
  readonly #limit: () => number;
  readonly #window = new Uint8Array(READ_WINDOW_BYTES);
  #start = 0;
  #end = 0;

  constructor(inner: CommitLogRead, limit: () => number) {
    this.#inner = inner;
    this.#limit = limit;
    this.segmentBytes = inner.segmentBytes;
  }

  readAt(commitLogOffset: number, target: Uint8Array): number {
    if (target.length >= READ_WINDOW_BYPASS_BYTES) {
      return this.#inner.readAt(commitLogOffset, target);
    }
    const end = commitLogOffset + target.length;
    if (commitLogOffset < this.#start || end > this.#end) {
      const segmentEnd = commitLogOffset - (commitLogOffset % this.segmentBytes) +
        this.segmentBytes;
      const want = Math.min(
        READ_WINDOW_BYTES,
        this.#limit() - commitLogOffset,
        segmentEnd - commitLogOffset,
      );
      if (want < target.length) return this.#inner.readAt(commitLogOffset, target);
      const n = this.#inner.readAt(commitLogOffset, this.#window.subarray(0, want));
      this.#start = commitLogOffset;
      this.#end = commitLogOffset + n;
      if (end > this.#end) {
        this.#end = this.#start; // short read: the segment is gone or truncated
        return this.#inner.readAt(commitLogOffset, target);
      }
    }
    const at = commitLogOffset - this.#start;
    target.set(this.#window.subarray(at, at + target.length));
    return target.length;
  }

  /** Forget the window (after a topic deletion or anything that may move data). */
  reset(): void {
    this.#start = this.#end = 0;
  }
}

function notAvailable(remark: string): PutRefusal {
  return { status: "SERVICE_NOT_AVAILABLE", remark };
}

function nextPowerOfTwo(n: number): number {
  let p = 64;
  while (p < n) p *= 2;
  return p;
}

/**
 * The worker-backed MessageStore. Lives on the main thread; see the module doc.
 *
 * Invariants: responses arrive in request order, so `#pending` is a FIFO whose
 * head always matches the next response id; a request is either in `#pending`
 * (written to the ring) or in `#backlog` (waiting for room), never both; once
 * the store fails, both are emptied with `SERVICE_NOT_AVAILABLE` and stay empty.
 */
export class WorkerMessageStore implements MessageStore {
  readonly #config: MessageStoreConfig;
  readonly #options: WorkerMessageStoreOptions;
  readonly #configFiles: ConfigFiles;
  readonly #diskUsedRatio: () => number;
  readonly #consumerOffsets = new ConsumerOffsetTable();
  readonly #listeners = new Set<(arrival: MessageArrival) => void>();
  readonly #pending = new Fifo<Pending>();
  readonly #parked = new Fifo<Parked>();
  readonly #awaitDispatch: boolean;
  readonly #retentionIntervalMs: number;
  /** Dispatched offset as of the last PROGRESS this thread processed. */
  #dispatchedOffset = 0;
  #backlog: Backlogged[] = [];
  #backlogHead = 0;
  #draining = false;
  #state: State = "new";
  #failure: string | undefined;
  #requests: RingProducer | undefined;
  #responses: RingConsumer | undefined;
  #arrivals: RingConsumer | undefined;
  #control: ControlBlock | undefined;
  #storeWorker: Worker | undefined;
  #dispatchWorker: Worker | undefined;
  #dispatchWaiters = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  #queues: ConsumeQueueStore | undefined;
  #commitLogReader: CommitLogReader | undefined;
  #reader: MessageReader | undefined;
  /**
   * Reads by CommitLog offset, bounded by the committed (not the dispatched)
   * offset: a record is complete in the file once the store worker has
   * published committedOffset, so `lookMessageByOffset` and `readRecords` find
   * it without waiting for dispatch (END_TRANSACTION right after the half
   * message's ack, with `awaitDispatch: false`).
   */
  #committedReader: MessageReader | undefined;
  #index: IndexService | undefined;
  /** CommitLog min offset the readers last followed. */
  #readerMinOffset = 0;
  #queueByIndex: { topic: string; queueId: number; queue: ConsumeQueue | undefined }[] = [];
  #nextId = 0;
  #unpublishedBytes = 0;
  #publishScheduled = false;
  #requestPayloadBytesMax = 0;
  #batchBytesMax = 0;
  #loops: Promise<void>[] = [];
  #timers: ReturnType<typeof setInterval>[] = [];
  #persistedOffsetsVersion = -1;
  #diskRatio = 0;
  #putCount = 0;
  #getCount = 0;
  #closing: Promise<void> | undefined;
  #storeDone: Promise<void> | undefined;
  /** UTF-8 bytes of topics that passed validation once (the put fast path). */
  readonly #topicBytes = new Map<string, Uint8Array>();
  /** ASCII properties of the put being encoded (valid until the next put). */
  readonly #propertiesScratch: Uint8Array;

  /**
   * Build a store (no threads or I/O until `open`).
   *
   * @param config Store config (see `defaultStoreConfig`).
   * @param options Ring sizes, timeouts, injected config files and disk usage.
   * @throws {RangeError} If limits contradict each other.
   */
  constructor(config: MessageStoreConfig, options: WorkerMessageStoreOptions = {}) {
    const limits = config.limits;
    if (limits.getMessagesMax < 1 || limits.batchMessagesMax < 1 || limits.getBytesMax < 1) {
      throw new RangeError("Cannot build store: message count and byte limits must be >= 1");
    }
    if (config.diskSpaceWarningLevelRatio <= 0 || config.diskSpaceWarningLevelRatio > 1) {
      throw new RangeError(
        `Cannot build store: diskSpaceWarningLevelRatio is ${config.diskSpaceWarningLevelRatio}, expected (0, 1]`,
      );
    }
    this.#config = config;
    this.#options = options;
    this.#configFiles = options.configFiles ?? new FsConfigFiles(config.dataDir);
    this.#diskUsedRatio = options.diskUsedRatio ?? (() => fsDiskUsedRatio(config.dataDir));
    this.#awaitDispatch = options.awaitDispatch ?? true;
    this.#retentionIntervalMs = options.retentionIntervalMs ?? CLEAN_RESOURCE_INTERVAL_MS;
    this.#propertiesScratch = new Uint8Array(limits.propertiesBytesMax);
  }

  /**
   * Start the workers (the store worker recovers first), open read handles,
   * load consumer offsets and start the ring loops.
   *
   * @throws {Error} If already opened, or if a worker fails to open (recovery I/O error).
   */
  async open(): Promise<void> {
    if (this.#state !== "new") throw new Error(`Cannot open store: it is ${this.#state}`);
    this.#state = "opening";
    const config = this.#config;
    await Deno.mkdir(config.dataDir, { recursive: true });
    // The data dir's own entry must survive a power cut (its parent fsynced).
    new FsStoreFileSystem(config.dataDir).syncDirectory("");
    const limits = config.limits;
    // The largest single record: every field at its limit, IPv6 hosts.
    const recordBytesMax = recordSize(
      limits.messageBytesMax,
      limits.retryTopicBytesMax,
      limits.propertiesBytesMax,
      16,
      16,
    );
    const requestRing = RingBuffer.allocate(
      RingBuffer.capacityFor(
        REQUEST_HEADER_BYTES + recordBytesMax,
        nextPowerOfTwo(config.putRingBytes),
      ),
    );
    this.#requestPayloadBytesMax = requestRing.recordBytesMax - REQUEST_HEADER_BYTES;
    this.#batchBytesMax = Math.min(
      this.#requestPayloadBytesMax,
      config.commitLogSegmentBytes - BLANK_MARKER_BYTES,
    );
    const responseRing = RingBuffer.allocate(
      this.#options.responseRingBytes ?? RESPONSE_RING_BYTES_DEFAULT,
    );
    const arrivalRing = RingBuffer.allocate(
      this.#options.arrivalRingBytes ?? ARRIVAL_RING_BYTES_DEFAULT,
    );
    const control = controlBlock();
    this.#requests = new RingProducer(requestRing);
    this.#responses = new RingConsumer(responseRing);
    this.#arrivals = new RingConsumer(arrivalRing);
    this.#control = control;

    try {
      const storeWorker = this.#spawn("./store_worker.ts", "store worker");
      this.#storeWorker = storeWorker.worker;
      const storeInit: StoreWorkerInit = {
        kind: "init",
        config,
        requestRing: requestRing.buffer,
        responseRing: responseRing.buffer,
        control: control.buffer,
        retentionIntervalMs: this.#retentionIntervalMs,
      };
      this.#diskRatio = this.#diskUsedRatio();
      storeOffset(control, CTRL_DISK_USED_PPM, Math.round(this.#diskRatio * 1_000_000));
      storeWorker.worker.postMessage(storeInit);
      const opened = await this.#bounded(storeWorker.opened, "store worker to open");
      this.#storeDone = storeWorker.done;

      const dispatchWorker = this.#spawn("./dispatch_worker.ts", "dispatch worker");
      this.#dispatchWorker = dispatchWorker.worker;
      const dispatchInit: DispatchWorkerInit = {
        kind: "init",
        config,
        arrivalRing: arrivalRing.buffer,
        control: control.buffer,
        dispatchFromOffset: opened.dispatchFromOffset,
      };
      dispatchWorker.worker.postMessage(dispatchInit);
      await this.#bounded(dispatchWorker.opened, "dispatch worker to open");
      this.#dispatchedOffset = Math.max(
        opened.dispatchFromOffset,
        loadOffset(control, CTRL_DISPATCHED),
      );

      const fs = new FsStoreFileSystem(
        config.dataDir,
        storeThreadHandles(config.openFilesMax).mainThread,
      );
      // Readers load each queue on first access: with tens of thousands of
      // queues, loading them all at open took seconds.
      this.#queues = new ConsumeQueueStore(fs, config.consumeQueueSegmentUnits, false);
      this.#queues.onLoad = (queue) => queue.correctMinOffset(this.#readerMinOffset);
      this.#commitLogReader = new CommitLogReader(
        fs.segments("commitlog"),
        config.commitLogSegmentBytes,
      );
      const windowed = new WindowedCommitLogRead(
        this.#commitLogReader,
        () => this.#dispatchedOffset,
      );
      this.#reader = new MessageReader(
        windowed,
        {
          minOffset: () => loadOffset(control, CTRL_MIN),
          maxOffset: () => this.#dispatchedOffset,
        },
        this.#queues,
        limits,
      );
      // Plain preads (no read window, which stops at the dispatched offset).
      this.#committedReader = new MessageReader(
        this.#commitLogReader,
        {
          minOffset: () => loadOffset(control, CTRL_MIN),
          maxOffset: () => loadOffset(control, CTRL_COMMITTED),
        },
        this.#queues,
        limits,
      );

      if (config.messageIndexEnable) {
        this.#index = new IndexService(fs, {
          writable: false,
          slotCount: config.indexSlotsPerFile,
          entryCount: config.indexEntriesPerFile,
        });
        this.#index.load();
      }
      this.#readerMinOffset = loadOffset(control, CTRL_MIN);

      const offsets = await this.#configFiles.load(CONSUMER_OFFSET_CONFIG);
      if (offsets !== undefined) {
        try {
          this.#consumerOffsets.loadJson(offsets);
        } catch {
          // An unreadable document behaves as absent; the .bak fallback already ran.
        }
      }
      const queues = this.#queues;
      this.#consumerOffsets.clampToQueueEnds((topic, queueId) =>
        queues?.get(topic, queueId)?.maxOffset
      );
    } catch (error) {
      this.#state = "failed";
      this.#terminateWorkers();
      throw error;
    }
    this.#persistedOffsetsVersion = this.#consumerOffsets.version;
    this.#state = "open";
    this.#loops.push(this.#responseLoop(), this.#arrivalLoop());
    this.#timers.push(
      setInterval(
        () => void this.#persistOffsets().catch(() => {}),
        config.persistConsumerOffsetIntervalMs,
      ),
      setInterval(() => this.#retentionTick(), this.#retentionIntervalMs),
    );
  }

  /** Start a worker and watch it: `opened` settles on its first report; failures fail the store. */
  #spawn(path: string, name: string): {
    worker: Worker;
    opened: Promise<Extract<WorkerReport, { kind: "opened" }>>;
    done: Promise<void>;
  } {
    const worker = new Worker(new URL(path, import.meta.url), { type: "module" });
    const opened = Promise.withResolvers<Extract<WorkerReport, { kind: "opened" }>>();
    const done = Promise.withResolvers<void>();
    let isOpen = false;
    worker.onmessage = (event: MessageEvent<WorkerReport>) => {
      const report = event.data;
      if (report.kind === "opened") {
        isOpen = true;
        opened.resolve(report);
      } else if (report.kind === "fatal") {
        const reason = `${name} failed: ${report.error}`;
        opened.reject(new Error(`Cannot open store: ${reason}`));
        done.resolve();
        this.#fail(reason);
      } else if (report.kind === "done") {
        if (report.id === 0) done.resolve();
        const waiter = this.#dispatchWaiters.get(report.id);
        if (waiter !== undefined) {
          this.#dispatchWaiters.delete(report.id);
          if (report.error === undefined) waiter.resolve();
          else waiter.reject(new Error(report.error));
        }
      }
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      const reason = `${name} failed: ${event.message}`;
      if (!isOpen) opened.reject(new Error(`Cannot open store: ${reason}`));
      done.resolve();
      this.#fail(reason);
    };
    opened.promise.catch(() => {});
    return { worker, opened: opened.promise, done: done.promise };
  }

  async #bounded<T>(promise: Promise<T>, what: string): Promise<T> {
    const timeoutMs = this.#options.controlTimeoutMs ?? CONTROL_TIMEOUT_MS_DEFAULT;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Timed out after ${timeoutMs} ms waiting for the ${what}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Mark the store failed: every pending and later put answers SERVICE_NOT_AVAILABLE.
   *
   * @param reason Why (a worker's error).
   */
  #fail(reason: string): void {
    if (this.#state === "closed" || this.#state === "failed") return;
    this.#failure = reason;
    this.#state = "failed";
    this.#abandon(reason);
  }

  /** Answer every request still waiting (pending, backlogged) with SERVICE_NOT_AVAILABLE. */
  #abandon(reason: string): void {
    for (let p = this.#pending.shift(); p !== undefined; p = this.#pending.shift()) {
      p.resolvePut?.(notAvailable(reason));
      p.resolveControl?.(PutCode.SERVICE_NOT_AVAILABLE, reason);
    }
    for (let i = this.#backlogHead; i < this.#backlog.length; i++) {
      const item = this.#backlog[i];
      item.pending.resolvePut?.(notAvailable(reason));
      item.pending.resolveControl?.(PutCode.SERVICE_NOT_AVAILABLE, reason);
    }
    this.#backlog = [];
    this.#backlogHead = 0;
    // Parked puts were appended: they keep their result.
    this.#releaseParked(Number.MAX_SAFE_INTEGER);
    for (const waiter of this.#dispatchWaiters.values()) waiter.reject(new Error(reason));
    this.#dispatchWaiters.clear();
  }

  /**
   * Every retention interval: publish the disk use ratio for the store
   * worker's retention, and let the readers follow a moved CommitLog min offset.
   */
  #retentionTick(): void {
    if (this.#state !== "open") return;
    try {
      this.#diskRatio = this.#diskUsedRatio();
      storeOffset(this.#control!, CTRL_DISK_USED_PPM, Math.round(this.#diskRatio * 1_000_000));
      const minOffset = loadOffset(this.#control!, CTRL_MIN);
      if (minOffset <= this.#readerMinOffset) return;
      this.#readerMinOffset = minOffset;
      for (const queue of this.#queues!.all()) queue.correctMinOffset(minOffset);
      this.#commitLogReader!.release(minOffset);
    } catch {
      // A failed probe or read is retried on the next tick; reads report their own errors.
    }
  }

  #terminateWorkers(): void {
    this.#storeWorker?.terminate();
    this.#dispatchWorker?.terminate();
    this.#storeWorker = undefined;
    this.#dispatchWorker = undefined;
  }

  #refusal(): PutRefusal | undefined {
    if (this.#state === "failed") return notAvailable(this.#failure ?? "store failed");
    if (this.#state !== "open") return notAvailable(`store is ${this.#state}`);
    if (this.#diskRatio > this.#config.diskSpaceWarningLevelRatio) {
      return notAvailable(
        `disk is full: ${(this.#diskRatio * 100).toFixed(1)}% used, limit is ${
          (this.#config.diskSpaceWarningLevelRatio * 100).toFixed(1)
        }%`,
      );
    }
    return undefined;
  }

  /**
   * Append one message: encoded on this thread straight into the request ring.
   *
   * @param message The message.
   * @returns PUT_OK (or FLUSH_DISK_TIMEOUT) with offsets once the flush policy
   *   acknowledges it, or a refusal; SERVICE_NOT_AVAILABLE if a worker died.
   */
  putMessage(message: MessageToPut): Promise<PutMessageResult> {
    const refused = this.#refusal();
    if (refused !== undefined) return Promise.resolve(refused);
    let prepared = this.#prepareFast(message);
    if (prepared === undefined) {
      const checked = prepareMessage(
        message,
        this.#config.limits,
        this.#config.storeHost,
        this.#batchBytesMax,
      );
      if ("status" in checked) return Promise.resolve(checked);
      prepared = checked;
      if (this.#topicBytes.size >= TOPIC_CACHE_ENTRIES_MAX) this.#topicBytes.clear();
      this.#topicBytes.set(message.topic, checked.topicBytes);
    }
    const { promise, resolve } = Promise.withResolvers<PutMessageResult>();
    this.#submit(RequestOp.PUT, [prepared], undefined, { resolvePut: resolve });
    return promise;
  }

  /**
   * The common case of `prepareMessage` without its two TextEncoder calls: a
   * topic seen before and ASCII properties (encoded into a scratch buffer).
   * Returns undefined whenever the full check might answer differently.
   */
  #prepareFast(message: MessageToPut): PreparedMessage | undefined {
    const topicBytes = this.#topicBytes.get(message.topic);
    if (topicBytes === undefined) return undefined;
    const limits = this.#config.limits;
    const queueId = message.queueId;
    const body = message.body;
    const properties = message.properties;
    const bornIp = message.bornHost?.ip;
    if (
      !Number.isInteger(queueId) || queueId < 0 || queueId > 0x7fffffff ||
      !(body instanceof Uint8Array) || body.length > limits.messageBytesMax ||
      typeof properties !== "string" || properties.length > limits.propertiesBytesMax ||
      !(bornIp instanceof Uint8Array) || (bornIp.length !== 4 && bornIp.length !== 16)
    ) {
      return undefined;
    }
    const scratch = this.#propertiesScratch;
    for (let i = 0; i < properties.length; i++) {
      const c = properties.charCodeAt(i);
      if (c > 0x7f) return undefined;
      scratch[i] = c;
    }
    const size = recordSize(
      body.length,
      topicBytes.length,
      properties.length,
      bornIp.length,
      this.#config.storeHost.ip.length,
    );
    if (size > this.#batchBytesMax) return undefined;
    return { message, topicBytes, propertiesBytes: scratch.subarray(0, properties.length), size };
  }

  /**
   * Append a batch of one queue contiguously, with consecutive QueueOffsets.
   *
   * @param messages 1..`batchMessagesMax` messages of one topic and queue.
   * @returns PUT_OK (or FLUSH_DISK_TIMEOUT) with every record's offset, or a refusal.
   */
  putMessages(messages: readonly MessageToPut[]): Promise<PutMessageResult> {
    const refused = this.#refusal();
    if (refused !== undefined) return Promise.resolve(refused);
    const prepared = prepareBatch(
      messages,
      this.#config.limits,
      this.#config.storeHost,
      this.#batchBytesMax,
    );
    if (!Array.isArray(prepared)) return Promise.resolve(prepared as PutRefusal);
    const { promise, resolve } = Promise.withResolvers<PutMessageResult>();
    const sizes = prepared.length > 1 ? prepared.map((p) => p.size) : undefined;
    this.#submit(RequestOp.PUT, prepared, undefined, { resolvePut: resolve, sizes });
    return promise;
  }

  /** Send a control request through the request ring (in order with puts). */
  #sendControl(op: number, payload?: Uint8Array): Promise<{ code: number; remark: string }> {
    const { promise, resolve } = Promise.withResolvers<{ code: number; remark: string }>();
    this.#submit(op, undefined, payload, {
      resolveControl: (code, remark) => resolve({ code, remark }),
    });
    return promise;
  }

  #submit(
    op: number,
    prepared: readonly PreparedMessage[] | undefined,
    payload: Uint8Array | undefined,
    pending: Omit<Pending, "id">,
  ): void {
    if (
      this.#backlogHead < this.#backlog.length || !this.#tryWrite(op, prepared, payload, pending)
    ) {
      // The fast path's properties live in a scratch buffer the next put reuses: keep a copy.
      const kept = prepared?.map((p) =>
        p.propertiesBytes.buffer === this.#propertiesScratch.buffer
          ? { ...p, propertiesBytes: p.propertiesBytes.slice() }
          : p
      );
      this.#backlog.push({ op, prepared: kept, payload, pending });
      void this.#drainBacklog();
    }
  }

  /** Encode one request into the ring. Returns false (writing nothing) if it does not fit now. */
  #tryWrite(
    op: number,
    prepared: readonly PreparedMessage[] | undefined,
    payload: Uint8Array | undefined,
    pending: Omit<Pending, "id">,
  ): boolean {
    const requests = this.#requests!;
    let bytes = 0;
    if (prepared !== undefined) {
      for (let i = 0; i < prepared.length; i++) bytes += prepared[i].size;
    } else if (payload !== undefined) bytes = payload.length;
    const at = requests.tryReserve(REQUEST_HEADER_BYTES + bytes);
    if (at < 0) return false;
    const id = this.#nextId = (this.#nextId + 1) | 0;
    const view = requests.ring.view;
    const data = requests.data;
    view.setInt32(at, id, true);
    view.setInt32(at + 4, op, true);
    view.setInt32(at + 8, prepared?.length ?? 0, true);
    view.setInt32(at + 12, 0, true);
    if (prepared !== undefined) {
      encodeMessagesInto(prepared, this.#config.storeHost, data, at + REQUEST_HEADER_BYTES);
    } else if (payload !== undefined) {
      data.set(payload, at + REQUEST_HEADER_BYTES);
    }
    this.#pending.push({ id, ...pending });
    this.#unpublishedBytes += REQUEST_HEADER_BYTES + bytes;
    if (this.#unpublishedBytes >= PUBLISH_EARLY_BYTES) this.#publish();
    else if (!this.#publishScheduled) {
      this.#publishScheduled = true;
      queueMicrotask(this.#publishTask);
    }
    return true;
  }

  readonly #publishTask = (): void => {
    this.#publishScheduled = false;
    if (this.#unpublishedBytes > 0) this.#publish();
  };

  #publish(): void {
    this.#unpublishedBytes = 0;
    this.#requests!.publish();
  }

  /** Move backlogged requests into the ring as room appears (one drainer at a time). */
  async #drainBacklog(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (
        this.#backlogHead < this.#backlog.length &&
        (this.#state === "open" || this.#state === "closing")
      ) {
        const item = this.#backlog[this.#backlogHead];
        if (this.#tryWrite(item.op, item.prepared, item.payload, item.pending)) {
          this.#backlog[this.#backlogHead++] = undefined as unknown as Backlogged;
          continue;
        }
        this.#publish();
        let bytes = item.payload?.length ?? 0;
        for (const p of item.prepared ?? []) bytes += p.size;
        await this.#requests!.waitForRoomAsync(REQUEST_HEADER_BYTES + bytes, LOOP_WAIT_MS);
      }
      if (this.#backlogHead >= this.#backlog.length) {
        this.#backlog = [];
        this.#backlogHead = 0;
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Resolve puts from the response ring, in order, until the store closes or fails. */
  async #responseLoop(): Promise<void> {
    const responses = this.#responses!;
    while (this.#state === "open" || this.#state === "closing") {
      if (responses.drain(this.#onResponse) === 0) {
        await responses.waitForDataAsync(LOOP_WAIT_MS);
      }
    }
  }

  readonly #onResponse = (data: Uint8Array, at: number, length: number): void => {
    const view = this.#responses!.view;
    const id = view.getInt32(at, true);
    const code = view.getInt32(at + 4, true);
    const pending = this.#pending.shift();
    if (pending === undefined) return; // failed meanwhile: already answered
    if (pending.id !== id) {
      this.#fail(`response ${id} does not match request ${pending.id}`);
      pending.resolvePut?.(notAvailable(this.#failure!));
      pending.resolveControl?.(PutCode.SERVICE_NOT_AVAILABLE, this.#failure!);
      return;
    }
    const remark = length > RESPONSE_FIXED_BYTES
      ? new TextDecoder().decode(data.slice(at + RESPONSE_FIXED_BYTES, at + length))
      : "";
    if (pending.resolveControl !== undefined) {
      pending.resolveControl(code, remark);
      return;
    }
    if (code !== PutCode.PUT_OK && code !== PutCode.FLUSH_DISK_TIMEOUT) {
      const status = putStatusOf(code) as Exclude<PutRefusal["status"], never>;
      pending.resolvePut!({ status, remark } as PutRefusal);
      return;
    }
    const count = view.getInt32(at + 8, true);
    const commitLogOffset = view.getFloat64(at + 16, true);
    let commitLogOffsets: number[];
    if (pending.sizes === undefined) commitLogOffsets = [commitLogOffset];
    else {
      commitLogOffsets = new Array(pending.sizes.length);
      let offset = commitLogOffset;
      for (let i = 0; i < pending.sizes.length; i++) {
        commitLogOffsets[i] = offset;
        offset += pending.sizes[i];
      }
    }
    this.#putCount += count;
    const wroteBytes = view.getInt32(at + 12, true);
    const result: PutMessageResult = {
      status: code === PutCode.PUT_OK ? "PUT_OK" : "FLUSH_DISK_TIMEOUT",
      commitLogOffset,
      queueOffset: view.getFloat64(at + 24, true),
      storeTimestamp: view.getFloat64(at + 32, true),
      commitLogOffsets,
      wroteBytes,
    };
    const endOffset = commitLogOffset + wroteBytes;
    if (!this.#awaitDispatch || (endOffset <= this.#dispatchedOffset && this.#parked.size === 0)) {
      pending.resolvePut!(result);
    } else {
      this.#parked.push({ endOffset, result, resolve: pending.resolvePut! });
      // Dispatch runs in CommitLog order, so nothing behind an undispatched head
      // is dispatched; release anyway in case a PROGRESS came first.
      this.#releaseParked(this.#dispatchedOffset);
    }
  };

  /** Resolve parked puts that end at or below `dispatchedOffset` (they end in CommitLog order). */
  #releaseParked(dispatchedOffset: number): void {
    for (let p = this.#parked.peek(); p !== undefined; p = this.#parked.peek()) {
      if (p.endOffset > dispatchedOffset) return;
      this.#parked.shift();
      p.resolve(p.result);
    }
  }

  /** Apply arrivals from the dispatch worker and tell listeners, until the store closes. */
  async #arrivalLoop(): Promise<void> {
    const arrivals = this.#arrivals!;
    while (this.#state === "open" || this.#state === "closing") {
      if (arrivals.drain(this.#onArrival) === 0) await arrivals.waitForDataAsync(LOOP_WAIT_MS);
    }
  }

  readonly #onArrival = (data: Uint8Array, at: number, length: number): void => {
    const view = this.#arrivals!.view;
    const kind = view.getInt32(at, true);
    const index = view.getInt32(at + 4, true);
    if (kind === ArrivalKind.PROGRESS) {
      this.#dispatchedOffset = view.getFloat64(at + 8, true);
      this.#releaseParked(this.#dispatchedOffset);
      return;
    }
    if (kind === ArrivalKind.QUEUE) {
      const topic = new TextDecoder().decode(
        data.slice(at + QUEUE_RECORD_FIXED_BYTES, at + length),
      );
      this.#queueByIndex[index] = { topic, queueId: view.getInt32(at + 8, true), queue: undefined };
      return;
    }
    const entry = this.#queueByIndex[index];
    if (entry === undefined) return;
    // The units are on disk (the dispatcher committed them before announcing).
    entry.queue ??= this.#queues!.get(entry.topic, entry.queueId);
    const maxOffset = view.getFloat64(at + 8, true);
    entry.queue?.observeMaxOffset(maxOffset);
    if (this.#listeners.size === 0) return;
    const arrival: MessageArrival = {
      topic: entry.topic,
      queueId: entry.queueId,
      maxOffset,
      tagsCode: view.getFloat64(at + 16, true),
    };
    for (const listener of this.#listeners) {
      try {
        listener(arrival);
      } catch {
        // A listener's failure must not stop dispatch notifications.
      }
    }
  };

  async #persistOffsets(): Promise<void> {
    const version = this.#consumerOffsets.version;
    if (version === this.#persistedOffsetsVersion) return;
    await this.#configFiles.persist(CONSUMER_OFFSET_CONFIG, this.#consumerOffsets.toJson());
    this.#persistedOffsetsVersion = version;
  }

  #dispatchControl(request: DispatchControlRequest): Promise<void> {
    const worker = this.#dispatchWorker;
    if (worker === undefined || this.#state === "failed") {
      return Promise.reject(new Error(this.#failure ?? "dispatch worker is not running"));
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#dispatchWaiters.set(request.id, { resolve, reject });
    worker.postMessage(request);
    return this.#bounded(promise, `dispatch worker to ${request.kind}`);
  }

  /**
   * Stop accepting puts, let every accepted one finish, flush the CommitLog,
   * ConsumeQueues and checkpoint, persist consumer offsets, remove the abort
   * marker and stop the workers. Idempotent.
   *
   * @throws {Error} If a worker does not answer within the control timeout.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const wasOpen = this.#state === "open";
    if (!wasOpen) {
      this.#stop();
      return;
    }
    this.#state = "closing";
    try {
      const closed = await this.#bounded(
        this.#sendControl(RequestOp.CLOSE),
        "store worker to close",
      );
      if (closed.code === PutCode.OK) {
        await this.#bounded(this.#storeDone!, "store worker to finish");
        await this.#dispatchControl({ kind: "close", id: ++this.#nextId });
        await this.#persistOffsets();
        await Deno.remove(`${this.#config.dataDir}/${ABORT_PATH}`).catch(() => {});
      }
    } finally {
      this.#stop();
      // The ring loops see the state change within one wait (at most LOOP_WAIT_MS).
      await Promise.allSettled(this.#loops);
    }
  }

  #stop(): void {
    if (this.#state !== "failed") this.#state = "closed";
    // Normally empty (CLOSE went through the FIFO after every accepted put);
    // not so when a worker failed to answer in time.
    this.#abandon("store is closed");
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#terminateWorkers();
    this.#queues?.close();
    this.#commitLogReader?.close();
    this.#index?.close();
    // Wake the ring loops so they notice the state change and end.
    if (this.#responses !== undefined) Atomics.notify(this.#responses.ring.control, 0);
    if (this.#arrivals !== undefined) Atomics.notify(this.#arrivals.ring.control, 0);
  }

  /** Same as `close`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Flush the CommitLog (store worker), then the ConsumeQueues and checkpoint
   * (dispatch worker), then persist consumer offsets.
   *
   * @throws {Error} If the store is not open or a worker failed.
   */
  async flush(): Promise<void> {
    if (this.#state !== "open") throw new Error(`Cannot flush store: it is ${this.#state}`);
    const flushed = await this.#sendControl(RequestOp.FLUSH);
    if (flushed.code !== PutCode.OK) throw new Error(`Cannot flush store: ${flushed.remark}`);
    await this.#dispatchControl({ kind: "flush", id: ++this.#nextId });
    await this.#persistOffsets();
  }

  /**
   * Read messages of one queue (main thread, positional reads of dispatched
   * data). Reads go on after a worker failure, up to what was dispatched.
   *
   * @param request The request.
   * @returns The result (statuses per RocketMQ's `GetMessageStatus`).
   */
  getMessage(request: GetMessageRequest): Promise<GetMessageResult> {
    // After a worker failure the main thread's handles still serve what was dispatched.
    const readable = this.#state === "open" || this.#state === "closing" ||
      this.#state === "failed";
    if (this.#reader === undefined || !readable) {
      return Promise.resolve({
        status: "NO_MATCHED_LOGIC_QUEUE",
        messages: [],
        nextBeginOffset: request.queueOffset,
        minOffset: 0,
        maxOffset: 0,
      });
    }
    this.#getCount++;
    return Promise.resolve(this.#reader.getMessage(request));
  }

  /**
   * Oldest retained QueueOffset.
   *
   * @param topic Topic.
   * @param queueId Queue id.
   * @returns The min offset (0 if unknown).
   */
  getMinOffsetInQueue(topic: string, queueId: number): number {
    return this.#queues?.get(topic, queueId)?.minOffset ?? 0;
  }

  /**
   * One past the newest dispatched QueueOffset.
   *
   * @param topic Topic.
   * @param queueId Queue id.
   * @returns The max offset (0 if unknown).
   */
  getMaxOffsetInQueue(topic: string, queueId: number): number {
    return this.#queues?.get(topic, queueId)?.maxOffset ?? 0;
  }

  /**
   * First QueueOffset stored at or after a time.
   *
   * @param topic Topic.
   * @param queueId Queue id.
   * @param timestampMs Epoch ms.
   * @returns The offset.
   */
  getOffsetInQueueByTime(topic: string, queueId: number, timestampMs: number): Promise<number> {
    return Promise.resolve(this.#reader?.getOffsetInQueueByTime(topic, queueId, timestampMs) ?? 0);
  }

  /**
   * One committed record by CommitLog offset (main thread, positional read).
   * Unlike queue reads it does not wait for dispatch: every put acknowledged
   * so far is readable here, whatever `awaitDispatch` says.
   *
   * @param commitLogOffset Record start.
   * @returns The record, or undefined.
   */
  lookMessageByOffset(commitLogOffset: number): Promise<StoredMessage | undefined> {
    return Promise.resolve(this.#committedReader?.lookMessageByOffset(commitLogOffset));
  }

  /**
   * Raw CommitLog bytes of a run of whole records (see the MessageStore port),
   * with one positional read, bounded by the committed offset like
   * `lookMessageByOffset`.
   *
   * @param commitLogOffset Start of the first record.
   * @param bytes Length of the run, bytes.
   * @returns Exactly `bytes` bytes, or undefined if the range is not wholly readable.
   */
  readRecords(commitLogOffset: number, bytes: number): Promise<Uint8Array | undefined> {
    const readable = this.#state === "open" || this.#state === "closing" ||
      this.#state === "failed";
    return Promise.resolve(
      readable ? this.#committedReader?.readRecords(commitLogOffset, bytes) : undefined,
    );
  }

  /**
   * HA: append a master's raw records at `commitLogOffset` (see the port),
   * through the request ring as one REPLICATE request handled by the store
   * worker; the dispatch worker builds ConsumeQueues and the index from them.
   *
   * @param commitLogOffset Where `bytes` begins (this store's max offset).
   * @param bytes Whole records and blank markers from the master.
   * @returns The new max offset, or the refusal.
   */
  async appendReplicated(commitLogOffset: number, bytes: Uint8Array): Promise<ReplicaAppendResult> {
    const payload = new Uint8Array(8 + bytes.length);
    new DataView(payload.buffer).setFloat64(0, commitLogOffset, true);
    payload.set(bytes, 8);
    const { code, remark } = await this.#sendControl(RequestOp.REPLICATE, payload);
    if (code !== PutCode.OK) return { status: "REFUSED", remark };
    return { status: "APPENDED", maxOffset: this.stats().commitLogMaxOffset };
  }

  /**
   * Messages whose `KEYS` element or `UNIQ_KEY` equals `key`, newest first,
   * found through the index files (a reader `IndexService` on this thread,
   * following the dispatch worker's writer) and re-checked against each record.
   *
   * @param topic Topic.
   * @param key Key or unique id.
   * @param maxCount Most results.
   * @param beginTimestampMs Window start (store time).
   * @param endTimestampMs Window end (store time).
   * @returns The records found; empty when the index is disabled or the store is not open.
   * @throws {RangeError} If `maxCount` is not a positive integer.
   */
  async queryMessageByKey(
    topic: string,
    key: string,
    maxCount: number,
    beginTimestampMs: number,
    endTimestampMs: number,
  ): Promise<StoredMessage[]> {
    const index = this.#index;
    const reader = this.#committedReader;
    if (this.#state !== "open" || index === undefined || reader === undefined) return [];
    const found = await lookupMessagesByKey(
      index,
      (offset) => reader.lookMessageByOffset(offset),
      topic,
      key,
      maxCount,
      beginTimestampMs,
      endTimestampMs,
    );
    return found.messages;
  }

  /**
   * Every queue with a ConsumeQueue.
   *
   * @returns Topic and queue id pairs.
   */
  listQueues(): { topic: string; queueId: number }[] {
    const out: { topic: string; queueId: number }[] = [];
    const seen = new Set<string>();
    for (const queue of this.#queues?.listOnDisk() ?? []) {
      seen.add(`${queue.queueId}@${queue.topic}`);
      out.push(queue);
    }
    for (const entry of this.#queueByIndex) {
      if (entry === undefined || seen.has(`${entry.queueId}@${entry.topic}`)) continue;
      const queue = this.#queues?.get(entry.topic, entry.queueId);
      if (queue === undefined) continue;
      seen.add(`${entry.queueId}@${entry.topic}`);
      out.push({ topic: entry.topic, queueId: entry.queueId });
    }
    return out;
  }

  /**
   * Delete a topic's ConsumeQueues (dispatch worker), its QueueOffsets (store
   * worker) and its consumer offsets.
   *
   * @param topic Topic.
   * @throws {Error} If the store is not open or a worker failed.
   */
  async deleteTopic(topic: string): Promise<void> {
    if (this.#state !== "open") throw new Error(`Cannot delete topic: store is ${this.#state}`);
    const deleted = await this.#sendControl(
      RequestOp.DELETE_TOPIC,
      new TextEncoder().encode(topic),
    );
    if (deleted.code !== PutCode.OK) throw new Error(`Cannot delete topic: ${deleted.remark}`);
    await this.#dispatchControl({ kind: "deleteTopic", id: ++this.#nextId, topic });
    this.#queues?.deleteTopic(topic);
    for (const entry of this.#queueByIndex) {
      if (entry !== undefined && entry.topic === topic) entry.queue = undefined;
    }
    this.#consumerOffsets.deleteTopic(topic);
    // Checkpoint past the deleted topic's records: recovery must never re-dispatch them.
    await this.flush();
  }

  /**
   * Subscribe to arrivals (called on the main thread as soon as it processes them).
   *
   * @param listener Called after dispatch makes messages visible.
   * @returns Unsubscribe.
   */
  onArrival(listener: (arrival: MessageArrival) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Store a group's next offset.
   *
   * @param group Group.
   * @param topic Topic.
   * @param queueId Queue id.
   * @param offset Next offset.
   */
  commitConsumerOffset(group: string, topic: string, queueId: number, offset: number): void {
    this.#consumerOffsets.commit(group, topic, queueId, offset);
  }

  /**
   * A group's committed offset.
   *
   * @param group Group.
   * @param topic Topic.
   * @param queueId Queue id.
   * @returns Offset or undefined.
   */
  queryConsumerOffset(group: string, topic: string, queueId: number): number | undefined {
    return this.#consumerOffsets.query(group, topic, queueId);
  }

  /**
   * Every committed offset.
   *
   * @returns Entries.
   */
  listConsumerOffsets(): ConsumerOffsetEntry[] {
    return this.#consumerOffsets.list();
  }

  /**
   * Forget a group's offsets.
   *
   * @param group Group.
   * @param topic Optional topic.
   */
  deleteConsumerOffsets(group: string, topic?: string): void {
    this.#consumerOffsets.deleteGroup(group, topic);
  }

  /**
   * Read a config document.
   *
   * @param name Plain word.
   * @returns Text or undefined.
   */
  loadConfig(name: string): Promise<string | undefined> {
    return this.#configFiles.load(name);
  }

  /**
   * Replace a config document atomically.
   *
   * @param name Plain word.
   * @param text Content.
   */
  persistConfig(name: string, text: string): Promise<void> {
    return this.#configFiles.persist(name, text);
  }

  /**
   * Progress counters (offsets read from the shared control block).
   *
   * @returns Stats.
   */
  stats(): StoreStats {
    const control = this.#control;
    return {
      commitLogMinOffset: control === undefined ? 0 : loadOffset(control, CTRL_MIN),
      commitLogMaxOffset: control === undefined ? 0 : loadOffset(control, CTRL_COMMITTED),
      commitLogFlushedOffset: control === undefined ? 0 : loadOffset(control, CTRL_FLUSHED),
      dispatchedOffset: control === undefined ? 0 : loadOffset(control, CTRL_DISPATCHED),
      putMessageCount: this.#putCount,
      getMessageCount: this.#getCount,
      diskUsedRatio: this.#diskRatio,
      writeRefused: this.#state === "failed" ||
        (this.#state === "open" && this.#refusal() !== undefined),
      // A getter: the main thread's getrusage runs only for callers that read it (metrics), not
      // for the HA master's and others' frequent offset reads.
      get threadCpuMicros() {
        return control === undefined ? undefined : {
          main: threadCpuMicros(),
          storeWorker: loadOffset(control, CTRL_STORE_CPU_MICROS),
          dispatchWorker: loadOffset(control, CTRL_DISPATCH_CPU_MICROS),
        };
      },
    };
  }
}
