/**
 * A single-producer/single-consumer byte ring on a SharedArrayBuffer.
 *
 * One thread owns the {@linkcode RingProducer}, one other thread owns the
 * {@linkcode RingConsumer}; the roles never change (ringbuf.js style). The ring
 * carries variable-length records. It is the only hand-off between the main
 * thread and the store and dispatch workers for per-message traffic.
 *
 * Memory layout of the SharedArrayBuffer (all int32, little-endian host order):
 *
 * | Byte offset | Size     | Field          | Written by | Meaning                                   |
 * |-------------|----------|----------------|------------|-------------------------------------------|
 * | 0           | 4        | HEAD           | producer   | bytes ever published (uint32, wraps)      |
 * | 64          | 4        | TAIL           | consumer   | bytes ever released (uint32, wraps)       |
 * | 128         | 4        | CONS_WAITING   | consumer   | 1 while the consumer sleeps on HEAD       |
 * | 192         | 4        | PROD_WAITING   | producer   | 1 while the producer sleeps on TAIL       |
 * | 256         | capacity | data           | producer   | records                                   |
 *
 * Each control word sits on its own 64-byte cache line so the two threads do
 * not false-share. `HEAD - TAIL` (mod 2^32) is the number of bytes in use, so
 * a full ring (`capacity`) and an empty one (`0`) are distinct.
 *
 * Record layout in the data region (every record starts 4-byte aligned):
 *
 * | Size          | Field                                                    |
 * |---------------|----------------------------------------------------------|
 * | 4             | payload length `n` (int32); `-1` is a wrap marker        |
 * | n             | payload                                                  |
 * | 0..3          | padding to the next multiple of 4                        |
 *
 * A record never straddles the end of the data region: when it does not fit in
 * the bytes left before the end, the producer writes a wrap marker there (which
 * consumes the rest of the region) and writes the record at index 0. That is why
 * the largest record is half the capacity ({@linkcode RingBuffer.recordBytesMax}):
 * it always fits once the consumer has caught up, wherever the head stands.
 *
 * Protocol: the producer writes any number of records, then publishes them all
 * with one `Atomics.store` of HEAD and notifies only if the consumer flagged
 * itself waiting. The consumer reads records in place and releases them with
 * one store of TAIL, notifying only a waiting producer. A waiter sets its flag
 * and re-reads the other side's word before sleeping, so no wake-up is lost
 * (both sides use sequentially consistent atomics).
 *
 * @module
 */

/** Int32 index of HEAD. */
const HEAD = 0;
/** Int32 index of TAIL (byte 64). */
const TAIL = 16;
/** Int32 index of CONS_WAITING (byte 128). */
const CONS_WAITING = 32;
/** Int32 index of PROD_WAITING (byte 192). */
const PROD_WAITING = 48;

/** Bytes of the control region that precedes the data region. */
export const RING_CONTROL_BYTES = 256;
/** Bytes of a record header (the int32 payload length). */
export const RING_RECORD_HEADER_BYTES = 4;
/** Smallest data capacity, bytes. */
export const RING_CAPACITY_BYTES_MIN = 64;
/** Largest data capacity, bytes (positions are uint32 counters). */
export const RING_CAPACITY_BYTES_MAX = 1 << 30;
/** The payload length that marks "skip to the start of the data region". */
const WRAP_MARKER = -1;

/** The outcome of a wait: data/space became available, or the wait timed out. */
export type RingWaitResult = "ready" | "timed-out";

/** Longest delay `setTimeout` accepts, ms. */
const TIMER_DELAY_MS_MAX = 0x7fffffff;
/** How long the keep-alive timer outlives a waitAsync deadline, ms. */
const KEEP_ALIVE_MARGIN_MS = 1000;

/**
 * Await an `Atomics.waitAsync` promise while holding a timer, because Deno's
 * event loop does not count a pending waitAsync as work: without the timer a
 * process whose only pending work is the wait exits (or a test reports a
 * leaked promise) before the notification arrives.
 */
