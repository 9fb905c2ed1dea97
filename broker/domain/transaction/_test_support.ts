/**
 * Helpers for the transaction unit tests: a hand-moved clock with timers, a
 * LocalMessageStore in a temp dir, a recording check sender, and a prepare
 * helper that does what the send path does for `TRAN_MSG=true`.
 *
 * @module
 */

import type { CheckTransactionStateRequestHeader } from "../../../client/protocol/headers.ts";
import {
  decodeRecord,
  type MessageRecord,
  MessageSysFlag,
} from "../../../client/protocol/message_record.ts";
import { encodeProperties, MessageConst } from "../../../client/protocol/properties.ts";
import { UniqueIdGenerator } from "../../../client/protocol/message_id.ts";
import {
  defaultStoreConfig,
  LocalMessageStore,
  type MessageStore,
  type PutMessageResult,
} from "../../../store/mod.ts";
import type { CancelTimer, Clock } from "../clock.ts";
import { toHalfMessage } from "./half_message.ts";
import type { TransactionCheckSender } from "./transaction_check_service.ts";

/** Broker address used by the tests. */
export const TEST_STORE_HOST = { ip: new Uint8Array([127, 0, 0, 1]), port: 10911 };

/** A clock moved by hand; `advance` runs the timers that fall due, in order. */
export class ManualClock implements Clock {
  #now: number;
  #timers: { at: number; seq: number; callback: () => void }[] = [];
  #seq = 0;

  /** @param now Start time, epoch ms. */
  constructor(now = 1_700_000_000_000) {
    this.#now = now;
  }

  /** @returns The current time. */
  nowMs(): number {
    return this.#now;
  }

  /**
   * @param callback Run when the clock reaches now + delayMs.
   * @param delayMs Delay.
   * @returns Cancels it.
   */
  schedule(callback: () => void, delayMs: number): CancelTimer {
    const timer = { at: this.#now + delayMs, seq: this.#seq++, callback };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  /** Timers not yet run. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /**
   * Move time forward, running due timers.
   *
   * @param ms How far.
   */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.callback();
    }
    this.#now = target;
  }
}

/** A LocalMessageStore in a temp dir, with small segments; dispose to close and delete. */
export interface TestStore extends AsyncDisposable {
  readonly store: MessageStore;
  readonly dataDir: string;
  /** Close the store (keeping its files) and open a new one on the same dir. */
  reopen(): Promise<MessageStore>;
}

/**
 * Open a LocalMessageStore for a test.
 *
 * @param clock Store clock (store timestamps).
 * @returns The store; `await using` it.
 */
export async function openTestStore(clock: Clock): Promise<TestStore> {
  const dataDir = await Deno.makeTempDir({ prefix: "rmq_txn_test_" });
  const open = async (): Promise<MessageStore> => {
    const store = new LocalMessageStore(
      defaultStoreConfig(dataDir, {
        flushMode: "async",
        commitLogSegmentBytes: 256 * 1024,
        consumeQueueSegmentUnits: 256,
        storeHost: TEST_STORE_HOST,
      }),
      { clock, diskUsedRatio: () => 0.1 },
    );
    await store.open();
    return store;
  };
  let store = await open();
  return {
    get store() {
      return store;
    },
    dataDir,
    async reopen() {
      await store.close();
      store = await open();
      return store;
    },
    async [Symbol.asyncDispose]() {
      await store.close().catch(() => {});
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** One CHECK_TRANSACTION_STATE the sender was asked to send. */
export interface SentCheck {
  readonly group: string;
  readonly header: CheckTransactionStateRequestHeader;
  readonly record: MessageRecord;
}

/** A check sender that records checks; `online` decides whether a producer is live. */
export class RecordingSender implements TransactionCheckSender {
  readonly sent: SentCheck[] = [];
  online = true;

  /**
   * @param group Group.
   * @param header Header.
   * @param body Body.
   * @returns `online`.
   */
  send(group: string, header: CheckTransactionStateRequestHeader, body: Uint8Array): boolean {
    if (!this.online) return false;
    this.sent.push({ group, header, record: decodeRecord(body.slice()) });
    return true;
  }
}

const ids = new UniqueIdGenerator();

/** A half message put by {@linkcode prepareHalf}. */
export interface PreparedHalf {
  readonly uniqKey: string;
  readonly commitLogOffset: number;
  readonly queueOffset: number;
}

/**
 * Put a prepared transactional message the way the send path does.
 *
 * @param store The store.
 * @param options Topic, queue, body, group, born time.
 * @returns The half message's ids and offsets.
 */
export async function prepareHalf(
  store: MessageStore,
  options: {
    topic?: string;
    queueId?: number;
    body?: string;
    group?: string;
    bornTimestamp: number;
    extra?: Record<string, string>;
  },
): Promise<PreparedHalf> {
  const uniqKey = ids.next();
  const half = toHalfMessage({
    topic: options.topic ?? "Orders",
    queueId: options.queueId ?? 1,
    flag: 0,
    body: new TextEncoder().encode(options.body ?? "order-1"),
    properties: encodeProperties({
      ...options.extra,
      [MessageConst.TAGS]: "created",
      [MessageConst.TRANSACTION_PREPARED]: "true",
      [MessageConst.PRODUCER_GROUP]: options.group ?? "pg",
      [MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX]: uniqKey,
    }),
    sysFlag: MessageSysFlag.TRANSACTION_PREPARED_TYPE,
    bornTimestamp: options.bornTimestamp,
    bornHost: TEST_STORE_HOST,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  });
  const put: PutMessageResult = await store.putMessage(half);
  if (put.status !== "PUT_OK") throw new Error(`prepare failed: ${put.status}`);
  return { uniqKey, commitLogOffset: put.commitLogOffset, queueOffset: put.queueOffset };
}

/**
 * Every record of a queue.
 *
 * @param store The store.
 * @param topic Topic.
 * @param queueId Queue.
 * @returns Decoded records.
 */
export async function readQueue(
  store: MessageStore,
  topic: string,
  queueId: number,
): Promise<MessageRecord[]> {
  const got = await store.getMessage({
    group: "test",
    topic,
    queueId,
    queueOffset: 0,
    maxCount: 1024,
  });
  return got.messages.map((m) => decodeRecord(m.record.slice()));
}
