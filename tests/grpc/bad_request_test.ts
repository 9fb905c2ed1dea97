// Goal: every bad gRPC request gets a clear Status (never a hang, never a crash), and an
// immediate retry with the same message_id is stored once. Method: a bare grpc-js client built
// from the generated types sends requests the official clients would not.

import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import {
  type AckMessageResponse,
  type ChangeInvisibleDurationResponse,
  Code,
  MessageSchema,
  MessageType,
  type QueryRouteResponse,
  type SendMessageResponse,
} from "../../proxy/domain/protocol.ts";
import { Connection } from "../../client/connection.ts";
import { createTopicRequestHeader } from "../../client/protocol/headers.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { rawClient } from "./_raw_client.ts";
import { startGrpcEnv } from "./_grpc_env.ts";

const OPTIONS = { sanitizeOps: false, sanitizeResources: false };

function message(topic: string, id: string, body: Uint8Array, extra: Record<string, unknown> = {}) {
  return create(MessageSchema, {
    topic: { name: topic },
    body,
    systemProperties: { messageId: id, messageType: MessageType.NORMAL, ...extra },
  });
}

Deno.test(
  "gRPC front answers bad requests with a clear status and keeps serving",
  OPTIONS,
  async () => {
    await using env = await startGrpcEnv();
    await env.createTopics(["Known"]);
    const client = rawClient(env.grpcEndpoint);
    try {
      const route = await client.unary<QueryRouteResponse>("queryRoute", {
        topic: { name: "Nope" },
      });
      assert.equal(route.status?.code, Code.TOPIC_NOT_FOUND);

      const known = await client.unary<QueryRouteResponse>("queryRoute", {
        topic: { name: "Known" },
      });
      assert.equal(known.status?.code, Code.OK);
      assert.ok(known.messageQueues.some((q) => q.id === 0), "queue 0 is exposed");

      const unknown = await client.unary<SendMessageResponse>("sendMessage", {
        messages: [message("Nope", "01AA", new Uint8Array([1]))],
      });
      assert.equal(unknown.status?.code, Code.TOPIC_NOT_FOUND);

      const big = await client.unary<SendMessageResponse>("sendMessage", {
        messages: [message("Known", "01AB", new Uint8Array(4 * 1024 * 1024))],
      });
      assert.equal(big.status?.code, Code.MESSAGE_BODY_TOO_LARGE);

      const empty = await client.unary<SendMessageResponse>("sendMessage", { messages: [] });
      assert.equal(empty.status?.code, Code.BAD_REQUEST);

      const noGroup = await client.unary<SendMessageResponse>("sendMessage", {
        messages: [
          message("Known", "01AC", new Uint8Array([1]), { messageType: MessageType.FIFO }),
        ],
      });
      assert.equal(noGroup.status?.code, Code.ILLEGAL_MESSAGE_GROUP);

      const reserved = await client.unary<SendMessageResponse>("sendMessage", {
        messages: [
          create(MessageSchema, {
            topic: { name: "Known" },
            body: new Uint8Array([1]),
            userProperties: { UNIQ_KEY: "forged" },
            systemProperties: { messageId: "01AD", messageType: MessageType.NORMAL },
          }),
        ],
      });
      assert.equal(reserved.status?.code, Code.ILLEGAL_MESSAGE_PROPERTY_KEY);

      const badTx = await client.unary<{ status?: { code: number } }>("endTransaction", {
        topic: { name: "Known" },
        messageId: "01AE",
        transactionId: "not-ours",
        resolution: 1,
        source: 1,
      });
      assert.equal(badTx.status?.code, Code.INVALID_TRANSACTION_ID);

      const ok = await client.unary<SendMessageResponse>("sendMessage", {
        messages: [message("Known", "01AF", new Uint8Array([1]))],
      });
      assert.equal(ok.status?.code, Code.OK, "still serving");
    } finally {
      client.close();
    }
  },
);

Deno.test(
  "gRPC front stores an immediately retried message (same message_id) once",
  OPTIONS,
  async () => {
    await using env = await startGrpcEnv();
    await env.createTopics(["Dedup"], 1);
    const client = rawClient(env.grpcEndpoint);
    try {
      const request = { messages: [message("Dedup", "0123456789ABCDEF", new Uint8Array([7]))] };
      const [a, b] = await Promise.all([
        client.unary<SendMessageResponse>("sendMessage", request),
        client.unary<SendMessageResponse>("sendMessage", request),
      ]);
      const c = await client.unary<SendMessageResponse>("sendMessage", request);
      assert.equal(a.status?.code, Code.OK);
      assert.equal(a.entries[0].offset, b.entries[0].offset);
      assert.equal(a.entries[0].offset, c.entries[0].offset);
      const queues = await env.admin.topicStatus("Dedup");
      assert.equal(queues.reduce((sum, q) => sum + q.maxOffset - q.minOffset, 0), 1);
    } finally {
      client.close();
    }
  },
);

Deno.test(
  "gRPC front refuses a message type the topic does not accept and a forged receipt handle",
  OPTIONS,
  async () => {
    await using env = await startGrpcEnv();
    // A FIFO-only topic (RocketMQ 5 attribute message.type), created over remoting.
    await using conn = await Connection.connect({ endpoint: env.remotingEndpoint });
    const created = await conn.request(
      RequestCode.UPDATE_AND_CREATE_TOPIC,
      createTopicRequestHeader.encode({
        topic: "FifoOnly",
        defaultTopic: "TBW102",
        readQueueNums: 2,
        writeQueueNums: 2,
        perm: 6,
        topicFilterType: "SINGLE_TAG",
        topicSysFlag: 0,
        order: false,
        attributes: "+message.type=FIFO",
      }),
    );
    assert.equal(created.code, 0, created.remark);
    const client = rawClient(env.grpcEndpoint);
    try {
      const route = await client.unary<QueryRouteResponse>("queryRoute", {
        topic: { name: "FifoOnly" },
      });
      assert.deepEqual(route.messageQueues[0].acceptMessageTypes, [MessageType.FIFO]);
      const normal = await client.unary<SendMessageResponse>("sendMessage", {
        messages: [message("FifoOnly", "01TYPE", new Uint8Array([1]))],
      });
      assert.equal(normal.status?.code, Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE);
      const fifo = await client.unary<SendMessageResponse>("sendMessage", {
        messages: [
          message("FifoOnly", "01TYPE2", new Uint8Array([1]), {
            messageType: MessageType.FIFO,
            messageGroup: "g",
          }),
        ],
      });
      assert.equal(fifo.status?.code, Code.OK);

      const ack = await client.unary<AckMessageResponse>("ackMessage", {
        group: { name: "G" },
        topic: { name: "FifoOnly" },
        entries: [{ messageId: "01TYPE2", receiptHandle: "forged" }],
      });
      assert.equal(ack.status?.code, Code.INVALID_RECEIPT_HANDLE);
      const change = await client.unary<ChangeInvisibleDurationResponse>(
        "changeInvisibleDuration",
        {
          group: { name: "G" },
          topic: { name: "FifoOnly" },
          receiptHandle: "0 1 2 3 0 broker-a 0 0 0",
          invisibleDuration: { seconds: 10n, nanos: 0 },
          messageId: "01TYPE2",
        },
      );
      assert.notEqual(change.status?.code, Code.OK);
    } finally {
      client.close();
    }
  },
);
