/**
 * The MessageStore port: everything the broker asks of the durable store.
 *
 * The broker depends on this interface only (through `store/mod.ts`). Two
 * implementations satisfy it and both run the contract suite in
 * `tests/contract/message_store_contract.ts`:
 *
 * - `WorkerMessageStore`: the production shape. A store Worker owns CommitLog
 *   appends and flushes, a dispatch Worker builds ConsumeQueues and the index,
 *   and the main thread talks to both through SharedArrayBuffer rings.
 * - `LocalMessageStore`: the same domain code on the calling thread, for tests,
 *   tools and embedding.
 *
 * Conventions: offsets and timestamps are JavaScript numbers (exact up to
 * 2^53, which a CommitLog will not reach); results are discriminated unions on
 * `status`, reusing RocketMQ's status words; operating conditions are results,
 * never exceptions.
 *
 * @module
 */

/** An IPv4 (4 bytes) or IPv6 (16 bytes) address with a port, as stored in a record. */
export interface HostAddress {
  /** Address bytes: length 4 for IPv4, 16 for IPv6. */
  readonly ip: Uint8Array;
  /** TCP port. */
  readonly port: number;
}

/** A message handed to the store, as the broker has validated and enriched it. */
export interface MessageToPut {
  /** Topic name (≤ 127 bytes, or ≤ 255 for `%RETRY%`/`%DLQ%` topics). */
  readonly topic: string;
  /** Queue id within the topic, `>= 0`. */
  readonly queueId: number;
  /** User flag, carried through unchanged. */
  readonly flag: number;
  /** Message body (possibly compressed; see `sysFlag`). */
  readonly body: Uint8Array;
  /**
   * Properties in RocketMQ's string form: `name \x01 value \x02` repeated.
   * Use `encodeProperties`/`decodeProperties` from `client/protocol/properties.ts`.
   */
  readonly properties: string;
  /**
   * Optional: the UTF-8 bytes of `properties`, when the caller already has
   * them (the broker's batch path), so the store need not encode the string
   * again. When present it MUST equal the UTF-8 encoding of `properties`;
   * anything that rewrites `properties` must drop or rebuild it. The store
   * falls back to encoding `properties` when the lengths cannot match.
   */
  readonly propertiesBytes?: Uint8Array;
  /** MessageSysFlag bits (compression, transaction type, IPv6 hosts). */
  readonly sysFlag: number;
  /** Producer clock, epoch ms. */
  readonly bornTimestamp: number;
  /** Producer address. */
  readonly bornHost: HostAddress;
  /** Delivery attempts so far (retry topics). */
  readonly reconsumeTimes: number;
  /** For committed transactional messages: CommitLog offset of the half message; else 0. */
  readonly preparedTransactionOffset: number;
}

/** Status words of a put, as RocketMQ's `PutMessageStatus`. */
export type PutStatus =
  | "PUT_OK"
  | "FLUSH_DISK_TIMEOUT"
  | "FLUSH_SLAVE_TIMEOUT"
  | "SLAVE_NOT_AVAILABLE"
  | "MESSAGE_ILLEGAL"
  | "PROPERTIES_SIZE_EXCEEDED"
  | "SERVICE_NOT_AVAILABLE"
  | "OS_PAGE_CACHE_BUSY"
  | "UNKNOWN_ERROR";

/**
 * Outcome of `putMessage`. `PUT_OK` and `FLUSH_DISK_TIMEOUT` mean the record was
 * appended (the latter: appended, but not yet known to be on disk).
 */
export type PutMessageResult =
  | {
    /** Appended; the HA statuses (SYNC_MASTER) say too few slaves confirmed it in time. */
    readonly status:
      | "PUT_OK"
      | "FLUSH_DISK_TIMEOUT"
      | "FLUSH_SLAVE_TIMEOUT"
      | "SLAVE_NOT_AVAILABLE";
    /** CommitLog offset of the (first) record. */
    readonly commitLogOffset: number;
    /** QueueOffset of the (first) record. */
    readonly queueOffset: number;
    /** Broker clock at append, epoch ms. */
    readonly storeTimestamp: number;
    /** CommitLog offsets of every record written, in order (length 1 for a single put). */
    readonly commitLogOffsets: readonly number[];
    /** Bytes appended (all records). */
    readonly wroteBytes: number;
  }
  | {
    readonly status: Exclude<
      PutStatus,
      "PUT_OK" | "FLUSH_DISK_TIMEOUT" | "FLUSH_SLAVE_TIMEOUT" | "SLAVE_NOT_AVAILABLE"
    >;
    /** Human-readable reason, e.g. `body is 5242880 bytes, limit is 4194304`. */
    readonly remark: string;
  };

