// Goal: every kind of bad input gets a clear error response (or, for a bad
// frame, closes only its own connection) and the broker keeps serving.
// Method: raw RemotingCommands and raw bytes over TCP to a real broker.

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
import { createRequest, encodeCommand } from "../../client/protocol/remoting_command.ts";

const te = new TextEncoder();

Deno.test("broker answers an unknown request code with REQUEST_CODE_NOT_SUPPORTED", async () => {
  await using broker = await startTestBroker();
  await using conn = await TestConnection.connect(broker.port);
  const r = await conn.request(99999);
  assert.equal(r.code, ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
  assert.match(r.remark ?? "", /99999/);
});

Deno.test("broker answers bad headers with INVALID_PARAMETER naming the field", async () => {
  await using broker = await startTestBroker();
  await using conn = await TestConnection.connect(broker.port);
  await createTopic(conn, "E1", 2);
  const missing = await conn.request(RequestCode.PULL_MESSAGE, { topic: "E1" });
  assert.equal(missing.code, ResponseCode.INVALID_PARAMETER);
  assert.match(missing.remark ?? "", /consumerGroup/);
  const notNumber = await conn.request(
    RequestCode.PULL_MESSAGE,
    pullFields("E1", 0, 0, { queueOffset: "abc" }),
  );
  assert.equal(notNumber.code, ResponseCode.INVALID_PARAMETER);
  assert.match(notNumber.remark ?? "", /queueOffset/);
  const sendMissing = await conn.request(RequestCode.SEND_MESSAGE_V2, { b: "E1" }, te.encode("x"));
  assert.equal(sendMissing.code, ResponseCode.INVALID_PARAMETER);
  const badQueue = await conn.request(
    RequestCode.SEND_MESSAGE_V2,
    sendV2Fields("E1", 5),
    te.encode("x"),
  );
  assert.equal(badQueue.code, ResponseCode.INVALID_PARAMETER);
  assert.match(badQueue.remark ?? "", /queueId 5/);
  const badPullQueue = await conn.request(RequestCode.PULL_MESSAGE, pullFields("E1", 9, 0));
  assert.equal(badPullQueue.code, ResponseCode.INVALID_PARAMETER);
  const offsets = await conn.request(RequestCode.UPDATE_CONSUMER_OFFSET, {
    consumerGroup: "G",
    topic: "E1",
    queueId: 0,
    commitOffset: "1.5",
  });
  assert.equal(offsets.code, ResponseCode.INVALID_PARAMETER);
  const heartbeat = await conn.request(RequestCode.HEART_BEAT, {}, te.encode("{not json"));
  assert.equal(heartbeat.code, ResponseCode.INVALID_PARAMETER);
  const heartbeatless = await conn.request(RequestCode.HEART_BEAT);
  assert.equal(heartbeatless.code, ResponseCode.INVALID_PARAMETER);
});

Deno.test("broker rejects invalid and reserved topic names with a remark", async () => {
  await using broker = await startTestBroker({ autoCreateTopicEnable: true });
  await using conn = await TestConnection.connect(broker.port);
  const create = (topic: string) =>
    conn.request(RequestCode.UPDATE_AND_CREATE_TOPIC, {
      topic,
      defaultTopic: "TBW102",
      readQueueNums: 1,
      writeQueueNums: 1,
      perm: 6,
      topicFilterType: "SINGLE_TAG",
      order: false,
    });
  for (
    const bad of [
      "has space",
      "a".repeat(128),
      "sl/ash",
      "TBW102",
      "rmq_sys_x",
      "SCHEDULE_TOPIC_XXXX",
    ]
  ) {
    const r = await create(bad);
    assert.equal(r.code, ResponseCode.INVALID_PARAMETER, bad);
    assert.match(r.remark ?? "", /Cannot create topic/);
  }
  const queues = await conn.request(RequestCode.UPDATE_AND_CREATE_TOPIC, {
    topic: "Q",
    defaultTopic: "TBW102",
    readQueueNums: 0,
    writeQueueNums: 1,
    perm: 6,
    topicFilterType: "SINGLE_TAG",
    order: false,
  });
  assert.equal(queues.code, ResponseCode.INVALID_PARAMETER);
  const send = await conn.request(
    RequestCode.SEND_MESSAGE_V2,
    sendV2Fields("bad topic", 0),
    te.encode("x"),
  );
  assert.equal(send.code, ResponseCode.MESSAGE_ILLEGAL);
  assert.match(send.remark ?? "", /characters outside/);
  const sendReserved = await conn.request(
    RequestCode.SEND_MESSAGE_V2,
    sendV2Fields("rmq_sys_y", 0),
    te.encode("x"),
  );
  assert.equal(sendReserved.code, ResponseCode.MESSAGE_ILLEGAL);
  const pull = await conn.request(RequestCode.PULL_MESSAGE, pullFields("no such", 0, 0));
  assert.equal(pull.code, ResponseCode.INVALID_PARAMETER);
});

Deno.test("broker rejects empty and oversize message bodies and bad batch bodies", async () => {
  await using broker = await startTestBroker({ messageBytesMax: 1024 });
  await using conn = await TestConnection.connect(broker.port);
  await createTopic(conn, "E2", 1);
  const empty = await conn.request(RequestCode.SEND_MESSAGE_V2, sendV2Fields("E2", 0));
  assert.equal(empty.code, ResponseCode.MESSAGE_ILLEGAL);
  const big = await conn.request(
    RequestCode.SEND_MESSAGE_V2,
    sendV2Fields("E2", 0),
    new Uint8Array(1025),
  );
  assert.equal(big.code, ResponseCode.MESSAGE_ILLEGAL);
  assert.equal(big.remark, "Cannot send message: body is 1025 bytes, limit is 1024");
  const torn = await conn.request(
    RequestCode.SEND_BATCH_MESSAGE,
    sendV2Fields("E2", 0),
    new Uint8Array([0, 0, 0, 50, 1, 2]),
  );
  assert.equal(torn.code, ResponseCode.MESSAGE_ILLEGAL);
  assert.match(torn.remark ?? "", /Cannot send batch/);
  const ok = await conn.request(
    RequestCode.SEND_MESSAGE_V2,
    sendV2Fields("E2", 0),
    new Uint8Array(1024),
  );
  assert.equal(ok.code, ResponseCode.SUCCESS);
});

Deno.test("broker answers VIEW_MESSAGE_BY_ID for a missing offset with QUERY_NOT_FOUND", async () => {
  await using broker = await startTestBroker();
  await using conn = await TestConnection.connect(broker.port);
  const r = await conn.request(RequestCode.VIEW_MESSAGE_BY_ID, { offset: 123456 });
  assert.equal(r.code, ResponseCode.QUERY_NOT_FOUND);
});

Deno.test("broker closes only the connection that sent an oversize or malformed frame", async () => {
  await using broker = await startTestBroker({
    frameBytesMax: 64 * 1024,
    messageBytesMax: 32 * 1024,
  });
  await using good = await TestConnection.connect(broker.port);
  await createTopic(good, "E3", 1);

  await using oversize = await TestConnection.connect(broker.port);
  const header = new Uint8Array(8);
  new DataView(header.buffer).setUint32(0, 64 * 1024 + 1);
  await oversize.writeRaw(header);
  await oversize.closed; // the broker hung up

  await using garbage = await TestConnection.connect(broker.port);
  const frame = new Uint8Array(12);
  const view = new DataView(frame.buffer);
  view.setUint32(0, 8);
  view.setUint32(4, 4); // JSON header of 4 bytes
  frame.set(te.encode("{{{{"), 8);
  await garbage.writeRaw(frame);
  await garbage.closed;

  await using badType = await TestConnection.connect(broker.port);
  const typed = encodeCommand(
    createRequest(RequestCode.GET_MAX_OFFSET, 1, { topic: "E3", queueId: 0 }),
  );
  typed[4] = 7; // unknown serialize type
  await badType.writeRaw(typed);
  await badType.closed;

  const r = await good.request(
    RequestCode.SEND_MESSAGE_V2,
    sendV2Fields("E3", 0),
    te.encode("still here"),
  );
  assert.equal(r.code, ResponseCode.SUCCESS);
});

Deno.test("broker refuses connections beyond connectionsMax and serves the others", async () => {
  await using broker = await startTestBroker({ connectionsMax: 2 });
  await using a = await TestConnection.connect(broker.port);
  await using b = await TestConnection.connect(broker.port);
  assert.equal((await a.request(RequestCode.GET_ALL_TOPIC_CONFIG)).code, ResponseCode.SUCCESS);
  assert.equal((await b.request(RequestCode.GET_ALL_TOPIC_CONFIG)).code, ResponseCode.SUCCESS);
  await using c = await TestConnection.connect(broker.port);
  await c.closed;
  assert.equal((await a.request(RequestCode.GET_ALL_TOPIC_CONFIG)).code, ResponseCode.SUCCESS);
});

Deno.test("broker pauses reading at the in-flight limit and still answers every request", async () => {
  await using broker = await startTestBroker({ inFlightRequestsPerConnectionMax: 2 });
  await using conn = await TestConnection.connect(broker.port);
  await createTopic(conn, "E4", 1);
  // Two held pulls fill the window; the third request waits until one is answered.
  const held = [0, 1].map(() =>
    conn.request(
      RequestCode.PULL_MESSAGE,
      pullFields("E4", 0, 0, { sysFlag: 2, suspendTimeoutMillis: 30_000 }),
    )
  );
  await using producer = await TestConnection.connect(broker.port);
  const probe = conn.request(RequestCode.GET_MAX_OFFSET, { topic: "E4", queueId: 0 });
  const sent = await producer.request(
    RequestCode.SEND_MESSAGE_V2,
    sendV2Fields("E4", 0),
    te.encode("go"),
  );
  assert.equal(sent.code, ResponseCode.SUCCESS);
  const results = await Promise.all(held);
  assert.ok(results.every((r) => r.code === ResponseCode.SUCCESS));
  assert.equal((await probe).code, ResponseCode.SUCCESS);
});

Deno.test("broker close() answers held pulls and finishes in-flight requests", async () => {
  const broker = await startTestBroker();
  const conn = await TestConnection.connect(broker.port);
  try {
    await createTopic(conn, "E5", 1);
    const held = conn.request(
      RequestCode.PULL_MESSAGE,
      pullFields("E5", 0, 0, { sysFlag: 2, suspendTimeoutMillis: 30_000 }),
    );
    // Make sure the pull reached the broker before closing.
    await conn.request(RequestCode.GET_MAX_OFFSET, { topic: "E5", queueId: 0 });
    const closing = broker.close();
    const answered = await held;
    assert.equal(answered.code, ResponseCode.PULL_NOT_FOUND);
    await closing;
    await conn.closed;
  } finally {
    await conn.close();
    await broker.close();
  }
});
