/**
 * Shared helpers for the store's domain unit tests: records to append and a
 * small in-memory store assembled from the domain classes.
 *
 * @module
 */

import { encodeProperties } from "../../client/protocol/properties.ts";
import type { MessageToPut } from "../message_store.ts";
import { MemoryFileSystem } from "../infra/memory_segment.ts";
import { CommitLog } from "./commit_log.ts";
import { ConsumeQueueStore } from "./consume_queue_store.ts";
import { ABORT_PATH, writeCheckpoint } from "./checkpoint.ts";
import { Dispatcher } from "./dispatch.ts";
import { encodeMessages, type PreparedMessage, prepareMessage } from "./message_encoder.ts";
import { MessageReader } from "./message_reader.ts";
import { QueueOffsetTable } from "./queue_offset_table.ts";
import { recoverStore, type StoreRecovery } from "./recovery.ts";
import type { Clock, StoreFileSystem } from "./segment.ts";
import { DEFAULT_STORE_LIMITS } from "../message_store.ts";

/** Store host written by the helpers. */
export const STORE_HOST = { ip: new Uint8Array([127, 0, 0, 1]), port: 10911 };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  /** Current time, epoch ms. */
  now: number;
  /**
   * Start at a time.
   *
   * @param now Epoch ms.
   */
  constructor(now = 1_700_000_000_000) {
    this.now = now;
  }
  /**
   * Now.
   *
   * @returns Epoch ms.
   */
  nowMs(): number {
    return this.now;
  }
}

/**
 * A message for tests.
 *
 * @param topic Topic.
 * @param queueId Queue id.
 * @param body Body text.
 * @param properties Properties.
 * @param sysFlag Sysflag.
 * @returns The message.
 */
export function message(
  topic: string,
  queueId: number,
  body: string,
  properties: Record<string, string> = {},
  sysFlag = 0,
): MessageToPut {
  return {
    topic,
    queueId,
    flag: 0,
    body: new TextEncoder().encode(body),
    properties: encodeProperties(properties),
    sysFlag,
    bornTimestamp: 1_600_000_000_000,
    bornHost: { ip: new Uint8Array([10, 0, 0, 2]), port: 1234 },
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  };
}

/**
 * Encode messages into one buffer of records.
 *
 * @param messages Messages.
 * @returns Concatenated records.
 */
export function encode(...messages: MessageToPut[]): Uint8Array {
  const prepared = messages.map((m) => {
    const p = prepareMessage(m, DEFAULT_STORE_LIMITS, STORE_HOST, 1 << 30);
    if ("status" in p) throw new Error(p.remark);
    return p as PreparedMessage;
  });
  return encodeMessages(prepared, STORE_HOST);
}

/** A store assembled from domain classes over a `StoreFileSystem` (normally memory). */
export class DomainStore {
  readonly fs: StoreFileSystem;
  readonly clock: ManualClock;
  readonly queueOffsets = new QueueOffsetTable();
  readonly commitLog: CommitLog;
  readonly queues: ConsumeQueueStore;
  readonly dispatcher: Dispatcher;
  readonly reader: MessageReader;
  readonly recovery: StoreRecovery;

  /**
   * Recover and open.
   *
   * @param fs File system.
   * @param segmentBytes CommitLog segment size.
   * @param unitsPerSegment ConsumeQueue units per segment.
   * @param clock Clock.
   */
  constructor(
    fs: StoreFileSystem = new MemoryFileSystem(),
    segmentBytes = 4096,
    unitsPerSegment = 8,
    clock = new ManualClock(),
  ) {
    this.fs = fs;
    this.clock = clock;
    this.commitLog = new CommitLog(fs.segments("commitlog"), this.queueOffsets, {
      segmentBytes,
      clock,
      writeBufferBytes: 1024,
    });
    this.queues = new ConsumeQueueStore(fs, unitsPerSegment, true);
    this.recovery = recoverStore({
      fs,
      commitLog: this.commitLog,
      queueOffsets: this.queueOffsets,
      queues: this.queues,
      checkCrc: true,
    });
    this.dispatcher = new Dispatcher(this.commitLog, this.queues, this.recovery.dispatchedOffset);
    const commitLog = this.commitLog;
    this.reader = new MessageReader(
      commitLog,
      {
        minOffset: () => commitLog.minOffset,
        maxOffset: () => commitLog.committedOffset,
      },
      this.queues,
      DEFAULT_STORE_LIMITS,
    );
  }

  /**
   * Append, commit, dispatch and flush one message.
   *
   * @param m The message.
   * @param flush Whether to fdatasync (default true).
   * @returns The CommitLog offset.
   */
  put(m: MessageToPut, flush = true): number {
    this.clock.now++;
    const appended = this.commitLog.append(encode(m));
    this.commitLog.commit();
    this.dispatcher.dispatchUpTo(this.commitLog.committedOffset);
    if (flush) this.commitLog.flush();
    return appended.commitLogOffset;
  }

  /**
   * Bodies of a queue from offset 0.
   *
   * @param topic Topic.
   * @param queueId Queue id.
   * @returns Body texts.
   */
  bodies(topic: string, queueId: number): string[] {
    const out: string[] = [];
    let offset = this.queues.get(topic, queueId)?.minOffset ?? 0;
    for (;;) {
      const got = this.reader.getMessage({
        group: "g",
        topic,
        queueId,
        queueOffset: offset,
        maxCount: 64,
      });
      if (got.status !== "FOUND") return out;
      for (const m of got.messages) {
        const view = new DataView(m.record.buffer, m.record.byteOffset);
        // Body starts after the fixed fields (IPv4 hosts): BODYLENGTH at 84.
        const length = view.getInt32(84);
        out.push(new TextDecoder().decode(m.record.subarray(88, 88 + length)));
      }
      offset = got.nextBeginOffset;
    }
  }

  /** Clean shutdown: flush everything, checkpoint, remove the abort marker, close handles. */
  close(): void {
    this.commitLog.flush();
    this.queues.flushAll();
    writeCheckpoint(this.fs, {
      physicMsgTimestamp: this.commitLog.lastStoreTimestamp,
      logicsMsgTimestamp: this.commitLog.lastStoreTimestamp,
      indexMsgTimestamp: this.commitLog.lastStoreTimestamp,
      masterFlushedOffset: 0,
      confirmPhyOffset: 0,
      commitLogFlushedOffset: this.commitLog.flushedOffset,
      dispatchedOffset: this.dispatcher.dispatchedOffset,
    });
    this.fs.removeFile(ABORT_PATH);
    this.abandon();
  }

  /** Drop handles without any flush (a crash, as far as files are concerned). */
  abandon(): void {
    this.queues.close();
    this.commitLog.close();
  }
}
