// Goal: topic administration, routes, auto-creation and consumer group
// membership of a real broker. Method: raw RemotingCommands over TCP.

import assert from "node:assert/strict";
import {
  createTopic,
  pullFields,
  sendV2Fields,
  startTestBroker,
  TestConnection,
} from "../_helpers/broker.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import { decodeRecords } from "../../client/protocol/message_record.ts";

const te = new TextEncoder();
const td = new TextDecoder();

function heartbeat(clientID: string, group: string, topic = "T"): Uint8Array {
  return te.encode(JSON.stringify({
    clientID,
    producerDataSet: [{ groupName: "PG" }],
    consumerDataSet: [{
      groupName: group,
      consumeType: "CONSUME_PASSIVELY",
      messageModel: "CLUSTERING",
      consumeFromWhere: "CONSUME_FROM_LAST_OFFSET",
      subscriptionDataSet: [{
        topic,
        subString: "*",
        tagsSet: [],
        codeSet: [],
        subVersion: 1,
        expressionType: "TAG",
      }],
    }],
  }));
}

Deno.test("broker creates, lists, routes and deletes topics", async () => {
  await using broker = await startTestBroker();
  await using conn = await TestConnection.connect(broker.port);
  await createTopic(conn, "AdminT", 3);
  const all = await conn.request(RequestCode.GET_ALL_TOPIC_CONFIG);
  assert.equal(all.code, ResponseCode.SUCCESS);
  const table = JSON.parse(td.decode(all.body!));
  assert.equal(table.topicConfigTable.AdminT.readQueueNums, 3);
  assert.equal(table.topicConfigTable.AdminT.perm, 6);
  assert.equal(typeof table.dataVersion.counter, "number");

  const route = await conn.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: "AdminT" });
  assert.equal(route.code, ResponseCode.SUCCESS);
  assert.deepEqual(JSON.parse(td.decode(route.body!)), {
    queueDatas: [{
      brokerName: "broker-a",
      readQueueNums: 3,
      writeQueueNums: 3,
      perm: 6,
      topicSysFlag: 0,
    }],
    brokerDatas: [{
      cluster: "DefaultCluster",
      brokerName: "broker-a",
      brokerAddrs: { "0": `127.0.0.1:${broker.port}` },
    }],
  });

  await conn.request(RequestCode.SEND_MESSAGE_V2, sendV2Fields("AdminT", 0), te.encode("x"));
  const deleted = await conn.request(RequestCode.DELETE_TOPIC_IN_BROKER, { topic: "AdminT" });
  assert.equal(deleted.code, ResponseCode.SUCCESS, deleted.remark);
  const gone = await conn.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: "AdminT" });
  assert.equal(gone.code, ResponseCode.TOPIC_NOT_EXIST);
  const send = await conn.request(
    RequestCode.SEND_MESSAGE_V2,
    sendV2Fields("AdminT", 0),
    te.encode("x"),
  );
  assert.equal(send.code, ResponseCode.TOPIC_NOT_EXIST);
  const pull = await conn.request(RequestCode.PULL_MESSAGE, pullFields("AdminT", 0, 0));
  assert.equal(pull.code, ResponseCode.TOPIC_NOT_EXIST);
});

Deno.test("broker auto-creates a topic on first send only when enabled", async () => {
  {
    await using broker = await startTestBroker();
    await using conn = await TestConnection.connect(broker.port);
    const r = await conn.request(
      RequestCode.SEND_MESSAGE_V2,
      sendV2Fields("Auto1", -1),
      te.encode("x"),
    );
    assert.equal(r.code, ResponseCode.TOPIC_NOT_EXIST);
    assert.match(r.remark ?? "", /auto-creation is off/);
  }
  await using broker = await startTestBroker({
    autoCreateTopicEnable: true,
    defaultTopicQueueNums: 2,
  });
  await using conn = await TestConnection.connect(broker.port);
  const r = await conn.request(
    RequestCode.SEND_MESSAGE_V2,
    sendV2Fields("Auto1", -1),
    te.encode("x"),
  );
  assert.equal(r.code, ResponseCode.SUCCESS, r.remark);
  const route = await conn.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: "Auto1" });
  assert.equal(JSON.parse(td.decode(route.body!)).queueDatas[0].writeQueueNums, 2);
  const template = await conn.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: "TBW102" });
  assert.equal(template.code, ResponseCode.SUCCESS);
  const reserved = await conn.request(
    RequestCode.SEND_MESSAGE_V2,
    sendV2Fields("TBW102", 0),
    te.encode("x"),
  );
  assert.equal(reserved.code, ResponseCode.NO_PERMISSION);
});

