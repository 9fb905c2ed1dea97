import assert from "node:assert/strict";
import { ok, startFakeBroker } from "./_testing/fake_broker.ts";
import { createTransactionProducer } from "./transaction_producer.ts";
import { MQClientError } from "./errors.ts";
import {
  checkTransactionStateRequestHeader,
  type EndTransactionRequestHeader,
  endTransactionRequestHeader,
  sendMessageRequestHeaderV2,
} from "./protocol/headers.ts";
import { encodeJsonBody, parseHeartbeatData } from "./protocol/heartbeat.ts";
import { createOffsetMessageId } from "./protocol/message_id.ts";
import { encodeRecord, MessageSysFlag, recordSize } from "./protocol/message_record.ts";
import { decodeProperties, encodeProperties } from "./protocol/properties.ts";
import {
  createRequest,
  createResponse,
  type RemotingCommand,
} from "./protocol/remoting_command.ts";
import { RequestCode } from "./protocol/request_code.ts";
import { ResponseCode } from "./protocol/response_code.ts";

const HOST = { ip: new Uint8Array([127, 0, 0, 1]), port: 10911 };
const route = encodeJsonBody({
  queueDatas: [{ brokerName: "b", readQueueNums: 2, writeQueueNums: 2, perm: 6 }],
  brokerDatas: [{ cluster: "c", brokerName: "b", brokerAddrs: { "0": "x:1" } }],
});
const WAIT_MS = 5_000;

/** A fake broker that stores half messages at fixed offsets and reports every END_TRANSACTION. */
function fakeTransactionBroker(sendCode: number = ResponseCode.SUCCESS) {
  const ends: EndTransactionRequestHeader[] = [];
  let endWaiters: (() => void)[] = [];
  const fake = startFakeBroker((request) => {
    switch (request.code) {
      case RequestCode.GET_ROUTEINFO_BY_TOPIC:
        return ok(request, {}, route);
      case RequestCode.SEND_MESSAGE_V2: {
        const header = sendMessageRequestHeaderV2.decode(request.extFields);
        assert.ok(header.ok);
        return createResponse(request, sendCode, undefined, {
          msgId: createOffsetMessageId(HOST, 4096),
          queueId: header.header.queueId,
          queueOffset: 12,
          transactionId: decodeProperties(header.header.properties ?? "").get("UNIQ_KEY"),
        });
      }
      case RequestCode.END_TRANSACTION: {
        const header = endTransactionRequestHeader.decode(request.extFields);
        assert.ok(header.ok);
        ends.push(header.header);
        for (const wake of endWaiters) wake();
        endWaiters = [];
        return undefined;
      }
      default:
        return ok(request);
    }
  });
  const nextEnd = async (count: number): Promise<EndTransactionRequestHeader> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      while (ends.length < count) {
        await Promise.race([
          new Promise<void>((resolve) => endWaiters.push(resolve)),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error("no END_TRANSACTION in time")), WAIT_MS);
          }),
        ]);
        clearTimeout(timer);
      }
      return ends[count - 1];
    } finally {
      clearTimeout(timer);
    }
  };
  return { fake, ends, nextEnd };
}

Deno.test("createTransactionProducer() registers its producer group with a heartbeat", async () => {
  const { fake } = fakeTransactionBroker();
  await using _fake = fake;
  await using producer = await createTransactionProducer({
    endpoint: fake.endpoint,
    group: "txg",
    checker: () => "COMMIT",
  });
  const heartbeat = fake.requests.find((r) => r.code === RequestCode.HEART_BEAT);
  assert.ok(heartbeat !== undefined);
  const parsed = parseHeartbeatData(heartbeat.body);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value.producerDataSet.map((p) => p.groupName), ["txg"]);
  assert.equal(parsed.value.clientID, producer.clientId);
});

Deno.test("TransactionProducer.sendInTransaction() sends a half message, runs the local transaction, then commits", async () => {
  const { fake, nextEnd } = fakeTransactionBroker();
  await using _fake = fake;
  await using producer = await createTransactionProducer({
    endpoint: fake.endpoint,
    group: "txg",
    checker: () => "UNKNOWN",
  });
  let seen: { msgId: string; queueOffset: number } | undefined;
  const result = await producer.sendInTransaction(
    { topic: "Orders", body: "order-1", tags: "created" },
    (message, sent) => {
      assert.equal(message.topic, "Orders");
      seen = { msgId: sent.msgId, queueOffset: sent.queueOffset };
      return "COMMIT";
    },
  );
  assert.equal(result.localTransactionState, "COMMIT");
  assert.equal(result.status, "SEND_OK");
  assert.equal(result.transactionId, result.msgId);
  assert.deepEqual(seen, { msgId: result.msgId, queueOffset: 12 });

  const send = fake.requests.find((r) => r.code === RequestCode.SEND_MESSAGE_V2)!;
  const header = sendMessageRequestHeaderV2.decode(send.extFields);
  assert.ok(header.ok);
  assert.equal(header.header.sysFlag, MessageSysFlag.TRANSACTION_PREPARED_TYPE);
  const properties = decodeProperties(header.header.properties ?? "");
  assert.equal(properties.get("TRAN_MSG"), "true");
  assert.equal(properties.get("PGROUP"), "txg");
  assert.equal(properties.get("TAGS"), "created");

  const end = await nextEnd(1);
  assert.equal(end.commitOrRollback, 8);
  assert.equal(end.commitLogOffset, 4096);
  assert.equal(end.tranStateTableOffset, 12);
  assert.equal(end.producerGroup, "txg");
  assert.equal(end.msgId, result.msgId);
  assert.equal(end.fromTransactionCheck, false);
  const endRequest = fake.requests.find((r) => r.code === RequestCode.END_TRANSACTION)!;
  assert.equal(endRequest.flag & 0b10, 0b10, "END_TRANSACTION is oneway");
});

