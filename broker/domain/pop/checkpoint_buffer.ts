/**
 * Checkpoints held in memory before they are stored (RocketMQ's
 * `PopBufferMergeService`, §7.6). A pop's checkpoint waits here up to
 * `stayMs`; acks that arrive meanwhile are merged into it, and a batch acked
 * in full is dropped without ever reaching the revive topic. What is still
 * unacked when the stay ends is stored as usual: the checkpoint, plus one ack
 * record for the offsets already acked.
 *
 * Crash safety: a held checkpoint exists only in memory, so the queue's
 * consumer offset and persisted pop offset must not pass its start until it
 * is resolved (acked in full or stored). {@linkcode CheckpointBuffer.safeOffset}
 * gives that bound; after a crash the queue is popped again from it, so every
 * held batch comes back at once (and messages acked within the last stay can
 * come back too: at-least-once). Used only with async flush; under sync flush
 * every checkpoint is stored before the pop is answered.
 *
 * @module
 */

import type { PopContext } from "./pop_context.ts";
import { isPutOk } from "./pop_context.ts";
import type { AckMsg, PopCheckPoint } from "./revive_record.ts";
import { ackMessage, checkpointKey, checkpointMessage } from "./revive_record.ts";

/** Default longest stay of a checkpoint in memory, ms (`popBufferMergeMs`). */
export const POP_BUFFER_MERGE_MS_DEFAULT = 5_000;

/** How often held checkpoints are checked for an ended stay, ms. */
export const POP_BUFFER_SCAN_INTERVAL_MS = 100;

/** Store a checkpoint and, if any, an ack record of the offsets acked while it was held. */
export type StoreHeld = (
  ck: PopCheckPoint,
  reviveQid: number,
  ackedOffsets: readonly number[],
) => Promise<boolean>;

interface Held {
  readonly ck: PopCheckPoint;
  readonly reviveQid: number;
  readonly queueKey: string;
  readonly writeAtMs: number;
  readonly unacked: Set<number>;
  readonly acked: number[];
  storing: boolean;
}

/** Held checkpoints of this broker process. Lives on the broker's main thread. */
export class CheckpointBuffer {
  readonly #stayMs: number;
  readonly #store: StoreHeld;
  readonly #onResolved: (group: string, topic: string, queueId: number) => void;
  readonly #onForget: (key: string) => void;
  readonly #held = new Map<string, Held>();
  /** Batches acked in full while held, until their revive time (then forgotten, as revive would). */
  readonly #retired = new Map<string, number>();
  /** Per queue (`group@topic@queueId`): start offsets of held checkpoints. */
  readonly #byQueue = new Map<string, Map<string, number>>();

  /**
   * @param stayMs Longest stay in memory, ms.
   * @param store Stores a checkpoint whose stay ended.
   * @param onResolved Called when a queue's safe offset may have moved.
   * @param onForget Called with the key of a batch acked in full once its revive time has
   *   passed (revive never sees it, so the in-flight index would keep it).
   */
  constructor(
    stayMs: number,
    store: StoreHeld,
    onResolved: (group: string, topic: string, queueId: number) => void,
    onForget: (key: string) => void = () => {},
  ) {
    this.#stayMs = stayMs;
    this.#store = store;
    this.#onResolved = onResolved;
    this.#onForget = onForget;
  }

  /** Checkpoints held now. */
  get size(): number {
    return this.#held.size;
  }

  /**
   * Whether a batch popped with this invisible time is held (long enough
   * to be worth it, and the stay ends well before its revive time).
   *
   * @param invisibleTimeMs The pop's invisible time, ms.
   * @returns True to hold.
   */
  accepts(invisibleTimeMs: number): boolean {
    return this.#stayMs > 0 && invisibleTimeMs >= 2 * Math.min(this.#stayMs, 1_000);
  }

