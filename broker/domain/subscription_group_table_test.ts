import assert from "node:assert/strict";
import {
  parseSubscriptionGroupConfig,
  SubscriptionGroupTable,
} from "./subscription_group_table.ts";

function memoryDocuments() {
  const docs = new Map<string, string>();
  return {
    docs,
    loadConfig: (name: string) => Promise.resolve(docs.get(name)),
    persistConfig: (name: string, text: string) => {
      docs.set(name, text);
      return Promise.resolve();
    },
  };
}

Deno.test("SubscriptionGroupTable persists groups and loads them again", async () => {
  const documents = memoryDocuments();
  const table = new SubscriptionGroupTable(documents, () => 1000);
  const parsed = parseSubscriptionGroupConfig({ groupName: "g1", retryMaxTimes: 3 });
  assert.ok(parsed.ok);
  await table.put(parsed.config);
  const reloaded = new SubscriptionGroupTable(documents, () => 2000);
  await reloaded.load();
  assert.equal(reloaded.get("g1")?.retryMaxTimes, 3);
  assert.equal(reloaded.get("g1")?.consumeEnable, true);
  assert.match(documents.docs.get("subscriptionGroups")!, /"subscriptionGroupTable"/);
  assert.equal(await reloaded.delete("g1"), true);
  assert.equal(await reloaded.delete("g1"), false);
});

Deno.test("parseSubscriptionGroupConfig() names the first bad field", () => {
  const name = parseSubscriptionGroupConfig({ groupName: "bad name" });
  assert.ok(!name.ok && /groupName/.test(name.error));
  const retry = parseSubscriptionGroupConfig({ groupName: "g", retryMaxTimes: -5 });
  assert.ok(!retry.ok && /retryMaxTimes is -5/.test(retry.error));
});
