/**
 * The durable message store: the `MessageStore` port, its implementations,
 * and the domain pieces the worker-backed store hosts in its Workers.
 *
 * The broker imports the store only through this module.
 *
 * @module
 */

export * from "./message_store.ts";
export {
  CLEAN_RESOURCE_INTERVAL_MS,
  DELETE_SEGMENTS_PER_ROUND_MAX,
  DISK_CLEAN_FORCIBLY_RATIO,
  LocalMessageStore,
  type LocalMessageStoreOptions,
} from "./local_message_store.ts";
// WorkerMessageStore (STORE-B) is exported here:
// export { WorkerMessageStore } from "./infra/worker_message_store.ts";

// Domain, for the store and dispatch workers.
export { AssertionError } from "./domain/assert.ts";
export {
  type Clock,
  parseSegmentFileName,
  type Segment,
  type SegmentDirectory,
  segmentFileName,
  type SegmentOpenOptions,
  type StoreFileSystem,
  systemClock,
} from "./domain/segment.ts";
export {
  type AppendResult,
  CommitLog,
  type CommitLogOptions,
  type CommitLogRead,
  CommitLogReader,
  type CommitLogRecovery,
  RECORD_BYTES_MIN,
  scanCommitLog,
} from "./domain/commit_log.ts";
export { QueueOffsetTable } from "./domain/queue_offset_table.ts";
export {
  ConsumeQueue,
  type ConsumeQueueAppend,
  type ConsumeQueueLoad,
  consumeQueuePath,
  type ConsumeQueueUnit,
  CQ_UNIT_BYTES,
  DUMMY_UNIT_SIZE,
} from "./domain/consume_queue.ts";
export { ConsumeQueueStore } from "./domain/consume_queue_store.ts";
export {
  type DispatchArrival,
  Dispatcher,
  type DispatcherOptions,
  type DispatchRequest,
  type DispatchRound,
  type DispatchSink,
  toDispatchRequest,
} from "./domain/dispatch.ts";
export {
  ABORT_PATH,
  type Checkpoint,
  CHECKPOINT_BYTES,
  CHECKPOINT_PATH,
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from "./domain/checkpoint.ts";
export { recoverStore, type RecoverStoreOptions, type StoreRecovery } from "./domain/recovery.ts";
export { CONSUMER_OFFSET_CONFIG, ConsumerOffsetTable } from "./domain/consumer_offset_table.ts";
export {
  encodeMessages,
  prepareBatch,
  type PreparedMessage,
  prepareMessage,
  type PutRefusal,
} from "./domain/message_encoder.ts";
export { type CommitLogBounds, MessageReader } from "./domain/message_reader.ts";

// Infra.
export { FsSegment, FsSegmentDirectory, FsStoreFileSystem } from "./infra/fs_segment.ts";
export {
  type MemoryFile,
  MemoryFileSystem,
  MemorySegment,
  MemorySegmentDirectory,
} from "./infra/memory_segment.ts";
export { type ConfigFiles, FsConfigFiles, fsDiskUsedRatio } from "./infra/fs_config_files.ts";
export {
  WorkerMessageStore,
  type WorkerMessageStoreOptions,
} from "./infra/worker_message_store.ts";
export {
  checkIndexGeometry,
  checkIndexHeader,
  decodeIndexHeader,
  encodeIndexHeader,
  INDEX_COUNT_MAX,
  INDEX_ENTRY_BYTES,
  INDEX_ENTRY_COUNT_DEFAULT,
  INDEX_HEADER_BYTES,
  INDEX_SLOT_BYTES,
  INDEX_SLOT_COUNT_DEFAULT,
  INDEX_TIME_PRECISION_MS,
  IndexFile,
  indexFileBytes,
  type IndexFileGeometry,
  type IndexFileLoad,
  type IndexHeader,
  indexKeyHash,
} from "./domain/index_file.ts";
export {
  INDEX_DIR,
  indexKey,
  type IndexQueryResult,
  IndexService,
  type IndexServiceLoad,
  type IndexServiceOptions,
  KEY_SEPARATOR,
  messageIndexKeys,
} from "./domain/index_service.ts";
export {
  lookupMessagesByKey,
  type MessageLookupResult,
  recordHasKey,
} from "./domain/message_lookup.ts";
export {
  TIMER_LOG_ENTRY_BYTES,
  TIMER_LOG_PATH,
  TIMER_LOG_SEGMENT_BYTES_DEFAULT,
  TimerLog,
  type TimerLogAppend,
  type TimerLogEntry,
  TimerLogFlag,
} from "./domain/timer/timer_log.ts";
export {
  TIMER_PRECISION_MS_DEFAULT,
  TIMER_SLOT_COUNT_DEFAULT,
  TIMER_SLOT_COUNT_MAX,
  type TimerInsert,
  timerSnapshotPath,
  TimerWheel,
  type TimerWheelLoad,
  type TimerWheelOptions,
} from "./domain/timer/timer_wheel.ts";
export {
  FsHandleCache,
  openFilesLimit,
  openFilesWarning,
  TooManyOpenFilesError,
} from "./infra/fs_handle_cache.ts";