/** Outcome of `appendReplicated`: the new max CommitLog offset, or why not. */
export type ReplicaAppendResult =
  | { readonly status: "APPENDED"; readonly maxOffset: number }
  | { readonly status: "REFUSED"; readonly remark: string };

/** A record read back from the store. */
export interface StoredMessage {
  /** QueueOffset of the record in its ConsumeQueue (for lookups by CommitLog offset: as stored in the record). */
  readonly queueOffset: number;
  /** CommitLog offset of the record. */
  readonly commitLogOffset: number;
  /** Tag hash code from the ConsumeQueue unit (0 when the message has no tag). */
  readonly tagsCode: number;
  /** The whole CommitLog record in its on-disk layout (see `client/protocol/message_record.ts`). */
  readonly record: Uint8Array;
}

/**
 * A consumer-side filter evaluated during `getMessage`.
 *
 * `matchesTagsCode` runs on the ConsumeQueue unit; `matchesMessage`, when
 * present, runs on the record (exact tag check, SQL92 properties).
 */
export interface MessageFilter {
  /** Cheap pre-check on the tag hash stored in the ConsumeQueue unit. */
  matchesTagsCode(tagsCode: number): boolean;
  /** Exact check on the full record; omitted means "matches". */
  matchesMessage?(record: Uint8Array): boolean;
}

/** Arguments of `getMessage`. */
export interface GetMessageRequest {
  /** Consumer group (for statistics only). */
  readonly group: string;
  /** Topic of the queue to read. */
  readonly topic: string;
  /** Queue id within the topic. */
  readonly queueId: number;
  /** First QueueOffset to read. */
  readonly queueOffset: number;
  /** At most this many messages (≤ `StoreLimits.getMessagesMax`). */
  readonly maxCount: number;
  /** Stop after this many record bytes (default `StoreLimits.getBytesMax`). */
  readonly maxBytes?: number;
  /** Optional filter; messages that fail it are skipped (and counted in `nextBeginOffset`). */
  readonly filter?: MessageFilter;
}

/** Status words of a read, as RocketMQ's `GetMessageStatus`. */
export type GetStatus =
  | "FOUND"
  | "NO_MATCHED_MESSAGE"
  | "MESSAGE_WAS_REMOVING"
  | "OFFSET_FOUND_NULL"
  | "OFFSET_OVERFLOW_BADLY"
  | "OFFSET_OVERFLOW_ONE"
  | "OFFSET_TOO_SMALL"
  | "NO_MATCHED_LOGIC_QUEUE"
  | "NO_MESSAGE_IN_QUEUE";

/** Outcome of `getMessage`. */
export interface GetMessageResult {
  /** What the read found (RocketMQ's GetMessageStatus). */
  readonly status: GetStatus;
  /** The records found (empty unless `FOUND`). */
  readonly messages: readonly StoredMessage[];
  /** Where the next read of this queue should start. */
  readonly nextBeginOffset: number;
  /** Oldest QueueOffset still retained. */
  readonly minOffset: number;
  /** Next QueueOffset to be written (one past the newest). */
  readonly maxOffset: number;
}

/** Raised to the broker when dispatch makes new messages of a queue visible. */
export interface MessageArrival {
  /** Topic whose queue grew. */
  readonly topic: string;
  /** Queue id within the topic. */
  readonly queueId: number;
  /** The queue's new max offset (one past the newest dispatched unit). */
  readonly maxOffset: number;
  /** Tag hash of the newest message. */
  readonly tagsCode: number;
}

/** A consumer group's committed position on one queue. */
export interface ConsumerOffsetEntry {
  /** Consumer group. */
  readonly group: string;
  /** Topic. */
  readonly topic: string;
  /** Queue id within the topic. */
  readonly queueId: number;
  /** Next QueueOffset the group will consume. */
  readonly offset: number;
}

