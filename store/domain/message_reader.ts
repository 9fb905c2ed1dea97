/**
 * The read side of the store: `getMessage` over a ConsumeQueue set and
 * CommitLog reads, RocketMQ's `DefaultMessageStore.getMessage` statuses.
 *
 * Lives on the thread that serves pulls (the main thread, with a reader
 * `ConsumeQueueStore` and a `CommitLogReader`; or the calling thread of
 * `LocalMessageStore` with the writers). Contiguous records of a queue are
 * read with one positional read per contiguous run, all into one fresh buffer
 * per call: each `StoredMessage.record` is a view of it.
 *
 * @module
 */

import {
  checkRecord,
  decodeRecord,
  getInt64,
  MAGIC_V1,
  MAGIC_V2,
  RecordPos,
} from "../../client/protocol/message_record.ts";
import { getProperty, MessageConst, tagsHashCode } from "../../client/protocol/properties.ts";
import type {
  GetMessageRequest,
  GetMessageResult,
  StoredMessage,
  StoreLimits,
} from "../message_store.ts";
import { assert } from "./assert.ts";
import type { CommitLogRead } from "./commit_log.ts";
import { type ConsumeQueueUnit, DUMMY_UNIT_SIZE } from "./consume_queue.ts";
import type { ConsumeQueueStore } from "./consume_queue_store.ts";
import { recordPhysicalOffset, recordStoreTimestamp } from "./record_view.ts";

/** Units scanned per filtered `getMessage` at least (RocketMQ `maxFilterMessageSize` / 20). */
const SCAN_UNITS_MIN = 800;
/** Bytes read to find a record's STORETIMESTAMP (fixed fields, IPv6 born host). */
const HEADER_BYTES = 96;

/**
 * A `getMessage` result without messages.
 *
 * @param status Status word.
 * @param nextBeginOffset Where the consumer goes on.
 * @param minOffset Queue min offset.
 * @param maxOffset Queue max offset.
 * @returns The result.
 */
function result(
  status: GetMessageResult["status"],
  nextBeginOffset: number,
  minOffset: number,
  maxOffset: number,
): GetMessageResult {
  return { status, messages: [], nextBeginOffset, minOffset, maxOffset };
}

/** Bounds of the readable CommitLog, supplied by the caller's role. */
export interface CommitLogBounds {
  /** Oldest retained offset. */
  minOffset(): number;
  /** One past the newest readable (committed) byte. */
  maxOffset(): number;
}

/** Reads messages for consumers and admin. */
export class MessageReader {
  #commitLog: CommitLogRead;
  #bounds: CommitLogBounds;
  #queues: ConsumeQueueStore;
  #limits: StoreLimits;

  /**
   * Build a reader.
   *
   * @param commitLog CommitLog reads.
   * @param bounds Readable CommitLog range.
   * @param queues ConsumeQueues (reader or writer role).
   * @param limits Store limits (`getMessagesMax`, `getBytesMax`).
   */
  constructor(
    commitLog: CommitLogRead,
    bounds: CommitLogBounds,
    queues: ConsumeQueueStore,
    limits: StoreLimits,
  ) {
    this.#commitLog = commitLog;
    this.#bounds = bounds;
    this.#queues = queues;
    this.#limits = limits;
  }

