/**
 * Lookup by key and unique id through a real LocalMessageStore: the index is
 * built by dispatch, survives a restart, and is rebuilt from the CommitLog
 * when its files are lost or corrupt.
 *
 * Needs the wiring listed in the INDEX report (IndexService in
 * LocalMessageStore, `indexSlotsPerFile`/`indexEntriesPerFile` config).
 */

import assert from "node:assert/strict";
import { decodeRecord } from "../client/protocol/message_record.ts";
import { encodeProperties, getProperty } from "../client/protocol/properties.ts";
import { WorkerMessageStore } from "./infra/worker_message_store.ts";
import {
  defaultStoreConfig,
  INDEX_DIR,
  LocalMessageStore,
  type MessageStore,
  type MessageToPut,
} from "./mod.ts";

const HOST = { ip: new Uint8Array([127, 0, 0, 1]), port: 10911 };
const T0 = 1_700_000_000_000;
const ALL = [0, Number.MAX_SAFE_INTEGER] as const;

function message(topic: string, uniqKey: string, keys?: string): MessageToPut {
  return {
    topic,
    queueId: 0,
    flag: 0,
    body: new TextEncoder().encode(`body of ${uniqKey}`),
    properties: encodeProperties({ UNIQ_KEY: uniqKey, KEYS: keys }),
    sysFlag: 0,
    bornTimestamp: T0,
    bornHost: HOST,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  };
}

type Kind = "local" | "worker";

async function withStore(
  fn: (open: (overrides?: object) => Promise<MessageStore>, dataDir: string) => Promise<void>,
  kind: Kind = "local",
): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "index_wired_test_" });
  let now = T0;
  const clock = { nowMs: () => (now += 1000) };
  const stores: MessageStore[] = [];
  const open = async (overrides: object = {}) => {
    const config = defaultStoreConfig(dataDir, {
      flushMode: "async",
      commitLogSegmentBytes: 64 * 1024,
      consumeQueueSegmentUnits: 64,
      indexSlotsPerFile: 8,
      indexEntriesPerFile: 16,
      storeHost: HOST,
      ...overrides,
    });
    // The Worker store stamps its own time; the Local one takes the ticking clock.
    const store = kind === "local"
      ? new LocalMessageStore(config, { clock, diskUsedRatio: () => 0.1 })
      : new WorkerMessageStore(config, { diskUsedRatio: () => 0.1, awaitDispatch: true });
    stores.push(store);
    await store.open();
    return store;
  };
  try {
    await fn(open, dataDir);
  } finally {
    for (const store of stores) await store.close().catch(() => {});
    await Deno.remove(dataDir, { recursive: true });
  }
}

function uniqKeys(found: { record: Uint8Array }[]): (string | undefined)[] {
  return found.map((m) => getProperty(decodeRecord(m.record).properties, "UNIQ_KEY"));
}

async function putMany(store: MessageStore, count: number, from = 0): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const result = await store.putMessage(
      message("Orders", `U${i}`, `order-${i} customer-${i % 3}`),
    );
    assert.equal(result.status, "PUT_OK");
  }
}

Deno.test("LocalMessageStore.queryMessageByKey() finds messages by key and by unique id, newest first", async () => {
  await withStore(async (open) => {
    const store = await open();
    await putMany(store, 10);
    await store.putMessage(message("Other", "X1", "customer-0"));
    assert.deepEqual(uniqKeys(await store.queryMessageByKey("Orders", "customer-0", 10, ...ALL)), [
      "U9",
      "U6",
      "U3",
      "U0",
    ]);
    assert.deepEqual(uniqKeys(await store.queryMessageByKey("Orders", "U4", 10, ...ALL)), ["U4"]);
    assert.deepEqual(uniqKeys(await store.queryMessageByKey("Orders", "order-7", 10, ...ALL)), [
      "U7",
    ]);
    assert.deepEqual(uniqKeys(await store.queryMessageByKey("Other", "customer-0", 10, ...ALL)), [
      "X1",
    ]);
    assert.deepEqual(await store.queryMessageByKey("Orders", "nobody", 10, ...ALL), []);
    assert.equal((await store.queryMessageByKey("Orders", "customer-0", 2, ...ALL)).length, 2);
    // Store times: message i was stored around T0 + (i + 2) s by the ticking clock.
    const found = await store.queryMessageByKey("Orders", "customer-0", 10, ...ALL);
    const times = found.map((m) => decodeRecord(m.record).storeTimestamp);
    const window = await store.queryMessageByKey("Orders", "customer-0", 10, times[2], times[1]);
    assert.deepEqual(uniqKeys(window), ["U6", "U3"]);
  });
});

