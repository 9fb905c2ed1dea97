/**
 * The master side of classic HA (spec §10.2–10.3): listens on the HA port,
 * streams CommitLog bytes to each slave from the offset it reports, and keeps
 * each slave's acked offset so `SYNC_MASTER` puts can wait for them.
 *
 * Lives on the broker's main thread: bytes are read from the store with
 * `readRecords` (one positional read of up to `HA_TRANSFER_BATCH_BYTES` per
 * transfer, never per message) and written to the slave socket as they are.
 *
 * @module
 */

import type { MessageStore } from "../../store/mod.ts";
import type { LogSink } from "../server/request_router.ts";
import {
  cutTransfer,
  decodeReport,
  encodeTransfer,
  HA_HEARTBEAT_INTERVAL_MS,
  HA_HOUSEKEEPING_INTERVAL_MS,
  HA_REPORT_BYTES,
  HA_TRANSFER_BATCH_BYTES,
} from "./ha_protocol.ts";

/** Longest idle wait of a transfer loop before it looks at the store again, ms. */
const IDLE_POLL_MS = 200;
/** Time between sweeps for expired SYNC_MASTER waits, ms. */
const WAIT_SWEEP_INTERVAL_MS = 20;

/** One slave as the master sees it (for `haStatus`). */
export interface HaSlaveStatus {
  /** The slave's remote address `host:port`. */
  readonly addr: string;
  /** The slave's last reported max CommitLog offset (-1 before its first report). */
  readonly ackedOffset: number;
  /** The master's max offset minus the acked offset, bytes. */
  readonly lagBytes: number;
  /** Within `haMaxGapBytes` of the master. */
  readonly inSync: boolean;
}

/** Options of {@linkcode HaMaster.start}. */
export interface HaMasterOptions {
  /** Address to listen on. */
  readonly host: string;
  /** HA port (0 = any free port). */
  readonly port: number;
  /** The master's store (read with `readRecords`). */
  readonly store: MessageStore;
  /** CommitLog segment size, bytes (a transfer never crosses a segment end). */
  readonly segmentBytes: number;
  /** A slave farther behind than this is not in sync, bytes. */
  readonly maxGapBytes: number;
  /** Structured log. */
  readonly log: LogSink;
}

interface SlaveConnection {
  readonly addr: string;
  readonly conn: Deno.TcpConn;
  ackedOffset: number;
  nextOffset: number;
  lastReadMs: number;
  closed: boolean;
}

interface AckWait {
  readonly offset: number;
  readonly acks: number;
  readonly deadlineMs: number;
  readonly resolve: (ok: boolean) => void;
}

/** The HA server of a master. */
export class HaMaster {
  readonly #options: HaMasterOptions;
  readonly #listener: Deno.TcpListener;
  readonly #slaves = new Set<SlaveConnection>();
  #wakers: (() => void)[] = [];
  #waits: AckWait[] = [];
  #sweep: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  readonly #serving: Promise<void>;

  private constructor(options: HaMasterOptions, listener: Deno.TcpListener) {
    this.#options = options;
    this.#listener = listener;
    this.#serving = this.#accept();
  }

  /**
   * Listen on the HA port and start serving slaves.
   *
   * @param options Where to listen, the store, limits.
   * @returns The running master.
   */
  static start(options: HaMasterOptions): HaMaster {
    const listener = Deno.listen({ hostname: options.host, port: options.port });
    return new HaMaster(options, listener);
  }

  /** The port actually listened on. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** Wake the transfer loops: the store has new bytes. */
  notifyAppended(): void {
    const wakers = this.#wakers;
    this.#wakers = [];
    for (const wake of wakers) wake();
  }

