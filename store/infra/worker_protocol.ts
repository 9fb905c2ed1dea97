/**
 * Message layouts between the main thread and the store and dispatch workers.
 *
 * Per-message traffic goes through three SharedArrayBuffer rings (see
 * `ring_buffer.ts` and `docs/threading.md`); `postMessage` carries only setup,
 * control and errors. All multi-byte ring fields are little-endian (host
 * order, both ends are the same process).
 *
 * Request ring (main thread -> store worker), one record per request:
 *
 * | Offset | Size | Field                                                          |
 * |--------|------|----------------------------------------------------------------|
 * | 0      | 4    | requestId (int32, increments by one per request)               |
 * | 4      | 4    | op: PUT 1, FLUSH 2, CLOSE 3, DELETE_TOPIC 4, REPLICATE 5       |
 * | 8      | 4    | count: records in a PUT (1 for putMessage, n for putMessages)  |
 * | 12     | 4    | reserved (0)                                                   |
 * | 16     | n    | PUT: `count` encoded CommitLog records back to back, with      |
 * |        |      | placeholder QUEUEOFFSET/PHYSICALOFFSET/STORETIMESTAMP;         |
 * |        |      | DELETE_TOPIC: the topic in UTF-8; REPLICATE: the CommitLog     |
 * |        |      | offset (float64 LE) then a master's raw records; else empty    |
 *
 * Response ring (store worker -> main thread), one record per request, in
 * request order:
 *
 * | Offset | Size | Field                                              |
 * |--------|------|----------------------------------------------------|
 * | 0      | 4    | requestId                                          |
 * | 4      | 4    | status code (`PutCode`)                            |
 * | 8      | 4    | count (records appended)                           |
 * | 12     | 4    | wroteBytes                                         |
 * | 16     | 8    | commitLogOffset of the first record (float64)      |
 * | 24     | 8    | queueOffset of the first record (float64)          |
 * | 32     | 8    | storeTimestamp, epoch ms (float64)                 |
 * | 40     | n    | remark in UTF-8 (errors only)                      |
 *
 * Arrival ring (dispatch worker -> main thread), records of three kinds:
 *
 * | Offset | Size | Field                                                                    |
 * |--------|------|--------------------------------------------------------------------------|
 * | 0      | 4    | kind: QUEUE 1 (declares a queue index), ARRIVAL 2, PROGRESS 3            |
 * | 4      | 4    | queueIndex: small integer naming one (topic, queueId), assigned once     |
 * | 8      | 8    | ARRIVAL: new maxOffset (float64); QUEUE: queueId (int32 at 8);           |
 * |        |      | PROGRESS: dispatchedOffset after the round (float64)                     |
 * | 16     | 8    | ARRIVAL: tagsCode of the newest message (float64)                        |
 * | 16     | n    | QUEUE: topic in UTF-8                                                    |
 *
 * One dispatch round writes its ARRIVALs (one per queue that grew, with the
 * newest unit's tagsCode, as the domain `Dispatcher` reports them), then one
 * PROGRESS, and publishes once.
 *
 * Shared control block (one SharedArrayBuffer, `CONTROL_BLOCK_BYTES`), each
 * word on its own 64-byte line; offsets as BigInt64 slots:
 *
 * | Byte | Type  | Field                   | Written by       |
 * |------|-------|-------------------------|------------------|
 * | 0    | i64   | committedOffset         | store worker     |
 * | 64   | i64   | flushedOffset           | store worker     |
 * | 128  | i64   | dispatchedOffset        | dispatch worker  |
 * | 192  | i64   | minOffset               | store worker     |
 * | 256  | i64   | flushedStoreTimestamp   | store worker     |
 * | 320  | i32   | dispatchWaiting         | dispatch worker  |
 * | 384  | i64   | diskUsedPpm             | main thread      |
 * | 448  | i64   | storeWorkerCpuMicros    | store worker     |
 * | 512  | i64   | dispatchWorkerCpuMicros | dispatch worker  |
 *
 * The dispatch worker waits with `Atomics.waitAsync` on committedOffset after
 * setting dispatchWaiting; the store worker notifies only when that flag is set.
 *
 * @module
 */

import process from "node:process";
import type { MessageStoreConfig, PutStatus } from "../message_store.ts";

/** Bytes of the request header that precedes the payload. */
export const REQUEST_HEADER_BYTES = 16;
/** Bytes of the fixed part of a response. */
export const RESPONSE_FIXED_BYTES = 40;
/** Bytes of an ARRIVAL or PROGRESS record. */
export const ARRIVAL_RECORD_BYTES = 24;
/** Bytes of the fixed part of a QUEUE record (topic follows). */
export const QUEUE_RECORD_FIXED_BYTES = 16;

/** Request ops. */
export const RequestOp: {
  readonly PUT: 1;
  readonly FLUSH: 2;
  readonly CLOSE: 3;
  readonly DELETE_TOPIC: 4;
  readonly REPLICATE: 5;
} = Object.freeze({ PUT: 1, FLUSH: 2, CLOSE: 3, DELETE_TOPIC: 4, REPLICATE: 5 } as const);

