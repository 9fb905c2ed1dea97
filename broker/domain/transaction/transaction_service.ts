/**
 * END_TRANSACTION on the broker side: commit or roll back a half message
 * (spec §6.2).
 *
 * @module
 */

import { TransactionState } from "../../../client/protocol/headers.ts";
import { decodeRecord, type MessageRecord } from "../../../client/protocol/message_record.ts";
import { getProperty, MessageConst } from "../../../client/protocol/properties.ts";
import type { HostAddress, MessageStore, PutMessageResult, PutStatus } from "../../../store/mod.ts";
import type { Clock } from "../clock.ts";
import { transformTimerMessage } from "../timer/timer_transform.ts";
import {
  createOpMessage,
  HALF_QUEUE_ID,
  type HalfMessageInfo,
  OP_RESOLUTION_PROPERTY,
  OP_TOPIC,
  readHalfMessage,
  toCommittedMessage,
  TRANSACTION_GROUP,
  type TransactionResolution,
} from "./half_message.ts";

/** Default number of resolved transaction ids remembered for idempotence. */
export const RESOLVED_TRANSACTIONS_MAX_DEFAULT = 100_000;
/** Op records read per `getMessage` when rebuilding the resolved set. */
const OP_READ_BATCH = 256;

/** Arguments of {@linkcode TransactionService.endTransaction} (the END_TRANSACTION header). */
export interface EndTransactionRequest {
  /** CommitLog offset of the half message. */
  readonly commitLogOffset: number;
  /** QueueOffset of the half message in the half queue. */
  readonly tranStateTableOffset: number;
  /** The producer group that sent the half message. */
  readonly producerGroup: string;
  /** {@linkcode TransactionState} value. */
  readonly commitOrRollback: number;
  /** True when the producer answers a CHECK_TRANSACTION_STATE. */
  readonly fromTransactionCheck: boolean;
  /** UNIQ_KEY of the half message (for messages; not checked). */
  readonly msgId: string;
}

/**
 * Outcome of END_TRANSACTION.
 *
 * - `COMMITTED`: the real message was put and the op record written.
 * - `ROLLED_BACK`: the op record was written.
 * - `UNKNOWN_IGNORED`: `commitOrRollback` was 0; nothing changed.
 * - `ALREADY_RESOLVED`: the transaction had ended before; `resolution` is how.
 *   When the request asks for the same outcome it is a harmless duplicate.
 * - `HALF_NOT_FOUND`, `GROUP_WRONG`, `OFFSET_WRONG`, `ILLEGAL_OPERATION`,
 *   `INVALID_TYPE`: refused, nothing changed.
 * - `PUT_FAILED`: the store refused the real message or the op record.
 */
export type EndTransactionResult =
  | {
    readonly status: "COMMITTED";
    /** Where the real message went. */
    readonly topic: string;
    readonly queueId: number;
    readonly queueOffset: number;
    readonly commitLogOffset: number;
    /** False when the op record could not be written (the half will be checked again). */
    readonly opRecorded: boolean;
  }
  | { readonly status: "ROLLED_BACK" }
  | { readonly status: "UNKNOWN_IGNORED" }
  | {
    readonly status: "ALREADY_RESOLVED";
    readonly resolution: TransactionResolution;
    /** True when the request asked for the other outcome. */
    readonly conflict: boolean;
  }
  | {
    readonly status:
      | "HALF_NOT_FOUND"
      | "GROUP_WRONG"
      | "OFFSET_WRONG"
      | "ILLEGAL_OPERATION"
      | "INVALID_TYPE";
    readonly remark: string;
  }
  | { readonly status: "PUT_FAILED"; readonly putStatus: PutStatus; readonly remark: string };

/** Options of a {@linkcode TransactionService}. */
export interface TransactionServiceOptions {
  /** The store. */
  readonly store: MessageStore;
  /** Broker clock. */
  readonly clock: Clock;
  /** This broker's address (born host of op records). */
  readonly storeHost: HostAddress;
  /** Resolved transaction ids remembered for idempotence. Default {@linkcode RESOLVED_TRANSACTIONS_MAX_DEFAULT}. */
  readonly resolvedTransactionsMax?: number;
}

