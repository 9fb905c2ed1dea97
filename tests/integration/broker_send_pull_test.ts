// Goal: the send, pull, offset and long-polling paths of a real broker, driven
// with raw RemotingCommands over TCP. Method: start a broker on port 0 in a temp
// dir, create a topic, and talk to it through TestConnection.

import assert from "node:assert/strict";
import {
  batchBody,
  createTopic,
  pullFields,
  sendV2Fields,
  startTestBroker,
  TestConnection,
} from "../_helpers/broker.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import { decodeRecords } from "../../client/protocol/message_record.ts";
import {
  decodeProperties,
  encodeProperties,
  MessageConst,
} from "../../client/protocol/properties.ts";
import { decodeOffsetMessageId } from "../../client/protocol/message_id.ts";
import { PullSysFlag } from "../../client/protocol/headers.ts";

const te = new TextEncoder();
const td = new TextDecoder();

Deno.test("broker stores a sent message and a pull returns it with its properties", async () => {
  await using broker = await startTestBroker();
  await using conn = await TestConnection.connect(broker.port);
  await createTopic(conn, "T1");
  const sent = await conn.request(
    RequestCode.SEND_MESSAGE_V2,
    sendV2Fields("T1", 2, { TAGS: "tagA", KEYS: "k1" }),
    te.encode("hello"),
  );
  assert.equal(sent.code, ResponseCode.SUCCESS, sent.remark);
  assert.equal(sent.extFields?.queueId, "2");
  assert.equal(sent.extFields?.queueOffset, "0");
  const uniqKey = sent.extFields?.transactionId;
  assert.match(uniqKey ?? "", /^[0-9A-F]{32}$/);
  const offsetId = decodeOffsetMessageId(sent.extFields!.msgId);
  assert.equal(offsetId.port, broker.port);
  assert.deepEqual([...offsetId.ip], [127, 0, 0, 1]);

  const pulled = await conn.request(RequestCode.PULL_MESSAGE, pullFields("T1", 2, 0));
  assert.equal(pulled.code, ResponseCode.SUCCESS, pulled.remark);
  assert.equal(pulled.extFields?.nextBeginOffset, "1");
  assert.equal(pulled.extFields?.maxOffset, "1");
  const [record] = decodeRecords(pulled.body!);
  assert.equal(td.decode(record.body), "hello");
  assert.equal(record.topic, "T1");
  assert.equal(record.queueId, 2);
  assert.equal(record.commitLogOffset, offsetId.commitLogOffset);
  const properties = decodeProperties(record.properties);
  assert.equal(properties.get("TAGS"), "tagA");
  assert.equal(properties.get(MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX), uniqKey);
  assert.equal(properties.get(MessageConst.CLUSTER), "DefaultCluster");
  assert.deepEqual([...record.bornHost.ip], [127, 0, 0, 1]);
});

Deno.test("broker keeps a producer's UNIQ_KEY, picks a queue for queueId -1, and answers SEND_MESSAGE v1", async () => {
  await using broker = await startTestBroker();
  await using conn = await TestConnection.connect(broker.port);
  await createTopic(conn, "T2", 3);
  const own = "0A0B0C0D00010000000100000000ABCD";
  const sent = await conn.request(
    RequestCode.SEND_MESSAGE,
    {
      producerGroup: "PG",
      topic: "T2",
      defaultTopic: "TBW102",
      defaultTopicQueueNums: 4,
      queueId: -1,
      sysFlag: 0,
      bornTimestamp: Date.now(),
      flag: 7,
      properties: encodeProperties({ UNIQ_KEY: own }),
    },
    te.encode("v1"),
  );
  assert.equal(sent.code, ResponseCode.SUCCESS, sent.remark);
  assert.equal(sent.extFields?.transactionId, own);
  const queueId = Number(sent.extFields?.queueId);
  assert.ok(queueId >= 0 && queueId < 3);
  const view = await conn.request(RequestCode.VIEW_MESSAGE_BY_ID, {
    offset: decodeOffsetMessageId(sent.extFields!.msgId).commitLogOffset,
  });
  assert.equal(view.code, ResponseCode.SUCCESS, view.remark);
  const [record] = decodeRecords(view.body!);
  assert.equal(record.flag, 7);
  assert.equal(td.decode(record.body), "v1");
});