/** Arrival ring record kinds. */
export const ArrivalKind: { readonly QUEUE: 1; readonly ARRIVAL: 2; readonly PROGRESS: 3 } = Object
  .freeze({ QUEUE: 1, ARRIVAL: 2, PROGRESS: 3 } as const);

/** Response status codes, one per `PutStatus` plus `OK` for control requests. */
export const PutCode: {
  readonly OK: 0;
  readonly PUT_OK: 1;
  readonly FLUSH_DISK_TIMEOUT: 2;
  readonly MESSAGE_ILLEGAL: 3;
  readonly PROPERTIES_SIZE_EXCEEDED: 4;
  readonly SERVICE_NOT_AVAILABLE: 5;
  readonly OS_PAGE_CACHE_BUSY: 6;
  readonly UNKNOWN_ERROR: 7;
} = Object.freeze(
  {
    OK: 0,
    PUT_OK: 1,
    FLUSH_DISK_TIMEOUT: 2,
    MESSAGE_ILLEGAL: 3,
    PROPERTIES_SIZE_EXCEEDED: 4,
    SERVICE_NOT_AVAILABLE: 5,
    OS_PAGE_CACHE_BUSY: 6,
    UNKNOWN_ERROR: 7,
  } as const,
);

const PUT_STATUS_BY_CODE: readonly (PutStatus | undefined)[] = [
  undefined,
  "PUT_OK",
  "FLUSH_DISK_TIMEOUT",
  "MESSAGE_ILLEGAL",
  "PROPERTIES_SIZE_EXCEEDED",
  "SERVICE_NOT_AVAILABLE",
  "OS_PAGE_CACHE_BUSY",
  "UNKNOWN_ERROR",
];

/**
 * The `PutStatus` of a response code.
 *
 * @param code A `PutCode` value.
 * @returns The status word (`UNKNOWN_ERROR` for an unknown code or `OK`).
 */
export function putStatusOf(code: number): PutStatus {
  return PUT_STATUS_BY_CODE[code] ?? "UNKNOWN_ERROR";
}

/** BigInt64 index of committedOffset in the control block. */
export const CTRL_COMMITTED = 0;
/** BigInt64 index of flushedOffset. */
export const CTRL_FLUSHED = 8;
/** BigInt64 index of dispatchedOffset. */
export const CTRL_DISPATCHED = 16;
/** BigInt64 index of minOffset. */
export const CTRL_MIN = 24;
/** BigInt64 index of flushedStoreTimestamp (STORETIMESTAMP of the newest flushed record). */
export const CTRL_FLUSHED_TIMESTAMP = 32;
/** Int32 index of dispatchWaiting (byte 320). */
export const CTRL_DISPATCH_WAITING = 80;
/** BigInt64 index of diskUsedPpm: the data disk's use ratio in parts per million (byte 384). */
export const CTRL_DISK_USED_PPM = 48;
/** BigInt64 index of the store worker's own CPU time (user + system), µs (byte 448). */
export const CTRL_STORE_CPU_MICROS = 56;
/** BigInt64 index of the dispatch worker's own CPU time (user + system), µs (byte 512). */
export const CTRL_DISPATCH_CPU_MICROS = 64;
/** Size of the shared control block, bytes. */
export const CONTROL_BLOCK_BYTES = 576;
/** How often a worker publishes its CPU time, ms (read at scrape time; 10 ms is the clock's grain). */
export const CPU_PUBLISH_INTERVAL_MS = 1_000;

/** Views of the shared control block. */
export interface ControlBlock {
  /** The shared memory. */
  readonly buffer: SharedArrayBuffer;
  /** Offsets (BigInt64 slots). */
  readonly offsets: BigInt64Array;
  /** Flags (Int32 slots). */
  readonly flags: Int32Array;
}

/**
 * Wrap (or allocate) the shared control block.
 *
 * @param buffer Existing memory, or omitted to allocate.
 * @returns Its views.
 */
export function controlBlock(buffer = new SharedArrayBuffer(CONTROL_BLOCK_BYTES)): ControlBlock {
  return { buffer, offsets: new BigInt64Array(buffer), flags: new Int32Array(buffer) };
}

/**
 * Read an offset word.
 *
 * @param block The control block.
 * @param index `CTRL_COMMITTED`, `CTRL_FLUSHED`, `CTRL_DISPATCHED` or `CTRL_MIN`.
 * @returns The offset.
 */
export function loadOffset(block: ControlBlock, index: number): number {
  return Number(Atomics.load(block.offsets, index));
}

/**
 * Write an offset word.
 *
 * @param block The control block.
 * @param index The slot.
 * @param value The offset.
 */
export function storeOffset(block: ControlBlock, index: number, value: number): void {
  Atomics.store(block.offsets, index, BigInt(value));
}

