/**
 * The check-back service (RocketMQ `TransactionalMessageCheckService`, spec
 * §6.3): asks producers about half messages nobody resolved in time.
 *
 * @module
 */

import type { CheckTransactionStateRequestHeader } from "../../../client/protocol/headers.ts";
import { createOffsetMessageId } from "../../../client/protocol/message_id.ts";
import { decodeRecord, type MessageRecord } from "../../../client/protocol/message_record.ts";
import { getProperty, MessageConst } from "../../../client/protocol/properties.ts";
import type { MessageStore, StoredMessage } from "../../../store/mod.ts";
import type { CancelTimer, Clock } from "../clock.ts";
import {
  encodeCheckBody,
  HALF_QUEUE_ID,
  HALF_TOPIC,
  OP_TOPIC,
  parseOpBody,
  readHalfMessage,
  toCheckCopy,
  toDiscardedMessage,
  TRANSACTION_GROUP,
} from "./half_message.ts";

/** Default age after which an unresolved half message is checked, ms. */
export const TRANSACTION_TIMEOUT_MS_DEFAULT = 6_000;
/** Default time between check rounds, ms. */
export const TRANSACTION_CHECK_INTERVAL_MS_DEFAULT = 30_000;
/** Default number of checks before a half message is discarded. */
export const TRANSACTION_CHECK_MAX_DEFAULT = 15;
/** Default number of half messages one round walks at most. */
export const CHECK_ROUND_HALF_MESSAGES_MAX_DEFAULT = 10_000;
/** Default number of op records one round reads at most. */
export const CHECK_ROUND_OP_MESSAGES_MAX_DEFAULT = 65_536;
/** Records per store read. */
const READ_BATCH = 32;

/**
 * Sends CHECK_TRANSACTION_STATE to one live producer of a group (oneway).
 * Implemented over the broker's client registry.
 */
export interface TransactionCheckSender {
  /**
   * Send the check request to one live channel of the producer group.
   *
   * @param group The producer group (`PGROUP` of the half message).
   * @param header The request header (spec §2.7).
   * @param body The half record with topic and queue restored to the real ones.
   * @returns False when the group has no live producer.
   */
  send(group: string, header: CheckTransactionStateRequestHeader, body: Uint8Array): boolean;
}

/** Timing and limits of the check service. */
export interface TransactionCheckConfig {
  /** Age (now − born time) before a half message is checked, ms. */
  readonly transactionTimeoutMs: number;
  /** Time between rounds, ms. */
  readonly transactionCheckIntervalMs: number;
  /** Checks before a half message is discarded to `TRANS_CHECK_MAX_TIME_TOPIC`. */
  readonly transactionCheckMax: number;
  /** Half messages walked per round at most. */
  readonly checkRoundHalfMessagesMax: number;
  /** Op records read per round at most. */
  readonly checkRoundOpMessagesMax: number;
}

/** RocketMQ's defaults (spec §6.3). */
export const TRANSACTION_CHECK_CONFIG_DEFAULTS: TransactionCheckConfig = Object.freeze({
  transactionTimeoutMs: TRANSACTION_TIMEOUT_MS_DEFAULT,
  transactionCheckIntervalMs: TRANSACTION_CHECK_INTERVAL_MS_DEFAULT,
  transactionCheckMax: TRANSACTION_CHECK_MAX_DEFAULT,
  checkRoundHalfMessagesMax: CHECK_ROUND_HALF_MESSAGES_MAX_DEFAULT,
  checkRoundOpMessagesMax: CHECK_ROUND_OP_MESSAGES_MAX_DEFAULT,
});

/** What one round did, for logs and tests. */
export interface CheckRoundReport {
  /** Check requests sent to a producer. */
  readonly checked: number;
  /** Half messages that needed a check but whose group had no live producer (still counted as a check). */
  readonly noProducer: number;
  /** Half messages moved to `TRANS_CHECK_MAX_TIME_TOPIC`. */
  readonly discarded: number;
  /** Half messages found resolved by op records. */
  readonly resolved: number;
  /** The half queue offset committed for the next round. */
  readonly halfOffset: number;
  /** The op queue offset committed for the next round. */
  readonly opOffset: number;
}

