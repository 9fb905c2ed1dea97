/**
 * Power loss: the seeded simulation (see `power_loss_sim.ts`) inside the
 * normal test run, plus the cases it was built to prove: a torn checkpoint is
 * harmless, a deleted-and-recreated topic never gets its old records back,
 * and a segment survives only because its directory is fsynced.
 *
 * A failure names its seed; `deno task soak --seed N --cuts M` replays it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runPowerLossSimulation } from "./power_loss_sim.ts";
import { decodeRecord } from "../../client/protocol/message_record.ts";
import { encodeProperties } from "../../client/protocol/properties.ts";
import {
  CHECKPOINT_PATH,
  defaultStoreConfig,
  FsConfigFiles,
  LocalMessageStore,
  type MessageToPut,
} from "../../store/mod.ts";
import type { SegmentDirectory } from "../../store/domain/segment.ts";
import { SimDisk, type SimDiskMode } from "../_helpers/sim_disk.ts";
import { simConfigDisk, SimStoreFileSystem } from "../_helpers/sim_store_fs.ts";

/** Seeds per mode in the normal run (each makes about a dozen cuts). */
const STRICT_SEEDS = 200;
const ORDERED_SEEDS = 80;
const CUTS_PER_SEED = 12;

for (const [mode, seeds] of [["strict", STRICT_SEEDS], ["ordered", ORDERED_SEEDS]] as const) {
  Deno.test(`Power loss (${mode}): ${seeds} seeded workloads keep every acknowledged put`, async () => {
    let cuts = 0;
    let checked = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const report = await runPowerLossSimulation({ seed, cuts: CUTS_PER_SEED, mode });
      cuts += report.cuts;
      checked += report.checkedMessages;
    }
    assert.ok(cuts >= seeds * CUTS_PER_SEED, `only ${cuts} cuts`);
    assert.ok(checked > cuts, `only ${checked} acknowledged messages checked over ${cuts} cuts`);
  });
}

const encoder = new TextEncoder();

function message(topic: string, body: string): MessageToPut {
  return {
    topic,
    queueId: 0,
    flag: 0,
    body: encoder.encode(body),
    properties: encodeProperties({}),
    sysFlag: 0,
    bornTimestamp: 1_700_000_000_000,
    bornHost: { ip: new Uint8Array([10, 0, 0, 1]), port: 40000 },
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  };
}

/** The store's file port with directory fsyncs switched off (the code before issue 11). */
class NoDirectorySyncFileSystem extends SimStoreFileSystem {
  override segments(path: string): SegmentDirectory {
    const dir = super.segments(path);
    return {
      path: dir.path,
      list: () => dir.list(),
      open: (base, size, options) => dir.open(base, size, options),
      sync: () => {},
      delete: (base) => dir.delete(base),
      lastModifiedMs: (base) => dir.lastModifiedMs(base),
    };
  }
}

async function boot(disk: SimDisk, withoutDirectorySync = false): Promise<LocalMessageStore> {
  const never = 1_000_000_000;
  const store = new LocalMessageStore(
    defaultStoreConfig("sim", {
      commitLogSegmentBytes: 4096,
      consumeQueueSegmentUnits: 16,
      flushIntervalMs: never,
      flushConsumeQueueIntervalMs: never,
      persistConsumerOffsetIntervalMs: never,
      indexSlotsPerFile: 64,
      indexEntriesPerFile: 64,
    }),
    {
      clock: { nowMs: () => disk.nowMs },
      fileSystem: withoutDirectorySync
        ? new NoDirectorySyncFileSystem(disk)
        : new SimStoreFileSystem(disk),
      configFiles: new FsConfigFiles("sim", simConfigDisk(disk)),
      diskUsedRatio: () => 0.1,
      diskFreeBytes: () => Infinity,
    },
  );
  await store.open();
  return store;
}

async function bodies(store: LocalMessageStore, topic: string): Promise<string[]> {
  const got = await store.getMessage({
    group: "g",
    topic,
    queueId: 0,
    queueOffset: store.getMinOffsetInQueue(topic, 0),
    maxCount: 1000,
  });
  return got.messages.map((m) => new TextDecoder().decode(decodeRecord(m.record).body));
}

