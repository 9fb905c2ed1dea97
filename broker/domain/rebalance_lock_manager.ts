/**
 * Broker-side queue locks for orderly consumption (RocketMQ
 * `RebalanceLockManager`, spec §8.2).
 *
 * @module
 */

/** Default time a lock lives without being renewed, ms (`rocketmq.broker.rebalance.lockMaxLiveTime`). */
export const LOCK_EXPIRY_MS_DEFAULT = 60_000;

/** Most queues one LOCK_BATCH_MQ / UNLOCK_BATCH_MQ may name. */
export const LOCK_BATCH_QUEUES_MAX = 4096;

/** A message queue as the lock table keys it. */
export interface LockedQueue {
  /** Topic. */
  readonly topic: string;
  /** Broker name. */
  readonly brokerName: string;
  /** Queue id. */
  readonly queueId: number;
}

/** Options of a {@linkcode RebalanceLockManager}. */
export interface RebalanceLockManagerOptions {
  /** Epoch ms now (the broker's Clock). */
  readonly nowMs: () => number;
  /** A lock not renewed for this long is free again, ms. Default {@linkcode LOCK_EXPIRY_MS_DEFAULT}. */
  readonly lockExpiryMs?: number;
}

interface LockEntry {
  readonly clientId: string;
  lastUpdateMs: number;
}

function lockKey(queue: LockedQueue): string {
  return `${queue.topic}\u0000${queue.brokerName}\u0000${queue.queueId}`;
}

/**
 * Who consumes which queue of a group in orderly mode: group → MessageQueue →
 * `{clientId, lastUpdateMs}`.
 *
 * A lock is granted when the queue is free, its lock expired (not renewed
 * for `lockExpiryMs`), or the caller already owns it (which refreshes it).
 * Only the owner can unlock. Lives on the broker's main thread; all state is
 * in memory, so a restarted broker starts with no locks and clients take
 * them again on their next renewal. Invariant: at most one unexpired owner per
 * (group, queue).
 */
export class RebalanceLockManager {
  readonly #nowMs: () => number;
  readonly #lockExpiryMs: number;
  readonly #groups = new Map<string, Map<string, LockEntry>>();

  /**
   * @param options Clock and lock expiry.
   * @throws {RangeError} If `lockExpiryMs` is not a positive number.
   */
  constructor(options: RebalanceLockManagerOptions) {
    this.#nowMs = options.nowMs;
    this.#lockExpiryMs = options.lockExpiryMs ?? LOCK_EXPIRY_MS_DEFAULT;
    if (!Number.isFinite(this.#lockExpiryMs) || this.#lockExpiryMs <= 0) {
      throw new RangeError(
        `Cannot create lock manager: lockExpiryMs must be positive, got ${this.#lockExpiryMs}`,
      );
    }
  }

  /** The lock lifetime without renewal, ms. */
  get lockExpiryMs(): number {
    return this.#lockExpiryMs;
  }

  /**
   * Lock (or renew) queues for a client.
   *
   * @param group Consumer group.
   * @param clientId The caller's client id.
   * @param queues Queues to lock.
   * @returns The queues the caller now owns (a subset of `queues`, same order).
   */
  tryLockBatch(group: string, clientId: string, queues: readonly LockedQueue[]): LockedQueue[] {
    const now = this.#nowMs();
    let table = this.#groups.get(group);
    if (table === undefined) {
      table = new Map();
      this.#groups.set(group, table);
    }
    const locked: LockedQueue[] = [];
    for (const queue of queues) {
      const key = lockKey(queue);
      const entry = table.get(key);
      if (entry === undefined || entry.clientId === clientId || this.#expired(entry, now)) {
        table.set(key, { clientId, lastUpdateMs: now });
        locked.push(queue);
      }
    }
    return locked;
  }

  /**
   * Release queues the client owns; queues locked by others are left alone.
   *
   * @param group Consumer group.
   * @param clientId The caller's client id.
   * @param queues Queues to unlock.
   * @returns How many locks were released.
   */
  unlockBatch(group: string, clientId: string, queues: readonly LockedQueue[]): number {
    const table = this.#groups.get(group);
    if (table === undefined) return 0;
    let released = 0;
    for (const queue of queues) {
      const key = lockKey(queue);
      if (table.get(key)?.clientId === clientId) {
        table.delete(key);
        released++;
      }
    }
    if (table.size === 0) this.#groups.delete(group);
    return released;
  }

  /**
   * Whether a client holds an unexpired lock on a queue.
   *
   * @param group Consumer group.
   * @param clientId Client id.
   * @param queue The queue.
   * @returns True if `clientId` owns the lock now.
   */
  isLockedBy(group: string, clientId: string, queue: LockedQueue): boolean {
    const entry = this.#groups.get(group)?.get(lockKey(queue));
    return entry !== undefined && entry.clientId === clientId &&
      !this.#expired(entry, this.#nowMs());
  }

  /**
   * Whether any client holds an unexpired lock on any queue of a topic for a
   * group (the send path can use it to divert retries of an orderly group).
   *
   * @param group Consumer group.
   * @returns True if the group holds at least one live lock.
   */
  hasLiveLocks(group: string): boolean {
    const table = this.#groups.get(group);
    if (table === undefined) return false;
    const now = this.#nowMs();
    for (const entry of table.values()) if (!this.#expired(entry, now)) return true;
    return false;
  }

  /**
   * Drop expired entries (memory hygiene; expiry is also checked on every lock).
   *
   * @returns How many entries were removed.
   */
  purgeExpired(): number {
    const now = this.#nowMs();
    let removed = 0;
    for (const [group, table] of this.#groups) {
      for (const [key, entry] of table) {
        if (this.#expired(entry, now)) {
          table.delete(key);
          removed++;
        }
      }
      if (table.size === 0) this.#groups.delete(group);
    }
    return removed;
  }

  #expired(entry: LockEntry, now: number): boolean {
    return now - entry.lastUpdateMs > this.#lockExpiryMs;
  }
}
