import assert from "node:assert/strict";
import { type ConfigDocuments, TopicTable } from "./topic_table.ts";
import {
  checkGroupName,
  checkTopicName,
  checkTopicNotReserved,
  createTopicConfig,
} from "./topic_config.ts";

class MemoryDocuments implements ConfigDocuments {
  readonly docs = new Map<string, string>();
  writes = 0;
  loadConfig(name: string): Promise<string | undefined> {
    return Promise.resolve(this.docs.get(name));
  }
  persistConfig(name: string, text: string): Promise<void> {
    this.writes++;
    this.docs.set(name, text);
    return Promise.resolve();
  }
}

Deno.test("TopicTable persists every change and loads it back", async () => {
  const docs = new MemoryDocuments();
  const table = new TopicTable(docs, () => 1000);
  await table.load();
  await table.put(createTopicConfig("A", { readQueueNums: 2, writeQueueNums: 3 }));
  await table.put(createTopicConfig("B"));
  assert.equal(await table.delete("B"), true);
  assert.equal(await table.delete("B"), false);
  assert.equal(docs.writes, 3);
  assert.equal(table.dataVersion.counter, 3);
  const json = JSON.parse(docs.docs.get("topics")!);
  assert.deepEqual(Object.keys(json.topicConfigTable), ["A"]);

  const reloaded = new TopicTable(docs, () => 2000);
  await reloaded.load();
  assert.deepEqual(reloaded.get("A"), table.get("A"));
  assert.equal(reloaded.dataVersion.counter, 3);
});

Deno.test("TopicTable keeps the auto-create template in memory only", async () => {
  const docs = new MemoryDocuments();
  const table = new TopicTable(docs, () => 0);
  await table.load(8);
  assert.equal(table.get("TBW102")?.writeQueueNums, 8);
  await table.put(createTopicConfig("A"));
  assert.equal(JSON.parse(docs.docs.get("topics")!).topicConfigTable.TBW102, undefined);
  assert.ok(JSON.parse(table.toJson(true)).topicConfigTable.TBW102);
});

Deno.test("TopicTable.load() rejects a document that is not a topic table", async () => {
  const docs = new MemoryDocuments();
  docs.docs.set("topics", "{oops");
  await assert.rejects(() => new TopicTable(docs, () => 0).load(), TypeError);
  docs.docs.set("topics", "{}");
  await assert.rejects(() => new TopicTable(docs, () => 0).load(), /topicConfigTable is missing/);
});

Deno.test("checkTopicName(), checkTopicNotReserved() and checkGroupName() apply RocketMQ's rules", () => {
  assert.equal(checkTopicName("Ok_Topic-1|%"), undefined);
  assert.match(checkTopicName("")!, /empty/);
  assert.match(checkTopicName("a".repeat(128))!, /128 characters, limit is 127/);
  assert.equal(checkTopicName("%RETRY%" + "g".repeat(200)), undefined);
  assert.match(checkTopicName("a b")!, /outside/);
  assert.match(checkTopicNotReserved("TBW102")!, /reserved/);
  assert.match(checkTopicNotReserved("rmq_sys_x")!, /prefix/);
  assert.equal(checkTopicNotReserved("normal"), undefined);
  assert.match(checkGroupName("g".repeat(121))!, /limit is 120/);
  assert.equal(checkGroupName("CID_group"), undefined);
});
