// Goal: cluster mode — the gRPC front as its own process in front of a name server and two
// brokers — serves the official RocketMQ 5 clients: routes list both brokers, sends spread over
// them, a SimpleConsumer receives and acks every message from both, and transactions commit,
// roll back, and are checked by the broker through the front. Method: name server and brokers as
// child processes, the front (ClusterBackend + GrpcFront, what `deno task proxy` runs)
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
import { until } from "../_helpers/consume.ts";
import { rawClient } from "./_raw_client.ts";
import { quietLogger, within } from "./_grpc_env.ts";

/** Receive and ack until `n` messages came (bounded): id → body, and the receipt handles. */
async function drain(
  consumer: SimpleConsumer,
  n: number,
): Promise<{ got: Map<string, string>; handles: string[] }> {
  const got = new Map<string, string>();
  const handles: string[] = [];
  const deadline = Date.now() + 20_000;
  while (got.size < n && Date.now() < deadline) {
    for (const m of await consumer.receive(8, 15_000)) {
      const view = m as unknown as { messageId: string; body: Buffer; receiptHandle: string };
      got.set(view.messageId, view.body.toString());
      handles.push(view.receiptHandle);
      await consumer.ack(m);
    }
  }
  return { got, handles };
}

function simpleConsumer(endpoints: string, group: string, topic: string): SimpleConsumer {
  return new SimpleConsumer({
    endpoints,
    namespace: "",
    consumerGroup: group,
    subscriptions: new Map([[topic, "*"]]),
    awaitDuration: 1_000,
    logger: quietLogger(),
  } as never);
}

Deno.test(
  "cluster mode: the official clients send, receive and run transactions across two brokers through one front",
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
      "--transaction-timeout-ms",
      "300",
      "--transaction-check-interval-ms",
      "300",
    ];
    await using _a = await spawnBroker({ args: brokerArgs("ba") });
    await using _b = await spawnBroker({ args: brokerArgs("bb") });
    {
      await using admin = new ClusterAdmin({ nameServer: namesrv.endpoint });
      await admin.createTopic("Spread", "C", { readQueueNums: 2, writeQueueNums: 2 });
      await admin.createTopic("SpreadTx", "C", { readQueueNums: 1, writeQueueNums: 1 });
    }
    await using backend = new ClusterBackend({ namesrvAddr: namesrv.endpoint });
    await using front = await GrpcFront.start({ host: "127.0.0.1", port: 0, backend });
    backend.onTransactionCheck((group, check) => front.checkTransaction(group, check));
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

    const checked: string[] = [];
    const producer = new Producer({
      endpoints,
      namespace: "",
      topics: ["Spread", "SpreadTx"],
      logger: quietLogger(),
      checker: {
        check(message: { messageId: string }) {
          checked.push(message.messageId);
          return Promise.resolve(1); // TransactionResolution.COMMIT
        },
      },
    } as never);
    await within(producer.startup(), 15_000, "producer startup");
    const sent = new Set<string>();
    const committed = new Map<string, string>();
    try {
      for (let i = 0; i < 8; i++) {
        sent.add((await producer.send({ topic: "Spread", body: Buffer.from(`s${i}`) })).messageId);
      }
      // Transactions: one committed, one rolled back, one left open for a broker's check.
      for (const [text, end] of [["commit", "commit"], ["rollback", "rollback"], ["open", ""]]) {
        const tx = producer.beginTransaction();
        const receipt = await producer.send({ topic: "SpreadTx", body: Buffer.from(text) }, tx);
        if (end === "commit") await tx.commit();
        if (end === "rollback") await tx.rollback();
        if (end !== "rollback") committed.set(receipt.messageId, text);
      }
      await until(() => checked.length > 0, "the open transaction was checked", 15_000);
    } finally {
      await producer.shutdown();
    }

    const consumer = simpleConsumer(endpoints, "SpreadReaders", "Spread");
    await within(consumer.startup(), 15_000, "consumer startup");
    try {
      const { got, handles } = await drain(consumer, sent.size);
      assert.deepEqual([...got.keys()].sort(), [...sent].sort());
      const brokers = new Set(handles.map((h) => h.split(" ")[5]));
      assert.deepEqual([...brokers].sort(), ["ba", "bb"], "messages came from both brokers");
    } finally {
      await consumer.shutdown();
    }

    const txConsumer = simpleConsumer(endpoints, "SpreadTxReaders", "SpreadTx");
    await within(txConsumer.startup(), 15_000, "consumer startup");
    try {
      const { got } = await drain(txConsumer, committed.size);
      assert.deepEqual(
        got,
        committed,
        "the committed and the checked, not the rolled back",
      );
    } finally {
      await txConsumer.shutdown();
    }
  },
);