/**
 * Commits and rolls back half messages.
 *
 * Lives on the broker's main thread. Depends on the MessageStore port only.
 * Idempotence: every op record carries the transaction id and its outcome;
 * the service remembers the last `resolvedTransactionsMax` outcomes (rebuilt
 * from the op queue by `open()`), so a second END_TRANSACTION for the same
 * transaction, or for a check copy of it, never puts the real message twice.
 * It still writes an op record for a check copy, so the check service stops
 * asking about it. Invariant: a transaction id is in `#pending` only while an
 * END for it awaits the store.
 */
export class TransactionService {
  readonly #store: MessageStore;
  readonly #clock: Clock;
  readonly #storeHost: HostAddress;
  readonly #resolvedMax: number;
  /** Transaction id → outcome, insertion-ordered for eviction. */
  readonly #resolved = new Map<string, TransactionResolution>();
  /** Transaction id → outcome being written. */
  readonly #pending = new Map<string, TransactionResolution>();

  /**
   * Build the service; call `open()` once the store is open.
   *
   * @param options Store, clock, broker address, limits.
   * @throws {RangeError} If `resolvedTransactionsMax` is not a positive integer.
   */
  constructor(options: TransactionServiceOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#storeHost = options.storeHost;
    this.#resolvedMax = options.resolvedTransactionsMax ?? RESOLVED_TRANSACTIONS_MAX_DEFAULT;
    if (!Number.isInteger(this.#resolvedMax) || this.#resolvedMax < 1) {
      throw new RangeError(
        `Cannot build transaction service: resolvedTransactionsMax is ${this.#resolvedMax}, expected a positive integer`,
      );
    }
  }

  /**
   * Rebuild the resolved-transaction memory from the newest op records.
   * Call once after the store is open.
   */
  async open(): Promise<void> {
    const max = this.#store.getMaxOffsetInQueue(OP_TOPIC, HALF_QUEUE_ID);
    const min = this.#store.getMinOffsetInQueue(OP_TOPIC, HALF_QUEUE_ID);
    let offset = Math.max(min, max - this.#resolvedMax);
    while (offset < max) {
      const got = await this.#store.getMessage({
        group: TRANSACTION_GROUP,
        topic: OP_TOPIC,
        queueId: HALF_QUEUE_ID,
        queueOffset: offset,
        maxCount: Math.min(OP_READ_BATCH, max - offset),
      });
      for (const message of got.messages) {
        const record = decodeRecord(message.record);
        const id = getProperty(record.properties, MessageConst.TRANSACTION_ID);
        const resolution = getProperty(record.properties, OP_RESOLUTION_PROPERTY);
        if (id !== undefined && (resolution === "COMMIT" || resolution === "ROLLBACK")) {
          this.#remember(id, resolution);
        }
      }
      if (got.nextBeginOffset <= offset) break;
      offset = got.nextBeginOffset;
    }
  }

  /**
   * How a transaction ended, if this broker remembers it.
   *
   * @param transactionId The transaction id (`__transactionId__` / UNIQ_KEY).
   * @returns The outcome, or undefined.
   */
  resolution(transactionId: string): TransactionResolution | undefined {
    return this.#resolved.get(transactionId);
  }

