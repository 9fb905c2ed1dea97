/**
 * Dispatch: turn committed CommitLog records into ConsumeQueue units (and
 * feed optional sinks such as the index), RocketMQ's `ReputMessageService`.
 *
 * Lives in the dispatch worker (reading the CommitLog through its own
 * `CommitLogReader`), or on the calling thread in `LocalMessageStore`.
 *
 * @module
 */

import {
  checkRecord,
  getInt64,
  MAGIC_V2,
  MessageSysFlag,
  RecordPos,
  transactionType,
} from "../../client/protocol/message_record.ts";
import { getProperty, MessageConst, tagsHashCode } from "../../client/protocol/properties.ts";
import type { CommitLogRead } from "./commit_log.ts";
import type { ConsumeQueue } from "./consume_queue.ts";
import type { ConsumeQueueStore } from "./consume_queue_store.ts";
import { TopicDecoder } from "./record_view.ts";

/** What dispatch knows about one record. */
export interface DispatchRequest {
  /** Topic. */
  readonly topic: string;
  /** Queue id. */
  readonly queueId: number;
  /** Record start in the CommitLog. */
  readonly commitLogOffset: number;
  /** Record size, bytes. */
  readonly size: number;
  /** `tagsHashCode(TAGS)`, 0 without a tag. */
  readonly tagsCode: number;
  /** STORETIMESTAMP, epoch ms. */
  readonly storeTimestamp: number;
  /** QUEUEOFFSET as stored (0 for prepared/rollback). */
  readonly queueOffset: number;
  /** `KEYS` property (space-separated), if any. */
  readonly keys: string | undefined;
  /** `UNIQ_KEY` property, if any. */
  readonly uniqKey: string | undefined;
  /** SYSFLAG. */
  readonly sysFlag: number;
  /** PREPARED_TRANSACTION_OFFSET. */
  readonly preparedTransactionOffset: number;
  /** Encoded properties string. */
  readonly properties: string;
}

/** An extra consumer of dispatched records (the index file, later). */
export interface DispatchSink {
  /**
   * Called for every valid record, in CommitLog order, after the ConsumeQueue unit.
   *
   * @param request The record's dispatch facts.
   */
  dispatch(request: DispatchRequest): void;
}

/** A queue whose max offset moved during a dispatch round. */
export interface DispatchArrival {
  /** Topic. */
  readonly topic: string;
  /** Queue id. */
  readonly queueId: number;
  /** New max offset (one past the newest unit). */
  readonly maxOffset: number;
  /** Tag hash of the newest unit. */
  readonly tagsCode: number;
}

/** A round's arrival while the round runs (updated per record). */
type MutableArrival = { -readonly [K in keyof DispatchArrival]: DispatchArrival[K] };

/** Outcome of one dispatch round. */
export interface DispatchRound {
  /** Dispatched offset after the round. */
  readonly dispatchedOffset: number;
  /** Records handled (including skipped duplicates and non-CQ transaction types). */
  readonly recordCount: number;
  /** One entry per queue that grew, with its final max offset. */
  readonly arrivals: DispatchArrival[];
  /** Corrupt regions skipped (should never happen on committed data). */
  readonly errors: string[];
}

/** Options of a dispatcher. */
export interface DispatcherOptions {
  /** Extra sinks, run in order after the ConsumeQueue. */
  readonly sinks?: readonly DispatchSink[];
  /** Verify body CRCs while dispatching (default false: the writer produced these bytes). */
  readonly checkCrc?: boolean;
  /** Read window, bytes (default 1 MiB; grows for larger records). */
  readonly windowBytes?: number;
  /**
   * Records below this offset go to the sinks only: their units are already
   * in the ConsumeQueues (a replay that refills the index). Default 0.
   * Re-dispatching them would recreate queues of topics deleted since.
   */
  readonly queuesFromOffset?: number;
  /** Records of deleted topic incarnations, skipped entirely (see `topic_fence.ts`). */
  readonly fences?: { fenced(topic: string, commitLogOffset: number): boolean };
}

const propertiesDecoder = new TextDecoder();

