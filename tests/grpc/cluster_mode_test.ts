// Goal: cluster mode — the gRPC front as its own process in front of a name server and two
// brokers — serves the official RocketMQ 5 clients: routes list both brokers, sends spread over
// them, and a SimpleConsumer receives and acks every message from both. Method: name server and
// brokers as child processes, the front (ClusterBackend + GrpcFront, what `deno task proxy` runs)
// in-process; the official Producer and SimpleConsumer; bounded waits.

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Producer, SimpleConsumer } from "rocketmq-client-nodejs";
import { ClusterAdmin } from "../../client/cluster_admin.ts";
import { GrpcFront } from "../../proxy/mod.ts";
import { ClusterBackend } from "../../proxy/infra/cluster_backend.ts";
import type { QueryRouteResponse } from "../../proxy/domain/protocol.ts";
import { spawnBroker } from "../_helpers/broker_process.ts";
import { spawnNamesrv } from "../_helpers/namesrv_process.ts";
import { rawClient } from "./_raw_client.ts";
import { quietLogger, within } from "./_grpc_env.ts";

Deno.test(
  "cluster mode: the official clients send to and receive from two brokers through one front",
  {
    sanitizeOps: false,
    sanitizeResources: false,
  },
  async () => {
    await using namesrv = await spawnNamesrv();
    const brokerArgs = (name: string) => [
      "--namesrv-addr",
      namesrv.endpoint,
      "--broker-name",
      name,
      "--cluster-name",
      "C",
      "--flush",
      "async",
      "--commit-log-segment-bytes",
      String(1024 * 1024),
    ];
    await using _a = await spawnBroker({ args: brokerArgs("ba") });
    await using _b = await spawnBroker({ args: brokerArgs("bb") });
    {
      await using admin = new ClusterAdmin({ nameServer: namesrv.endpoint });
      await admin.createTopic("Spread", "C", { readQueueNums: 2, writeQueueNums: 2 });
    }
    await using backend = new ClusterBackend({ namesrvAddr: namesrv.endpoint });
    await using front = await GrpcFront.start({ host: "127.0.0.1", port: 0, backend });
    const endpoints = `127.0.0.1:${front.port}`;

    const raw = rawClient(endpoints);
    try {
      const route = await raw.unary<QueryRouteResponse>("queryRoute", {
        topic: { name: "Spread" },
      });
      assert.deepEqual(
        [...new Set(route.messageQueues.map((q) => q.broker?.name))].sort(),
        ["ba", "bb"],
      );
    } finally {
      raw.close();
    }

    const producer = new Producer({
      endpoints,
      namespace: "",
      topics: ["Spread"],
      logger: quietLogger(),
    } as never);
    await within(producer.startup(), 15_000, "producer startup");
    const sent = new Set<string>();
    try {
      for (let i = 0; i < 8; i++) {
        sent.add((await producer.send({ topic: "Spread", body: Buffer.from(`s${i}`) })).messageId);
      }
    } finally {
      await producer.shutdown();
    }

    const consumer = new SimpleConsumer({
      endpoints,
      namespace: "",
      consumerGroup: "SpreadReaders",
      subscriptions: new Map([["Spread", "*"]]),
      awaitDuration: 1_000,
      logger: quietLogger(),
    } as never);
    await within(consumer.startup(), 15_000, "consumer startup");
    try {
      const got = new Map<string, { receiptHandle: string }>();
      const deadline = Date.now() + 20_000;
      while (got.size < sent.size && Date.now() < deadline) {
        for (const m of await consumer.receive(8, 15_000)) {
          const view = m as unknown as { messageId: string; receiptHandle: string };
          got.set(view.messageId, view);
          await consumer.ack(m);
        }
      }
      assert.deepEqual([...got.keys()].sort(), [...sent].sort());
      const brokers = new Set([...got.values()].map((v) => v.receiptHandle.split(" ")[5]));
      assert.deepEqual([...brokers].sort(), ["ba", "bb"], "messages came from both brokers");
    } finally {
      await consumer.shutdown();
    }
  },
);