Deno.test("broker tracks consumer group members and notifies them of changes", async () => {
  await using broker = await startTestBroker();
  await using a = await TestConnection.connect(broker.port);
  await using b = await TestConnection.connect(broker.port);
  const hbA = await a.request(RequestCode.HEART_BEAT, {}, heartbeat("client-a", "CG1"));
  assert.equal(hbA.code, ResponseCode.SUCCESS, hbA.remark);
  // A's own join notifies A.
  const first = await a.nextBrokerRequest();
  assert.equal(first.code, RequestCode.NOTIFY_CONSUMER_IDS_CHANGED);
  assert.equal(first.extFields?.consumerGroup, "CG1");

  await b.request(RequestCode.HEART_BEAT, {}, heartbeat("client-b", "CG1"));
  const toA = await a.nextBrokerRequest();
  assert.equal(toA.code, RequestCode.NOTIFY_CONSUMER_IDS_CHANGED);
  await b.nextBrokerRequest();
  const list = await a.request(RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: "CG1" });
  assert.deepEqual(JSON.parse(td.decode(list.body!)), { consumerIdList: ["client-a", "client-b"] });

  // A repeated heartbeat changes nothing and notifies nobody.
  await a.request(RequestCode.HEART_BEAT, {}, heartbeat("client-a", "CG1"));

  // B leaves by closing its connection: A is told.
  await b.close();
  const afterClose = await a.nextBrokerRequest();
  assert.equal(afterClose.code, RequestCode.NOTIFY_CONSUMER_IDS_CHANGED);
  const list2 = await a.request(RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: "CG1" });
  assert.deepEqual(JSON.parse(td.decode(list2.body!)).consumerIdList, ["client-a"]);
  assert.equal(a.brokerRequestCount, 0);

  await using c = await TestConnection.connect(broker.port);
  await c.request(RequestCode.HEART_BEAT, {}, heartbeat("client-c", "CG1"));
  await a.nextBrokerRequest();
  const un = await c.request(RequestCode.UNREGISTER_CLIENT, {
    clientID: "client-c",
    consumerGroup: "CG1",
  });
  assert.equal(un.code, ResponseCode.SUCCESS);
  const list3 = await a.request(RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: "CG1" });
  assert.deepEqual(JSON.parse(td.decode(list3.body!)).consumerIdList, ["client-a"]);
  const unknown = await a.request(RequestCode.GET_CONSUMER_LIST_BY_GROUP, {
    consumerGroup: "Nobody",
  });
  assert.deepEqual(JSON.parse(td.decode(unknown.body!)).consumerIdList, []);
});

Deno.test("broker uses a heartbeat subscription to filter pulls without a subscription flag", async () => {
  await using broker = await startTestBroker();
  await using conn = await TestConnection.connect(broker.port);
  await createTopic(conn, "TH", 1);
  const body = te.encode(JSON.stringify({
    clientID: "c1",
    consumerDataSet: [{
      groupName: "HG",
      subscriptionDataSet: [{
        topic: "TH",
        subString: "keep",
        subVersion: 1,
        expressionType: "TAG",
      }],
    }],
  }));
  assert.equal((await conn.request(RequestCode.HEART_BEAT, {}, body)).code, ResponseCode.SUCCESS);
  for (const tag of ["drop", "keep"]) {
    await conn.request(
      RequestCode.SEND_MESSAGE_V2,
      sendV2Fields("TH", 0, { TAGS: tag }),
      te.encode(tag),
    );
  }
  const pulled = await conn.request(
    RequestCode.PULL_MESSAGE,
    pullFields("TH", 0, 0, { consumerGroup: "HG" }),
  );
  assert.equal(pulled.code, ResponseCode.SUCCESS);
  assert.deepEqual(decodeRecords(pulled.body!).map((r) => td.decode(r.body)), ["keep"]);
});

Deno.test("broker answers QUERY_MESSAGE for an unknown key with QUERY_NOT_FOUND", async () => {
  await using broker = await startTestBroker();
  await using conn = await TestConnection.connect(broker.port);
  await createTopic(conn, "TQ", 1);
  const r = await conn.request(RequestCode.QUERY_MESSAGE, {
    topic: "TQ",
    key: "nope",
    maxNum: 8,
    beginTimestamp: 0,
    endTimestamp: Date.now() + 1000,
  });
  assert.equal(r.code, ResponseCode.QUERY_NOT_FOUND);
});