  /**
   * Hold a popped batch's checkpoint.
   *
   * @param ck The checkpoint.
   * @param reviveQid Its revive queue.
   */
  hold(ck: PopCheckPoint, reviveQid: number): void {
    const key = checkpointKey(ck.t, ck.c, ck.q, ck.so, ck.pt);
    const queueKey = `${ck.c}@${ck.t}@${ck.q}`;
    this.#held.set(key, {
      ck,
      reviveQid,
      queueKey,
      writeAtMs: ck.pt + Math.min(this.#stayMs, Math.floor(ck.it / 2)),
      unacked: new Set(ck.d.map((d) => ck.so + d)),
      acked: [],
      storing: false,
    });
    let starts = this.#byQueue.get(queueKey);
    if (starts === undefined) this.#byQueue.set(queueKey, starts = new Map());
    starts.set(key, ck.so);
    // Kept in start order (pops only move forward; an admin reset back re-sorts).
    if (ck.so < (starts.values().next().value ?? Infinity)) {
      this.#byQueue.set(queueKey, new Map([...starts].sort((a, b) => a[1] - b[1])));
    }
  }

  /**
   * Merge acks into a held checkpoint.
   *
   * @param key Checkpoint key.
   * @param offsets Queue offsets acked.
   * @returns True if merged (nothing to store); false if the checkpoint is not held
   *   (or is being stored): the caller stores an ack record.
   */
  ack(key: string, offsets: readonly number[]): boolean {
    const held = this.#held.get(key);
    if (held === undefined || held.storing) return false;
    for (const offset of offsets) {
      if (held.unacked.delete(offset)) held.acked.push(offset);
    }
    if (held.unacked.size === 0) {
      this.#release(key, held);
      this.#retired.set(key, held.ck.pt + held.ck.it);
    }
    return true;
  }

  /**
   * The offset a queue's durable offsets must not pass: the lowest start of
   * its held checkpoints.
   *
   * @param queueKey `group@topic@queueId`.
   * @returns The bound, or undefined if nothing of the queue is held.
   */
  safeOffset(queueKey: string): number | undefined {
    return this.#byQueue.get(queueKey)?.values().next().value;
  }

  /**
   * Store every checkpoint whose stay has ended (all of them with `all`).
   *
   * @param nowMs Broker clock, epoch ms.
   * @param all Store everything held (shutdown).
   */
  async storeDue(nowMs: number, all = false): Promise<void> {
    // Roughly in revive-time order: stop at the first not yet due (a later one just waits).
    for (const [key, reviveAtMs] of this.#retired) {
      if (reviveAtMs > nowMs) break;
      this.#retired.delete(key);
      this.#onForget(key);
    }
    const due: [string, Held][] = [];
    for (const [key, held] of this.#held) {
      if (!held.storing && (all || held.writeAtMs <= nowMs)) due.push([key, held]);
    }
    await Promise.all(due.map(async ([key, held]) => {
      held.storing = true;
      const ok = await this.#store(held.ck, held.reviveQid, held.acked);
      held.storing = false;
      // Not stored: keep holding (the queue's offsets stay bounded) and try again later.
      if (ok) this.#release(key, held);
    }));
  }

  #release(key: string, held: Held): void {
    this.#held.delete(key);
    const starts = this.#byQueue.get(held.queueKey);
    starts?.delete(key);
    if (starts?.size === 0) this.#byQueue.delete(held.queueKey);
    this.#onResolved(held.ck.c, held.ck.t, held.ck.q);
  }
}

/**
 * Store a held checkpoint whose stay ended: the checkpoint and, if some of
 * its offsets were acked meanwhile, one ack record for them (gathered into
 * one store put by the record put).
 *
 * @param ctx Pop state (put, names).
 * @param ck The checkpoint.
 * @param reviveQid Its revive queue.
 * @param ackedOffsets Offsets acked while it was held.
 * @returns True if both are stored.
 */
export async function storeHeld(
  ctx: Pick<PopContext, "put" | "brokerName" | "reviveTarget">,
  ck: PopCheckPoint,
  reviveQid: number,
  ackedOffsets: readonly number[],
): Promise<boolean> {
  const target = ctx.reviveTarget(reviveQid);
  const puts = [ctx.put(checkpointMessage(ck, target))];
  if (ackedOffsets.length > 0) {
    const ack: AckMsg = {
      ...(ackedOffsets.length === 1 ? { ao: ackedOffsets[0] } : { aol: [...ackedOffsets] }),
      so: ck.so,
      c: ck.c,
      t: ck.t,
      q: ck.q,
      pt: ck.pt,
      bn: ctx.brokerName,
    };
    puts.push(ctx.put(ackMessage(ack, ck.it, target)));
  }
  return (await Promise.all(puts)).every(isPutOk);
}
