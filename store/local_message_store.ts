/**
 * `LocalMessageStore`: the MessageStore port with every role on the calling
 * thread. Appends, commits and dispatches synchronously inside each put, so a
 * read right after a put sees the message; flushes per the flush policy.
 *
 * @module
 */

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
} from "./message_store.ts";
import { CommitLog } from "./domain/commit_log.ts";
import { CONSUME_QUEUE_FLUSH_BUDGET_MS, ConsumeQueueStore } from "./domain/consume_queue_store.ts";
import { ABORT_PATH, writeCheckpoint } from "./domain/checkpoint.ts";
import { CONSUMER_OFFSET_CONFIG, ConsumerOffsetTable } from "./domain/consumer_offset_table.ts";
import { Dispatcher, type DispatchSink } from "./domain/dispatch.ts";
import {
  encodeMessages,
  prepareBatch,
  type PreparedMessage,
  type PutRefusal,
} from "./domain/message_encoder.ts";
import { MessageReader } from "./domain/message_reader.ts";
import { QueueOffsetTable } from "./domain/queue_offset_table.ts";
import { recoverStore, type StoreRecovery } from "./domain/recovery.ts";
import { indexReplayStart, IndexService } from "./domain/index_service.ts";
import { lookupMessagesByKey } from "./domain/message_lookup.ts";
import { type Clock, type StoreFileSystem, systemClock } from "./domain/segment.ts";
import { TopicFences } from "./domain/topic_fence.ts";
import {
  type ConfigFiles,
  FsConfigFiles,
  fsDiskFreeBytes,
  fsDiskUsedRatio,
} from "./infra/fs_config_files.ts";
import {
  DISK_FREE_RESERVE_BYTES_DEFAULT,
  DiskSpaceGuard,
  isNoSpace,
  isTooManyOpenFiles,
} from "./domain/disk_space_guard.ts";
import { FsStoreFileSystem } from "./infra/fs_segment.ts";
import { setImmediate } from "node:timers";

/** How often expired files are looked for, ms (RocketMQ `cleanResourceInterval`). */
export const CLEAN_RESOURCE_INTERVAL_MS = 10_000;
/** Above this disk use ratio, retention deletes the oldest segments regardless of age. */
export const DISK_CLEAN_FORCIBLY_RATIO = 0.85;
/** Segments deleted per retention round at most (RocketMQ `deleteFileBatchMax`). */
export const DELETE_SEGMENTS_PER_ROUND_MAX = 10;

/** Injected collaborators of a `LocalMessageStore` (all optional). */
export interface LocalMessageStoreOptions {
  /** Broker clock (STORETIMESTAMP, retention). Default: system time. */
  readonly clock?: Clock;
  /** Segment files. Default: files under `config.dataDir`. */
  readonly fileSystem?: StoreFileSystem;
  /** Config documents. Default: `config/<name>.json` under `config.dataDir`. */
  readonly configFiles?: ConfigFiles;
  /** Disk use ratio 0..1 of the data disk. Default: statfs of `config.dataDir`. */
  readonly diskUsedRatio?: () => number;
  /** Free bytes on the data disk. Default: statfs of `config.dataDir`. */
  readonly diskFreeBytes?: () => number;
  /** Extra dispatch sinks (the index, later). */
  readonly sinks?: readonly DispatchSink[];
}

type State = "new" | "open" | "closed";

/**
 * The in-process MessageStore.
 *
 * Owns one CommitLog writer, the writable ConsumeQueue set, a dispatcher and
 * a reader over them, all on the calling thread. Timers: async flush (async
 * mode), ConsumeQueue flush + checkpoint, consumer offset persist, retention.
 * Invariant: after every put returns, `dispatchedOffset === committedOffset`.
 */
