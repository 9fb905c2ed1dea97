// Goal: with --acl-file, the gRPC front admits exactly what the plain ACL admits: the official
// RocketMQ 5 Node.js client (unchanged) signing with `sessionCredentials` publishes to a topic it
// may PUB; a wrong secret, no credentials, or a topic without PUB is refused and nothing is
// stored. Method: a broker in-process with its gRPC port and an ACL file; topics created by an
// admin account over remoting; the official Producer; stored counts read from the broker's store.

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Producer } from "rocketmq-client-nodejs";
import { createAdmin } from "../../mod.ts";
import { startTestBroker } from "../_helpers/broker.ts";
import { freePort } from "../_helpers/free_port.ts";
import { quietLogger, within } from "./_grpc_env.ts";

const OPTIONS = { sanitizeOps: false, sanitizeResources: false };
const WAIT_MS = 15_000;
const ACL = `accounts:
  - accessKey: grpcWriter
    secretKey: writer-secret
    defaultTopicPerm: DENY
    topicPerms: ["GrpcAcl=PUB"]
  - accessKey: aclAdmin1
    secretKey: admin-secret
    admin: true
`;

Deno.test(
  "gRPC ACL: the official Producer signs and publishes; bad or missing credentials and topics without PUB are refused",
  OPTIONS,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "rmq_grpc_acl_" });
    await Deno.writeTextFile(`${dir}/acl.yml`, ACL);
    try {
      await using broker = await startTestBroker({
        grpcPort: freePort(),
        aclFile: `${dir}/acl.yml`,
      });
      {
        await using admin = await createAdmin({
          endpoint: `127.0.0.1:${broker.port}`,
          credentials: { accessKey: "aclAdmin1", secretKey: "admin-secret" },
        });
        await admin.createTopic("GrpcAcl", { readQueueNums: 2, writeQueueNums: 2 });
        await admin.createTopic("GrpcOther", { readQueueNums: 2, writeQueueNums: 2 });
      }
      const endpoints = `127.0.0.1:${broker.broker.grpcPort}`;
      const stored = (topic: string) =>
        [0, 1].reduce((n, q) => n + broker.broker.store.getMaxOffsetInQueue(topic, q), 0);
      const producer = (topics: string[], sessionCredentials?: object) =>
        new Producer(
          { endpoints, namespace: "", topics, logger: quietLogger(), sessionCredentials } as never,
        );
      const send = (p: Producer, topic: string) =>
        within(p.send({ topic, body: Buffer.from("hello") } as never), WAIT_MS, `send to ${topic}`);

      const good = producer(["GrpcAcl"], {
        accessKey: "grpcWriter",
        accessSecret: "writer-secret",
      });
      await within(good.startup(), WAIT_MS, "startup");
      try {
        await send(good, "GrpcAcl");
        assert.equal(stored("GrpcAcl"), 1);
        await assert.rejects(
          send(good, "GrpcOther"),
          /No PUB (or SUB )?permission on topic GrpcOther/,
        );
      } finally {
        await good.shutdown();
      }

      for (
        const credentials of [
          { accessKey: "grpcWriter", accessSecret: "wrong-secret" },
          undefined,
        ]
      ) {
        const bad = producer([], credentials);
        try {
          await within(bad.startup(), WAIT_MS, "startup without topics");
          await assert.rejects(send(bad, "GrpcAcl"), /signature failed|not signed/);
        } finally {
          await bad.shutdown();
        }
      }
      assert.equal(stored("GrpcAcl"), 1);
      assert.equal(stored("GrpcOther"), 0);
      const denied = broker.broker.operations.acl!.failures.recent();
      assert.ok(
        denied.some((f) =>
          f.remark.startsWith("SendMessage:") || f.remark.startsWith("QueryRoute:")
        ),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