/**
 * Decode dispatch facts from a checked record, reading only the fields
 * dispatch needs (no host copies, no body view).
 *
 * @param bytes Buffer holding the record.
 * @param at Record start.
 * @param size Record size.
 * @returns The request.
 */
export function toDispatchRequest(bytes: Uint8Array, at: number, size: number): DispatchRequest {
  return readDispatchRequest(bytes, at, size, new TopicDecoder());
}

/** `toDispatchRequest` with the caller's topic decoder (reuses the last topic string). */
function readDispatchRequest(
  bytes: Uint8Array,
  at: number,
  size: number,
  topics: TopicDecoder,
): DispatchRequest {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sysFlag = view.getInt32(at + RecordPos.SYS_FLAG);
  const bornIpBytes = (sysFlag & MessageSysFlag.BORNHOST_V6) !== 0 ? 16 : 4;
  const storeIpBytes = (sysFlag & MessageSysFlag.STOREHOST_V6) !== 0 ? 16 : 4;
  const storeTimestampAt = at + RecordPos.BORN_HOST + bornIpBytes + 4;
  // RECONSUMETIMES (4), then PREPARED_TRANSACTION_OFFSET (8), then BODYLENGTH.
  const reconsumeAt = storeTimestampAt + 8 + storeIpBytes + 4;
  const bodyLengthAt = reconsumeAt + 12;
  let p = bodyLengthAt + 4 + view.getInt32(bodyLengthAt);
  const v2 = view.getInt32(at + RecordPos.MAGIC) === MAGIC_V2;
  const topicLength = v2 ? view.getUint16(p) : view.getUint8(p);
  p += v2 ? 2 : 1;
  const topic = topics.decode(bytes, p, topicLength);
  p += topicLength;
  const propertiesLength = view.getInt16(p);
  p += 2;
  const properties = propertiesLength > 0
    ? propertiesDecoder.decode(bytes.subarray(p, p + propertiesLength))
    : "";
  return {
    topic,
    queueId: view.getInt32(at + RecordPos.QUEUE_ID),
    commitLogOffset: getInt64(view, at + RecordPos.PHYSICAL_OFFSET),
    size,
    tagsCode: tagsHashCode(getProperty(properties, MessageConst.TAGS)),
    storeTimestamp: getInt64(view, storeTimestampAt),
    queueOffset: getInt64(view, at + RecordPos.QUEUE_OFFSET),
    keys: getProperty(properties, MessageConst.KEYS),
    uniqKey: getProperty(properties, MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX),
    sysFlag,
    preparedTransactionOffset: getInt64(view, reconsumeAt + 4),
    properties,
  };
}

/**
 * Reads records from `dispatchedOffset` up to a confirmed (committed) offset
 * and appends ConsumeQueue units for NOT and COMMIT transaction types.
 *
 * Invariant: `dispatchedOffset` is always a record boundary (or a segment base).
 */
export class Dispatcher {
  #reader: CommitLogRead;
  #queues: ConsumeQueueStore;
  #sinks: readonly DispatchSink[];
  #checkCrc: boolean;
  #window: Uint8Array;
  #dispatchedOffset: number;
  readonly #queuesFromOffset: number;
  readonly #fences: DispatcherOptions["fences"];
  readonly #topics = new TopicDecoder();