  /**
   * Read messages of one queue (see the MessageStore port).
   *
   * @param request The request.
   * @returns Status, messages, next offset and the queue's range.
   */
  getMessage(request: GetMessageRequest): GetMessageResult {
    const queue = this.#queues.get(request.topic, request.queueId);
    const minOffset = queue?.minOffset ?? 0;
    const maxOffset = queue?.maxOffset ?? 0;
    const offset = request.queueOffset;
    if (queue === undefined || maxOffset === 0) {
      return result("NO_MESSAGE_IN_QUEUE", 0, minOffset, maxOffset);
    }
    if (offset < minOffset) return result("OFFSET_TOO_SMALL", minOffset, minOffset, maxOffset);
    if (offset === maxOffset) return result("OFFSET_OVERFLOW_ONE", offset, minOffset, maxOffset);
    if (offset > maxOffset) return result("OFFSET_OVERFLOW_BADLY", maxOffset, minOffset, maxOffset);

    const maxCount = Math.max(1, Math.min(request.maxCount, this.#limits.getMessagesMax));
    const maxBytes = Math.min(
      request.maxBytes ?? this.#limits.getBytesMax,
      this.#limits.getBytesMax,
    );
    const filter = request.filter;
    // Without a filter every unit is taken, so `maxCount` units suffice; a filter
    // may skip units, so scan more (RocketMQ's maxFilterMessageSize window).
    const scanUnits = filter === undefined ? maxCount : Math.max(SCAN_UNITS_MIN, maxCount);
    const units = queue.readUnits(offset, scanUnits);
    if (units.length === 0) return result("OFFSET_FOUND_NULL", offset, minOffset, maxOffset);

    const commitLogMin = this.#bounds.minOffset();
    const selected: ConsumeQueueUnit[] = [];
    let next = offset;
    let bytes = 0;
    let removed = false;
    for (let u = 0; u < units.length; u++) {
      const unit = units[u];
      if (selected.length >= maxCount) break;
      if (unit.size === DUMMY_UNIT_SIZE) {
        next = unit.queueOffset + 1;
        continue;
      }
      if (selected.length > 0 && bytes + unit.size > maxBytes) break;
      if (unit.commitLogOffset < commitLogMin) {
        removed = true;
        next = unit.queueOffset + 1;
        continue;
      }
      next = unit.queueOffset + 1;
      if (filter !== undefined && !filter.matchesTagsCode(unit.tagsCode)) continue;
      selected.push(unit);
      bytes += unit.size;
    }
    if (selected.length === 0) {
      return result(
        removed ? "MESSAGE_WAS_REMOVING" : "NO_MATCHED_MESSAGE",
        next,
        minOffset,
        maxOffset,
      );
    }

    // Every selected record lands in ONE fresh buffer and is handed out as a
    // view of it: one allocation per call, not one per record (per-record
    // allocations were most of the cost). Each run of records that sit back to
    // back in the CommitLog is one `readAt`.
    const out = new Uint8Array(bytes);
    const view = new DataView(out.buffer);
    const matchesMessage = filter?.matchesMessage;
    const messages: StoredMessage[] = [];
    let at = 0;
    let i = 0;
    while (i < selected.length) {
      let j = i + 1;
      let runBytes = selected[i].size;
      while (
        j < selected.length &&
        selected[j].commitLogOffset === selected[j - 1].commitLogOffset + selected[j - 1].size
      ) {
        runBytes += selected[j].size;
        j++;
      }
      const runEnd = at + this.#commitLog.readAt(
        selected[i].commitLogOffset,
        out.subarray(at, at + runBytes),
      );
      for (let k = i; k < j; k++) {
        const unit = selected[k];
        if (at + unit.size > runEnd) {
          removed = true; // the segment went away under the read
          break;
        }
        // Records were fully checked (CRC and field lengths) before dispatch
        // built these units; after the read, the size, magic and physical
        // offset prove the unit still points at that record.
        const magic = view.getInt32(at + RecordPos.MAGIC);
        if (
          view.getInt32(at + RecordPos.TOTAL_SIZE) !== unit.size ||
          (magic !== MAGIC_V1 && magic !== MAGIC_V2) ||
          getInt64(view, at + RecordPos.PHYSICAL_OFFSET) !== unit.commitLogOffset
        ) {
          assert(
            false,
            `ConsumeQueue unit ${unit.queueOffset} of ${request.topic}/${request.queueId} does not point at a record`,
          );
        }
        const record = out.subarray(at, at + unit.size);
        at += unit.size;
        if (matchesMessage !== undefined && !filter!.matchesMessage!(record)) continue;
        messages.push({
          queueOffset: unit.queueOffset,
          commitLogOffset: unit.commitLogOffset,
          tagsCode: unit.tagsCode,
          record,
        });
      }
      i = j;
    }
    if (messages.length > 0) {
      return { status: "FOUND", messages, nextBeginOffset: next, minOffset, maxOffset };
    }
    return result(
      removed ? "MESSAGE_WAS_REMOVING" : "NO_MATCHED_MESSAGE",
      next,
      minOffset,
      maxOffset,
    );
  }

  /**
   * Read one record by CommitLog offset.
   *
   * @param commitLogOffset Where the record starts.
   * @returns The record, or undefined if none starts there or it was deleted.
   */
  lookMessageByOffset(commitLogOffset: number): StoredMessage | undefined {
    if (
      !Number.isSafeInteger(commitLogOffset) || commitLogOffset < this.#bounds.minOffset() ||
      commitLogOffset >= this.#bounds.maxOffset()
    ) {
      return undefined;
    }
    const header = new Uint8Array(8);
    if (this.#commitLog.readAt(commitLogOffset, header) < 8) return undefined;
    const size = new DataView(header.buffer).getInt32(0);
    if (size <= 8 || commitLogOffset + size > this.#bounds.maxOffset()) return undefined;
    const record = new Uint8Array(size);
    if (this.#commitLog.readAt(commitLogOffset, record) !== size) return undefined;
    const check = checkRecord(record, 0, size, false);
    if (check.status !== "OK" || recordPhysicalOffset(record) !== commitLogOffset) return undefined;
    const decoded = decodeRecord(record);
    return {
      queueOffset: getInt64(new DataView(record.buffer), RecordPos.QUEUE_OFFSET),
      commitLogOffset,
      tagsCode: tagsHashCode(getProperty(decoded.properties, MessageConst.TAGS)),
      record,
    };
  }

  /**
   * Read raw CommitLog bytes with one positional read: a run of whole records
   * whose offsets and sizes the caller already knows (the timer log keeps
   * them), so nothing is decoded here. The caller checks each record.
   *
   * @param commitLogOffset Start of the first record.
   * @param bytes Length of the run, bytes (> 0).
   * @returns A fresh buffer of exactly `bytes` bytes, or undefined if the
   *   range is not wholly readable (deleted, beyond the readable end, or
   *   crossing a segment end).
   */
  readRecords(commitLogOffset: number, bytes: number): Uint8Array | undefined {
    if (
      !Number.isSafeInteger(commitLogOffset) || !Number.isSafeInteger(bytes) || bytes <= 0 ||
      commitLogOffset < this.#bounds.minOffset() ||
      commitLogOffset + bytes > this.#bounds.maxOffset()
    ) {
      return undefined;
    }
    const run = new Uint8Array(bytes);
    return this.#commitLog.readAt(commitLogOffset, run) === bytes ? run : undefined;
  }

  /**
   * STORETIMESTAMP of the record at an offset.
   *
   * @param commitLogOffset Record start.
   * @param size Record size.
   * @returns Epoch ms, or undefined if unreadable.
   */
  storeTimestampAt(commitLogOffset: number, size: number): number | undefined {
    const header = new Uint8Array(Math.min(size, HEADER_BYTES));
    if (this.#commitLog.readAt(commitLogOffset, header) !== header.length) return undefined;
    return recordStoreTimestamp(header);
  }

  /**
   * QueueOffset of the first message stored at or after a time.
   *
   * @param topic Topic.
   * @param queueId Queue id.
   * @param timestampMs Epoch ms.
   * @returns The offset (max offset if every message is older; 0 for an unknown queue).
   */
  getOffsetInQueueByTime(topic: string, queueId: number, timestampMs: number): number {
    const queue = this.#queues.get(topic, queueId);
    if (queue === undefined) return 0;
    return queue.getOffsetByTime(timestampMs, (o, s) => this.storeTimestampAt(o, s));
  }
}