/** Progress counters, for metrics and admin. */
export interface StoreStats {
  /** Oldest CommitLog offset still on disk. */
  readonly commitLogMinOffset: number;
  /** One past the last appended byte. */
  readonly commitLogMaxOffset: number;
  /** Everything below this offset is on disk. */
  readonly commitLogFlushedOffset: number;
  /** Everything below this offset has been dispatched to ConsumeQueues and the index. */
  readonly dispatchedOffset: number;
  /** Messages appended since open. */
  readonly putMessageCount: number;
  /** getMessage calls served since open. */
  readonly getMessageCount: number;
  /** Fraction of the data disk in use, 0..1. */
  readonly diskUsedRatio: number;
  /** True while puts are refused (disk full or store failure). */
  readonly writeRefused: boolean;
  /**
   * CPU time of each store thread since it started (user + system), µs; the
   * workers publish theirs about once a second. Absent where the store runs
   * on the caller's thread only (`LocalMessageStore`).
   */
  readonly threadCpuMicros?: {
    readonly main: number;
    readonly storeWorker: number;
    readonly dispatchWorker: number;
  };
}

/** The durable message store. See the module doc for the implementations. */
export interface MessageStore extends AsyncDisposable {
  /** Open files, recover after a crash if needed, start background work. Call once. */
  open(): Promise<void>;
  /** Flush, write the checkpoint and the clean-shutdown marker, stop workers. Idempotent. */
  close(): Promise<void>;
  /** Force everything appended so far to disk (CommitLog, ConsumeQueues, checkpoint). */
  flush(): Promise<void>;

  /** Append one message. Resolves when the flush policy says it is acknowledged. */
  putMessage(message: MessageToPut): Promise<PutMessageResult>;
  /**
   * Append a batch of messages that share topic and queue, contiguously, with
   * consecutive QueueOffsets. At most `StoreLimits.batchMessagesMax` messages.
   */
  putMessages(messages: readonly MessageToPut[]): Promise<PutMessageResult>;

  /** Read up to `maxCount` messages of one queue from `queueOffset`. */
  getMessage(request: GetMessageRequest): Promise<GetMessageResult>;
  /** Oldest retained QueueOffset of a queue (0 for an unknown queue). */
  getMinOffsetInQueue(topic: string, queueId: number): number;
  /** One past the newest dispatched QueueOffset of a queue (0 for an unknown queue). */
  getMaxOffsetInQueue(topic: string, queueId: number): number;
  /** QueueOffset of the first message stored at or after `timestampMs` (max offset if none). */
  getOffsetInQueueByTime(topic: string, queueId: number, timestampMs: number): Promise<number>;
  /** Read one record by its CommitLog offset (undefined if none starts there or it was deleted). */
  lookMessageByOffset(commitLogOffset: number): Promise<StoredMessage | undefined>;
  /**
   * Read raw CommitLog bytes `[commitLogOffset, commitLogOffset + bytes)` with
   * one positional read and no decoding: a run of whole records whose offsets
   * and sizes the caller knows (the timer service keeps them in its TimerLog).
   * The caller checks each record (size, magic, PHYSICALOFFSET). Optional:
   * callers fall back to `lookMessageByOffset` when a store lacks it.
   *
   * @returns Exactly `bytes` bytes, or undefined if the range is not wholly
   *   readable (deleted, not yet dispatched, or crossing a segment end).
   */
  readRecords?(commitLogOffset: number, bytes: number): Promise<Uint8Array | undefined>;
  /**
   * HA (slave side): append records a master already laid out, byte for byte
   * at `commitLogOffset` (which must be this store's max offset; an empty
   * store starts there), then dispatch them as any put. Optional: only
   * stores that can be replicas have it.
   */
  appendReplicated?(commitLogOffset: number, bytes: Uint8Array): Promise<ReplicaAppendResult>;
  /**
   * Messages whose key (`KEYS` element) or unique id (`UNIQ_KEY`) equals `key`,
   * newest first, stored within [beginTimestampMs, endTimestampMs].
   */
  queryMessageByKey(
    topic: string,
    key: string,
    maxCount: number,
    beginTimestampMs: number,
    endTimestampMs: number,
  ): Promise<StoredMessage[]>;
  /** Every (topic, queueId) that has a ConsumeQueue. */
  listQueues(): { topic: string; queueId: number }[];
  /** Delete the ConsumeQueues and consumer offsets of a topic (CommitLog data ages out normally). */
  deleteTopic(topic: string): Promise<void>;