  /**
   * Build a dispatcher.
   *
   * @param reader CommitLog reads (this thread's handles).
   * @param queues The writable ConsumeQueue set.
   * @param fromOffset Where to start (a record boundary).
   * @param options Sinks, CRC checking, window size.
   */
  constructor(
    reader: CommitLogRead,
    queues: ConsumeQueueStore,
    fromOffset: number,
    options: DispatcherOptions = {},
  ) {
    this.#reader = reader;
    this.#queues = queues;
    this.#sinks = options.sinks ?? [];
    this.#checkCrc = options.checkCrc ?? false;
    this.#window = new Uint8Array(
      Math.min(options.windowBytes ?? 1024 * 1024, reader.segmentBytes),
    );
    this.#dispatchedOffset = fromOffset;
    this.#queuesFromOffset = options.queuesFromOffset ?? 0;
    this.#fences = options.fences;
  }

  /** Everything below this offset has been dispatched. */
  get dispatchedOffset(): number {
    return this.#dispatchedOffset;
  }

  /**
   * Dispatch every record below `confirmedOffset`, then commit the touched
   * queues so readers on other threads see the units before the arrivals are
   * announced.
   *
   * @param confirmedOffset The writer's committed offset.
   * @returns The round's outcome.
   */
  dispatchUpTo(confirmedOffset: number): DispatchRound {
    const touched = new Map<ConsumeQueue, MutableArrival>();
    const errors: string[] = [];
    let recordCount = 0;
    const segmentBytes = this.#reader.segmentBytes;
    while (this.#dispatchedOffset < confirmedOffset) {
      const pos = this.#dispatchedOffset;
      const segmentEnd = pos - (pos % segmentBytes) + segmentBytes;
      const want = Math.min(this.#window.length, confirmedOffset - pos, segmentEnd - pos);
      const n = this.#reader.readAt(pos, this.#window.subarray(0, want));
      if (n === 0) {
        // The segment is gone (retention ran ahead of dispatch): move to the next one.
        errors.push(`no CommitLog data at ${pos}`);
        this.#dispatchedOffset = segmentEnd;
        continue;
      }
      let at = 0;
      let progressed = false;
      while (at < n) {
        const check = checkRecord(this.#window, at, n, this.#checkCrc);
        if (check.status === "OK") {
          this.#dispatchOne(at, check.size, touched);
          recordCount++;
          at += check.size;
          progressed = true;
          continue;
        }
        if (check.status === "BLANK") {
          this.#dispatchedOffset = segmentEnd;
          at = -1;
          break;
        }
        break;
      }
      if (at === -1) continue;
      this.#dispatchedOffset = pos + at;
      if (progressed) continue;
      // Nothing fit: the record is larger than the window, or the bytes are bad.
      const view = new DataView(this.#window.buffer, this.#window.byteOffset);
      const claimed = n >= 4 ? view.getInt32(0) : 0;
      if (claimed > this.#window.length && pos + claimed <= Math.min(confirmedOffset, segmentEnd)) {
        this.#window = new Uint8Array(claimed);
        continue;
      }
      if (n < want || pos + claimed > confirmedOffset) break; // not all bytes visible yet
      errors.push(`corrupt CommitLog data at ${pos}; skipped to ${segmentEnd}`);
      this.#dispatchedOffset = segmentEnd;
    }
    for (const queue of touched.keys()) queue.commit();
    return {
      dispatchedOffset: this.#dispatchedOffset,
      recordCount,
      arrivals: [...touched.values()],
      errors,
    };
  }

  #dispatchOne(at: number, size: number, touched: Map<ConsumeQueue, MutableArrival>): void {
    const request = readDispatchRequest(this.#window, at, size, this.#topics);
    if (this.#fences?.fenced(request.topic, request.commitLogOffset)) return;
    const txType = transactionType(request.sysFlag);
    if (
      (txType === MessageSysFlag.TRANSACTION_NOT_TYPE ||
        txType === MessageSysFlag.TRANSACTION_COMMIT_TYPE) &&
      request.commitLogOffset >= this.#queuesFromOffset
    ) {
      const queue = this.#queues.findOrCreate(request.topic, request.queueId);
      const appended = queue.append(
        request.queueOffset,
        request.commitLogOffset,
        size,
        request.tagsCode,
      );
      if (appended.status === "APPENDED") {
        // Keyed by the queue object: no per-record key string.
        const arrival = touched.get(queue);
        if (arrival === undefined) {
          touched.set(queue, {
            topic: request.topic,
            queueId: request.queueId,
            maxOffset: appended.maxOffset,
            tagsCode: request.tagsCode,
          });
        } else {
          arrival.maxOffset = appended.maxOffset;
          arrival.tagsCode = request.tagsCode;
        }
      }
    }
    for (const sink of this.#sinks) sink.dispatch(request);
  }
}
