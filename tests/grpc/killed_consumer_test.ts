// Goal: a consumer killed in the middle of its work loses nothing: the messages it received and
// never acked come back to the group after their invisible time. Method: an official
// SimpleConsumer in a child process receives 3 messages and is killed with SIGKILL; a second
// consumer of the group then receives the same 3 messages, on delivery attempt 2.

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Producer, SimpleConsumer } from "rocketmq-client-nodejs";
import { quietLogger, startGrpcEnv, within } from "./_grpc_env.ts";

Deno.test(
  "a consumer killed mid-receive leaves its messages to come back after the invisible time",
  {
    sanitizeOps: false,
    sanitizeResources: false,
  },
  async () => {
    await using env = await startGrpcEnv({ timerPrecisionMs: 50 });
    await env.createTopics(["GrpcKill"], 2);
    const producer = new Producer({
      endpoints: env.grpcEndpoint,
      namespace: "",
      topics: ["GrpcKill"],
      logger: quietLogger(),
    } as never);
    await within(producer.startup(), 15_000, "producer startup");
    const sent: string[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        sent.push(
          (await producer.send({ topic: "GrpcKill", body: Buffer.from(`k${i}`) })).messageId,
        );
      }
    } finally {
      await producer.shutdown();
    }

    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./_receiver_child.ts", import.meta.url).pathname,
        env.grpcEndpoint,
        "GrpcKillGroup",
        "GrpcKill",
        "3",
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    let received: string[];
    try {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      const read = (async () => {
        while (!text.includes("\n")) {
          const { value, done } = await reader.read();
          if (done) break;
          text += value;
        }
      })();
      await within(read, 30_000, "child receive");
      received = JSON.parse(text.split("\n")[0]).ids;
      reader.releaseLock();
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    }
    assert.deepEqual([...received].sort(), [...sent].sort());

    const consumer = new SimpleConsumer({
      endpoints: env.grpcEndpoint,
      namespace: "",
      consumerGroup: "GrpcKillGroup",
      subscriptions: new Map([["GrpcKill", "*"]]),
      awaitDuration: 2_000,
      logger: quietLogger(),
    } as never);
    await within(consumer.startup(), 15_000, "consumer startup");
    try {
      const back: { messageId: string; deliveryAttempt?: number }[] = [];
      const deadline = Date.now() + 20_000;
      while (back.length < 3 && Date.now() < deadline) {
        back.push(...(await consumer.receive(3, 10_000)) as never[]);
      }
      assert.deepEqual(back.map((m) => m.messageId).sort(), [...sent].sort());
      assert.ok(back.every((m) => m.deliveryAttempt === 2));
      for (const m of back) await consumer.ack(m as never);
    } finally {
      await consumer.shutdown();
    }
  },
);