Deno.test("broker stores a batch with consecutive offsets and answers comma-joined ids", async () => {
  await using broker = await startTestBroker();
  await using conn = await TestConnection.connect(broker.port);
  await createTopic(conn, "TB", 1);
  const body = batchBody([
    { body: "m0", properties: { TAGS: "a" } },
    { body: "m1", properties: { TAGS: "b" } },
    { body: "m2", properties: {} },
  ]);
  const sent = await conn.request(RequestCode.SEND_BATCH_MESSAGE, sendV2Fields("TB", 0), body);
  assert.equal(sent.code, ResponseCode.SUCCESS, sent.remark);
  assert.equal(sent.extFields?.msgId.split(",").length, 3);
  assert.equal(sent.extFields?.transactionId.split(",").length, 3);
  assert.equal(sent.extFields?.queueOffset, "0");
  const pulled = await conn.request(RequestCode.PULL_MESSAGE, pullFields("TB", 0, 0));
  const records = decodeRecords(pulled.body!);
  assert.deepEqual(records.map((r) => td.decode(r.body)), ["m0", "m1", "m2"]);
  assert.deepEqual(records.map((r) => r.queueOffset), [0, 1, 2]);
  const ids = sent.extFields!.msgId.split(",").map((id) =>
    decodeOffsetMessageId(id).commitLogOffset
  );
  assert.deepEqual(records.map((r) => r.commitLogOffset), ids);
});

