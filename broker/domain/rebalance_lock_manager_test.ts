import assert from "node:assert/strict";
import { LOCK_EXPIRY_MS_DEFAULT, RebalanceLockManager } from "./rebalance_lock_manager.ts";

const q = (queueId: number, topic = "T") => ({ topic, brokerName: "b", queueId });

function manager(lockExpiryMs?: number) {
  let now = 1_000;
  const locks = new RebalanceLockManager({ nowMs: () => now, lockExpiryMs });
  return { locks, advance: (ms: number) => (now += ms) };
}

Deno.test("RebalanceLockManager.tryLockBatch() grants free queues and refuses ones another client holds", () => {
  const { locks } = manager();
  assert.deepEqual(locks.tryLockBatch("g", "c1", [q(0), q(1)]), [q(0), q(1)]);
  assert.deepEqual(locks.tryLockBatch("g", "c2", [q(1), q(2)]), [q(2)]);
  assert.ok(locks.isLockedBy("g", "c1", q(1)));
  assert.ok(!locks.isLockedBy("g", "c2", q(1)));
  // Groups are independent.
  assert.deepEqual(locks.tryLockBatch("other", "c2", [q(1)]), [q(1)]);
  // Topics are part of the queue identity.
  assert.deepEqual(locks.tryLockBatch("g", "c2", [q(1, "U")]), [q(1, "U")]);
});

Deno.test("RebalanceLockManager.tryLockBatch() by the owner renews the lock so it does not expire", () => {
  const { locks, advance } = manager(100);
  locks.tryLockBatch("g", "c1", [q(0)]);
  advance(80);
  assert.deepEqual(locks.tryLockBatch("g", "c1", [q(0)]), [q(0)]);
  advance(80); // 160 ms after the first lock, 80 after the renewal
  assert.deepEqual(locks.tryLockBatch("g", "c2", [q(0)]), []);
  assert.ok(locks.isLockedBy("g", "c1", q(0)));
});

Deno.test("RebalanceLockManager grants an expired lock to another client", () => {
  const { locks, advance } = manager();
  assert.equal(locks.lockExpiryMs, LOCK_EXPIRY_MS_DEFAULT);
  locks.tryLockBatch("g", "c1", [q(0)]);
  advance(LOCK_EXPIRY_MS_DEFAULT);
  assert.deepEqual(locks.tryLockBatch("g", "c2", [q(0)]), [], "exactly at expiry it is still held");
  advance(1);
  assert.ok(!locks.isLockedBy("g", "c1", q(0)));
  assert.ok(!locks.hasLiveLocks("g"));
  assert.deepEqual(locks.tryLockBatch("g", "c2", [q(0)]), [q(0)]);
  assert.ok(locks.hasLiveLocks("g"));
});

Deno.test("RebalanceLockManager.unlockBatch() releases only the caller's own locks", () => {
  const { locks } = manager();
  locks.tryLockBatch("g", "c1", [q(0), q(1)]);
  assert.equal(locks.unlockBatch("g", "c2", [q(0), q(1)]), 0);
  assert.ok(locks.isLockedBy("g", "c1", q(0)));
  assert.equal(locks.unlockBatch("g", "c1", [q(0), q(7)]), 1);
  assert.deepEqual(locks.tryLockBatch("g", "c2", [q(0), q(1)]), [q(0)]);
  assert.equal(locks.unlockBatch("nobody", "c1", [q(0)]), 0);
});

Deno.test("RebalanceLockManager.purgeExpired() forgets expired entries only", () => {
  const { locks, advance } = manager(10);
  locks.tryLockBatch("g", "c1", [q(0)]);
  advance(5);
  locks.tryLockBatch("g", "c2", [q(1)]);
  advance(6);
  assert.equal(locks.purgeExpired(), 1);
  assert.ok(locks.isLockedBy("g", "c2", q(1)));
});

Deno.test("RebalanceLockManager refuses a non-positive lock expiry", () => {
  assert.throws(() => new RebalanceLockManager({ nowMs: () => 0, lockExpiryMs: 0 }), RangeError);
});
