/**
 * Child process for the kill test: an official SimpleConsumer that receives
 * `count` messages (without acking), prints their ids as one JSON line, and
 * then waits to be killed.
 *
 * Usage: `deno run -A tests/grpc/_receiver_child.ts <endpoints> <group> <topic> <count>`
 *
 * @module
 */

import { SimpleConsumer } from "rocketmq-client-nodejs";

const [endpoints, group, topic, countText] = Deno.args;
const drop = () => {};
const consumer = new SimpleConsumer({
  endpoints,
  namespace: "",
  consumerGroup: group,
  subscriptions: new Map([[topic, "*"]]),
  awaitDuration: 2_000,
  logger: { trace: drop, debug: drop, info: drop, warn: drop, error: drop },
} as never);
await consumer.startup();
const ids: string[] = [];
const deadline = Date.now() + 20_000;
while (ids.length < Number(countText) && Date.now() < deadline) {
  for (const m of await consumer.receive(Number(countText) - ids.length, 3_000)) {
    ids.push((m as { messageId: string }).messageId);
  }
}
console.log(JSON.stringify({ ids }));
await new Promise(() => {}); // until killed
