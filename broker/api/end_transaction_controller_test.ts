import assert from "node:assert/strict";
import {
  checkTransactionStateRequestHeader,
  endTransactionRequestHeader,
} from "../../client/protocol/headers.ts";
import { createRequest, type RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import {
  ManualClock,
  openTestStore,
  prepareHalf,
  TEST_STORE_HOST,
} from "../domain/transaction/_test_support.ts";
import { TransactionService } from "../domain/transaction/transaction_service.ts";
import type { Channel } from "./broker_context.ts";
import { RequestError } from "./broker_context.ts";
import { EndTransactionController } from "./end_transaction_controller.ts";
import { ChannelTransactionCheckSender } from "./transaction_check_sender.ts";

function endRequest(fields: Record<string, string>): RemotingCommand {
  return createRequest(RequestCode.END_TRANSACTION, 7, fields, undefined, true);
}

Deno.test("EndTransactionController commits a half message and answers SUCCESS", async () => {
  const clock = new ManualClock();
  await using t = await openTestStore(clock);
  const service = new TransactionService({ store: t.store, clock, storeHost: TEST_STORE_HOST });
  const events: Record<string, unknown>[] = [];
  const controller = new EndTransactionController(service, (e) => events.push({ ...e }));
  const [[code, handler]] = controller.handlers();
  assert.equal(code, RequestCode.END_TRANSACTION);
  const half = await prepareHalf(t.store, { bornTimestamp: clock.nowMs() });
  const fields = endTransactionRequestHeader.encode({
    producerGroup: "pg",
    tranStateTableOffset: half.queueOffset,
    commitLogOffset: half.commitLogOffset,
    commitOrRollback: 8,
    msgId: half.uniqKey,
  });
  const response = await handler(endRequest(fields), {} as Channel);
  assert.equal(response?.code, ResponseCode.SUCCESS);
  assert.equal(t.store.getMaxOffsetInQueue("Orders", 1), 1);
  const conflict = await controller.endTransaction(
    endRequest({ ...fields, commitOrRollback: "12" }),
  );
  assert.equal(conflict.code, ResponseCode.TRANSACTION_FAILED);
  assert.equal(events.length, 1);
  assert.equal(events[0].event, "end_transaction_refused");
});

Deno.test("EndTransactionController answers INVALID_PARAMETER for a bad header and GROUP_WRONG for another group", async () => {
  const clock = new ManualClock();
  await using t = await openTestStore(clock);
  const service = new TransactionService({ store: t.store, clock, storeHost: TEST_STORE_HOST });
  const controller = new EndTransactionController(service);
  const half = await prepareHalf(t.store, { bornTimestamp: clock.nowMs() });
  const fields = endTransactionRequestHeader.encode({
    producerGroup: "pg",
    tranStateTableOffset: half.queueOffset,
    commitLogOffset: half.commitLogOffset,
    commitOrRollback: 8,
    msgId: half.uniqKey,
  });
  const { commitLogOffset: _, ...missing } = fields;
  await assert.rejects(
    controller.endTransaction(endRequest(missing)),
    (e) =>
      e instanceof RequestError && e.code === ResponseCode.INVALID_PARAMETER &&
      /commitLogOffset/.test(e.message),
  );
  await assert.rejects(
    controller.endTransaction(endRequest({ ...fields, commitOrRollback: "4" })),
    (e) => e instanceof RequestError && /0, 8 or 12/.test(e.message),
  );
  const wrong = await controller.endTransaction(endRequest({ ...fields, producerGroup: "other" }));
  assert.equal(wrong.code, ResponseCode.TRANSACTION_STATE_GROUP_WRONG);
  assert.equal(t.store.getMaxOffsetInQueue("Orders", 1), 0);
});

Deno.test("ChannelTransactionCheckSender sends a oneway CHECK_TRANSACTION_STATE to an open producer channel", () => {
  const sent: [string, RemotingCommand][] = [];
  const channel = (id: string, closed: boolean): Channel => ({
    id,
    remoteAddress: "127.0.0.1:1",
    remoteHost: TEST_STORE_HOST,
    closed,
    send: (command) => sent.push([id, command]),
  });
  const groups = new Map([["pg", [channel("a", true), channel("b", false), channel("c", false)]]]);
  let opaque = 100;
  const sender = new ChannelTransactionCheckSender((g) => groups.get(g) ?? [], () => opaque++);
  const header = { topic: "Orders", tranStateTableOffset: 3, commitLogOffset: 99, msgId: "M" };
  assert.equal(sender.send("nobody", header, new Uint8Array([1])), false);
  assert.equal(sender.send("pg", header, new Uint8Array([1])), true);
  assert.equal(sender.send("pg", header, new Uint8Array([2])), true);
  assert.deepEqual(sent.map(([id]) => id), ["b", "c"]);
  const [, command] = sent[0];
  assert.equal(command.code, RequestCode.CHECK_TRANSACTION_STATE);
  assert.equal(command.opaque, 100);
  assert.equal(command.flag & 0b10, 0b10);
  const decoded = checkTransactionStateRequestHeader.decode(command.extFields);
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.header, header);
});
