/**
 * Store recovery at open: decide where to trust the data, cut torn tails,
 * rebuild ConsumeQueue units past the checkpoint, and put the `abort` marker.
 *
 * Runs synchronously on the thread that owns the CommitLog writer, before any
 * append. After it returns, every record that was flushed before the last
 * stop is readable at its original offsets, every ConsumeQueue points only at
 * valid records, and the QueueOffset table matches the ConsumeQueues.
 *
 * @module
 */

import type { CommitLog, CommitLogRecovery } from "./commit_log.ts";
import type { ConsumeQueueStore } from "./consume_queue_store.ts";
import { ABORT_PATH, type Checkpoint, readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import { Dispatcher, type DispatcherOptions, type DispatchSink } from "./dispatch.ts";
import type { QueueOffsetTable } from "./queue_offset_table.ts";
import type { StoreFileSystem } from "./segment.ts";

/** What recovery found and did. */
export interface StoreRecovery {
  /** True when the `abort` marker was present (the last run did not close cleanly). */
  readonly abnormal: boolean;
  /** The checkpoint read at start (undefined when missing or corrupt). */
  readonly checkpoint: Checkpoint | undefined;
  /** The CommitLog scan. */
  readonly commitLog: CommitLogRecovery;
  /** Where re-dispatch started. */
  readonly redispatchedFromOffset: number;
  /** Records re-dispatched. */
  readonly redispatchedRecords: number;
  /** ConsumeQueues found inconsistent, destroyed and rebuilt from the CommitLog. */
  readonly rebuiltQueues: readonly { topic: string; queueId: number; reason: string }[];
  /** Dispatch position after recovery (equals the CommitLog end). */
  readonly dispatchedOffset: number;
}

/** Inputs of `recoverStore`. */
export interface RecoverStoreOptions {
  /** The store's file system (checkpoint, abort marker). */
  readonly fs: StoreFileSystem;
  /** The CommitLog writer (not yet appended to). */
  readonly commitLog: CommitLog;
  /** The QueueOffset table the CommitLog assigns from; rebuilt here. */
  readonly queueOffsets: QueueOffsetTable;
  /** The writable ConsumeQueue set (not yet loaded). */
  readonly queues: ConsumeQueueStore;
  /** Verify body CRCs while scanning. */
  readonly checkCrc: boolean;
  /** Extra dispatch sinks fed during re-dispatch (the index). */
  readonly sinks?: readonly DispatchSink[];
  /** Deleted topics whose older records must not be dispatched again. */
  readonly fences?: DispatcherOptions["fences"];
}

/**
 * Recover a store and mark it open.
 *
 * Where scanning starts: the segment holding the lower of the checkpoint's
 * flushed and dispatched offsets (one segment earlier after a crash), or the
 * first segment when there is no valid checkpoint. Re-dispatch starts at the
 * checkpoint's dispatched offset (clean stop), the lower of that and the scan
 * start (crash), or the CommitLog min offset when there is no checkpoint or a
 * ConsumeQueue had to be rebuilt. Units for records at or past that point
 * are cut first and rebuilt (after a power cut they may have reached the disk
 * in any order). ConsumeQueue writes are idempotent and deleted topics are
 * fenced, so re-dispatching too much is only slower, never wrong.
 *
 * @param options Ports and domain objects.
 * @returns What was found and done.
 */
export function recoverStore(options: RecoverStoreOptions): StoreRecovery {
  const { fs, commitLog, queueOffsets, queues } = options;
  const abnormal = fs.exists(ABORT_PATH);
  const checkpoint = readCheckpoint(fs);
  const segmentBytes = commitLog.segmentBytes;

  let scanFrom = 0;
  if (checkpoint !== undefined) {
    const trusted = Math.min(checkpoint.commitLogFlushedOffset, checkpoint.dispatchedOffset);
    scanFrom = trusted - (trusted % segmentBytes);
    if (abnormal) scanFrom = Math.max(0, scanFrom - segmentBytes);
  }
  const scan = commitLog.recover(scanFrom, options.checkCrc);
  const end = scan.endOffset;

  const broken = queues.loadAll();

  // Re-dispatching records of a topic deleted since is harmless: its fence
  // (see topic_fence.ts) makes dispatch skip them.
  let from: number;
  if (checkpoint === undefined || broken.length > 0) from = commitLog.minOffset;
  else if (abnormal) from = Math.min(checkpoint.dispatchedOffset, scan.scannedFromOffset);
  else from = checkpoint.dispatchedOffset;
  from = Math.min(Math.max(from, commitLog.minOffset), end);
  // Units for records at or past `from` are cut and rebuilt from the
  // CommitLog: after a power cut they may have reached the disk in any order
  // (a later unit without an earlier one), or point past the CommitLog's new
  // end. (Cutting only from the checkpoint's dispatched offset instead was
  // cheaper after a crash with large segments, but the power-loss simulation
  // found QueueOffsets reused after an interrupted topic deletion: seed 128.)
  for (const queue of queues.all()) queue.truncateAfterPhysical(from);

  const dispatcher = new Dispatcher(commitLog, queues, from, {
    sinks: options.sinks,
    checkCrc: false,
    fences: options.fences,
  });
  const round = dispatcher.dispatchUpTo(end);

  for (const queue of queues.all()) {
    queue.correctMinOffset(commitLog.minOffset);
    queueOffsets.set(queue.topic, queue.queueId, queue.maxOffset);
  }
  // The rebuilt units are fsynced before the checkpoint claims them. (Leaving
  // them to the budgeted rounds made restarts with many queues faster, but
  // the power-loss simulation lost an acknowledged put with it: seed 193.)
  queues.flushAll();
  const unflushed = queues.unflushedBound();
  const flushed = commitLog.flush();
  const now = commitLog.lastStoreTimestamp;
  writeCheckpoint(fs, {
    physicMsgTimestamp: now,
    logicsMsgTimestamp: now,
    indexMsgTimestamp: now,
    masterFlushedOffset: 0,
    confirmPhyOffset: 0,
    commitLogFlushedOffset: flushed,
    dispatchedOffset: Math.min(round.dispatchedOffset, unflushed ?? Number.MAX_SAFE_INTEGER),
  });
  fs.writeFile(ABORT_PATH, new Uint8Array(0));
  return {
    abnormal,
    checkpoint,
    commitLog: scan,
    redispatchedFromOffset: from,
    redispatchedRecords: round.recordCount,
    rebuiltQueues: broken,
    dispatchedOffset: round.dispatchedOffset,
  };
}
