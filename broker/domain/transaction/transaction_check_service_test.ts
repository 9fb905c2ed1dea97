// Goal: the check-back service per spec §6.3 on a real LocalMessageStore.
// Method: a ManualClock drives message ages and the round timer; a recording
// sender stands in for producer connections; END_TRANSACTION answers go
// through TransactionService as the controller would send them.

import assert from "node:assert/strict";
import { decodeProperties, MessageConst } from "../../../client/protocol/properties.ts";
import {
  ManualClock,
  openTestStore,
  prepareHalf,
  readQueue,
  RecordingSender,
  type SentCheck,
  TEST_STORE_HOST,
} from "./_test_support.ts";
import { CHECK_MAX_TIME_TOPIC, HALF_TOPIC, TRANSACTION_GROUP } from "./half_message.ts";
import { type CheckRoundReport, TransactionCheckService } from "./transaction_check_service.ts";
import { TransactionState } from "../../../client/protocol/headers.ts";
import { TransactionService } from "./transaction_service.ts";
import type { MessageStore } from "../../../store/mod.ts";
import type { Clock } from "../clock.ts";

const CONFIG = {
  transactionTimeoutMs: 1_000,
  transactionCheckIntervalMs: 500,
  transactionCheckMax: 3,
};

function services(store: MessageStore, clock: Clock, sender: RecordingSender) {
  return {
    checker: new TransactionCheckService({
      store,
      clock,
      sender,
      storeHost: TEST_STORE_HOST,
      config: CONFIG,
    }),
    tx: new TransactionService({ store, clock, storeHost: TEST_STORE_HOST }),
  };
}

/** The END_TRANSACTION a producer sends in answer to a check. */
function answer(check: SentCheck, type: number) {
  return {
    commitLogOffset: check.header.commitLogOffset,
    tranStateTableOffset: check.header.tranStateTableOffset,
    producerGroup: decodeProperties(check.record.properties).get(MessageConst.PRODUCER_GROUP)!,
    commitOrRollback: type,
    fromTransactionCheck: true,
    msgId: check.header.msgId!,
  };
}

Deno.test("TransactionCheckService leaves half messages younger than the timeout alone", async () => {
  const clock = new ManualClock();
  await using t = await openTestStore(clock);
  const sender = new RecordingSender();
  const { checker } = services(t.store, clock, sender);
  await prepareHalf(t.store, { bornTimestamp: clock.nowMs() });
  clock.advance(999);
  const report = await checker.checkOnce();
  assert.equal(report.checked, 0);
  assert.equal(report.halfOffset, 0);
  assert.equal(sender.sent.length, 0);
});

Deno.test("TransactionCheckService asks the producer after the timeout and a COMMIT answer makes the message visible", async () => {
  const clock = new ManualClock();
  await using t = await openTestStore(clock);
  const sender = new RecordingSender();
  const { checker, tx } = services(t.store, clock, sender);
  const half = await prepareHalf(t.store, { bornTimestamp: clock.nowMs(), group: "pgA" });
  clock.advance(1_500);

  const report = await checker.checkOnce();
  assert.equal(report.checked, 1);
  assert.equal(sender.sent.length, 1);
  const check = sender.sent[0];
  assert.equal(check.group, "pgA");
  assert.equal(check.header.topic, "Orders");
  assert.equal(check.header.msgId, half.uniqKey);
  assert.equal(check.header.transactionId, half.uniqKey);
  // The check names the re-appended copy, which carries the incremented counter.
  assert.equal(check.header.tranStateTableOffset, 1);
  assert.notEqual(check.header.commitLogOffset, half.commitLogOffset);
  assert.equal(check.record.topic, "Orders");
  assert.equal(check.record.queueId, 1);
  assert.equal(check.record.commitLogOffset, check.header.commitLogOffset);
  assert.equal(
    decodeProperties(check.record.properties).get(MessageConst.TRANSACTION_CHECK_TIMES),
    "1",
  );
  assert.equal(t.store.queryConsumerOffset(TRANSACTION_GROUP, HALF_TOPIC, 0), 1);

  const ended = await tx.endTransaction(answer(check, TransactionState.COMMIT));
  assert.equal(ended.status, "COMMITTED");
  assert.equal((await readQueue(t.store, "Orders", 1)).length, 1);

  clock.advance(1_500);
  const next = await checker.checkOnce();
  assert.equal(next.checked, 0);
  assert.equal(next.resolved, 1);
  assert.equal(next.halfOffset, 2);
  assert.equal(next.opOffset, 1);
  assert.equal(sender.sent.length, 1);
});

