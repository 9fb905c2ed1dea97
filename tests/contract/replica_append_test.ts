// HA store capability, against both MessageStore implementations: a master's raw
// CommitLog bytes (readRecords) appended with appendReplicated on another store
// make it serve the same messages at the same queue offsets (its own dispatch
// builds the ConsumeQueues), across segment rolls, and a later reopen keeps them.
import assert from "node:assert/strict";
import {
  BLANK_MARKER_BYTES,
  decodeRecord,
  MAGIC_BLANK,
} from "../../client/protocol/message_record.ts";
import { WorkerMessageStore } from "../../store/infra/worker_message_store.ts";
import { LocalMessageStore } from "../../store/local_message_store.ts";
import {
  defaultStoreConfig,
  type MessageStore,
  type MessageStoreConfig,
} from "../../store/message_store.ts";
import { makeTempDir } from "../_helpers/temp_dir.ts";
import { testMessage } from "./message_store_contract.ts";

const SEGMENT_BYTES = 64 * 1024;
type Factory = (config: MessageStoreConfig) => MessageStore;
const FACTORIES: [string, Factory][] = [
  ["LocalMessageStore", (c) => new LocalMessageStore(c)],
  ["WorkerMessageStore", (c) => new WorkerMessageStore(c, { diskUsedRatio: () => 0.1 })],
];

/** Copy everything the master has, as the HA master does (whole records per transfer). */
async function replicate(master: MessageStore, slave: MessageStore): Promise<void> {
  let offset = master.stats().commitLogMinOffset;
  const end = master.stats().commitLogMaxOffset;
  while (offset < end) {
    const segmentEnd = offset - offset % SEGMENT_BYTES + SEGMENT_BYTES;
    const chunk = (await master.readRecords!(offset, Math.min(end, segmentEnd) - offset))!;
    const view = new DataView(chunk.buffer, chunk.byteOffset);
    let at = 0;
    let next = offset;
    while (at < chunk.length) {
      if (view.getInt32(at + 4) === MAGIC_BLANK) {
        next = offset + at + view.getInt32(at);
        at += BLANK_MARKER_BYTES;
        break;
      }
      at += view.getInt32(at);
      next = offset + at;
    }
    const appended = await slave.appendReplicated!(offset, chunk.subarray(0, at));
    assert.equal(appended.status, "APPENDED");
    offset = next;
  }
}

for (const [name, factory] of FACTORIES) {
  Deno.test(`${name}.appendReplicated() makes a copy that serves the master's queue offsets`, async () => {
    await using masterDir = await makeTempDir("rmq_ha_master_");
    await using slaveDir = await makeTempDir("rmq_ha_slave_");
    const config = (dir: string) =>
      defaultStoreConfig(dir, { commitLogSegmentBytes: SEGMENT_BYTES, flushMode: "async" });
    const master = factory(config(masterDir.path));
    await master.open();
    const bodies: string[] = [];
    for (let i = 0; i < 300; i++) {
      const body = `m${i}-${"y".repeat(i % 5 * 100)}`;
      bodies.push(body);
      const r = await master.putMessage(testMessage("HaT", i % 2, body));
      assert.equal(r.status, "PUT_OK");
    }
    let slave = factory(config(slaveDir.path));
    await slave.open();
    await replicate(master, slave);
    assert.equal(slave.stats().commitLogMaxOffset, master.stats().commitLogMaxOffset);
    await slave.close();
    slave = factory(config(slaveDir.path));
    await slave.open();
    for (const queueId of [0, 1]) {
      const read = await slave.getMessage({
        group: "g",
        topic: "HaT",
        queueId,
        queueOffset: 0,
        maxCount: 1000,
      });
      assert.deepEqual(
        read.messages.map((m) => new TextDecoder().decode(decodeRecord(m.record).body)),
        bodies.filter((_, i) => i % 2 === queueId),
      );
      assert.equal(read.messages[5].queueOffset, 5);
    }
    await slave.close();
    await master.close();
  });
}
