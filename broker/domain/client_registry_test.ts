import assert from "node:assert/strict";
import {
  type ClientChannel,
  ClientRegistry,
  type ConsumerRegistration,
} from "./client_registry.ts";

const ch = (id: string): ClientChannel => ({ id, remoteAddress: `127.0.0.1:${id}` });

function registration(group: string, subVersion = 1, subString = "*"): ConsumerRegistration {
  return {
    group,
    consumeType: "CONSUME_PASSIVELY",
    messageModel: "CLUSTERING",
    consumeFromWhere: "CONSUME_FROM_LAST_OFFSET",
    subscriptions: [{ topic: "T", subString, expressionType: "TAG", subVersion }],
  };
}

Deno.test("ClientRegistry.registerConsumer() reports a change only when a member joins", () => {
  const registry = new ClientRegistry<ClientChannel>();
  const a = ch("1");
  assert.equal(registry.registerConsumer(registration("G"), "ca", a, 0), true);
  assert.equal(registry.registerConsumer(registration("G"), "ca", a, 10), false);
  assert.equal(registry.registerConsumer(registration("G"), "cb", ch("2"), 10), true);
  assert.deepEqual(registry.consumerIds("G"), ["ca", "cb"]);
  assert.deepEqual(registry.consumerGroups(), ["G"]);
});

Deno.test("ClientRegistry keeps the newest subscription version", () => {
  const registry = new ClientRegistry<ClientChannel>();
  registry.registerConsumer(registration("G", 5, "a"), "c", ch("1"), 0);
  registry.registerConsumer(registration("G", 4, "old"), "c", ch("1"), 0);
  assert.equal(registry.subscription("G", "T")?.subString, "a");
  registry.registerConsumer(registration("G", 6, "b"), "c", ch("1"), 0);
  assert.equal(registry.subscription("G", "T")?.subString, "b");
  assert.equal(registry.subscription("G", "U"), undefined);
});

Deno.test("ClientRegistry.removeChannel() and unregisterConsumer() report the remaining members", () => {
  const registry = new ClientRegistry<ClientChannel>();
  const a = ch("1");
  const b = ch("2");
  registry.registerConsumer(registration("G"), "ca", a, 0);
  registry.registerConsumer(registration("G"), "cb", b, 0);
  registry.registerConsumer(registration("H"), "ca", a, 0);
  registry.registerProducer("PG", "ca", a, 0);
  const changes = registry.removeChannel("1");
  assert.deepEqual(changes.map((c) => [c.group, c.channels.map((x) => x.id)]), [["G", ["2"]], [
    "H",
    [],
  ]]);
  assert.deepEqual(registry.consumerGroups(), ["G"], "an empty group is removed");
  assert.deepEqual(registry.producerGroups(), []);
  assert.equal(registry.unregisterConsumer("G", "nobody"), undefined);
  assert.deepEqual(registry.unregisterConsumer("G", "cb")?.channels, []);
  assert.deepEqual(registry.consumerIds("G"), []);
});

Deno.test("ClientRegistry.expire() drops members silent longer than the timeout", () => {
  const registry = new ClientRegistry<ClientChannel>();
  registry.registerConsumer(registration("G"), "old", ch("1"), 0);
  registry.registerConsumer(registration("G"), "new", ch("2"), 100);
  registry.registerProducer("PG", "old", ch("1"), 0);
  const changes = registry.expire(150, 120);
  assert.deepEqual(changes.map((c) => c.group), ["G"]);
  assert.deepEqual(registry.consumerIds("G"), ["new"]);
  assert.deepEqual(registry.producerGroups(), []);
  assert.deepEqual(registry.expire(150, 120), []);
});