export class LocalMessageStore implements MessageStore {
  readonly #config: MessageStoreConfig;
  readonly #clock: Clock;
  readonly #fs: StoreFileSystem;
  readonly #configFiles: ConfigFiles;
  readonly #diskUsedRatio: () => number;
  readonly #sinks: readonly DispatchSink[];
  readonly #queueOffsets = new QueueOffsetTable();
  readonly #consumerOffsets = new ConsumerOffsetTable();
  readonly #listeners = new Set<(arrival: MessageArrival) => void>();
  #commitLog: CommitLog | undefined;
  #queues: ConsumeQueueStore | undefined;
  #dispatcher: Dispatcher | undefined;
  #index: IndexService | undefined;
  #reader: MessageReader | undefined;
  #fences: TopicFences | undefined;
  #state: State = "new";
  #timers: ReturnType<typeof setInterval>[] = [];
  #flushWaiter: Promise<boolean> | undefined;
  #persistedOffsetsVersion = -1;
  #putCount = 0;
  #getCount = 0;
  #diskRatio = 0;
  /** An injected disk probe is cheap: ask it on every put; statfs is asked by retention rounds. */
  readonly #diskCheckEveryPut: boolean;
  /** The file system is the default one on `config.dataDir` (not injected). */
  readonly #ownsDataDir: boolean;
  #failed: string | undefined;
  readonly #diskSpace: DiskSpaceGuard;
  #recovery: StoreRecovery | undefined;