  /**
   * Commit or roll back a half message.
   *
   * @param request The END_TRANSACTION header fields.
   * @returns The outcome; operating conditions are results, never thrown.
   */
  async endTransaction(request: EndTransactionRequest): Promise<EndTransactionResult> {
    const type = request.commitOrRollback;
    if (type === TransactionState.UNKNOWN) return { status: "UNKNOWN_IGNORED" };
    if (type !== TransactionState.COMMIT && type !== TransactionState.ROLLBACK) {
      return {
        status: "INVALID_TYPE",
        remark: `commitOrRollback is ${type}, expected 0, 8 or 12`,
      };
    }
    const wanted: TransactionResolution = type === TransactionState.COMMIT ? "COMMIT" : "ROLLBACK";
    const stored = await this.#store.lookMessageByOffset(request.commitLogOffset);
    if (stored === undefined) {
      return {
        status: "HALF_NOT_FOUND",
        remark: `no message at CommitLog offset ${request.commitLogOffset}`,
      };
    }
    const record = decodeRecord(stored.record);
    const read = readHalfMessage(record);
    if (!read.ok) {
      return {
        status: "HALF_NOT_FOUND",
        remark: `CommitLog offset ${request.commitLogOffset}: ${read.reason}`,
      };
    }
    const info = read.info;
    if (info.producerGroup !== request.producerGroup) {
      return {
        status: "GROUP_WRONG",
        remark:
          `half message belongs to producer group ${info.producerGroup}, not ${request.producerGroup}`,
      };
    }
    if (record.queueOffset !== request.tranStateTableOffset) {
      return {
        status: "OFFSET_WRONG",
        remark:
          `half message has queue offset ${record.queueOffset}, request says ${request.tranStateTableOffset}`,
      };
    }
    if (
      !request.fromTransactionCheck && info.checkImmunityMs !== undefined &&
      this.#clock.nowMs() - record.bornTimestamp > info.checkImmunityMs
    ) {
      return {
        status: "ILLEGAL_OPERATION",
        remark:
          `transaction ${info.transactionId} outlived its check immunity; waiting for the check`,
      };
    }
    const id = info.transactionId;
    // Concurrent ENDs of one transaction: the first one decides, the others see it resolved.
    const inFlight = this.#pending.get(id);
    if (inFlight !== undefined) {
      return { status: "ALREADY_RESOLVED", resolution: inFlight, conflict: inFlight !== wanted };
    }
    const earlier = this.#resolved.get(id);
    if (earlier !== undefined) {
      // Mark this copy resolved too, so the check service stops asking about it.
      await this.#putOp(record, id, earlier);
      return { status: "ALREADY_RESOLVED", resolution: earlier, conflict: earlier !== wanted };
    }
    this.#pending.set(id, wanted);
    try {
      return wanted === "COMMIT"
        ? await this.#commit(record, info)
        : await this.#rollback(record, info);
    } finally {
      this.#pending.delete(id);
    }
  }

  async #commit(record: MessageRecord, info: HalfMessageInfo): Promise<EndTransactionResult> {
    // A committed message that asks for a delay is scheduled like any other (spec §2.9 step 4).
    const committed = toCommittedMessage(record, info);
    const timer = transformTimerMessage(committed, this.#clock.nowMs());
    const put = await this.#store.putMessage(
      timer.kind === "scheduled" ? timer.message : committed,
    );
    if (!stored(put)) return { status: "PUT_FAILED", putStatus: put.status, remark: put.remark };
    // From here the message is visible: remember the outcome even if the op record fails,
    // so a check in this process never commits it again.
    this.#remember(info.transactionId, "COMMIT");
    // A failed op record leaves the half unresolved on disk: the check service will ask the
    // producer again, and that END finds the outcome remembered and writes the op record.
    const op = await this.#putOp(record, info.transactionId, "COMMIT");
    return {
      status: "COMMITTED",
      topic: info.realTopic,
      queueId: info.realQueueId,
      queueOffset: put.queueOffset,
      commitLogOffset: put.commitLogOffset,
      opRecorded: stored(op),
    };
  }

  async #rollback(record: MessageRecord, info: HalfMessageInfo): Promise<EndTransactionResult> {
    const op = await this.#putOp(record, info.transactionId, "ROLLBACK");
    if (!stored(op)) return { status: "PUT_FAILED", putStatus: op.status, remark: op.remark };
    this.#remember(info.transactionId, "ROLLBACK");
    return { status: "ROLLED_BACK" };
  }

  #putOp(
    record: MessageRecord,
    transactionId: string,
    resolution: TransactionResolution,
  ): Promise<PutMessageResult> {
    return this.#store.putMessage(
      createOpMessage(
        record.queueOffset,
        transactionId,
        resolution,
        this.#storeHost,
        this.#clock.nowMs(),
      ),
    );
  }

  #remember(id: string, resolution: TransactionResolution): void {
    this.#resolved.delete(id);
    this.#resolved.set(id, resolution);
    if (this.#resolved.size > this.#resolvedMax) {
      const oldest = this.#resolved.keys().next().value;
      if (oldest !== undefined) this.#resolved.delete(oldest);
    }
  }
}

function stored(
  result: PutMessageResult,
): result is Extract<PutMessageResult, { commitLogOffset: number }> {
  // Every appended status (the HA ones included) carries the record's offsets.
  return "commitLogOffset" in result;
}