async function keepAlive(waiting: Promise<string>, timeoutMs: number): Promise<void> {
  // The timer outlives the wait by a margin: the wait's own resolution is
  // delivered after its deadline, and a timer due at the same moment would let
  // the loop exit first.
  const delayMs = Math.min(Math.max(timeoutMs, 0) + KEEP_ALIVE_MARGIN_MS, TIMER_DELAY_MS_MAX);
  const timer = setTimeout(() => {}, delayMs);
  try {
    await waiting;
  } finally {
    clearTimeout(timer);
  }
}

function alignUp4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * The shared state of one ring: its SharedArrayBuffer and the views both roles use.
 *
 * Build one with {@linkcode RingBuffer.allocate}, post its `buffer` to the other
 * thread once (setup), and wrap it there with a {@linkcode RingProducer} or
 * {@linkcode RingConsumer}.
 */
export class RingBuffer {
  /** The shared memory: control region followed by the data region. */
  readonly buffer: SharedArrayBuffer;
  /** Control words (see the module doc). */
  readonly control: Int32Array;
  /** The data region. */
  readonly data: Uint8Array;
  /** A DataView over `data`, for encoding fixed fields in place. */
  readonly view: DataView;
  /** Data capacity in bytes (a power of two). */
  readonly capacityBytes: number;
  /** Largest payload one record can carry, bytes. */
  readonly recordBytesMax: number;

  /**
   * Allocate a ring with the given data capacity.
   *
   * @param capacityBytes Data capacity; a power of two in [64, 2^30].
   * @returns The new ring.
   * @throws {RangeError} If the capacity is not a power of two in range.
   */
  static allocate(capacityBytes: number): RingBuffer {
    if (
      !Number.isInteger(capacityBytes) || capacityBytes < RING_CAPACITY_BYTES_MIN ||
      capacityBytes > RING_CAPACITY_BYTES_MAX || (capacityBytes & (capacityBytes - 1)) !== 0
    ) {
      throw new RangeError(
        `Cannot allocate ring: capacity is ${capacityBytes} bytes, must be a power of two in [${RING_CAPACITY_BYTES_MIN}, ${RING_CAPACITY_BYTES_MAX}]`,
      );
    }
    return new RingBuffer(new SharedArrayBuffer(RING_CONTROL_BYTES + capacityBytes));
  }

  /**
   * The smallest valid capacity whose records can carry `payloadBytes`.
   *
   * @param payloadBytes Largest payload the ring must accept.
   * @param atLeastBytes Lower bound on the capacity.
   * @returns A power of two.
   */
  static capacityFor(payloadBytes: number, atLeastBytes = RING_CAPACITY_BYTES_MIN): number {
    const needed = Math.max(
      atLeastBytes,
      2 * (alignUp4(payloadBytes) + RING_RECORD_HEADER_BYTES),
      RING_CAPACITY_BYTES_MIN,
    );
    let capacity = RING_CAPACITY_BYTES_MIN;
    while (capacity < needed) capacity *= 2;
    return capacity;
  }

  /**
   * Wrap an existing ring's memory (for example one received from another thread).
   *
   * @param buffer Memory made by {@linkcode RingBuffer.allocate}.
   * @throws {RangeError} If the buffer's size is not control bytes + a power of two.
   */
  constructor(buffer: SharedArrayBuffer) {
    const capacityBytes = buffer.byteLength - RING_CONTROL_BYTES;
    if (
      capacityBytes < RING_CAPACITY_BYTES_MIN || capacityBytes > RING_CAPACITY_BYTES_MAX ||
      (capacityBytes & (capacityBytes - 1)) !== 0
    ) {
      throw new RangeError(
        `Cannot wrap ring: buffer is ${buffer.byteLength} bytes, expected ${RING_CONTROL_BYTES} + a power of two`,
      );
    }
    this.buffer = buffer;
    this.control = new Int32Array(buffer, 0, RING_CONTROL_BYTES / 4);
    this.data = new Uint8Array(buffer, RING_CONTROL_BYTES, capacityBytes);
    this.view = new DataView(buffer, RING_CONTROL_BYTES, capacityBytes);
    this.capacityBytes = capacityBytes;
    this.recordBytesMax = capacityBytes / 2 - RING_RECORD_HEADER_BYTES;
  }

