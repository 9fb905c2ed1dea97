/**
 * Disk full: on a simulated disk of fixed size, puts are refused with a clear
 * remark the moment free space drops under the reserve or a write fails with
 * ENOSPC; nothing acknowledged is lost; reads and consumer offsets keep
 * working; writes resume by themselves once space is freed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { decodeRecord } from "../../client/protocol/message_record.ts";
import { encodeProperties } from "../../client/protocol/properties.ts";
import {
  defaultStoreConfig,
  FsConfigFiles,
  LocalMessageStore,
  type MessageToPut,
} from "../../store/mod.ts";
import { DISK_FULL_RECHECK_MS } from "../../store/domain/disk_space_guard.ts";
import { SimDisk } from "../_helpers/sim_disk.ts";
import { simConfigDisk, SimStoreFileSystem } from "../_helpers/sim_store_fs.ts";

const encoder = new TextEncoder();

function message(i: number): MessageToPut {
  return {
    topic: "T",
    queueId: i % 2,
    flag: 0,
    body: encoder.encode(`m-${i}-${"x".repeat(300)}`),
    properties: encodeProperties({}),
    sysFlag: 0,
    bornTimestamp: 1_700_000_000_000,
    bornHost: { ip: new Uint8Array([10, 0, 0, 1]), port: 40000 },
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  };
}

async function boot(disk: SimDisk, reserveBytes: number): Promise<LocalMessageStore> {
  const never = 1_000_000_000;
  const store = new LocalMessageStore(
    defaultStoreConfig("sim", {
      commitLogSegmentBytes: 16 * 1024,
      consumeQueueSegmentUnits: 64,
      flushIntervalMs: never,
      flushConsumeQueueIntervalMs: never,
      persistConsumerOffsetIntervalMs: never,
      messageIndexEnable: false,
      diskFreeReserveBytes: reserveBytes,
    }),
    {
      clock: { nowMs: () => disk.nowMs },
      fileSystem: new SimStoreFileSystem(disk),
      configFiles: new FsConfigFiles("sim", simConfigDisk(disk)),
      diskUsedRatio: () => 0.1,
      diskFreeBytes: () => disk.freeBytes(),
    },
  );
  await store.open();
  return store;
}

async function readAll(store: LocalMessageStore): Promise<string[]> {
  const out: string[] = [];
  for (const queueId of [0, 1]) {
    const got = await store.getMessage({
      group: "g",
      topic: "T",
      queueId,
      queueOffset: 0,
      maxCount: 1000,
    });
    for (const m of got.messages) {
      out.push(
        new TextDecoder().decode(decodeRecord(m.record).body).split("-").slice(0, 2).join("-"),
      );
    }
  }
  return out.sort();
}

for (
  const [how, reserve] of [["the reserve is reached", 4096], [
    "a write fails with ENOSPC",
    0,
  ]] as const
) {
  Deno.test(`Disk full when ${how}: puts refused, nothing lost, reads go on, writes resume`, async () => {
    const disk = new SimDisk("strict", 3);
    disk.capacityBytes = 40 * 1024;
    let store = await boot(disk, reserve);
    const acked: string[] = [];
    let refusal = "";
    for (let i = 0; i < 400 && refusal === ""; i++) {
      const result = await store.putMessage(message(i));
      if (result.status === "PUT_OK") acked.push(`m-${i}`);
      else {
        assert.equal(result.status, "SERVICE_NOT_AVAILABLE", JSON.stringify(result));
        refusal = "remark" in result ? result.remark : "";
      }
    }
    assert.match(refusal, /disk is full/);
    assert.ok(acked.length > 10);
    // Still full: refused again, reads and consumer offsets work.
    const again = await store.putMessage(message(1000));
    assert.equal(again.status, "SERVICE_NOT_AVAILABLE");
    assert.deepEqual(await readAll(store), [...acked].sort());
    store.commitConsumerOffset("g", "T", 0, 3);
    assert.equal(store.queryConsumerOffset("g", "T", 0), 3);
    assert.equal(store.stats().writeRefused, true);
    // Space comes back: writes resume by themselves (after the recheck interval).
    disk.capacityBytes = 1024 * 1024;
    disk.nowMs += DISK_FULL_RECHECK_MS;
    const resumed = await store.putMessage(message(2000));
    assert.equal(resumed.status, "PUT_OK");
    acked.push("m-2000");
    // Nothing acknowledged is lost, across a power cut too; offsets stay contiguous.
    await store.close();
    disk.powerCut();
    store = await boot(disk, reserve);
    try {
      assert.deepEqual(await readAll(store), [...acked].sort());
    } finally {
      await store.close();
    }
  });
}

Deno.test("Disk full: a store whose disk is full opens and serves reads", async () => {
  const disk = new SimDisk("strict", 4);
  disk.capacityBytes = 40 * 1024;
  let store = await boot(disk, 0);
  const acked: string[] = [];
  for (let i = 0; i < 400; i++) {
    const result = await store.putMessage(message(i));
    if (result.status !== "PUT_OK") break;
    acked.push(`m-${i}`);
  }
  await store.close().catch(() => {});
  disk.capacityBytes = disk.usedBytes(); // not one free sector
  store = await boot(disk, 0);
  try {
    assert.deepEqual(await readAll(store), [...acked].sort());
    const refused = await store.putMessage(message(5000));
    assert.equal(refused.status, "SERVICE_NOT_AVAILABLE");
  } finally {
    await store.close().catch(() => {});
  }
});