  /** Every connected slave with its acked offset and lag. */
  slaves(): HaSlaveStatus[] {
    const max = this.#options.store.stats().commitLogMaxOffset;
    return [...this.#slaves].map((s) => ({
      addr: s.addr,
      ackedOffset: s.ackedOffset,
      lagBytes: s.ackedOffset < 0 ? max : max - s.ackedOffset,
      inSync: this.#inSync(s, max),
    }));
  }

  /** Connected slaves within `maxGapBytes` of the master's max offset. */
  inSyncSlaveCount(): number {
    const max = this.#options.store.stats().commitLogMaxOffset;
    let count = 0;
    for (const s of this.#slaves) if (this.#inSync(s, max)) count++;
    return count;
  }

  #inSync(s: SlaveConnection, max: number): boolean {
    return !s.closed && s.ackedOffset >= 0 && max - s.ackedOffset <= this.#options.maxGapBytes;
  }

  /**
   * Wait until `acks` slaves have acked everything below `offset`.
   *
   * @param offset CommitLog offset one past the put's last byte.
   * @param acks Slave acks needed (in-sync replicas minus the master).
   * @param timeoutMs Longest wait, ms.
   * @returns True when acked in time, false on timeout or close.
   */
  waitForAcks(offset: number, acks: number, timeoutMs: number): Promise<boolean> {
    if (acks <= 0 || this.#ackedBy(offset) >= acks) return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    const { promise, resolve } = Promise.withResolvers<boolean>();
    this.#waits.push({ offset, acks, deadlineMs: Date.now() + timeoutMs, resolve });
    this.#sweep ??= setInterval(() => this.#expireWaits(), WAIT_SWEEP_INTERVAL_MS);
    return promise;
  }

  #ackedBy(offset: number): number {
    let count = 0;
    for (const s of this.#slaves) if (!s.closed && s.ackedOffset >= offset) count++;
    return count;
  }

  #settleWaits(): void {
    if (this.#waits.length === 0) return;
    this.#waits = this.#waits.filter((w) => {
      if (this.#ackedBy(w.offset) < w.acks) return true;
      w.resolve(true);
      return false;
    });
  }

  #expireWaits(): void {
    const now = Date.now();
    this.#waits = this.#waits.filter((w) => {
      if (w.deadlineMs > now && !this.#closed) return true;
      w.resolve(false);
      return false;
    });
    if (this.#waits.length === 0 && this.#sweep !== undefined) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        const remote = conn.remoteAddr;
        const slave: SlaveConnection = {
          addr: `${remote.hostname}:${remote.port}`,
          conn,
          ackedOffset: -1,
          nextOffset: -1,
          lastReadMs: Date.now(),
          closed: false,
        };
        this.#slaves.add(slave);
        this.#options.log({ event: "ha_slave_connected", addr: slave.addr });
        void Promise.all([this.#readReports(slave), this.#transfer(slave)]).finally(() =>
          this.#drop(slave)
        );
      }
    } catch {
      // Listener closed.
    }
  }

  #drop(slave: SlaveConnection): void {
    if (!this.#slaves.delete(slave)) return;
    slave.closed = true;
    try {
      slave.conn.close();
    } catch { /* already closed */ }
    this.notifyAppended();
    this.#options.log({ event: "ha_slave_disconnected", addr: slave.addr });
  }

  async #readReports(slave: SlaveConnection): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    let filled = 0;
    try {
      while (!slave.closed) {
        const n = await slave.conn.read(buffer.subarray(filled));
        if (n === null) break;
        filled += n;
        slave.lastReadMs = Date.now();
        const whole = filled - (filled % HA_REPORT_BYTES);
        if (whole === 0) continue;
        // Only the newest report matters.
        const offset = decodeReport(buffer, whole - HA_REPORT_BYTES);
        buffer.copyWithin(0, whole, filled);
        filled -= whole;
        if (slave.nextOffset < 0) {
          const stats = this.#options.store.stats();
          // An empty slave copies everything still on the master (RocketMQ: from the last file).
          slave.nextOffset = offset === 0 ? stats.commitLogMinOffset : offset;
          this.notifyAppended();
        }
        slave.ackedOffset = offset;
        this.#settleWaits();
      }
    } catch {
      // Connection reset.
    }
    slave.closed = true;
    this.notifyAppended();
  }

  #idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wakers.push(done);
    });
  }

  async #transfer(slave: SlaveConnection): Promise<void> {
    const { store, segmentBytes } = this.#options;
    let lastWriteMs = Date.now();
    try {
      while (!slave.closed && !this.#closed) {
        const now = Date.now();
        if (now - slave.lastReadMs > HA_HOUSEKEEPING_INTERVAL_MS) break;
        const next = slave.nextOffset;
        const max = store.stats().commitLogMaxOffset;
        if (next > max) {
          // The slave holds bytes this master never wrote (a divergent tail): it cannot follow.
          this.#options.log({ event: "ha_slave_ahead", addr: slave.addr, next, max });
          break;
        }
        if (next < 0 || next >= max) {
          if (next >= 0 && now - lastWriteMs >= HA_HEARTBEAT_INTERVAL_MS) {
            await writeAll(slave.conn, encodeTransfer(next, new Uint8Array(0)));
            lastWriteMs = Date.now();
          }
          await this.#idle(IDLE_POLL_MS);
          continue;
        }
        const segmentEnd = next - (next % segmentBytes) + segmentBytes;
        let length = Math.min(HA_TRANSFER_BATCH_BYTES, max - next, segmentEnd - next);
        let chunk = await store.readRecords?.(next, length);
        let cut = chunk === undefined ? undefined : cutTransfer(chunk, next);
        if (cut?.needBytes !== undefined && next + cut.needBytes <= max) {
          length = cut.needBytes;
          chunk = await store.readRecords?.(next, length);
          cut = chunk === undefined ? undefined : cutTransfer(chunk, next);
        }
        if (chunk === undefined || cut === undefined) {
          if (next < store.stats().commitLogMinOffset) {
            this.#options.log({ event: "ha_slave_behind_retention", addr: slave.addr, next });
            break;
          }
          await this.#idle(IDLE_POLL_MS);
          continue;
        }
        if (cut.bodyBytes === 0) {
          await this.#idle(IDLE_POLL_MS);
          continue;
        }
        await writeAll(slave.conn, encodeTransfer(next, chunk.subarray(0, cut.bodyBytes)));
        lastWriteMs = Date.now();
        slave.nextOffset = cut.nextOffset;
      }
    } catch {
      // Connection reset.
    }
    slave.closed = true;
  }

  /** Stop listening, drop every slave, fail pending waits. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    for (const slave of [...this.#slaves]) this.#drop(slave);
    this.#expireWaits();
    this.notifyAppended();
    await this.#serving;
  }
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}
