// Goal: with `--acl-file`, the gRPC front admits what the plain ACL admits: the official client
// signing with its sessionCredentials (`authorization: MQv2-HMAC-SHA1 ...`) sends to a topic it
// may PUB to; a wrong secret, a topic without PUB and an unsigned call are refused with a status,
// and nothing refused is stored. Method: a broker in-process with an ACL file and --grpc-port on;
// the official Producer; a bare gRPC client for the unsigned call.

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { create } from "@bufbuild/protobuf";
import { Producer } from "rocketmq-client-nodejs";
import { createAdmin } from "../../client/admin.ts";
import {
  Code,
  MessageSchema,
  MessageType,
  type SendMessageResponse,
} from "../../proxy/domain/protocol.ts";
import { startTestBroker } from "../_helpers/broker.ts";
import { freePort } from "../_helpers/free_port.ts";
import { rawClient } from "./_raw_client.ts";
import { quietLogger, within } from "./_grpc_env.ts";

const ACL = `
globalWhiteRemoteAddresses: []
accounts:
  - accessKey: grpcProducer
    secretKey: grpc-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms: ["Open=PUB|SUB", "Closed=SUB"]
  - accessKey: adminAK01
    secretKey: admin-secret
    admin: true
`;

function producer(endpoints: string, topic: string, secret: string) {
  return new Producer({
    endpoints,
    namespace: "",
    topics: [topic],
    sessionCredentials: { accessKey: "grpcProducer", accessSecret: secret },
    maxAttempts: 1,
    logger: quietLogger(),
  } as never);
}

Deno.test(
  "gRPC front with an ACL: signed sends with PUB pass; wrong secret, no PUB and unsigned calls are refused",
  {
    sanitizeOps: false,
    sanitizeResources: false,
  },
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "rmq_grpc_acl_" });
    try {
      await Deno.writeTextFile(`${dir}/plain_acl.yml`, ACL);
      await using broker = await startTestBroker({
        aclFile: `${dir}/plain_acl.yml`,
        grpcPort: freePort(),
      });
      {
        await using admin = await createAdmin({
          endpoint: `127.0.0.1:${broker.port}`,
          credentials: { accessKey: "adminAK01", secretKey: "admin-secret" },
        });
        for (const topic of ["Open", "Closed"]) await admin.createTopic(topic);
      }
      const endpoints = `127.0.0.1:${broker.broker.grpcPort}`;
      const stored = (topic: string) =>
        [0, 1, 2, 3].reduce((n, q) => n + broker.broker.store.getMaxOffsetInQueue(topic, q), 0);

      const good = producer(endpoints, "Open", "grpc-secret");
      await within(good.startup(), 15_000, "signed producer startup");
      try {
        const receipt = await good.send({ topic: "Open", body: Buffer.from("allowed") });
        assert.ok(receipt.messageId.length > 0);
        await assert.rejects(good.send({ topic: "Closed", body: Buffer.from("no PUB") }), /PUB/);
      } finally {
        await good.shutdown();
      }
      assert.equal(stored("Open"), 1);
      assert.equal(stored("Closed"), 0);

      const raw = rawClient(endpoints);
      try {
        const unsigned = await raw.unary<SendMessageResponse>("sendMessage", {
          messages: [create(MessageSchema, {
            topic: { name: "Open" },
            body: new Uint8Array([1]),
            systemProperties: { messageId: "01ACL", messageType: MessageType.NORMAL },
          })],
        });
        assert.equal(unsigned.status?.code, Code.FORBIDDEN);
        assert.match(unsigned.status?.message ?? "", /not signed/);
      } finally {
        raw.close();
      }
      assert.equal(stored("Open"), 1);

      // A wrong secret: startup itself is refused (QueryRoute), so the client cannot start.
      const bad = producer(endpoints, "Open", "wrong-secret");
      await assert.rejects(within(bad.startup(), 15_000, "wrong-secret startup"));
      await bad.shutdown().catch(() => {});
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