Deno.test("TransactionCheckService stops asking once the producer's own late END resolves the original", async () => {
  const clock = new ManualClock();
  await using t = await openTestStore(clock);
  const sender = new RecordingSender();
  const { checker, tx } = services(t.store, clock, sender);
  const half = await prepareHalf(t.store, { bornTimestamp: clock.nowMs() });
  clock.advance(1_500);
  assert.equal((await checker.checkOnce()).checked, 1);
  // The producer's END for the original arrives after the check copied it.
  const ended = await tx.endTransaction({
    commitLogOffset: half.commitLogOffset,
    tranStateTableOffset: half.queueOffset,
    producerGroup: "pg",
    commitOrRollback: TransactionState.COMMIT,
    fromTransactionCheck: false,
    msgId: half.uniqKey,
  });
  assert.equal(ended.status, "COMMITTED");
  clock.advance(1_500);
  const report = await checker.checkOnce();
  assert.equal(report.checked, 0);
  assert.equal(report.resolved, 1);
  // And a late answer to the check is a no-op: still one visible message.
  assert.equal(
    (await tx.endTransaction(answer(sender.sent[0], TransactionState.COMMIT))).status,
    "ALREADY_RESOLVED",
  );
  assert.equal(t.store.getMaxOffsetInQueue("Orders", 1), 1);
});

Deno.test("TransactionCheckService checks up to transactionCheckMax times, then discards", async () => {
  const clock = new ManualClock();
  await using t = await openTestStore(clock);
  const sender = new RecordingSender();
  const { checker } = services(t.store, clock, sender);
  await prepareHalf(t.store, { bornTimestamp: clock.nowMs() });
  for (let round = 1; round <= 3; round++) {
    clock.advance(1_500);
    assert.equal((await checker.checkOnce()).checked, 1, `round ${round}`);
  }
  assert.deepEqual(
    sender.sent.map((s) => decodeProperties(s.record.properties).get("TRANSACTION_CHECK_TIMES")),
    ["1", "2", "3"],
  );
  clock.advance(1_500);
  const last = await checker.checkOnce();
  assert.equal(last.discarded, 1);
  assert.equal(last.checked, 0);
  const discarded = await readQueue(t.store, CHECK_MAX_TIME_TOPIC, 0);
  assert.equal(discarded.length, 1);
  assert.equal(decodeProperties(discarded[0].properties).get(MessageConst.REAL_TOPIC), "Orders");
  clock.advance(1_500);
  const after = await checker.checkOnce();
  assert.deepEqual([after.checked, after.discarded], [0, 0]);
  assert.equal(sender.sent.length, 3);
  assert.equal(t.store.getMaxOffsetInQueue("Orders", 1), 0);
});

Deno.test("TransactionCheckService counts a check with no live producer toward the limit", async () => {
  const clock = new ManualClock();
  await using t = await openTestStore(clock);
  const sender = new RecordingSender();
  sender.online = false;
  const { checker } = services(t.store, clock, sender);
  await prepareHalf(t.store, { bornTimestamp: clock.nowMs() });
  clock.advance(1_500);
  const report = await checker.checkOnce();
  assert.deepEqual([report.checked, report.noProducer], [0, 1]);
  sender.online = true;
  clock.advance(1_500);
  await checker.checkOnce();
  assert.equal(
    decodeProperties(sender.sent[0].record.properties).get("TRANSACTION_CHECK_TIMES"),
    "2",
  );
});