  /**
   * Bytes currently published and not yet released (a snapshot).
   *
   * @returns Used bytes, including headers, padding and wrap gaps.
   */
  usedBytes(): number {
    return (Atomics.load(this.control, HEAD) - Atomics.load(this.control, TAIL)) >>> 0;
  }
}

/**
 * The writing end of a ring. Owned by exactly one thread.
 *
 * Write records with {@linkcode RingProducer.tryReserve} (encode in place) or
 * {@linkcode RingProducer.tryPush} (copy), then make them visible with one
 * {@linkcode RingProducer.publish}. Invariant: `tail <= published <= head`
 * (mod 2^32) and `head - tail <= capacity`.
 */
export class RingProducer {
  /** The shared ring. */
  readonly ring: RingBuffer;
  readonly #control: Int32Array;
  readonly #view: DataView;
  readonly #mask: number;
  readonly #capacity: number;
  /** Local head: bytes written, published or not. */
  #head: number;
  /** Last TAIL read from shared memory (a lower bound of the real one). */
  #tail: number;

  /**
   * Take the producer role of a ring.
   *
   * @param ring The ring (or its memory).
   */
  constructor(ring: RingBuffer | SharedArrayBuffer) {
    this.ring = ring instanceof RingBuffer ? ring : new RingBuffer(ring);
    this.#control = this.ring.control;
    this.#view = this.ring.view;
    this.#capacity = this.ring.capacityBytes;
    this.#mask = this.#capacity - 1;
    this.#head = Atomics.load(this.#control, HEAD) >>> 0;
    this.#tail = Atomics.load(this.#control, TAIL) >>> 0;
  }

  /** The data region; write payloads at offsets returned by `tryReserve`. */
  get data(): Uint8Array {
    return this.ring.data;
  }

