import assert from "node:assert/strict";
import {
  createTopicRequestHeader,
  decodeSendMessageRequestHeader,
  pullMessageRequestHeader,
  queryMessageRequestHeader,
  type SendMessageRequestHeader,
  sendMessageRequestHeader,
  sendMessageRequestHeaderV2,
  sendMessageResponseHeader,
} from "./headers.ts";
import {
  parseConsumerListBody,
  parseHeartbeatData,
  parseJsonLenient,
  parseTopicRouteData,
} from "./heartbeat.ts";

const send: SendMessageRequestHeader = {
  producerGroup: "pg",
  topic: "T",
  defaultTopic: "TBW102",
  defaultTopicQueueNums: 4,
  queueId: -1,
  sysFlag: 0,
  bornTimestamp: 1_700_000_000_123,
  flag: 0,
  properties: "UNIQ_KEY\u0001X\u0002",
  batch: false,
};

Deno.test("send headers round-trip under v1 long names and v2 one-letter names", () => {
  const v1 = sendMessageRequestHeader.encode(send);
  const v2 = sendMessageRequestHeaderV2.encode(send);
  assert.equal(v1.producerGroup, "pg");
  assert.equal(v2.a, "pg");
  assert.equal(v2.g, "1700000000123");
  assert.deepEqual(decodeSendMessageRequestHeader(10, v1), { ok: true, header: send });
  assert.deepEqual(decodeSendMessageRequestHeader(310, v2), { ok: true, header: send });
  const batch = decodeSendMessageRequestHeader(320, v2);
  assert.ok(batch.ok && batch.header.batch === true);
  assert.equal(decodeSendMessageRequestHeader(11, v2).ok, false);
});

Deno.test("header decoders reject missing required fields and bad numbers with the field name", () => {
  const v2 = sendMessageRequestHeaderV2.encode(send);
  delete v2.b;
  assert.deepEqual(sendMessageRequestHeaderV2.decode(v2), {
    ok: false,
    error: 'SendMessageRequestHeaderV2: missing required field "b"',
  });
  const cases: Array<[string, string]> = [
    ["queueId", "abc"],
    ["queueId", "2147483648"],
    ["queueId", "1.5"],
    ["queueOffset", "9007199254740993"],
    ["queueOffset", ""],
  ];
  for (const [field, value] of cases) {
    const result = sendMessageResponseHeader.decode({
      msgId: "X",
      queueId: "1",
      queueOffset: "2",
      [field]: value,
    });
    assert.equal(result.ok, false, `${field}=${value}`);
    assert.ok(!result.ok && result.error.includes(field));
  }
  assert.equal(createTopicRequestHeader.decode(undefined).ok, false);
  const order = createTopicRequestHeader.decode({
    topic: "T",
    defaultTopic: "TBW102",
    readQueueNums: "4",
    writeQueueNums: "4",
    perm: "6",
    topicFilterType: "SINGLE_TAG",
    order: "maybe",
  });
  assert.ok(!order.ok && order.error.includes("order"));
});

Deno.test("pull header keeps optional fields optional and parses longs", () => {
  const fields = pullMessageRequestHeader.encode({
    consumerGroup: "g",
    topic: "T",
    queueId: 1,
    queueOffset: 2 ** 40,
    maxMsgNums: 32,
    sysFlag: 7,
    commitOffset: 0,
    suspendTimeoutMillis: 15000,
    subVersion: 1,
  });
  assert.equal("subscription" in fields, false);
  const decoded = pullMessageRequestHeader.decode(fields);
  assert.ok(decoded.ok && decoded.header.queueOffset === 2 ** 40);
  const query = queryMessageRequestHeader.encode({
    topic: "T",
    key: "K",
    maxNum: 1,
    beginTimestamp: 0,
    endTimestamp: 1,
    uniqueKeyQuery: true,
  });
  assert.equal(query._UNIQUE_KEY_QUERY, "true");
});

Deno.test("JSON bodies: fastjson bare integer keys parse; shapes are validated", () => {
  const route = parseTopicRouteData(
    '{"queueDatas":[{"brokerName":"b","readQueueNums":4,"writeQueueNums":4,"perm":6}],' +
      '"brokerDatas":[{"cluster":"c","brokerName":"b","brokerAddrs":{0:"h:1"}}]}',
  );
  assert.ok(route.ok && route.value.brokerDatas[0].brokerAddrs["0"] === "h:1");
  assert.deepEqual(parseJsonLenient('{"a":"{0:1}"}'), { ok: true, value: { a: "{0:1}" } });
  assert.equal(parseTopicRouteData('{"queueDatas":[{}],"brokerDatas":[]}').ok, false);
  assert.equal(parseConsumerListBody('{"consumerIdList":[1]}').ok, false);
  assert.equal(parseConsumerListBody("not json").ok, false);
  const heartbeat = parseHeartbeatData(
    '{"clientID":"c","consumerDataSet":[{"groupName":"g","subscriptionDataSet":[{"topic":"T","subString":"*"}]}]}',
  );
  assert.ok(heartbeat.ok);
  assert.equal(heartbeat.value.consumerDataSet[0].messageModel, "CLUSTERING");
  assert.equal(heartbeat.value.consumerDataSet[0].subscriptionDataSet[0].expressionType, "TAG");
  assert.deepEqual(heartbeat.value.producerDataSet, []);
});
