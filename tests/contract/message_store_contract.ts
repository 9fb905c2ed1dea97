/**
 * The MessageStore contract: one suite of behaviours every implementation of
 * the port must show. Each implementation registers it with its factory:
 *
 * ```ts
 * messageStoreContract("LocalMessageStore", (dir, o) => new LocalMessageStore(defaultStoreConfig(dir, o)));
 * ```
 *
 * Every test opens a fresh store in a fresh temp dir, with small segments so
 * rolls happen, and closes it in `finally` (`await using`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { decodeRecord, MessageSysFlag } from "../../client/protocol/message_record.ts";
import { encodeProperties, tagsHashCode } from "../../client/protocol/properties.ts";
import type { MessageStore, MessageStoreConfig, MessageToPut } from "../../store/message_store.ts";
import { makeTempDir } from "../_helpers/temp_dir.ts";

/** Builds a store over a data dir; `overrides` are applied over the contract's small-segment config. */
export type MessageStoreFactory = (
  dataDir: string,
  overrides?: Partial<MessageStoreConfig>,
) => MessageStore;

/** Small sizes so tests roll segments. */
const SMALL: Partial<MessageStoreConfig> = {
  commitLogSegmentBytes: 64 * 1024,
  consumeQueueSegmentUnits: 32,
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A message for tests.
 *
 * @param topic Topic.
 * @param queueId Queue id.
 * @param body Body text.
 * @param properties Property map.
 * @param sysFlag Sysflag.
 * @returns The message.
 */
export function testMessage(
  topic: string,
  queueId: number,
  body: string,
  properties: Record<string, string> = {},
  sysFlag = 0,
): MessageToPut {
  return {
    topic,
    queueId,
    flag: 0,
    body: encoder.encode(body),
    properties: encodeProperties(properties),
    sysFlag,
    bornTimestamp: 1_700_000_000_000,
    bornHost: { ip: new Uint8Array([10, 0, 0, 1]), port: 40000 },
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  };
}

type Opened = MessageStore & AsyncDisposable;

async function openStore(
  factory: MessageStoreFactory,
  dir: string,
  overrides: Partial<MessageStoreConfig> = {},
): Promise<Opened> {
  const store = factory(dir, { ...SMALL, ...overrides });
  await store.open();
  return store;
}

function bodyOf(record: Uint8Array): string {
  return decoder.decode(decodeRecord(record).body);
}

/**
 * Register the contract's tests for one implementation.
 *
 * @param name Implementation name, used in test names.
 * @param factory Builds an unopened store.
 */
export function messageStoreContract(name: string, factory: MessageStoreFactory): void {
  const test = (title: string, fn: (dir: string) => Promise<void>) =>
    Deno.test(`${name}: ${title}`, async () => {
      await using dir = await makeTempDir("rmq_contract_");
      await fn(dir.path);
    });

  test("putMessage() then getMessage() returns the message with its offsets", async (dir) => {
    await using store = await openStore(factory, dir);
    const put = await store.putMessage(
      testMessage("TopicA", 1, "hello", { TAGS: "tagA", KEYS: "k1" }),
    );
    assert.equal(put.status, "PUT_OK");
    if (put.status !== "PUT_OK") return;
    assert.equal(put.queueOffset, 0);
    assert.deepEqual(put.commitLogOffsets, [put.commitLogOffset]);
    const got = await store.getMessage({
      group: "G",
      topic: "TopicA",
      queueId: 1,
      queueOffset: 0,
      maxCount: 32,
    });
    assert.equal(got.status, "FOUND");
    assert.equal(got.messages.length, 1);
    assert.equal(got.nextBeginOffset, 1);
    assert.equal(got.minOffset, 0);
    assert.equal(got.maxOffset, 1);
    const message = got.messages[0];
    assert.equal(message.queueOffset, 0);
    assert.equal(message.commitLogOffset, put.commitLogOffset);
    assert.equal(message.tagsCode, tagsHashCode("tagA"));
    const record = decodeRecord(message.record);
    assert.equal(record.topic, "TopicA");
    assert.equal(record.queueId, 1);
    assert.equal(record.queueOffset, 0);
    assert.equal(record.commitLogOffset, put.commitLogOffset);
    assert.equal(record.storeTimestamp, put.storeTimestamp);
    assert.equal(decoder.decode(record.body), "hello");
    assert.equal(record.properties, encodeProperties({ TAGS: "tagA", KEYS: "k1" }));
  });

  test("putMessage() assigns consecutive QueueOffsets per queue", async (dir) => {
    await using store = await openStore(factory, dir);
    const offsets: number[] = [];
    for (let i = 0; i < 5; i++) {
      for (const queueId of [0, 1]) {
        const put = await store.putMessage(testMessage("TopicA", queueId, `m${i}`));
        assert.equal(put.status, "PUT_OK");
        if (put.status === "PUT_OK" && queueId === 1) offsets.push(put.queueOffset);
      }
    }
    assert.deepEqual(offsets, [0, 1, 2, 3, 4]);
    assert.equal(store.getMaxOffsetInQueue("TopicA", 0), 5);
    assert.equal(store.getMaxOffsetInQueue("TopicA", 1), 5);
    assert.equal(store.getMinOffsetInQueue("TopicA", 1), 0);
    assert.equal(store.getMaxOffsetInQueue("Unknown", 0), 0);
  });

  test("putMessages() lands a batch contiguously with consecutive QueueOffsets", async (dir) => {
    await using store = await openStore(factory, dir);
    await store.putMessage(testMessage("TopicB", 0, "first"));
    const batch = [0, 1, 2, 3].map((i) => testMessage("TopicB", 0, `batch-${i}`));
    const put = await store.putMessages(batch);
    assert.equal(put.status, "PUT_OK");
    if (put.status !== "PUT_OK") return;
    assert.equal(put.queueOffset, 1);
    assert.equal(put.commitLogOffsets.length, 4);
    let expected = put.commitLogOffset;
    for (const [i, offset] of put.commitLogOffsets.entries()) {
      assert.equal(offset, expected);
      const looked = await store.lookMessageByOffset(offset);
      assert.ok(looked);
      assert.equal(looked.queueOffset, 1 + i);
      expected += looked.record.length;
    }
    assert.equal(put.wroteBytes, expected - put.commitLogOffset);
    const got = await store.getMessage({
      group: "G",
      topic: "TopicB",
      queueId: 0,
      queueOffset: 1,
      maxCount: 10,
    });
    assert.deepEqual(got.messages.map((m) => bodyOf(m.record)), [
      "batch-0",
      "batch-1",
      "batch-2",
      "batch-3",
    ]);
  });

  test("getMessage() answers NO_MESSAGE_IN_QUEUE, OFFSET_OVERFLOW_ONE and OFFSET_OVERFLOW_BADLY", async (dir) => {
    await using store = await openStore(factory, dir);
    const none = await store.getMessage({
      group: "G",
      topic: "Nope",
      queueId: 0,
      queueOffset: 3,
      maxCount: 1,
    });
    assert.equal(none.status, "NO_MESSAGE_IN_QUEUE");
    assert.equal(none.nextBeginOffset, 0);
    for (let i = 0; i < 3; i++) await store.putMessage(testMessage("TopicC", 0, `m${i}`));
    const one = await store.getMessage({
      group: "G",
      topic: "TopicC",
      queueId: 0,
      queueOffset: 3,
      maxCount: 1,
    });
    assert.equal(one.status, "OFFSET_OVERFLOW_ONE");
    assert.equal(one.nextBeginOffset, 3);
    assert.equal(one.maxOffset, 3);
    const badly = await store.getMessage({
      group: "G",
      topic: "TopicC",
      queueId: 0,
      queueOffset: 9,
      maxCount: 1,
    });
    assert.equal(badly.status, "OFFSET_OVERFLOW_BADLY");
    assert.equal(badly.nextBeginOffset, 3);
  });

  test("getMessage() stops at maxCount and at maxBytes (but returns at least one)", async (dir) => {
    await using store = await openStore(factory, dir);
    for (let i = 0; i < 10; i++) await store.putMessage(testMessage("TopicD", 0, "x".repeat(100)));
    const counted = await store.getMessage({
      group: "G",
      topic: "TopicD",
      queueId: 0,
      queueOffset: 2,
      maxCount: 3,
    });
    assert.equal(counted.messages.length, 3);
    assert.deepEqual(counted.messages.map((m) => m.queueOffset), [2, 3, 4]);
    assert.equal(counted.nextBeginOffset, 5);
    const size = counted.messages[0].record.length;
    const bytes = await store.getMessage({
      group: "G",
      topic: "TopicD",
      queueId: 0,
      queueOffset: 0,
      maxCount: 10,
      maxBytes: size * 2 + 1,
    });
    assert.equal(bytes.messages.length, 2);
    const tiny = await store.getMessage({
      group: "G",
      topic: "TopicD",
      queueId: 0,
      queueOffset: 0,
      maxCount: 10,
      maxBytes: 1,
    });
    assert.equal(tiny.messages.length, 1);
  });

  test("getMessage() filters by tag code and by record, NO_MATCHED_MESSAGE when all are filtered", async (dir) => {
    await using store = await openStore(factory, dir);
    for (let i = 0; i < 6; i++) {
      await store.putMessage(
        testMessage("TopicE", 0, `m${i}`, { TAGS: i % 2 === 0 ? "even" : "odd" }),
      );
    }
    const even = tagsHashCode("even");
    const got = await store.getMessage({
      group: "G",
      topic: "TopicE",
      queueId: 0,
      queueOffset: 0,
      maxCount: 32,
      filter: { matchesTagsCode: (code) => code === even },
    });
    assert.equal(got.status, "FOUND");
    assert.deepEqual(got.messages.map((m) => bodyOf(m.record)), ["m0", "m2", "m4"]);
    assert.equal(got.nextBeginOffset, 6);
    const byRecord = await store.getMessage({
      group: "G",
      topic: "TopicE",
      queueId: 0,
      queueOffset: 0,
      maxCount: 32,
      filter: { matchesTagsCode: () => true, matchesMessage: (r) => bodyOf(r) === "m3" },
    });
    assert.deepEqual(byRecord.messages.map((m) => bodyOf(m.record)), ["m3"]);
    const nothing = await store.getMessage({
      group: "G",
      topic: "TopicE",
      queueId: 0,
      queueOffset: 0,
      maxCount: 32,
      filter: { matchesTagsCode: () => false },
    });
    assert.equal(nothing.status, "NO_MATCHED_MESSAGE");
    assert.equal(nothing.messages.length, 0);
    assert.equal(nothing.nextBeginOffset, 6);
  });

  test("messages stay readable across CommitLog and ConsumeQueue segment rolls", async (dir) => {
    await using store = await openStore(factory, dir);
    const body = "r".repeat(3000);
    const count = 100; // ~310 KB over 64 KiB segments; 100 units over 32-unit CQ segments
    for (let i = 0; i < count; i++) {
      const put = await store.putMessage(testMessage("TopicR", 0, `${i}:${body}`));
      assert.equal(put.status, "PUT_OK");
    }
    const seen: number[] = [];
    let offset = 0;
    while (offset < count) {
      const got = await store.getMessage({
        group: "G",
        topic: "TopicR",
        queueId: 0,
        queueOffset: offset,
        maxCount: 7,
      });
      assert.equal(got.status, "FOUND");
      for (const m of got.messages) seen.push(Number(bodyOf(m.record).split(":")[0]));
      offset = got.nextBeginOffset;
    }
    assert.deepEqual(seen, Array.from({ length: count }, (_, i) => i));
    assert.ok(store.stats().commitLogMaxOffset > 4 * 64 * 1024);
  });

  test("getOffsetInQueueByTime() finds the first message stored at or after a time", async (dir) => {
    await using store = await openStore(factory, dir);
    const stamps: number[] = [];
    for (let i = 0; i < 8; i++) {
      const put = await store.putMessage(testMessage("TopicT", 0, `m${i}`));
      assert.equal(put.status, "PUT_OK");
      if (put.status === "PUT_OK") stamps.push(put.storeTimestamp);
    }
    assert.equal(await store.getOffsetInQueueByTime("TopicT", 0, 0), 0);
    assert.equal(await store.getOffsetInQueueByTime("TopicT", 0, stamps[7] + 1), 8);
    for (let i = 0; i < 8; i++) {
      const found = await store.getOffsetInQueueByTime("TopicT", 0, stamps[i]);
      assert.equal(found, stamps.indexOf(stamps[i]));
    }
    assert.equal(await store.getOffsetInQueueByTime("Nope", 0, 0), 0);
  });

  test("lookMessageByOffset() reads a record by CommitLog offset, undefined elsewhere", async (dir) => {
    await using store = await openStore(factory, dir);
    const put = await store.putMessage(testMessage("TopicL", 2, "look"));
    assert.equal(put.status, "PUT_OK");
    if (put.status !== "PUT_OK") return;
    const found = await store.lookMessageByOffset(put.commitLogOffset);
    assert.ok(found);
    assert.equal(bodyOf(found.record), "look");
    assert.equal(found.queueOffset, 0);
    assert.equal(await store.lookMessageByOffset(put.commitLogOffset + 1), undefined);
    assert.equal(await store.lookMessageByOffset(put.commitLogOffset + 10_000_000), undefined);
  });

  test("prepared transaction messages are stored but not queued", async (dir) => {
    await using store = await openStore(factory, dir);
    const half = await store.putMessage(
      testMessage("TopicX", 0, "half", {}, MessageSysFlag.TRANSACTION_PREPARED_TYPE),
    );
    assert.equal(half.status, "PUT_OK");
    if (half.status !== "PUT_OK") return;
    assert.equal(half.queueOffset, 0);
    assert.equal(store.getMaxOffsetInQueue("TopicX", 0), 0);
    assert.ok(await store.lookMessageByOffset(half.commitLogOffset));
    const normal = await store.putMessage(testMessage("TopicX", 0, "normal"));
    assert.equal(normal.status === "PUT_OK" && normal.queueOffset, 0);
    assert.equal(store.getMaxOffsetInQueue("TopicX", 0), 1);
  });

  test("onArrival() reports the queue's new max offset until unsubscribed", async (dir) => {
    await using store = await openStore(factory, dir);
    const arrivals: { topic: string; queueId: number; maxOffset: number; tagsCode: number }[] = [];
    const { promise, resolve } = Promise.withResolvers<void>();
    const off = store.onArrival((a) => {
      arrivals.push({ ...a });
      if (arrivals.length === 2) resolve();
    });
    await store.putMessage(testMessage("TopicO", 3, "a", { TAGS: "t" }));
    await store.putMessage(testMessage("TopicO", 3, "b", { TAGS: "t" }));
    await bounded(promise, 5000, "two arrivals");
    assert.deepEqual(arrivals[1], {
      topic: "TopicO",
      queueId: 3,
      maxOffset: 2,
      tagsCode: tagsHashCode("t"),
    });
    off();
    await store.putMessage(testMessage("TopicO", 3, "c"));
    await store.flush();
    assert.equal(arrivals.length, 2);
  });

  test("consumer offsets persist across close and reopen", async (dir) => {
    {
      await using store = await openStore(factory, dir);
      store.commitConsumerOffset("G1", "TopicA", 0, 5);
      store.commitConsumerOffset("G1", "TopicA", 1, 7);
      store.commitConsumerOffset("G2", "TopicB", 0, 1);
      assert.equal(store.queryConsumerOffset("G1", "TopicA", 1), 7);
      assert.equal(store.queryConsumerOffset("G1", "TopicA", 9), undefined);
    }
    await using store = await openStore(factory, dir);
    assert.equal(store.queryConsumerOffset("G1", "TopicA", 0), 5);
    assert.equal(store.queryConsumerOffset("G2", "TopicB", 0), 1);
    assert.equal(store.listConsumerOffsets().length, 3);
    store.deleteConsumerOffsets("G1", "TopicA");
    assert.equal(store.queryConsumerOffset("G1", "TopicA", 0), undefined);
    assert.equal(store.listConsumerOffsets().length, 1);
    store.deleteConsumerOffsets("G2");
    assert.equal(store.listConsumerOffsets().length, 0);
    const doc = await store.loadConfig("consumerOffset");
    assert.ok(doc === undefined || JSON.parse(doc).offsetTable !== undefined);
  });

  test("persistConfig() replaces a document atomically and loadConfig() falls back to .bak", async (dir) => {
    await using store = await openStore(factory, dir);
    assert.equal(await store.loadConfig("topics"), undefined);
    await store.persistConfig("topics", JSON.stringify({ v: 1 }));
    await store.persistConfig("topics", JSON.stringify({ v: 2 }));
    assert.deepEqual(JSON.parse((await store.loadConfig("topics"))!), { v: 2 });
    await Deno.writeTextFile(`${dir}/config/topics.json`, "{ torn");
    assert.deepEqual(JSON.parse((await store.loadConfig("topics"))!), { v: 1 });
    await Deno.remove(`${dir}/config/topics.json`);
    assert.deepEqual(JSON.parse((await store.loadConfig("topics"))!), { v: 1 });
  });

  test("deleteTopic() removes the topic's queues and offsets; new puts start at 0", async (dir) => {
    await using store = await openStore(factory, dir);
    for (let i = 0; i < 3; i++) await store.putMessage(testMessage("TopicZ", 0, `m${i}`));
    await store.putMessage(testMessage("Keep", 0, "k"));
    store.commitConsumerOffset("G", "TopicZ", 0, 2);
    assert.deepEqual(
      store.listQueues().map((q) => `${q.topic}/${q.queueId}`).sort(),
      ["Keep/0", "TopicZ/0"],
    );
    await store.deleteTopic("TopicZ");
    assert.equal(store.getMaxOffsetInQueue("TopicZ", 0), 0);
    assert.equal(store.queryConsumerOffset("G", "TopicZ", 0), undefined);
    assert.deepEqual(store.listQueues().map((q) => q.topic), ["Keep"]);
    const again = await store.putMessage(testMessage("TopicZ", 0, "again"));
    assert.equal(again.status === "PUT_OK" && again.queueOffset, 0);
    const got = await store.getMessage({
      group: "G",
      topic: "TopicZ",
      queueId: 0,
      queueOffset: 0,
      maxCount: 5,
    });
    assert.deepEqual(got.messages.map((m) => bodyOf(m.record)), ["again"]);
  });

  test("close() then reopen keeps every message and continues QueueOffsets", async (dir) => {
    const commitLogOffsets: number[] = [];
    {
      await using store = await openStore(factory, dir);
      for (let i = 0; i < 40; i++) {
        const put = await store.putMessage(
          testMessage("TopicP", i % 2, `m${i}:${"p".repeat(2000)}`),
        );
        assert.equal(put.status, "PUT_OK");
        if (put.status === "PUT_OK") commitLogOffsets.push(put.commitLogOffset);
      }
    }
    await using store = await openStore(factory, dir);
    assert.equal(store.getMaxOffsetInQueue("TopicP", 0), 20);
    assert.equal(store.getMaxOffsetInQueue("TopicP", 1), 20);
    const got = await store.getMessage({
      group: "G",
      topic: "TopicP",
      queueId: 1,
      queueOffset: 0,
      maxCount: 32,
    });
    assert.equal(got.messages.length, 20);
    assert.deepEqual(
      got.messages.map((m) => m.commitLogOffset),
      commitLogOffsets.filter((_, i) => i % 2 === 1),
    );
    const next = await store.putMessage(testMessage("TopicP", 1, "after"));
    assert.equal(next.status === "PUT_OK" && next.queueOffset, 20);
    assert.ok(next.status === "PUT_OK" && next.commitLogOffset > commitLogOffsets[39]);
  });

  test("limits answer MESSAGE_ILLEGAL or PROPERTIES_SIZE_EXCEEDED without throwing", async (dir) => {
    await using store = await openStore(factory, dir, {
      limits: {
        messageBytesMax: 1024,
        propertiesBytesMax: 200,
        topicBytesMax: 20,
        retryTopicBytesMax: 40,
        batchMessagesMax: 4,
        getMessagesMax: 64,
        getBytesMax: 1024 * 1024,
      },
    });
    const big = await store.putMessage(testMessage("TopicA", 0, "b".repeat(1025)));
    assert.equal(big.status, "MESSAGE_ILLEGAL");
    assert.match("remark" in big ? big.remark : "", /body is 1025 bytes, limit is 1024/);
    const props = await store.putMessage(testMessage("TopicA", 0, "x", { K: "v".repeat(300) }));
    assert.equal(props.status, "PROPERTIES_SIZE_EXCEEDED");
    assert.equal(
      (await store.putMessage(testMessage("T".repeat(21), 0, "x"))).status,
      "MESSAGE_ILLEGAL",
    );
    assert.equal(
      (await store.putMessage(testMessage("%RETRY%" + "g".repeat(30), 0, "x"))).status,
      "PUT_OK",
    );
    assert.equal((await store.putMessage(testMessage("", 0, "x"))).status, "MESSAGE_ILLEGAL");
    assert.equal(
      (await store.putMessage(testMessage("TopicA", -1, "x"))).status,
      "MESSAGE_ILLEGAL",
    );
    assert.equal((await store.putMessages([])).status, "MESSAGE_ILLEGAL");
    const five = [0, 1, 2, 3, 4].map((i) => testMessage("TopicA", 0, `${i}`));
    assert.equal((await store.putMessages(five)).status, "MESSAGE_ILLEGAL");
    const mixed = [testMessage("TopicA", 0, "a"), testMessage("TopicA", 1, "b")];
    assert.equal((await store.putMessages(mixed)).status, "MESSAGE_ILLEGAL");
    assert.equal(store.getMaxOffsetInQueue("TopicA", 0), 0);
  });

  test("puts after close() answer SERVICE_NOT_AVAILABLE", async (dir) => {
    const store = await openStore(factory, dir);
    await store.close();
    await store.close();
    const put = await store.putMessage(testMessage("TopicA", 0, "late"));
    assert.equal(put.status, "SERVICE_NOT_AVAILABLE");
  });

  test("stats() counts puts and tracks CommitLog positions", async (dir) => {
    await using store = await openStore(factory, dir);
    await store.putMessage(testMessage("TopicS", 0, "a"));
    await store.putMessages([testMessage("TopicS", 0, "b"), testMessage("TopicS", 0, "c")]);
    await store.flush();
    const stats = store.stats();
    assert.equal(stats.putMessageCount, 3);
    assert.ok(stats.commitLogMaxOffset > 0);
    assert.equal(stats.commitLogFlushedOffset, stats.commitLogMaxOffset);
    assert.equal(stats.dispatchedOffset, stats.commitLogMaxOffset);
    assert.equal(stats.writeRefused, false);
  });

  test("async flush mode acknowledges puts and keeps them across reopen", async (dir) => {
    {
      await using store = await openStore(factory, dir, {
        flushMode: "async",
        flushIntervalMs: 50,
      });
      for (let i = 0; i < 5; i++) {
        assert.equal((await store.putMessage(testMessage("TopicF", 0, `m${i}`))).status, "PUT_OK");
      }
    }
    await using store = await openStore(factory, dir, { flushMode: "async" });
    assert.equal(store.getMaxOffsetInQueue("TopicF", 0), 5);
  });
}

async function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