  /**
   * Reserve room for a record of `payloadBytes` and write its header.
   *
   * The caller must fill `data[offset .. offset + payloadBytes)` before the
   * next `publish()`.
   *
   * @param payloadBytes Payload length.
   * @returns The payload's offset in `data`, or -1 if the ring has no room now.
   * @throws {RangeError} If `payloadBytes` exceeds `ring.recordBytesMax` or is negative.
   */
  tryReserve(payloadBytes: number): number {
    if (!(payloadBytes >= 0 && payloadBytes <= this.ring.recordBytesMax)) {
      throw new RangeError(
        `Cannot write ring record: payload is ${payloadBytes} bytes, limit is ${this.ring.recordBytesMax}`,
      );
    }
    const recordBytes = RING_RECORD_HEADER_BYTES + alignUp4(payloadBytes);
    const index = this.#head & this.#mask;
    const untilEnd = this.#capacity - index;
    const gap = recordBytes <= untilEnd ? 0 : untilEnd;
    const needed = gap + recordBytes;
    if (((this.#head - this.#tail) >>> 0) + needed > this.#capacity) {
      this.#tail = Atomics.load(this.#control, TAIL) >>> 0;
      if (((this.#head - this.#tail) >>> 0) + needed > this.#capacity) return -1;
    }
    let at = index;
    if (gap !== 0) {
      this.#view.setInt32(index, WRAP_MARKER, true);
      at = 0;
    }
    this.#view.setInt32(at, payloadBytes, true);
    this.#head = (this.#head + needed) >>> 0;
    return at + RING_RECORD_HEADER_BYTES;
  }

  /**
   * Copy a payload into the ring as one record (not yet published).
   *
   * @param payload The bytes.
   * @returns False if the ring has no room now.
   * @throws {RangeError} If the payload exceeds `ring.recordBytesMax`.
   */
  tryPush(payload: Uint8Array): boolean {
    const at = this.tryReserve(payload.length);
    if (at < 0) return false;
    this.ring.data.set(payload, at);
    return true;
  }

  /**
   * Whether a record of `payloadBytes` would fit now (refreshes the tail).
   *
   * @param payloadBytes Payload length.
   * @returns True if `tryReserve(payloadBytes)` would succeed.
   */
  hasRoomFor(payloadBytes: number): boolean {
    this.#tail = Atomics.load(this.#control, TAIL) >>> 0;
    const recordBytes = RING_RECORD_HEADER_BYTES + alignUp4(payloadBytes);
    const index = this.#head & this.#mask;
    const untilEnd = this.#capacity - index;
    const needed = (recordBytes <= untilEnd ? 0 : untilEnd) + recordBytes;
    return ((this.#head - this.#tail) >>> 0) + needed <= this.#capacity;
  }

  /**
   * Make every record written so far visible to the consumer (one atomic store),
   * waking it only if it is flagged waiting.
   */
  publish(): void {
    Atomics.store(this.#control, HEAD, this.#head | 0);
    if (Atomics.load(this.#control, CONS_WAITING) !== 0) Atomics.notify(this.#control, HEAD);
  }

  /**
   * Block (Atomics.wait) until a record of `payloadBytes` fits or the timeout passes.
   * For worker threads only; the main thread uses `waitForRoomAsync`.
   *
   * @param payloadBytes Payload length to make room for.
   * @param timeoutMs Longest wait, ms.
   * @returns `"ready"` if there is room.
   */
  waitForRoom(payloadBytes: number, timeoutMs: number): RingWaitResult {
    if (this.hasRoomFor(payloadBytes)) return "ready";
    Atomics.store(this.#control, PROD_WAITING, 1);
    try {
      const tail = Atomics.load(this.#control, TAIL);
      this.#tail = tail >>> 0;
      if (!this.hasRoomFor(payloadBytes)) Atomics.wait(this.#control, TAIL, tail, timeoutMs);
    } finally {
      Atomics.store(this.#control, PROD_WAITING, 0);
    }
    return this.hasRoomFor(payloadBytes) ? "ready" : "timed-out";
  }

  /**
   * Wait without blocking the event loop (Atomics.waitAsync) until a record of
   * `payloadBytes` fits or the timeout passes.
   *
   * @param payloadBytes Payload length to make room for.
   * @param timeoutMs Longest wait, ms.
   * @returns `"ready"` if there is room.
   */
  async waitForRoomAsync(payloadBytes: number, timeoutMs: number): Promise<RingWaitResult> {
    if (this.hasRoomFor(payloadBytes)) return "ready";
    Atomics.store(this.#control, PROD_WAITING, 1);
    try {
      const tail = Atomics.load(this.#control, TAIL);
      this.#tail = tail >>> 0;
      if (!this.hasRoomFor(payloadBytes)) {
        const waited = Atomics.waitAsync(this.#control, TAIL, tail, timeoutMs);
        if (waited.async) await keepAlive(waited.value, timeoutMs);
      }
    } finally {
      Atomics.store(this.#control, PROD_WAITING, 0);
    }
    return this.hasRoomFor(payloadBytes) ? "ready" : "timed-out";
  }
}

/**
 * The reading end of a ring. Owned by exactly one thread.
 *
 * Read with {@linkcode RingConsumer.next} (payload stays in place until
 * `release()`) or {@linkcode RingConsumer.drain}.
 */
export class RingConsumer {
  /** The shared ring. */
  readonly ring: RingBuffer;
  readonly #control: Int32Array;
  readonly #view: DataView;
  readonly #mask: number;
  readonly #capacity: number;
  /** Local tail: bytes read, released or not. */
  #tail: number;
  /** Last HEAD read from shared memory. */
  #head: number;
  /** Payload length of the record last returned by `next()`. */
  recordBytes = 0;

  /**
   * Take the consumer role of a ring.
   *
   * @param ring The ring (or its memory).
   */
  constructor(ring: RingBuffer | SharedArrayBuffer) {
    this.ring = ring instanceof RingBuffer ? ring : new RingBuffer(ring);
    this.#control = this.ring.control;
    this.#view = this.ring.view;
    this.#capacity = this.ring.capacityBytes;
    this.#mask = this.#capacity - 1;
    this.#tail = Atomics.load(this.#control, TAIL) >>> 0;
    this.#head = Atomics.load(this.#control, HEAD) >>> 0;
  }

  /** The data region; read payloads at offsets returned by `next`. */
  get data(): Uint8Array {
    return this.ring.data;
  }

  /** A DataView over the data region. */
  get view(): DataView {
    return this.#view;
  }

  /**
   * Whether published records are waiting to be read (refreshes the head).
   *
   * @returns True if `next()` would return a record.
   */
  hasData(): boolean {
    if (this.#head === this.#tail) this.#head = Atomics.load(this.#control, HEAD) >>> 0;
    return this.#head !== this.#tail;
  }

  /**
   * Read the next published record. Its payload stays valid until `release()`.
   *
   * @returns The payload's offset in `data` (its length is in `recordBytes`), or -1 if none.
   * @throws {Error} If the ring holds a malformed header (memory corruption).
   */
  next(): number {
    if (this.#head === this.#tail) {
      this.#head = Atomics.load(this.#control, HEAD) >>> 0;
      if (this.#head === this.#tail) return -1;
    }
    let index = this.#tail & this.#mask;
    let length = this.#view.getInt32(index, true);
    if (length === WRAP_MARKER) {
      this.#tail = (this.#tail + this.#capacity - index) >>> 0;
      index = 0;
      length = this.#view.getInt32(0, true);
    }
    if (length < 0 || length > this.ring.recordBytesMax) {
      throw new Error(`Ring record header is corrupt: length ${length} at ${index}`);
    }
    this.#tail = (this.#tail + RING_RECORD_HEADER_BYTES + alignUp4(length)) >>> 0;
    this.recordBytes = length;
    return index + RING_RECORD_HEADER_BYTES;
  }

  /**
   * Hand every record read so far back to the producer (one atomic store),
   * waking it only if it is flagged waiting.
   */
  release(): void {
    Atomics.store(this.#control, TAIL, this.#tail | 0);
    if (Atomics.load(this.#control, PROD_WAITING) !== 0) Atomics.notify(this.#control, TAIL);
  }

  /**
   * Read up to `maxRecords` published records, call `fn` on each in place, then release them.
   *
   * @param fn Called with the data region, the payload offset and length.
   * @param maxRecords Most records to read.
   * @returns The number of records read.
   */
  drain(
    fn: (data: Uint8Array, offset: number, length: number) => void,
    maxRecords = Number.MAX_SAFE_INTEGER,
  ): number {
    let count = 0;
    const data = this.ring.data;
    while (count < maxRecords) {
      const at = this.next();
      if (at < 0) break;
      fn(data, at, this.recordBytes);
      count++;
    }
    if (count > 0) this.release();
    return count;
  }

  /**
   * Block (Atomics.wait) until a record is published or the timeout passes.
   * For worker threads only; the main thread uses `waitForDataAsync`.
   *
   * @param timeoutMs Longest wait, ms.
   * @returns `"ready"` if a record is available.
   */
  waitForData(timeoutMs: number): RingWaitResult {
    if (this.hasData()) return "ready";
    Atomics.store(this.#control, CONS_WAITING, 1);
    try {
      const head = Atomics.load(this.#control, HEAD);
      if ((head >>> 0) === this.#tail) Atomics.wait(this.#control, HEAD, head, timeoutMs);
    } finally {
      Atomics.store(this.#control, CONS_WAITING, 0);
    }
    return this.hasData() ? "ready" : "timed-out";
  }

  /**
   * Wait without blocking the event loop (Atomics.waitAsync) until a record is
   * published or the timeout passes.
   *
   * @param timeoutMs Longest wait, ms.
   * @returns `"ready"` if a record is available.
   */
  async waitForDataAsync(timeoutMs: number): Promise<RingWaitResult> {
    if (this.hasData()) return "ready";
    Atomics.store(this.#control, CONS_WAITING, 1);
    try {
      const head = Atomics.load(this.#control, HEAD);
      if ((head >>> 0) === this.#tail) {
        const waited = Atomics.waitAsync(this.#control, HEAD, head, timeoutMs);
        if (waited.async) await keepAlive(waited.value, timeoutMs);
      }
    } finally {
      Atomics.store(this.#control, CONS_WAITING, 0);
    }
    return this.hasData() ? "ready" : "timed-out";
  }
}