  /** Called after dispatch makes messages visible (drives long polling). Returns an unsubscribe function. */
  onArrival(listener: (arrival: MessageArrival) => void): () => void;

  /** Store a consumer group's next offset for a queue (persisted periodically and on close). */
  commitConsumerOffset(group: string, topic: string, queueId: number, offset: number): void;
  /** A group's committed next offset for a queue, or undefined if it has none. */
  queryConsumerOffset(group: string, topic: string, queueId: number): number | undefined;
  /** Every committed offset (for admin: progress and lag). */
  listConsumerOffsets(): ConsumerOffsetEntry[];
  /** Forget a group's offsets (all topics), or only one topic's. */
  deleteConsumerOffsets(group: string, topic?: string): void;

  /**
   * Read a named broker metadata document (topics, subscription groups, ...),
   * falling back to its `.bak` copy if the main file is missing or unparsable.
   */
  loadConfig(name: string): Promise<string | undefined>;
  /** Atomically replace a named metadata document (write temp, fsync, rename; keep `.bak`). */
  persistConfig(name: string, text: string): Promise<void>;

  /** Progress counters. */
  stats(): StoreStats;
}

/** Flush policy: `sync` acknowledges a put only after an fdatasync covering it. */
export type FlushMode = "sync" | "async";

/** Named limits with their units. Relations between them are asserted when a store is built. */
export interface StoreLimits {
  /** Largest message body, bytes (RocketMQ `maxMessageSize`). Default 4 MiB. */
  readonly messageBytesMax: number;
  /** Largest properties string, bytes (stored as a signed 16-bit length). Default 32767. */
  readonly propertiesBytesMax: number;
  /** Longest topic name, bytes (retry/DLQ topics may use `retryTopicBytesMax`). Default 127. */
  readonly topicBytesMax: number;
  /** Longest `%RETRY%`/`%DLQ%` topic name, bytes. Default 255. */
  readonly retryTopicBytesMax: number;
  /** Most messages in one `putMessages` batch. Default 1024. */
  readonly batchMessagesMax: number;
  /** Most messages one `getMessage` returns. Default 1024. */
  readonly getMessagesMax: number;
  /** Most record bytes one `getMessage` returns. Default 4 MiB. */
  readonly getBytesMax: number;
}

/** Everything configurable about a store. Defaults in `defaultStoreConfig`. */
export interface MessageStoreConfig {
  /** Root directory: `commitlog/`, `consumequeue/`, `index/`, `config/`, `checkpoint`, `abort`. */
  readonly dataDir: string;
  /** CommitLog segment size, bytes. Default 1 GiB. */
  readonly commitLogSegmentBytes: number;
  /** ConsumeQueue segment size in 20-byte units. Default 300,000. */
  readonly consumeQueueSegmentUnits: number;
  /** Default `sync`. */
  readonly flushMode: FlushMode;
  /** `async` mode: flush the CommitLog every this many ms. Default 500. */
  readonly flushIntervalMs: number;
  /** `sync` mode: a put whose fdatasync has not completed by then answers `FLUSH_DISK_TIMEOUT`. Default 5000. */
  readonly syncFlushTimeoutMs: number;
  /** ConsumeQueue/index flush and checkpoint interval, ms. Default 1000. */
  readonly flushConsumeQueueIntervalMs: number;
  /** Consumer offsets persist interval, ms. Default 5000. */
  readonly persistConsumerOffsetIntervalMs: number;
  /** Segments older than this are deleted (never the active one). Default 72. */
  readonly fileReservedTimeHours: number;
  /** Hours of day (local time, 0-23) when expired segments are deleted. Default [4]. */
  readonly deleteWhenHours: readonly number[];
  /** Above this disk use ratio, expired segments are deleted at any hour. Default 0.75. */
  readonly diskMaxUsedSpaceRatio: number;
  /** Above this disk use ratio, puts are refused (`SERVICE_NOT_AVAILABLE`); reads go on. Default 0.90. */
  readonly diskSpaceWarningLevelRatio: number;
  /** Check records' body CRC when recovering. Default true. */
  readonly checkCrcOnRecover: boolean;
  /** Build the key/unique-id index during dispatch. Default true. */
  readonly messageIndexEnable: boolean;
  /** Hash slots per index file (RocketMQ `maxHashSlotNum`). Default 5,000,000. */
  readonly indexSlotsPerFile: number;
  /** Entries per index file, entry 0 included (RocketMQ `maxIndexNum`). Default 20,000,000. */
  readonly indexEntriesPerFile: number;
  /** Request ring size between main thread and store worker, bytes. Default 8 MiB. */
  readonly putRingBytes: number;
  /**
   * Most segment file descriptors the store keeps open, all threads together
   * (`storeThreadHandles` splits it). Idle segments are closed least recently
   * used first and reopened on demand. Default 512, well under the common
   * `ulimit -n` of 1,024 (sockets need the rest).
   */
  readonly openFilesMax?: number;
  /**
   * Free space kept in reserve on the data disk, bytes: below it puts are
   * refused (`SERVICE_NOT_AVAILABLE`, remark "disk is full") until space is
   * freed. Checked on the write path. Default 64 MiB.
   */
  readonly diskFreeReserveBytes?: number;
  /** Address written as STOREHOST in every record. */
  readonly storeHost: HostAddress;
  /** Named limits. */
  readonly limits: StoreLimits;
}