/** Setup message for the store worker (postMessage, once). */
export interface StoreWorkerInit {
  /** Message tag. */
  readonly kind: "init";
  /** The store's config (structured-cloned). */
  readonly config: MessageStoreConfig;
  /** Memory of the request ring (main thread produces, store worker consumes). */
  readonly requestRing: SharedArrayBuffer;
  /** Memory of the response ring (store worker produces, main thread consumes). */
  readonly responseRing: SharedArrayBuffer;
  /** Memory of the shared control block. */
  readonly control: SharedArrayBuffer;
  /** How often retention looks for expired CommitLog segments, ms. */
  readonly retentionIntervalMs: number;
}

/** Setup message for the dispatch worker (postMessage, once the store worker has recovered). */
export interface DispatchWorkerInit {
  /** Message tag. */
  readonly kind: "init";
  /** The store's config (structured-cloned). */
  readonly config: MessageStoreConfig;
  /** Memory of the arrival ring (dispatch worker produces, main thread consumes). */
  readonly arrivalRing: SharedArrayBuffer;
  /** Memory of the shared control block. */
  readonly control: SharedArrayBuffer;
  /** Dispatch from here (a record boundary). */
  readonly dispatchFromOffset: number;
}

/**
 * Control requests to the dispatch worker (postMessage): `deleteTopic` drops a
 * topic's ConsumeQueues; `flush` dispatches what is committed, flushes the
 * queues and writes the checkpoint; `close` does the same and stops. Each is
 * answered with `done` carrying the same `id`.
 */
export type DispatchControlRequest =
  | { readonly kind: "deleteTopic"; readonly id: number; readonly topic: string }
  | { readonly kind: "flush"; readonly id: number }
  | { readonly kind: "close"; readonly id: number };

/**
 * What a worker posts back: `opened` once after setup (the store worker after
 * recovery), `done` for a finished control request (id 0: the store worker's
 * loop ended after CLOSE), `fatal` when it hit an error it cannot continue after.
 */
export type WorkerReport =
  | {
    readonly kind: "opened";
    /** Store worker: recovered end of the CommitLog; dispatch worker: where dispatch starts. */
    readonly committedOffset: number;
    /** Where the dispatch worker must start. */
    readonly dispatchFromOffset: number;
    readonly minOffset: number;
    /** Whether the previous shutdown was clean. */
    readonly cleanShutdown: boolean;
  }
  | { readonly kind: "done"; readonly id: number; readonly error?: string }
  | { readonly kind: "fatal"; readonly error: string };

/**
 * Wake the dispatch worker if it sleeps on committedOffset (store worker side).
 *
 * @param block The control block.
 */
export function notifyDispatch(block: ControlBlock): void {
  if (Atomics.load(block.flags, CTRL_DISPATCH_WAITING) !== 0) {
    Atomics.notify(block.offsets, CTRL_COMMITTED);
  }
}

/**
 * Wait without blocking the event loop (Atomics.waitAsync) until
 * committedOffset differs from `seen` or the timeout passes (dispatch worker side).
 *
 * @param block The control block.
 * @param seen The committed offset already handled.
 * @param timeoutMs Longest wait, ms.
 * @returns Resolves after waking.
 */
export async function waitForCommittedAsync(
  block: ControlBlock,
  seen: number,
  timeoutMs: number,
): Promise<void> {
  Atomics.store(block.flags, CTRL_DISPATCH_WAITING, 1);
  try {
    const current = Atomics.load(block.offsets, CTRL_COMMITTED);
    if (Number(current) !== seen) return;
    const waited = Atomics.waitAsync(block.offsets, CTRL_COMMITTED, current, timeoutMs);
    if (!waited.async) return;
    // A pending waitAsync does not keep Deno's event loop alive; this timer does.
    const timer = setTimeout(() => {}, timeoutMs + 1000);
    try {
      await waited.value;
    } finally {
      clearTimeout(timer);
    }
  } finally {
    Atomics.store(block.flags, CTRL_DISPATCH_WAITING, 0);
  }
}

/**
 * CPU time of the calling thread (user + system), µs: `getrusage(RUSAGE_THREAD)`
 * through Node's `process.threadCpuUsage`, which needs no permission.
 *
 * @returns Microseconds since the thread started; 0 where the runtime lacks it.
 */
export function threadCpuMicros(): number {
  const usage = (process as { threadCpuUsage?: () => { user: number; system: number } })
    .threadCpuUsage?.();
  return usage === undefined ? 0 : usage.user + usage.system;
}

/**
 * Publish the calling worker's CPU time in its control-block slot.
 *
 * @param block The control block.
 * @param index `CTRL_STORE_CPU_MICROS` or `CTRL_DISPATCH_CPU_MICROS`.
 */
export function publishThreadCpu(block: ControlBlock, index: number): void {
  Atomics.store(block.offsets, index, BigInt(threadCpuMicros()));
}
