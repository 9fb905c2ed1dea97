/**
 * The slave side of classic HA (spec §10.2): connects to the master's HA
 * port, reports its max CommitLog offset, and appends each transfer at
 * exactly its offset with the store's `appendReplicated` (one REPLICATE
 * request per transfer through the store worker's request ring; the
 * dispatch worker builds ConsumeQueues and the index as on a master). After
 * each transfer it reports the new offset: that report is the ack a
 * `SYNC_MASTER` waits for. Reconnects after any failure.
 *
 * Lives on the broker's main thread, but handles whole transfers (up to
 * `HA_TRANSFER_BATCH_BYTES`), never single messages.
 *
 * @module
 */

import type { MessageStore } from "../../store/mod.ts";
import type { LogSink } from "../server/request_router.ts";
import {
  encodeReport,
  HA_HEADER_BYTES,
  HA_HEARTBEAT_INTERVAL_MS,
  HA_HOUSEKEEPING_INTERVAL_MS,
} from "./ha_protocol.ts";
import { getInt64 } from "../../client/protocol/message_record.ts";

/** Wait between reconnection attempts, ms. */
const RECONNECT_DELAY_MS = 500;
/** Most transfers handed to the store and not yet acked. */
const APPENDS_IN_FLIGHT_MAX = 16;
/** Largest transfer body a slave accepts, bytes (a record is at most a segment). */
const HA_BODY_BYTES_MAX = 1024 * 1024 * 1024;

/** Options of {@linkcode HaSlave.start}. */
export interface HaSlaveOptions {
  /** The master's HA address, `host:port`, read on every (re)connect. */
  readonly masterAddr: () => string;
  /** This broker's store; must implement `appendReplicated`. */
  readonly store: MessageStore;
  /** Called after each (re)connection (metadata sync hooks here). */
  readonly onConnected?: () => void;
  /** Structured log. */
  readonly log: LogSink;
}

/** Replication progress of a slave (for `haStatus`). */
export interface HaSlaveProgress {
  /** The master HA address in use ("" when none is known). */
  readonly masterAddr: string;
  /** Connected to the master now. */
  readonly connected: boolean;
  /** This store's max CommitLog offset. */
  readonly maxOffset: number;
}

/** The HA client of a slave. */
export class HaSlave {
  readonly #options: HaSlaveOptions;
  #conn: Deno.TcpConn | undefined;
  #closed = false;
  #addr = "";
  readonly #running: Promise<void>;

  private constructor(options: HaSlaveOptions) {
    this.#options = options;
    this.#running = this.#run();
  }

  /**
   * Start replicating.
   *
   * @param options Master address, store, log.
   * @returns The running slave.
   * @throws {TypeError} If the store cannot append replicated bytes.
   */
  static start(options: HaSlaveOptions): HaSlave {
    if (options.store.appendReplicated === undefined) {
      throw new TypeError("Cannot start an HA slave: the store has no appendReplicated");
    }
    return new HaSlave(options);
  }

  /** Where replication stands. */
  progress(): HaSlaveProgress {
    return {
      masterAddr: this.#addr,
      connected: this.#conn !== undefined,
      maxOffset: this.#options.store.stats().commitLogMaxOffset,
    };
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      this.#addr = this.#options.masterAddr();
      const colon = this.#addr.lastIndexOf(":");
      if (colon > 0) {
        try {
          const conn = await Deno.connect({
            hostname: this.#addr.slice(0, colon),
            port: Number(this.#addr.slice(colon + 1)),
          });
          conn.setNoDelay(true);
          this.#conn = conn;
          if (this.#closed) break;
          this.#options.log({ event: "ha_connected", master: this.#addr });
          this.#options.onConnected?.();
          await this.#replicate(conn);
        } catch (error) {
          if (this.#closed) break;
          this.#options.log({
            event: "ha_connection_failed",
            master: this.#addr,
            error: String((error as Error)?.message ?? error),
          });
        } finally {
          this.#dropConnection();
        }
      }
      if (!this.#closed) await new Promise((r) => setTimeout(r, RECONNECT_DELAY_MS));
    }
  }

  #dropConnection(): void {
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    this.#conn = undefined;
  }

  async #replicate(conn: Deno.TcpConn): Promise<void> {
    const store = this.#options.store;
    await writeAll(conn, encodeReport(store.stats().commitLogMaxOffset));
    let buffer = new Uint8Array(4 * 1024 * 1024);
    let filled = 0;
    let lastReportMs = Date.now();
    let acks: Promise<void> = Promise.resolve();
    let inFlight = 0;
    let failure: Error | undefined;
    const heartbeat = setInterval(() => {
      if (Date.now() - lastReportMs < HA_HEARTBEAT_INTERVAL_MS) return;
      lastReportMs = Date.now();
      writeAll(conn, encodeReport(store.stats().commitLogMaxOffset)).catch(() => {});
    }, HA_HEARTBEAT_INTERVAL_MS);
    try {
      while (!this.#closed) {
        const read = await readWithTimeout(conn, buffer.subarray(filled));
        if (read === null) return;
        filled += read;
        let at = 0;
        while (filled - at >= HA_HEADER_BYTES) {
          const view = new DataView(buffer.buffer, at);
          const phyOffset = getInt64(view, 0);
          const bodySize = view.getInt32(8);
          if (bodySize < 0 || bodySize > HA_BODY_BYTES_MAX) {
            throw new Error(`bad transfer body size ${bodySize}`);
          }
          if (filled - at < HA_HEADER_BYTES + bodySize) {
            if (HA_HEADER_BYTES + bodySize > buffer.length) {
              const bigger = new Uint8Array(HA_HEADER_BYTES + bodySize);
              bigger.set(buffer.subarray(at, filled));
              buffer = bigger;
              filled -= at;
              at = 0;
            }
            break;
          }
          const body = buffer.subarray(at + HA_HEADER_BYTES, at + HA_HEADER_BYTES + bodySize);
          at += HA_HEADER_BYTES + bodySize;
          // Appends are pipelined: each goes into the store's request ring at once (the store
          // worker then shares one fdatasync among several), acks follow in order.
          const appended = bodySize > 0
            ? store.appendReplicated!(phyOffset, body.slice())
            : Promise.resolve(undefined);
          inFlight++;
          acks = acks.then(async () => {
            const result = await appended;
            inFlight--;
            if (result !== undefined && result.status !== "APPENDED") {
              throw new Error(`replicated bytes refused at ${phyOffset}: ${result.remark}`);
            }
            const offset = result?.maxOffset ?? store.stats().commitLogMaxOffset;
            await writeAll(conn, encodeReport(offset));
            lastReportMs = Date.now();
          }).catch((error) => {
            failure ??= error as Error;
          });
          if (inFlight >= APPENDS_IN_FLIGHT_MAX) await acks;
          if (failure !== undefined) throw failure;
        }
        buffer.copyWithin(0, at, filled);
        filled -= at;
      }
      await acks;
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Stop replicating and close the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#dropConnection();
    await this.#running;
  }
}

/** Read, giving up (null) when the master is silent past the housekeeping interval. */
async function readWithTimeout(conn: Deno.TcpConn, target: Uint8Array): Promise<number | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silent = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), HA_HOUSEKEEPING_INTERVAL_MS);
  });
  try {
    return await Promise.race([conn.read(target), silent]);
  } finally {
    clearTimeout(timer);
  }
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}
