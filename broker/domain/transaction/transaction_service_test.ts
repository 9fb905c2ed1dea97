// Goal: END_TRANSACTION semantics on a real LocalMessageStore. Method: put half
// messages the way the send path does, end them through TransactionService, and
// read the real, half and op queues back.

import assert from "node:assert/strict";
import { MessageSysFlag, transactionType } from "../../../client/protocol/message_record.ts";
import { decodeProperties, MessageConst } from "../../../client/protocol/properties.ts";
import {
  ManualClock,
  openTestStore,
  prepareHalf,
  readQueue,
  TEST_STORE_HOST,
} from "./_test_support.ts";
import { HALF_TOPIC, OP_TOPIC } from "./half_message.ts";
import { TransactionState } from "../../../client/protocol/headers.ts";
import { TransactionService } from "./transaction_service.ts";

function end(
  half: { commitLogOffset: number; queueOffset: number; uniqKey: string },
  type: number,
  extra: { producerGroup?: string; fromTransactionCheck?: boolean } = {},
) {
  return {
    commitLogOffset: half.commitLogOffset,
    tranStateTableOffset: half.queueOffset,
    producerGroup: extra.producerGroup ?? "pg",
    commitOrRollback: type,
    fromTransactionCheck: extra.fromTransactionCheck ?? false,
    msgId: half.uniqKey,
  };
}

Deno.test("a half message is stored in the half topic and invisible in the real topic", async () => {
  const clock = new ManualClock();
  await using t = await openTestStore(clock);
  await prepareHalf(t.store, { bornTimestamp: clock.nowMs() });
  assert.equal((await readQueue(t.store, "Orders", 1)).length, 0);
  assert.equal(t.store.getMaxOffsetInQueue("Orders", 1), 0);
  const halves = await readQueue(t.store, HALF_TOPIC, 0);
  assert.equal(halves.length, 1);
  assert.equal(decodeProperties(halves[0].properties).get(MessageConst.REAL_TOPIC), "Orders");
});

Deno.test("TransactionService.endTransaction() COMMIT makes the message visible once", async () => {
  const clock = new ManualClock();
  await using t = await openTestStore(clock);
  const service = new TransactionService({ store: t.store, clock, storeHost: TEST_STORE_HOST });
  const half = await prepareHalf(t.store, { bornTimestamp: clock.nowMs(), body: "paid" });

  const result = await service.endTransaction(end(half, TransactionState.COMMIT));
  assert.equal(result.status, "COMMITTED");
  const visible = await readQueue(t.store, "Orders", 1);
  assert.equal(visible.length, 1);
  assert.equal(new TextDecoder().decode(visible[0].body), "paid");
  assert.equal(transactionType(visible[0].sysFlag), MessageSysFlag.TRANSACTION_COMMIT_TYPE);
  assert.equal(visible[0].preparedTransactionOffset, half.commitLogOffset);
  const p = decodeProperties(visible[0].properties);
  assert.equal(p.get(MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX), half.uniqKey);
  assert.equal(p.has(MessageConst.REAL_TOPIC), false);
  assert.equal(p.has(MessageConst.TRANSACTION_PREPARED), false);

  const ops = await readQueue(t.store, OP_TOPIC, 0);
  assert.equal(ops.length, 1);
  assert.equal(new TextDecoder().decode(ops[0].body), `${half.queueOffset},`);
  assert.equal(decodeProperties(ops[0].properties).get(MessageConst.TAGS), "d");

  const again = await service.endTransaction(end(half, TransactionState.COMMIT));
  assert.deepEqual(again, { status: "ALREADY_RESOLVED", resolution: "COMMIT", conflict: false });
  assert.equal((await readQueue(t.store, "Orders", 1)).length, 1);
  const conflicting = await service.endTransaction(end(half, TransactionState.ROLLBACK));
  assert.deepEqual(conflicting, {
    status: "ALREADY_RESOLVED",
    resolution: "COMMIT",
    conflict: true,
  });
});

Deno.test("TransactionService.endTransaction() ROLLBACK never makes the message visible", async () => {
  const clock = new ManualClock();
  await using t = await openTestStore(clock);
  const service = new TransactionService({ store: t.store, clock, storeHost: TEST_STORE_HOST });
  const half = await prepareHalf(t.store, { bornTimestamp: clock.nowMs() });
  assert.deepEqual(
    await service.endTransaction(end(half, TransactionState.ROLLBACK)),
    { status: "ROLLED_BACK" },
  );
  const late = await service.endTransaction(end(half, TransactionState.COMMIT));
  assert.equal(late.status, "ALREADY_RESOLVED");
  assert.equal(t.store.getMaxOffsetInQueue("Orders", 1), 0);
  assert.equal((await readQueue(t.store, OP_TOPIC, 0)).length >= 1, true);
});