/** Options of a {@linkcode TransactionCheckService}. */
export interface TransactionCheckServiceOptions {
  /** The store holding the half and op queues. */
  readonly store: MessageStore;
  /** Broker clock; rounds are scheduled with it. */
  readonly clock: Clock;
  /** Where check requests go. */
  readonly sender: TransactionCheckSender;
  /** The broker's address (offset message ids in check headers). */
  readonly storeHost: { readonly ip: Uint8Array; readonly port: number };
  /** Timing and limits; missing fields take {@linkcode TRANSACTION_CHECK_CONFIG_DEFAULTS}. */
  readonly config?: Partial<TransactionCheckConfig>;
  /** Structured log sink for round failures. */
  readonly log?: (event: Readonly<Record<string, unknown>>) => void;
  /** Called after every scheduled round (metrics, tests). */
  readonly onRound?: (report: CheckRoundReport) => void;
}

/**
 * Periodically walks the half queue and asks producers about half messages
 * older than the transaction timeout.
 *
 * Lives on the broker's main thread; all state is durable through the store:
 * the walk position is the consumer offset of group `CID_RMQ_SYS_TRANS` on
 * the half queue, and the op position its offset on the op queue, so a
 * restarted broker resumes where the last committed round ended (at worst a
 * half message is checked once more). Before each check the half message is
 * re-appended with `TRANSACTION_CHECK_TIMES` + 1 and the check names the
 * copy, so the count survives restarts. Rounds never overlap. Invariant:
 * committed half offset ≤ half queue max offset; every half offset below it
 * is resolved, discarded, or superseded by a later copy.
 */
export class TransactionCheckService implements AsyncDisposable {
  readonly #store: MessageStore;
  readonly #clock: Clock;
  readonly #sender: TransactionCheckSender;
  readonly #storeHost: { readonly ip: Uint8Array; readonly port: number };
  readonly #config: TransactionCheckConfig;
  readonly #log: (event: Readonly<Record<string, unknown>>) => void;
  readonly #onRound: (report: CheckRoundReport) => void;
  #cancel: CancelTimer | undefined;
  #running: Promise<CheckRoundReport> | undefined;
  #started = false;
  #closed = false;