/** RocketMQ-compatible default limits. */
export const DEFAULT_STORE_LIMITS: StoreLimits = Object.freeze({
  messageBytesMax: 4 * 1024 * 1024,
  propertiesBytesMax: 32767,
  topicBytesMax: 127,
  retryTopicBytesMax: 255,
  batchMessagesMax: 1024,
  getMessagesMax: 1024,
  getBytesMax: 4 * 1024 * 1024,
});

/** Default of `MessageStoreConfig.openFilesMax`. */
export const OPEN_FILES_MAX_DEFAULT = 512;

/**
 * How `openFilesMax` is shared by the store's threads: the store worker holds
 * the CommitLog writer and a few readers (a tenth, at least 8); the dispatch
 * worker (ConsumeQueue and index writers) and the main thread (readers) split
 * the rest. `LocalMessageStore` runs every role on one thread and takes all.
 *
 * @param openFilesMax The whole budget.
 * @returns Descriptors per thread.
 */
export function storeThreadHandles(
  openFilesMax: number = OPEN_FILES_MAX_DEFAULT,
): { storeWorker: number; dispatchWorker: number; mainThread: number } {
  const storeWorker = Math.max(8, Math.floor(openFilesMax / 10));
  const rest = Math.max(16, openFilesMax - storeWorker);
  return {
    storeWorker,
    dispatchWorker: Math.ceil(rest / 2),
    mainThread: Math.floor(rest / 2),
  };
}

/**
 * A complete config with production defaults for everything but `dataDir`.
 *
 * @param dataDir Root directory of the store.
 * @param overrides Any fields to change.
 * @returns The merged config.
 */
export function defaultStoreConfig(
  dataDir: string,
  overrides: Partial<MessageStoreConfig> = {},
): MessageStoreConfig {
  return {
    dataDir,
    commitLogSegmentBytes: 1024 * 1024 * 1024,
    consumeQueueSegmentUnits: 300_000,
    flushMode: "sync",
    flushIntervalMs: 500,
    syncFlushTimeoutMs: 5000,
    flushConsumeQueueIntervalMs: 1000,
    persistConsumerOffsetIntervalMs: 5000,
    fileReservedTimeHours: 72,
    deleteWhenHours: [4],
    diskMaxUsedSpaceRatio: 0.75,
    diskSpaceWarningLevelRatio: 0.90,
    checkCrcOnRecover: true,
    messageIndexEnable: true,
    indexSlotsPerFile: 5_000_000,
    indexEntriesPerFile: 20_000_000,
    putRingBytes: 8 * 1024 * 1024,
    openFilesMax: OPEN_FILES_MAX_DEFAULT,
    storeHost: { ip: new Uint8Array([127, 0, 0, 1]), port: 10911 },
    limits: DEFAULT_STORE_LIMITS,
    ...overrides,
  };
}