Deno.test("TransactionService.endTransaction() commits once when two ENDs race", async () => {
  const clock = new ManualClock();
  await using t = await openTestStore(clock);
  const service = new TransactionService({ store: t.store, clock, storeHost: TEST_STORE_HOST });
  const half = await prepareHalf(t.store, { bornTimestamp: clock.nowMs() });
  const results = await Promise.all([
    service.endTransaction(end(half, TransactionState.COMMIT)),
    service.endTransaction(end(half, TransactionState.COMMIT, { fromTransactionCheck: true })),
  ]);
  assert.deepEqual(results.map((r) => r.status).sort(), ["ALREADY_RESOLVED", "COMMITTED"]);
  assert.equal(t.store.getMaxOffsetInQueue("Orders", 1), 1);
});

Deno.test("TransactionService.endTransaction() ignores UNKNOWN and refuses bad requests without side effects", async () => {
  const clock = new ManualClock();
  await using t = await openTestStore(clock);
  const service = new TransactionService({ store: t.store, clock, storeHost: TEST_STORE_HOST });
  const half = await prepareHalf(t.store, { bornTimestamp: clock.nowMs() });

  assert.deepEqual(
    await service.endTransaction(end(half, TransactionState.UNKNOWN)),
    { status: "UNKNOWN_IGNORED" },
  );
  assert.equal(
    (await service.endTransaction(end(half, TransactionState.COMMIT, { producerGroup: "x" })))
      .status,
    "GROUP_WRONG",
  );
  assert.equal(
    (await service.endTransaction({
      ...end(half, TransactionState.COMMIT),
      tranStateTableOffset: half.queueOffset + 5,
    })).status,
    "OFFSET_WRONG",
  );
  assert.equal(
    (await service.endTransaction({
      ...end(half, TransactionState.COMMIT),
      commitLogOffset: half.commitLogOffset + 1,
    })).status,
    "HALF_NOT_FOUND",
  );
  assert.equal((await service.endTransaction(end(half, 3))).status, "INVALID_TYPE");
  assert.equal(t.store.getMaxOffsetInQueue("Orders", 1), 0);
  assert.equal(t.store.getMaxOffsetInQueue(OP_TOPIC, 0), 0);
  // Still resolvable afterwards.
  assert.equal(
    (await service.endTransaction(end(half, TransactionState.COMMIT))).status,
    "COMMITTED",
  );
});

Deno.test("TransactionService.endTransaction() refuses a producer END after a custom check immunity elapsed", async () => {
  const clock = new ManualClock();
  await using t = await openTestStore(clock);
  const service = new TransactionService({ store: t.store, clock, storeHost: TEST_STORE_HOST });
  const half = await prepareHalf(t.store, {
    bornTimestamp: clock.nowMs(),
    extra: { [MessageConst.CHECK_IMMUNITY_TIME_IN_SECONDS]: "10" },
  });
  clock.advance(11_000);
  assert.equal(
    (await service.endTransaction(end(half, TransactionState.COMMIT))).status,
    "ILLEGAL_OPERATION",
  );
  assert.equal(
    (await service.endTransaction(
      end(half, TransactionState.COMMIT, { fromTransactionCheck: true }),
    ))
      .status,
    "COMMITTED",
  );
});

Deno.test("TransactionService.open() remembers outcomes across a restart", async () => {
  const clock = new ManualClock();
  await using t = await openTestStore(clock);
  const first = new TransactionService({ store: t.store, clock, storeHost: TEST_STORE_HOST });
  const half = await prepareHalf(t.store, { bornTimestamp: clock.nowMs() });
  assert.equal(
    (await first.endTransaction(end(half, TransactionState.COMMIT))).status,
    "COMMITTED",
  );

  const store = await t.reopen();
  const second = new TransactionService({ store, clock, storeHost: TEST_STORE_HOST });
  await second.open();
  assert.equal(second.resolution(half.uniqKey), "COMMIT");
  const again = await second.endTransaction(end(half, TransactionState.COMMIT));
  assert.equal(again.status, "ALREADY_RESOLVED");
  assert.equal(store.getMaxOffsetInQueue("Orders", 1), 1);
});