  /**
   * Build a store (no I/O until `open`).
   *
   * @param config Store config (see `defaultStoreConfig`).
   * @param options Injected clock, file system, config files, disk usage, sinks.
   * @throws {RangeError} If limits contradict each other.
   */
  constructor(config: MessageStoreConfig, options: LocalMessageStoreOptions = {}) {
    // Tiny test segments are allowed: the CommitLog refuses records that do not fit.
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
    this.#clock = options.clock ?? systemClock;
    this.#fs = options.fileSystem ?? new FsStoreFileSystem(config.dataDir, config.openFilesMax);
    this.#ownsDataDir = options.fileSystem === undefined;
    this.#configFiles = options.configFiles ?? new FsConfigFiles(config.dataDir);
    this.#diskUsedRatio = options.diskUsedRatio ?? (() => fsDiskUsedRatio(config.dataDir));
    this.#diskCheckEveryPut = options.diskUsedRatio !== undefined;
    this.#sinks = options.sinks ?? [];
    const freeBytes = options.diskFreeBytes ?? (() => fsDiskFreeBytes(config.dataDir));
    this.#diskSpace = new DiskSpaceGuard(
      freeBytes,
      config.diskFreeReserveBytes ?? DISK_FREE_RESERVE_BYTES_DEFAULT,
      () => this.#clock.nowMs(),
    );
  }

  /** What the last `open` recovered (for logs and tests). */
  get recovery(): StoreRecovery | undefined {
    return this.#recovery;
  }

  /**
   * Open files, recover, load consumer offsets, start timers.
   *
   * @throws {Error} If already opened, or on an I/O failure while recovering.
   */
  async open(): Promise<void> {
    if (this.#state !== "new") throw new Error(`Cannot open store: it is ${this.#state}`);
    if (this.#ownsDataDir) {
      await Deno.mkdir(this.#config.dataDir, { recursive: true }).catch(() => {});
      // The data dir's own entry must survive a power cut too.
      (this.#fs as FsStoreFileSystem).syncDirectory("");
    }
    const commitLog = new CommitLog(this.#fs.segments("commitlog"), this.#queueOffsets, {
      segmentBytes: this.#config.commitLogSegmentBytes,
      clock: this.#clock,
    });
    const queues = new ConsumeQueueStore(this.#fs, this.#config.consumeQueueSegmentUnits, true);
    const fences = new TopicFences(this.#fs);
    this.#fences = fences;
    try {
      this.#recovery = recoverStore({
        fences,
        fs: this.#fs,
        commitLog,
        queueOffsets: this.#queueOffsets,
        queues,
        checkCrc: this.#config.checkCrcOnRecover,
        sinks: this.#sinks,
      });
    } catch (error) {
      queues.close();
      commitLog.close();
      this.#state = "closed";
      throw error;
    }
    this.#commitLog = commitLog;
    this.#queues = queues;
    let sinks = this.#sinks;
    let dispatchFrom = this.#recovery.dispatchedOffset;
    if (this.#config.messageIndexEnable) {
      const index = new IndexService(this.#fs, {
        writable: true,
        slotCount: this.#config.indexSlotsPerFile,
        entryCount: this.#config.indexEntriesPerFile,
        clock: this.#clock,
      });
      index.load(this.#recovery.dispatchedOffset);
      this.#index = index;
      sinks = [...sinks, index];
      // Records the index missed (lost or discarded files) are dispatched again; those below
      // the recovered dispatch offset feed the index only (their units are in the queues).
      dispatchFrom = indexReplayStart(
        index.redispatchFromOffset,
        dispatchFrom,
        commitLog.minOffset,
        commitLog.segmentBytes,
      );
    }
    this.#dispatcher = new Dispatcher(commitLog, queues, dispatchFrom, {
      sinks,
      queuesFromOffset: this.#recovery.dispatchedOffset,
      fences,
    });
    this.#dispatcher.dispatchUpTo(commitLog.committedOffset);
    this.#index?.commit();
    this.#reader = new MessageReader(
      commitLog,
      {
        minOffset: () => commitLog.minOffset,
        maxOffset: () => commitLog.committedOffset,
      },
      queues,
      this.#config.limits,
    );
    const offsets = await this.#configFiles.load(CONSUMER_OFFSET_CONFIG);
    if (offsets !== undefined) {
      try {
        this.#consumerOffsets.loadJson(offsets);
      } catch {
        // An unreadable document behaves as absent; the .bak fallback already ran.
      }
    }
    this.#consumerOffsets.clampToQueueEnds((topic, queueId) =>
      queues.get(topic, queueId)?.maxOffset
    );
    this.#persistedOffsetsVersion = this.#consumerOffsets.version;
    this.#diskRatio = this.#diskUsedRatio();
    this.#state = "open";
    if (this.#config.flushMode === "async") {
      this.#timers.push(
        setInterval(() => this.#guard(() => commitLog.flush()), this.#config.flushIntervalMs),
      );
    }
    this.#timers.push(
      setInterval(
        () => this.#guard(() => this.#flushLogics(false)),
        this.#config.flushConsumeQueueIntervalMs,
      ),
      setInterval(
        () => void this.#persistOffsets().catch(() => {}),
        this.#config.persistConsumerOffsetIntervalMs,
      ),
      setInterval(() => this.#guard(() => this.runRetention()), CLEAN_RESOURCE_INTERVAL_MS),
    );
  }

  #guard(work: () => unknown): void {
    if (this.#state !== "open") return;
    try {
      work();
    } catch (error) {
      this.#failed = `store failure: ${(error as Error).message}`;
    }
  }

  /**
   * Flush ConsumeQueues and the index, then write the checkpoint. A periodic
   * round flushes queues only for `CONSUME_QUEUE_FLUSH_BUDGET_MS`; the
   * checkpoint then claims dispatch only below the first unflushed unit.
   */
  #flushLogics(full = true): void {
    const commitLog = this.#commitLog!;
    const queues = this.#queues!;
    let unflushed: number | undefined;
    if (full) {
      queues.flushAll();
    } else {
      const now = () => this.#clock.nowMs();
      unflushed = queues.flushDirty(now() + CONSUME_QUEUE_FLUSH_BUDGET_MS, now);
    }
    const indexMsgTimestamp = this.#index?.flush();
    const flushed = commitLog.flushedOffset;
    const now = commitLog.lastStoreTimestamp;
    writeCheckpoint(this.#fs, {
      physicMsgTimestamp: now,
      logicsMsgTimestamp: now,
      indexMsgTimestamp: indexMsgTimestamp ?? now,
      masterFlushedOffset: 0,
      confirmPhyOffset: 0,
      commitLogFlushedOffset: flushed,
      dispatchedOffset: Math.min(
        this.#dispatcher!.dispatchedOffset,
        flushed,
        unflushed ?? Number.MAX_SAFE_INTEGER,
      ),
    });
  }

  async #persistOffsets(): Promise<void> {
    const version = this.#consumerOffsets.version;
    if (version === this.#persistedOffsetsVersion) return;
    await this.#configFiles.persist(CONSUMER_OFFSET_CONFIG, this.#consumerOffsets.toJson());
    this.#persistedOffsetsVersion = version;
  }

  /**
   * Flush, write the checkpoint, persist consumer offsets, remove the abort marker. Idempotent.
   *
   * @throws {Error} On an I/O failure while flushing.
   */
  async close(): Promise<void> {
    if (this.#state !== "open") {
      this.#state = "closed";
      return;
    }
    this.#state = "closed";
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    await this.#flushWaiter;
    try {
      this.#commitLog!.flush();
      this.#flushLogics();
      await this.#persistOffsets();
      if (this.#failed === undefined) this.#fs.removeFile(ABORT_PATH);
    } finally {
      this.#index?.close();
      this.#queues!.close();
      this.#commitLog!.close();
    }
  }

  /** Same as `close`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Flush the CommitLog and ConsumeQueues, write the checkpoint, then persist
   * consumer offsets (as `WorkerMessageStore.flush` does).
   *
   * @throws {Error} If the store is not open, or on an I/O failure.
   */
  async flush(): Promise<void> {
    if (this.#state !== "open") throw new Error("Cannot flush store: it is not open");
    this.#commitLog!.flush();
    this.#flushLogics();
    await this.#persistOffsets();
  }

  #refusal(): PutRefusal | undefined {
    if (this.#state !== "open") {
      return { status: "SERVICE_NOT_AVAILABLE", remark: `store is ${this.#state}` };
    }
    if (this.#failed !== undefined) {
      return { status: "SERVICE_NOT_AVAILABLE", remark: this.#failed };
    }
    const full = this.#diskSpace.check(this.#commitLog!.writtenOffset);
    if (full !== undefined) return { status: "SERVICE_NOT_AVAILABLE", remark: full };
    if (this.#diskCheckEveryPut) this.#diskRatio = this.#diskUsedRatio();
    if (this.#diskRatio > this.#config.diskSpaceWarningLevelRatio) {
      return {
        status: "SERVICE_NOT_AVAILABLE",
        remark: `disk is full: ${(this.#diskRatio * 100).toFixed(1)}% used, limit is ${
          (this.#config.diskSpaceWarningLevelRatio * 100).toFixed(1)
        }%`,
      };
    }
    return undefined;
  }

  /**
   * Append one message.
   *
   * @param message The message.
   * @returns PUT_OK (or FLUSH_DISK_TIMEOUT) with offsets, or a refusal.
   */
  putMessage(message: MessageToPut): Promise<PutMessageResult> {
    return this.putMessages([message]);
  }

  /**
   * Append a batch of one queue contiguously.
   *
   * @param messages 1..`batchMessagesMax` messages of one topic and queue.
   * @returns PUT_OK (or FLUSH_DISK_TIMEOUT) with offsets, or a refusal.
   */
  async putMessages(messages: readonly MessageToPut[]): Promise<PutMessageResult> {
    const refused = this.#refusal();
    if (refused !== undefined) return refused;
    const commitLog = this.#commitLog!;
    const prepared = prepareBatch(
      messages,
      this.#config.limits,
      this.#config.storeHost,
      commitLog.recordBytesMax,
    );
    if (!Array.isArray(prepared)) return prepared as PutRefusal;
    let appended;
    try {
      appended = this.#append(prepared as PreparedMessage[]);
    } catch (error) {
      if (isNoSpace(error)) {
        // Not fatal: drop what did not reach the file, refuse, resume once space is freed.
        commitLog.discardUncommitted();
        this.#diskSpace.markFull(error);
        return { status: "SERVICE_NOT_AVAILABLE", remark: this.#diskSpace.full! };
      }
      if (isTooManyOpenFiles(error)) {
        // Busy for this one request (SYSTEM_BUSY on the wire); the store keeps serving.
        commitLog.discardUncommitted();
        return { status: "OS_PAGE_CACHE_BUSY", remark: (error as Error).message };
      }
      this.#failed = `store failure: ${(error as Error).message}`;
      return { status: "UNKNOWN_ERROR", remark: this.#failed };
    }
    this.#putCount += messages.length;
    let status: "PUT_OK" | "FLUSH_DISK_TIMEOUT" = "PUT_OK";
    if (this.#config.flushMode === "sync") {
      const flushed = await this.#groupFlush();
      if (!flushed || commitLog.flushedOffset < appended.commitLogOffset + appended.wroteBytes) {
        status = "FLUSH_DISK_TIMEOUT";
      }
    }
    return { status, ...appended };
  }

  /**
   * HA: append a master's raw records at `commitLogOffset` and dispatch them
   * (see the port).
   *
   * @param commitLogOffset Where `bytes` begins (this store's max offset).
   * @param bytes Whole records and blank markers from the master.
   * @returns The new max offset, or the refusal.
   */
  appendReplicated(commitLogOffset: number, bytes: Uint8Array): Promise<ReplicaAppendResult> {
    if (this.#state !== "open") {
      return Promise.resolve({ status: "REFUSED", remark: "store is not open" });
    }
    const commitLog = this.#commitLog!;
    try {
      commitLog.appendReplicated(commitLogOffset, bytes);
    } catch (error) {
      return Promise.resolve({ status: "REFUSED", remark: (error as Error).message });
    }
    commitLog.commit();
    if (this.#config.flushMode === "sync") commitLog.flush();
    const round = this.#dispatcher!.dispatchUpTo(commitLog.committedOffset);
    this.#index?.commit();
    for (const arrival of round.arrivals) {
      for (const listener of this.#listeners) {
        try {
          listener(arrival);
        } catch {
          // A listener's failure must not stop replication.
        }
      }
    }
    return Promise.resolve({ status: "APPENDED", maxOffset: commitLog.committedOffset });
  }

  #append(prepared: PreparedMessage[]) {
    const commitLog = this.#commitLog!;
    const records = encodeMessages(prepared, this.#config.storeHost);
    const appended = prepared.length === 1
      ? commitLog.append(records)
      : commitLog.appendBatch(records, prepared.length);
    commitLog.commit();
    const round = this.#dispatcher!.dispatchUpTo(commitLog.committedOffset);
    this.#index?.commit();
    for (const arrival of round.arrivals) {
      for (const listener of this.#listeners) {
        try {
          listener(arrival);
        } catch {
          // A listener's failure must not fail the put.
        }
      }
    }
    return appended;
  }

  /**
   * One fdatasync shared by every put appended before it runs. It runs in the
   * event loop's check phase (`setImmediate`, about 17 µs away; `setTimeout(0)`
   * costs over 1 ms), so puts from I/O callbacks of the same loop turn share it.
   */
  #groupFlush(): Promise<boolean> {
    if (this.#flushWaiter === undefined) {
      this.#flushWaiter = new Promise<boolean>((resolve) => {
        setImmediate(() => {
          this.#flushWaiter = undefined;
          try {
            // Runs before close() releases the files: close() awaits this waiter first.
            this.#commitLog!.flush();
            resolve(true);
          } catch (error) {
            if (isNoSpace(error)) this.#diskSpace.markFull(error);
            else this.#failed = `flush failed: ${(error as Error).message}`;
            resolve(false);
          }
        });
      });
    }
    return this.#flushWaiter;
  }

  /**
   * Read messages of one queue.
   *
   * @param request The request.
   * @returns The result (statuses per RocketMQ's `GetMessageStatus`).
   */
  getMessage(request: GetMessageRequest): Promise<GetMessageResult> {
    if (this.#state !== "open") {
      return Promise.resolve({
        status: "NO_MATCHED_LOGIC_QUEUE",
        messages: [],
        nextBeginOffset: request.queueOffset,
        minOffset: 0,
        maxOffset: 0,
      });
    }
    this.#getCount++;
    return Promise.resolve(this.#reader!.getMessage(request));
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
   * One past the newest QueueOffset.
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
   * One record by CommitLog offset.
   *
   * @param commitLogOffset Record start.
   * @returns The record or undefined.
   */
  lookMessageByOffset(commitLogOffset: number): Promise<StoredMessage | undefined> {
    return Promise.resolve(this.#reader?.lookMessageByOffset(commitLogOffset));
  }

  /**
   * Raw CommitLog bytes of a run of records, one positional read, no decoding.
   *
   * @param commitLogOffset Start of the first record.
   * @param bytes Length of the run.
   * @returns The bytes, or undefined if the range is not wholly readable.
   */
  readRecords(commitLogOffset: number, bytes: number): Promise<Uint8Array | undefined> {
    return Promise.resolve(
      this.#state === "open" ? this.#reader?.readRecords(commitLogOffset, bytes) : undefined,
    );
  }

  /**
   * Messages whose `KEYS` element or `UNIQ_KEY` equals `key`, newest first, found through
   * the index file and re-checked against each record.
   *
   * @param topic Topic.
   * @param key Key or unique id.
   * @param maxCount Most results.
   * @param beginTimestampMs Window start (store time).
   * @param endTimestampMs Window end (store time).
   * @returns The records found; empty when the index is disabled or the store is not open.
   */
  async queryMessageByKey(
    topic: string,
    key: string,
    maxCount: number,
    beginTimestampMs: number,
    endTimestampMs: number,
  ): Promise<StoredMessage[]> {
    const index = this.#index;
    const reader = this.#reader;
    if (this.#state !== "open" || index === undefined || reader === undefined) return [];
    const found = await lookupMessagesByKey(
      index,
      (offset) => Promise.resolve(reader.lookMessageByOffset(offset)),
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
    return (this.#queues?.all() ?? []).map((q) => ({ topic: q.topic, queueId: q.queueId }));
  }

  /**
   * Delete a topic's ConsumeQueues, queue offsets and consumer offsets, then
   * flush and write the checkpoint, so recovery never re-dispatches the
   * deleted topic's records into a topic created again under its name.
   *
   * @param topic Topic.
   */
  async deleteTopic(topic: string): Promise<void> {
    const commitLog = this.#commitLog;
    if (commitLog !== undefined && this.#state === "open") {
      // Flushed first: after a power cut the CommitLog must not end below the fence.
      commitLog.flush();
      this.#fences!.add(topic, commitLog.flushedOffset, commitLog.minOffset);
    }
    this.#queues?.deleteTopic(topic);
    this.#queueOffsets.deleteTopic(topic);
    this.#consumerOffsets.deleteTopic(topic);
    if (this.#state === "open") await this.flush();
  }

  /**
   * Subscribe to arrivals.
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
   * Run one retention round now (also runs every 10 s): refresh the disk
   * ratio, then, at a `deleteWhenHours` hour or above `diskMaxUsedSpaceRatio`,
   * delete expired CommitLog segments (any age above 85% use) and the
   * ConsumeQueue segments that only point below the new CommitLog min.
   *
   * @returns CommitLog segments deleted.
   */
  runRetention(): number {
    if (this.#state !== "open") return 0;
    this.#diskRatio = this.#diskUsedRatio();
    const commitLog = this.#commitLog!;
    const now = this.#clock.nowMs();
    const hour = new Date(now).getHours();
    const due = this.#config.deleteWhenHours.includes(hour) ||
      this.#diskRatio > this.#config.diskMaxUsedSpaceRatio;
    if (!due) return 0;
    const deleted = commitLog.deleteExpired(
      now,
      this.#config.fileReservedTimeHours * 3_600_000,
      DELETE_SEGMENTS_PER_ROUND_MAX,
      this.#diskRatio > DISK_CLEAN_FORCIBLY_RATIO,
    );
    if (deleted.length > 0) {
      for (const queue of this.#queues!.all()) queue.deleteExpired(commitLog.minOffset);
      this.#index?.deleteExpired(commitLog.minOffset);
    }
    return deleted.length;
  }

  /**
   * Progress counters.
   *
   * @returns Stats.
   */
  stats(): StoreStats {
    const commitLog = this.#commitLog;
    return {
      commitLogMinOffset: commitLog?.minOffset ?? 0,
      commitLogMaxOffset: commitLog?.writtenOffset ?? 0,
      commitLogFlushedOffset: commitLog?.flushedOffset ?? 0,
      dispatchedOffset: this.#dispatcher?.dispatchedOffset ?? 0,
      putMessageCount: this.#putCount,
      getMessageCount: this.#getCount,
      diskUsedRatio: this.#diskRatio,
      writeRefused: this.#state === "open" && this.#refusal() !== undefined,
    };
  }
}