Deno.test("broker pipelines many requests on one connection and answers each by opaque", async () => {
  await using broker = await startTestBroker();
  await using conn = await TestConnection.connect(broker.port);
  await createTopic(conn, "TP", 2);
  const sends = [];
  for (let i = 0; i < 200; i++) {
    sends.push(
      conn.request(RequestCode.SEND_MESSAGE_V2, sendV2Fields("TP", i % 2), te.encode(`m${i}`)),
    );
  }
  const responses = await Promise.all(sends);
  assert.ok(responses.every((r) => r.code === ResponseCode.SUCCESS));
  const offsets = responses.filter((r) => r.extFields?.queueId === "0").map((r) =>
    Number(r.extFields?.queueOffset)
  );
  assert.deepEqual(offsets.sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  const max = await conn.request(RequestCode.GET_MAX_OFFSET, { topic: "TP", queueId: 1 });
  assert.equal(max.extFields?.offset, "100");
  const min = await conn.request(RequestCode.GET_MIN_OFFSET, { topic: "TP", queueId: 1 });
  assert.equal(min.extFields?.offset, "0");
});

Deno.test("broker maps read statuses to pull codes (not found, offset moved, filtered)", async () => {
  await using broker = await startTestBroker();
  await using conn = await TestConnection.connect(broker.port);
  await createTopic(conn, "TS", 1);
  const empty = await conn.request(RequestCode.PULL_MESSAGE, pullFields("TS", 0, 0));
  assert.equal(empty.code, ResponseCode.PULL_NOT_FOUND);
  const movedEmpty = await conn.request(RequestCode.PULL_MESSAGE, pullFields("TS", 0, 5));
  assert.equal(movedEmpty.code, ResponseCode.PULL_OFFSET_MOVED);
  for (const tag of ["x", "y"]) {
    const r = await conn.request(
      RequestCode.SEND_MESSAGE_V2,
      sendV2Fields("TS", 0, { TAGS: tag }),
      te.encode(tag),
    );
    assert.equal(r.code, ResponseCode.SUCCESS);
  }
  const atEnd = await conn.request(RequestCode.PULL_MESSAGE, pullFields("TS", 0, 2));
  assert.equal(atEnd.code, ResponseCode.PULL_NOT_FOUND);
  assert.equal(atEnd.extFields?.nextBeginOffset, "2");
  const beyond = await conn.request(RequestCode.PULL_MESSAGE, pullFields("TS", 0, 9));
  assert.equal(beyond.code, ResponseCode.PULL_OFFSET_MOVED);
  assert.equal(beyond.extFields?.nextBeginOffset, "2");
  const tagged = await conn.request(
    RequestCode.PULL_MESSAGE,
    pullFields("TS", 0, 0, {
      sysFlag: PullSysFlag.SUBSCRIPTION,
      subscription: "y",
      expressionType: "TAG",
    }),
  );
  assert.equal(tagged.code, ResponseCode.SUCCESS);
  assert.deepEqual(decodeRecords(tagged.body!).map((r) => td.decode(r.body)), ["y"]);
  const none = await conn.request(
    RequestCode.PULL_MESSAGE,
    pullFields("TS", 0, 0, {
      sysFlag: PullSysFlag.SUBSCRIPTION,
      subscription: "zzz",
      expressionType: "TAG",
    }),
  );
  assert.ok(
    none.code === ResponseCode.PULL_RETRY_IMMEDIATELY || none.code === ResponseCode.PULL_NOT_FOUND,
    `code ${none.code}`,
  );
  const badSql = await conn.request(
    RequestCode.PULL_MESSAGE,
    pullFields("TS", 0, 0, {
      sysFlag: PullSysFlag.SUBSCRIPTION,
      subscription: "a >",
      expressionType: "SQL92",
    }),
  );
  assert.equal(badSql.code, ResponseCode.SUBSCRIPTION_PARSE_FAILED);
  assert.match(badSql.remark ?? "", /SQL92/);
});

Deno.test("broker holds a pull with the suspend flag and answers when a message arrives", async () => {
  await using broker = await startTestBroker();
  await using consumer = await TestConnection.connect(broker.port);
  await using producer = await TestConnection.connect(broker.port);
  await createTopic(consumer, "TL", 1);
  const held = consumer.request(
    RequestCode.PULL_MESSAGE,
    pullFields("TL", 0, 0, { sysFlag: PullSysFlag.SUSPEND, suspendTimeoutMillis: 30_000 }),
    undefined,
    20_000,
  );
  // The pull must still be parked: a request sent after it on the same connection is answered first.
  const probe = await consumer.request(RequestCode.GET_MAX_OFFSET, { topic: "TL", queueId: 0 });
  assert.equal(probe.extFields?.offset, "0");
  const sent = await producer.request(
    RequestCode.SEND_MESSAGE_V2,
    sendV2Fields("TL", 0),
    te.encode("late"),
  );
  assert.equal(sent.code, ResponseCode.SUCCESS);
  const pulled = await held;
  assert.equal(pulled.code, ResponseCode.SUCCESS, pulled.remark);
  assert.deepEqual(decodeRecords(pulled.body!).map((r) => td.decode(r.body)), ["late"]);
});

Deno.test("broker answers a held pull PULL_NOT_FOUND when its suspend timeout expires", async () => {
  await using broker = await startTestBroker();
  await using conn = await TestConnection.connect(broker.port);
  await createTopic(conn, "TE", 1);
  const pulled = await conn.request(
    RequestCode.PULL_MESSAGE,
    pullFields("TE", 0, 0, { sysFlag: PullSysFlag.SUSPEND, suspendTimeoutMillis: 50 }),
  );
  assert.equal(pulled.code, ResponseCode.PULL_NOT_FOUND);
  assert.equal(pulled.extFields?.nextBeginOffset, "0");
});

Deno.test("broker long polling with a tag filter delivers only the matching message", async () => {
  // Like a client: pull with suspend from nextBeginOffset until a message comes back. A
  // non-matching arrival may either be skipped by the held pull (tag pre-check) or answer
  // PULL_RETRY_IMMEDIATELY with nextBeginOffset past it; both are RocketMQ behaviour.
  await using broker = await startTestBroker();
  await using conn = await TestConnection.connect(broker.port);
  await using producer = await TestConnection.connect(broker.port);
  await createTopic(conn, "TF", 1);
  const pull = (offset: number) =>
    conn.request(
      RequestCode.PULL_MESSAGE,
      pullFields("TF", 0, offset, {
        sysFlag: PullSysFlag.SUSPEND | PullSysFlag.SUBSCRIPTION,
        subscription: "wanted",
        expressionType: "TAG",
        suspendTimeoutMillis: 30_000,
      }),
    );
  let pending = pull(0);
  await producer.request(
    RequestCode.SEND_MESSAGE_V2,
    sendV2Fields("TF", 0, { TAGS: "other" }),
    te.encode("no"),
  );
  await producer.request(
    RequestCode.SEND_MESSAGE_V2,
    sendV2Fields("TF", 0, { TAGS: "wanted" }),
    te.encode("yes"),
  );
  for (let round = 0; round < 5; round++) {
    const pulled = await pending;
    if (pulled.code === ResponseCode.SUCCESS) {
      assert.deepEqual(decodeRecords(pulled.body!).map((r) => td.decode(r.body)), ["yes"]);
      return;
    }
    assert.equal(pulled.code, ResponseCode.PULL_RETRY_IMMEDIATELY);
    pending = pull(Number(pulled.extFields?.nextBeginOffset));
  }
  assert.fail("the matching message was not delivered");
});

Deno.test("broker stores consumer offsets from UPDATE_CONSUMER_OFFSET and the pull commit flag", async () => {
  await using broker = await startTestBroker();
  await using conn = await TestConnection.connect(broker.port);
  await createTopic(conn, "TO", 2);
  await conn.request(RequestCode.SEND_MESSAGE_V2, sendV2Fields("TO", 0), te.encode("a"));
  const none = await conn.request(RequestCode.QUERY_CONSUMER_OFFSET, {
    consumerGroup: "G1",
    topic: "TO",
    queueId: 0,
    setZeroIfNotFound: false,
  });
  assert.equal(none.code, ResponseCode.QUERY_NOT_FOUND);
  const zero = await conn.request(RequestCode.QUERY_CONSUMER_OFFSET, {
    consumerGroup: "G1",
    topic: "TO",
    queueId: 0,
  });
  assert.equal(zero.code, ResponseCode.SUCCESS);
  assert.equal(zero.extFields?.offset, "0");
  const updated = await conn.request(RequestCode.UPDATE_CONSUMER_OFFSET, {
    consumerGroup: "G1",
    topic: "TO",
    queueId: 0,
    commitOffset: 1,
  });
  assert.equal(updated.code, ResponseCode.SUCCESS);
  const one = await conn.request(RequestCode.QUERY_CONSUMER_OFFSET, {
    consumerGroup: "G1",
    topic: "TO",
    queueId: 0,
  });
  assert.equal(one.extFields?.offset, "1");
  await conn.request(
    RequestCode.PULL_MESSAGE,
    pullFields("TO", 1, 0, {
      consumerGroup: "G1",
      sysFlag: PullSysFlag.COMMIT_OFFSET,
      commitOffset: 7,
    }),
  );
  const piggy = await conn.request(RequestCode.QUERY_CONSUMER_OFFSET, {
    consumerGroup: "G1",
    topic: "TO",
    queueId: 1,
  });
  assert.equal(piggy.extFields?.offset, "7");
  const all = await conn.request(RequestCode.GET_ALL_CONSUMER_OFFSET, { consumerGroup: "G1" });
  const body = JSON.parse(td.decode(all.body!));
  assert.deepEqual(body.offsetTable, { "TO@G1": { "0": 1, "1": 7 } });
  assert.deepEqual(body.progress[0], {
    group: "G1",
    topic: "TO",
    queueId: 0,
    consumerOffset: 1,
    brokerMinOffset: 0,
    brokerMaxOffset: 1,
    lag: 0,
  });
});

Deno.test("broker finds the offset of a store time with SEARCH_OFFSET_BY_TIMESTAMP", async () => {
  await using broker = await startTestBroker();
  await using conn = await TestConnection.connect(broker.port);
  await createTopic(conn, "TT", 1);
  const before = Date.now() - 1000;
  await conn.request(RequestCode.SEND_MESSAGE_V2, sendV2Fields("TT", 0), te.encode("a"));
  const first = await conn.request(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, {
    topic: "TT",
    queueId: 0,
    timestamp: before,
  });
  assert.equal(first.code, ResponseCode.SUCCESS);
  assert.equal(first.extFields?.offset, "0");
  const later = await conn.request(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, {
    topic: "TT",
    queueId: 0,
    timestamp: Date.now() + 60_000,
  });
  assert.equal(later.extFields?.offset, "1");
});

Deno.test("broker keeps topics and offsets across a restart on the same data dir", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "rmq_broker_restart_" });
  try {
    {
      await using broker = await startTestBroker({}, { dataDir });
      await using conn = await TestConnection.connect(broker.port);
      await createTopic(conn, "TR", 2);
      await conn.request(RequestCode.SEND_MESSAGE_V2, sendV2Fields("TR", 1), te.encode("persist"));
      await conn.request(RequestCode.UPDATE_CONSUMER_OFFSET, {
        consumerGroup: "G",
        topic: "TR",
        queueId: 1,
        commitOffset: 1,
      });
    }
    await using broker = await startTestBroker({}, { dataDir });
    await using conn = await TestConnection.connect(broker.port);
    const pulled = await conn.request(RequestCode.PULL_MESSAGE, pullFields("TR", 1, 0));
    assert.equal(pulled.code, ResponseCode.SUCCESS, pulled.remark);
    assert.deepEqual(decodeRecords(pulled.body!).map((r) => td.decode(r.body)), ["persist"]);
    const offset = await conn.request(RequestCode.QUERY_CONSUMER_OFFSET, {
      consumerGroup: "G",
      topic: "TR",
      queueId: 1,
    });
    assert.equal(offset.extFields?.offset, "1");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