Deno.test("LocalMessageStore keeps its index across a restart and indexes nothing twice", async () => {
  await withStore(async (open) => {
    const first = await open();
    await putMany(first, 20); // 40 entries: several 15-entry index files
    await first.close();
    const second = await open();
    await putMany(second, 3, 20);
    const hits = await second.queryMessageByKey("Orders", "customer-1", 100, ...ALL);
    assert.deepEqual(uniqKeys(hits), ["U22", "U19", "U16", "U13", "U10", "U7", "U4", "U1"]);
    assert.equal(second.getMaxOffsetInQueue("Orders", 0), 23);
  });
});

Deno.test("LocalMessageStore rebuilds a lost or corrupt index from the CommitLog at open", async () => {
  await withStore(async (open, dataDir) => {
    const first = await open();
    await putMany(first, 12);
    await first.close();
    await Deno.remove(`${dataDir}/${INDEX_DIR}`, { recursive: true });
    const second = await open();
    assert.deepEqual(uniqKeys(await second.queryMessageByKey("Orders", "order-5", 10, ...ALL)), [
      "U5",
    ]);
    assert.equal((await second.queryMessageByKey("Orders", "customer-2", 10, ...ALL)).length, 4);
    assert.equal(
      second.getMaxOffsetInQueue("Orders", 0),
      12,
      "re-dispatch adds no ConsumeQueue units",
    );
    await second.close();
    // Break the newest index file's header: it is deleted and rebuilt.
    const names = [...Deno.readDirSync(`${dataDir}/${INDEX_DIR}`)].map((e) => e.name).sort();
    const newest = `${dataDir}/${INDEX_DIR}/${names.at(-1)}`;
    const file = await Deno.open(newest, { write: true });
    await file.write(new Uint8Array(40).fill(0xff));
    file.close();
    const third = await open();
    assert.deepEqual(uniqKeys(await third.queryMessageByKey("Orders", "order-11", 10, ...ALL)), [
      "U11",
    ]);
    assert.equal((await third.queryMessageByKey("Orders", "customer-2", 10, ...ALL)).length, 4);
  });
});

Deno.test("WorkerMessageStore answers lookups on the main thread from the index the dispatch worker builds", async () => {
  await withStore(async (open, dataDir) => {
    const first = await open();
    await putMany(first, 12);
    assert.deepEqual(uniqKeys(await first.queryMessageByKey("Orders", "customer-2", 10, ...ALL)), [
      "U11",
      "U8",
      "U5",
      "U2",
    ]);
    assert.deepEqual(uniqKeys(await first.queryMessageByKey("Orders", "U7", 10, ...ALL)), ["U7"]);
    await first.close();
    await Deno.remove(`${dataDir}/${INDEX_DIR}`, { recursive: true });
    const second = await open();
    await putMany(second, 1, 12);
    assert.deepEqual(uniqKeys(await second.queryMessageByKey("Orders", "customer-0", 10, ...ALL)), [
      "U12",
      "U9",
      "U6",
      "U3",
      "U0",
    ]);
  }, "worker");
});

Deno.test("LocalMessageStore with messageIndexEnable false answers no lookups and writes no index", async () => {
  await withStore(async (open, dataDir) => {
    const store = await open({ messageIndexEnable: false });
    await putMany(store, 3);
    assert.deepEqual(await store.queryMessageByKey("Orders", "U1", 10, ...ALL), []);
    assert.throws(() => Deno.statSync(`${dataDir}/${INDEX_DIR}`), Deno.errors.NotFound);
  });
});