Deno.test("TransactionCheckService skips rolled-back halves and walks past them", async () => {
  const clock = new ManualClock();
  await using t = await openTestStore(clock);
  const sender = new RecordingSender();
  const { checker, tx } = services(t.store, clock, sender);
  const a = await prepareHalf(t.store, { bornTimestamp: clock.nowMs(), body: "a" });
  const b = await prepareHalf(t.store, { bornTimestamp: clock.nowMs(), body: "b" });
  await tx.endTransaction({
    commitLogOffset: a.commitLogOffset,
    tranStateTableOffset: a.queueOffset,
    producerGroup: "pg",
    commitOrRollback: TransactionState.ROLLBACK,
    fromTransactionCheck: false,
    msgId: a.uniqKey,
  });
  clock.advance(1_500);
  const report = await checker.checkOnce();
  assert.equal(report.resolved, 1);
  assert.equal(report.checked, 1);
  assert.equal(sender.sent[0].header.msgId, b.uniqKey);
  assert.equal(report.opOffset, 1);
});

Deno.test("TransactionCheckService keeps unresolved halves across a store restart", async () => {
  const clock = new ManualClock();
  await using t = await openTestStore(clock);
  const sender = new RecordingSender();
  const first = services(t.store, clock, sender);
  await prepareHalf(t.store, { bornTimestamp: clock.nowMs(), body: "resolved" });
  const open = await prepareHalf(t.store, { bornTimestamp: clock.nowMs(), body: "open" });
  const resolved = (await readQueue(t.store, HALF_TOPIC, 0))[0];
  await first.tx.endTransaction({
    commitLogOffset: resolved.commitLogOffset,
    tranStateTableOffset: 0,
    producerGroup: "pg",
    commitOrRollback: TransactionState.COMMIT,
    fromTransactionCheck: false,
    msgId: "",
  });
  clock.advance(1_500);
  assert.equal((await first.checker.checkOnce()).checked, 1);
  await first.checker.close();

  const store = await t.reopen();
  const second = services(store, clock, sender);
  await second.tx.open();
  clock.advance(1_500);
  const report = await second.checker.checkOnce();
  assert.equal(report.checked, 1);
  assert.equal(sender.sent.length, 2);
  assert.equal(sender.sent[1].header.msgId, open.uniqKey);
  assert.equal(
    decodeProperties(sender.sent[1].record.properties).get("TRANSACTION_CHECK_TIMES"),
    "2",
  );
  const ended = await second.tx.endTransaction(answer(sender.sent[1], TransactionState.COMMIT));
  assert.equal(ended.status, "COMMITTED");
  assert.deepEqual(
    (await readQueue(store, "Orders", 1)).map((r) => new TextDecoder().decode(r.body)),
    ["resolved", "open"],
  );
});

Deno.test("TransactionCheckService.start() runs a round every interval until closed", async () => {
  const clock = new ManualClock();
  await using t = await openTestStore(clock);
  const sender = new RecordingSender();
  const reports: CheckRoundReport[] = [];
  let roundDone: () => void = () => {};
  const checker = new TransactionCheckService({
    store: t.store,
    clock,
    sender,
    storeHost: TEST_STORE_HOST,
    config: { ...CONFIG, transactionTimeoutMs: 1_000, transactionCheckIntervalMs: 600 },
    onRound: (report) => {
      reports.push(report);
      roundDone();
    },
  });
  await prepareHalf(t.store, { bornTimestamp: clock.nowMs() });
  checker.start();
  assert.throws(() => checker.start(), /already started/);
  for (let round = 1; round <= 3; round++) {
    const done = new Promise<void>((resolve) => (roundDone = resolve));
    clock.advance(600);
    await withTimeout(done, 5_000, `round ${round}`);
  }
  // Rounds at 600 ms and 1200 ms (age 1200 > 1000 checks), 1800 ms (the copy is as old: checks).
  assert.deepEqual(reports.map((r) => r.checked), [0, 1, 1]);
  await checker.close();
  assert.equal(clock.pendingTimers, 0);
});

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no result in ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