  /**
   * Build the service; `start()` schedules the rounds.
   *
   * @param options Store, clock, sender, broker address, config.
   * @throws {RangeError} If a config value is not a positive integer.
   */
  constructor(options: TransactionCheckServiceOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#sender = options.sender;
    this.#storeHost = options.storeHost;
    this.#log = options.log ?? (() => {});
    this.#onRound = options.onRound ?? (() => {});
    const config = { ...TRANSACTION_CHECK_CONFIG_DEFAULTS, ...options.config };
    for (const [key, value] of Object.entries(config)) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(
          `Cannot build transaction check service: ${key} is ${value}, expected a positive integer`,
        );
      }
    }
    this.#config = Object.freeze(config);
  }

  /** The effective config. */
  get config(): TransactionCheckConfig {
    return this.#config;
  }

  /**
   * Start running a round every `transactionCheckIntervalMs`.
   *
   * @throws {Error} If already started or closed.
   */
  start(): void {
    if (this.#started || this.#closed) {
      throw new Error("Cannot start transaction check service: it was already started");
    }
    this.#started = true;
    this.#schedule();
  }

  /**
   * Run one round now (or join the round in progress).
   *
   * @returns What the round did.
   */
  checkOnce(): Promise<CheckRoundReport> {
    this.#running ??= this.#round().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Stop the timer and wait for a round in progress. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#cancel?.();
    this.#cancel = undefined;
    await this.#running?.catch(() => {});
  }

  /** Same as {@linkcode TransactionCheckService.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#cancel = this.#clock.schedule(() => {
      this.#cancel = undefined;
      this.checkOnce().then(
        (report) => {
          this.#schedule();
          this.#onRound(report);
        },
        (error) => {
          this.#log({
            event: "transaction_check_failed",
            error: String((error as Error)?.stack ?? error),
          });
          this.#schedule();
        },
      );
    }, this.#config.transactionCheckIntervalMs);
  }

  async #round(): Promise<CheckRoundReport> {
    const store = this.#store;
    const config = this.#config;
    const nowMs = this.#clock.nowMs();
    const halfMin = store.getMinOffsetInQueue(HALF_TOPIC, HALF_QUEUE_ID);
    // Copies appended during this round lie beyond this bound and wait for the next round.
    const halfMax = store.getMaxOffsetInQueue(HALF_TOPIC, HALF_QUEUE_ID);
    const opMin = store.getMinOffsetInQueue(OP_TOPIC, HALF_QUEUE_ID);
    const opMax = store.getMaxOffsetInQueue(OP_TOPIC, HALF_QUEUE_ID);
    const committedHalf = store.queryConsumerOffset(TRANSACTION_GROUP, HALF_TOPIC, HALF_QUEUE_ID);
    const committedOp = store.queryConsumerOffset(TRANSACTION_GROUP, OP_TOPIC, HALF_QUEUE_ID);
    const startHalf = Math.max(committedHalf ?? halfMin, halfMin);
    const startOp = Math.max(committedOp ?? opMin, opMin);

    // 1. Op records: which half offsets (and transaction ids) are resolved.
    const ops = await this.#readOps(startOp, opMax, startHalf);
    const opsComplete = ops.next >= opMax;

    // 2. Walk the half queue.
    let checked = 0;
    let noProducer = 0;
    let discarded = 0;
    let resolved = 0;
    let offset = startHalf;
    let walked = 0;
    walk: while (offset < halfMax && walked < config.checkRoundHalfMessagesMax) {
      const got = await store.getMessage({
        group: TRANSACTION_GROUP,
        topic: HALF_TOPIC,
        queueId: HALF_QUEUE_ID,
        queueOffset: offset,
        maxCount: Math.min(READ_BATCH, halfMax - offset),
      });
      if (got.messages.length === 0) {
        // Removed or missing units: jump to where the store says reading can go on.
        if (got.nextBeginOffset <= offset) break;
        offset = Math.min(got.nextBeginOffset, halfMax);
        continue;
      }
      for (const message of got.messages) {
        if (message.queueOffset >= halfMax || walked >= config.checkRoundHalfMessagesMax) {
          break walk;
        }
        offset = message.queueOffset;
        walked++;
        const verdict = await this.#visit(message, nowMs, ops, opsComplete);
        switch (verdict) {
          case "RESOLVED":
            resolved++;
            break;
          case "SKIPPED":
            break;
          case "DISCARDED":
            discarded++;
            break;
          case "CHECKED":
            checked++;
            break;
          case "NO_PRODUCER":
            noProducer++;
            break;
          case "STOP":
            break walk;
        }
        offset = message.queueOffset + 1;
      }
    }

    // 3. Commit both positions. An op record is done when every offset it names is behind us.
    if (offset !== committedHalf) {
      store.commitConsumerOffset(TRANSACTION_GROUP, HALF_TOPIC, HALF_QUEUE_ID, offset);
    }
    let opOffset = startOp;
    for (const highest of ops.highestHalfOffsets) {
      if (highest >= offset) break;
      opOffset++;
    }
    if (opOffset !== committedOp) {
      store.commitConsumerOffset(TRANSACTION_GROUP, OP_TOPIC, HALF_QUEUE_ID, opOffset);
    }
    return { checked, noProducer, discarded, resolved, halfOffset: offset, opOffset };
  }

  async #visit(
    message: StoredMessage,
    nowMs: number,
    ops: OpScan,
    opsComplete: boolean,
  ): Promise<"RESOLVED" | "SKIPPED" | "DISCARDED" | "CHECKED" | "NO_PRODUCER" | "STOP"> {
    if (ops.resolvedOffsets.has(message.queueOffset)) return "RESOLVED";
    const record = decodeRecord(message.record);
    const read = readHalfMessage(record);
    if (!read.ok) return "SKIPPED";
    const info = read.info;
    // A check copy whose original (or another copy) was resolved.
    if (ops.resolvedIds.has(info.transactionId)) return "RESOLVED";
    const store = this.#store;
    if (info.checkTimes >= this.#config.transactionCheckMax) {
      const put = await store.putMessage(toDiscardedMessage(record));
      return put.status === "PUT_OK" || put.status === "FLUSH_DISK_TIMEOUT" ? "DISCARDED" : "STOP";
    }
    const immunityMs = Math.max(this.#config.transactionTimeoutMs, info.checkImmunityMs ?? 0);
    const ageMs = nowMs - record.bornTimestamp;
    // Younger than its immunity: later messages are younger still (clock skew aside).
    if (ageMs >= 0 && ageMs < immunityMs) return "STOP";
    // Unread op records may resolve it: wait for the next round rather than ask needlessly.
    if (!opsComplete) return "STOP";
    const copy = toCheckCopy(record, info);
    const put = await store.putMessage(copy);
    if (put.status !== "PUT_OK" && put.status !== "FLUSH_DISK_TIMEOUT") return "STOP";
    const renewed: MessageRecord = {
      ...record,
      queueOffset: put.queueOffset,
      commitLogOffset: put.commitLogOffset,
      storeTimestamp: put.storeTimestamp,
      properties: copy.properties,
    };
    const header: CheckTransactionStateRequestHeader = {
      topic: info.realTopic,
      tranStateTableOffset: put.queueOffset,
      commitLogOffset: put.commitLogOffset,
      msgId: info.uniqKey,
      transactionId: info.transactionId,
      offsetMsgId: createOffsetMessageId(this.#storeHost, put.commitLogOffset),
    };
    return this.#sender.send(info.producerGroup, header, encodeCheckBody(renewed, info))
      ? "CHECKED"
      : "NO_PRODUCER";
  }

  async #readOps(from: number, opMax: number, halfOffset: number): Promise<OpScan> {
    const scan: OpScan = {
      resolvedOffsets: new Set(),
      resolvedIds: new Set(),
      highestHalfOffsets: [],
      next: from,
    };
    const limit = Math.min(opMax, from + this.#config.checkRoundOpMessagesMax);
    let offset = from;
    while (offset < limit) {
      const got = await this.#store.getMessage({
        group: TRANSACTION_GROUP,
        topic: OP_TOPIC,
        queueId: HALF_QUEUE_ID,
        queueOffset: offset,
        maxCount: Math.min(READ_BATCH * 8, limit - offset),
      });
      if (got.messages.length === 0) {
        if (got.nextBeginOffset <= offset) break;
        // Missing op units count as done.
        for (let o = offset; o < Math.min(got.nextBeginOffset, limit); o++) {
          scan.highestHalfOffsets.push(-1);
        }
        offset = Math.min(got.nextBeginOffset, limit);
        continue;
      }
      for (const message of got.messages) {
        if (message.queueOffset >= limit) break;
        while (offset < message.queueOffset) {
          scan.highestHalfOffsets.push(-1);
          offset++;
        }
        const record = decodeRecord(message.record);
        let highest = -1;
        for (const named of parseOpBody(record.body)) {
          if (named >= halfOffset) scan.resolvedOffsets.add(named);
          if (named > highest) highest = named;
        }
        const id = getProperty(record.properties, MessageConst.TRANSACTION_ID);
        if (id !== undefined) scan.resolvedIds.add(id);
        scan.highestHalfOffsets.push(highest);
        offset = message.queueOffset + 1;
      }
    }
    scan.next = offset;
    return scan;
  }
}

/** What the op records read in one round say. */
interface OpScan {
  /** Half offsets (at or after the round's start) that are resolved. */
  readonly resolvedOffsets: Set<number>;
  /** Transaction ids that are resolved. */
  readonly resolvedIds: Set<string>;
  /** Per op record from the round's op start, the highest half offset it names (−1: none). */
  readonly highestHalfOffsets: number[];
  /** One past the last op record read. */
  next: number;
}