/** Ways a checkpoint rewritten in place can be left by a power cut. */
const TORN_CHECKPOINTS: [string, (disk: SimDisk) => void][] = [
  ["empty (truncated, data never written)", (d) => d.truncate(d.boot, CHECKPOINT_PATH, 0)],
  ["half written", (d) => d.pwrite(d.boot, CHECKPOINT_PATH, 32, new Uint8Array(32))],
  ["garbage", (d) => d.pwrite(d.boot, CHECKPOINT_PATH, 0, new Uint8Array(64).fill(0xab))],
  ["missing", (d) => d.remove(d.boot, CHECKPOINT_PATH)],
];

for (const [mode, label] of [["strict", "POSIX"], ["ordered", "ext4 ordered"]] as const) {
  for (const [how, tear] of TORN_CHECKPOINTS) {
    Deno.test(`Power loss (${label}): a checkpoint left ${how} is harmless, deleted topics stay deleted`, async () => {
      const disk = new SimDisk(mode as SimDiskMode, 7);
      let store = await boot(disk);
      for (let i = 0; i < 30; i++) {
        assert.equal((await store.putMessage(message("Old", `old-${i}`))).status, "PUT_OK");
      }
      for (let i = 0; i < 30; i++) {
        assert.equal((await store.putMessage(message("Keep", `keep-${i}`))).status, "PUT_OK");
      }
      await store.flush();
      await store.deleteTopic("Old");
      for (let i = 0; i < 5; i++) {
        assert.equal((await store.putMessage(message("Old", `new-${i}`))).status, "PUT_OK");
      }
      await store.flush();
      // The checkpoint is torn on disk, and the power goes.
      tear(disk);
      if (disk.kind(disk.boot, CHECKPOINT_PATH) === "file") {
        disk.fdatasync(disk.boot, CHECKPOINT_PATH); // the tear reached the disk
      }
      disk.fsyncDir(disk.boot, "");
      disk.powerCut();
      store = await boot(disk);
      try {
        assert.equal(store.recovery!.checkpoint, undefined, "the CRC rejects the torn checkpoint");
        assert.deepEqual(
          await bodies(store, "Keep"),
          Array.from({ length: 30 }, (_, i) => `keep-${i}`),
        );
        assert.deepEqual(
          await bodies(store, "Old"),
          Array.from({ length: 5 }, (_, i) => `new-${i}`),
        );
      } finally {
        await store.close();
      }
    });
  }
}

Deno.test("Power loss (POSIX): a new segment survives only because its directory is fsynced", async () => {
  const disk = new SimDisk("strict", 1);
  const store = await boot(disk);
  const before = disk.stats.dirSyncs;
  // 4 KiB segments: about 40 puts roll several times.
  for (let i = 0; i < 40; i++) {
    assert.equal(
      (await store.putMessage(message("T", `m-${i}-${"x".repeat(200)}`))).status,
      "PUT_OK",
    );
  }
  const rolls = store.stats().commitLogMaxOffset / 4096;
  assert.ok(rolls >= 2);
  // One fsync of the chain (commitlog/ and the data dir) per segment, not per message.
  const syncs = disk.stats.dirSyncs - before;
  assert.ok(syncs <= (Math.ceil(rolls) + 1) * 8, `${syncs} directory fsyncs for ${rolls} segments`);
  disk.powerCut();
  await store.close().catch(() => {});
  const reopened = await boot(disk);
  try {
    const got = await bodies(reopened, "T");
    assert.equal(got.length, 40);
  } finally {
    await reopened.close();
  }
});

Deno.test("Power loss (POSIX): without directory fsyncs the same cut loses every message", async () => {
  const disk = new SimDisk("strict", 1);
  const store = await boot(disk, true);
  for (let i = 0; i < 40; i++) {
    assert.equal(
      (await store.putMessage(message("T", `m-${i}-${"x".repeat(200)}`))).status,
      "PUT_OK",
    );
  }
  disk.powerCut();
  await store.close().catch(() => {});
  const reopened = await boot(disk, true);
  try {
    assert.deepEqual(await bodies(reopened, "T"), []);
  } finally {
    await reopened.close();
  }
});