Deno.test("TransactionProducer.sendInTransaction() reports UNKNOWN and throws when the local transaction throws", async () => {
  const { fake, nextEnd } = fakeTransactionBroker();
  await using _fake = fake;
  await using producer = await createTransactionProducer({
    endpoint: fake.endpoint,
    group: "txg",
    checker: () => "UNKNOWN",
  });
  const boom = new Error("db down");
  await assert.rejects(
    producer.sendInTransaction({ topic: "Orders", body: "x" }, () => {
      throw boom;
    }),
    (e) => e instanceof MQClientError && e.cause === boom,
  );
  assert.equal((await nextEnd(1)).commitOrRollback, 0);
  await assert.rejects(
    // A bad return value is a programmer error, treated like a throw.
    producer.sendInTransaction({ topic: "Orders", body: "x" }, () => "YES" as "COMMIT"),
    (e) => e instanceof MQClientError && e.cause instanceof TypeError,
  );
});

Deno.test("TransactionProducer.sendInTransaction() rolls back without running the local transaction when the half is not durable", async () => {
  const { fake, nextEnd } = fakeTransactionBroker(ResponseCode.FLUSH_DISK_TIMEOUT);
  await using _fake = fake;
  await using producer = await createTransactionProducer({
    endpoint: fake.endpoint,
    group: "txg",
    checker: () => "UNKNOWN",
  });
  let ran = false;
  const result = await producer.sendInTransaction({ topic: "Orders", body: "x" }, () => {
    ran = true;
    return "COMMIT";
  });
  assert.equal(ran, false);
  assert.equal(result.localTransactionState, "ROLLBACK");
  assert.equal((await nextEnd(1)).commitOrRollback, 12);
});

Deno.test("TransactionProducer answers CHECK_TRANSACTION_STATE with the checker's verdict", async () => {
  const { fake, nextEnd } = fakeTransactionBroker();
  await using _fake = fake;
  const asked: string[] = [];
  await using _producer = await createTransactionProducer({
    endpoint: fake.endpoint,
    group: "txg",
    checker: (message) => {
      asked.push(`${message.topic}:${message.msgId}:${message.text()}`);
      return message.text() === "paid" ? "COMMIT" : "ROLLBACK";
    },
  });
  const peer = await fake.firstPeer;
  const check = (uniqKey: string, body: string, queueOffset: number): RemotingCommand => {
    const te = new TextEncoder();
    const topicBytes = te.encode("Orders");
    const propertiesBytes = te.encode(
      encodeProperties({ UNIQ_KEY: uniqKey, PGROUP: "txg", TRAN_MSG: "true" }),
    );
    const record = new Uint8Array(
      recordSize(body.length, topicBytes.length, propertiesBytes.length),
    );
    encodeRecord({
      queueId: 1,
      flag: 0,
      queueOffset,
      commitLogOffset: 777 + queueOffset,
      sysFlag: 0,
      bornTimestamp: 1,
      bornHost: HOST,
      storeTimestamp: 2,
      storeHost: HOST,
      reconsumeTimes: 0,
      preparedTransactionOffset: 0,
      body: te.encode(body),
      topicBytes,
      propertiesBytes,
    }, record);
    return createRequest(
      RequestCode.CHECK_TRANSACTION_STATE,
      queueOffset,
      checkTransactionStateRequestHeader.encode({
        topic: "Orders",
        tranStateTableOffset: queueOffset,
        commitLogOffset: 777 + queueOffset,
        msgId: uniqKey,
        transactionId: uniqKey,
      }),
      record,
      true,
    );
  };
  await peer.send(check("AAA", "paid", 3));
  const commit = await nextEnd(1);
  assert.deepEqual(
    [commit.commitOrRollback, commit.fromTransactionCheck, commit.tranStateTableOffset],
    [8, true, 3],
  );
  assert.equal(commit.commitLogOffset, 780);
  assert.equal(commit.msgId, "AAA");
  await peer.send(check("BBB", "unpaid", 4));
  const rollback = await nextEnd(2);
  assert.deepEqual([rollback.commitOrRollback, rollback.msgId], [12, "BBB"]);
  assert.deepEqual(asked, ["Orders:AAA:paid", "Orders:BBB:unpaid"]);
});
