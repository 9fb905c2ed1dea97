// Goal: the lite-pull RPCs (PullMessage, QueryOffset, UpdateOffset, GetOffset) read queues by
// offset, hold an empty pull until a message arrives, and keep a group's committed offset.
// Method: a bare grpc client built from the generated types against a broker in-process.

import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import {
  Code,
  type GetOffsetResponse,
  MessageSchema,
  MessageType,
  type PullMessageResponse,
  QueryOffsetPolicy,
  type QueryOffsetResponse,
  type SendMessageResponse,
} from "../../proxy/domain/protocol.ts";
import { rawClient } from "./_raw_client.ts";
import { startGrpcEnv } from "./_grpc_env.ts";

const OPTIONS = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "lite pull: offsets, reads by offset, a held pull woken by a send, committed offsets",
  OPTIONS,
  async () => {
    await using env = await startGrpcEnv();
    await env.createTopics(["Lite"], 1);
    const client = rawClient(env.grpcEndpoint);
    const send = (i: number) =>
      client.unary<SendMessageResponse>("sendMessage", {
        messages: [create(MessageSchema, {
          topic: { name: "Lite" },
          body: new TextEncoder().encode(`m${i}`),
          systemProperties: { messageId: `01LITE${i}`, tag: "T", messageType: MessageType.NORMAL },
        })],
      });
    const queue = { topic: { name: "Lite" }, id: 0 };
    try {
      for (let i = 0; i < 3; i++) assert.equal((await send(i)).status?.code, Code.OK);
      const begin = await client.unary<QueryOffsetResponse>("queryOffset", {
        messageQueue: queue,
        queryOffsetPolicy: QueryOffsetPolicy.BEGINNING,
      });
      const end = await client.unary<QueryOffsetResponse>("queryOffset", {
        messageQueue: queue,
        queryOffsetPolicy: QueryOffsetPolicy.END,
      });
      assert.equal(begin.offset, 0n);
      assert.equal(end.offset, 3n);

      const pulled = await client.stream<PullMessageResponse>("pullMessage", {
        group: { name: "LiteGroup" },
        messageQueue: queue,
        offset: 0n,
        batchSize: 10,
        filterExpression: { type: 1, expression: "T" },
      });
      assert.equal(pulled[0].content.case, "status");
      assert.equal(pulled[0].content.value?.code, Code.OK);
      const bodies = pulled.filter((r) => r.content.case === "message").map((r) =>
        new TextDecoder().decode(r.content.case === "message" ? r.content.value.body : undefined)
      );
      assert.deepEqual(bodies, ["m0", "m1", "m2"]);
      assert.deepEqual(pulled.at(-1)?.content, { case: "nextOffset", value: 3n });

      // An empty pull is held until the next send.
      const held = client.stream<PullMessageResponse>("pullMessage", {
        group: { name: "LiteGroup" },
        messageQueue: queue,
        offset: 3n,
        batchSize: 10,
        longPollingTimeout: { seconds: 10n, nanos: 0 },
      });
      await send(3);
      const woken = await held;
      assert.equal(
        woken[0].content.value && (woken[0].content.value as { code: number }).code,
        Code.OK,
      );
      assert.equal(woken.filter((r) => r.content.case === "message").length, 1);

      assert.equal(
        (await client.unary<GetOffsetResponse>("getOffset", {
          group: { name: "LiteGroup" },
          messageQueue: queue,
        })).status?.code,
        Code.OFFSET_NOT_FOUND,
      );
      await client.unary("updateOffset", {
        group: { name: "LiteGroup" },
        messageQueue: queue,
        offset: 4n,
      });
      const got = await client.unary<GetOffsetResponse>("getOffset", {
        group: { name: "LiteGroup" },
        messageQueue: queue,
      });
      assert.equal(got.offset, 4n);

      const badQueue = await client.stream<PullMessageResponse>("pullMessage", {
        group: { name: "LiteGroup" },
        messageQueue: { topic: { name: "Lite" }, id: 9 },
        offset: 0n,
        batchSize: 1,
      });
      assert.equal((badQueue[0].content.value as { code: number }).code, Code.BAD_REQUEST);
    } finally {
      client.close();
    }
  },
);
