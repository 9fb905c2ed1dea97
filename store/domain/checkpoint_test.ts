import assert from "node:assert/strict";
import { MemoryFileSystem } from "../infra/memory_segment.ts";
import {
  CHECKPOINT_BYTES,
  CHECKPOINT_PATH,
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from "./checkpoint.ts";
import { ConsumerOffsetTable } from "./consumer_offset_table.ts";

const SAMPLE = {
  physicMsgTimestamp: 1_700_000_000_123,
  logicsMsgTimestamp: 1_700_000_000_100,
  indexMsgTimestamp: 1_700_000_000_050,
  masterFlushedOffset: 0,
  confirmPhyOffset: 0,
  commitLogFlushedOffset: 2 ** 40 + 17,
  dispatchedOffset: 2 ** 40,
};

Deno.test("Checkpoint round-trips through its 64-byte layout with RocketMQ's first 40 bytes", () => {
  const bytes = encodeCheckpoint(SAMPLE);
  assert.equal(bytes.length, CHECKPOINT_BYTES);
  const view = new DataView(bytes.buffer);
  assert.equal(view.getBigInt64(0), BigInt(SAMPLE.physicMsgTimestamp));
  assert.equal(view.getBigInt64(40), BigInt(SAMPLE.commitLogFlushedOffset));
  assert.deepEqual(decodeCheckpoint(bytes), SAMPLE);
});

Deno.test("Checkpoint with a bad CRC, a short file or no file reads as absent", () => {
  const fs = new MemoryFileSystem();
  assert.equal(readCheckpoint(fs), undefined);
  writeCheckpoint(fs, SAMPLE);
  assert.deepEqual(readCheckpoint(fs), SAMPLE);
  const bytes = fs.readFile(CHECKPOINT_PATH)!;
  bytes[45] ^= 0xff;
  fs.writeFile(CHECKPOINT_PATH, bytes);
  assert.equal(readCheckpoint(fs), undefined);
  fs.writeFile(CHECKPOINT_PATH, new Uint8Array(0));
  assert.equal(readCheckpoint(fs), undefined);
  assert.equal(decodeCheckpoint(new Uint8Array(CHECKPOINT_BYTES)), undefined);
});

Deno.test("ConsumerOffsetTable serialises RocketMQ's topic@group offsetTable and reads it back", () => {
  const table = new ConsumerOffsetTable();
  table.commit("G", "T", 0, 5);
  table.commit("G", "T", 3, 9);
  table.commit("H", "T", 0, 1);
  const json = JSON.parse(table.toJson());
  assert.deepEqual(json, { offsetTable: { "T@G": { "0": 5, "3": 9 }, "T@H": { "0": 1 } } });
  const copy = new ConsumerOffsetTable();
  copy.loadJson(table.toJson());
  assert.equal(copy.query("G", "T", 3), 9);
  copy.deleteTopic("T");
  assert.deepEqual(copy.list(), []);
  assert.throws(() => copy.loadJson("{}"), TypeError);
});
