// CommitLog.appendReplicated (HA, spec §10.2): a slave's log becomes a byte-for-byte
// copy of its master's, segment rolls included, and its QueueOffset table follows.
import assert from "node:assert/strict";
import { BLANK_MARKER_BYTES, MAGIC_BLANK } from "../../client/protocol/message_record.ts";
import { MemoryFileSystem } from "../infra/memory_segment.ts";
import { encode, ManualClock, message } from "./_test_support.ts";
import { AssertionError } from "./assert.ts";
import { CommitLog } from "./commit_log.ts";
import { QueueOffsetTable } from "./queue_offset_table.ts";

function newLog(segmentBytes = 512) {
  const fs = new MemoryFileSystem();
  const table = new QueueOffsetTable();
  const log = new CommitLog(fs.segments("commitlog"), table, {
    segmentBytes,
    clock: new ManualClock(),
    writeBufferBytes: 256,
  });
  log.recover(0, true);
  return { log, table };
}

/** The master's bytes [from, to) as HA ships them: whole records, a blank as its 8-byte marker. */
function ship(master: CommitLog, from: number, to: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = from;
  while (at < to) {
    const header = master.read(at, BLANK_MARKER_BYTES)!;
    const view = new DataView(header.buffer, header.byteOffset);
    const size = view.getInt32(0);
    if (view.getInt32(4) === MAGIC_BLANK) {
      chunks.push(header);
      at += size;
    } else {
      chunks.push(master.read(at, size)!);
      at += size;
    }
  }
  return chunks;
}

Deno.test("CommitLog.appendReplicated() copies a master's records and rolls with it", () => {
  const master = newLog();
  for (let i = 0; i < 12; i++) {
    master.log.append(encode(message(`T${i % 2}`, i % 3, "x".repeat(60))));
  }
  master.log.commit();
  const slave = newLog();
  let offset = 0;
  for (const chunk of ship(master.log, 0, master.log.writtenOffset)) {
    const next = slave.log.appendReplicated(offset, chunk);
    offset = chunk.length === BLANK_MARKER_BYTES ? next : offset + chunk.length;
    assert.equal(next, offset);
  }
  slave.log.commit();
  assert.equal(slave.log.writtenOffset, master.log.writtenOffset);
  assert.deepEqual(slave.log.segmentBases, master.log.segmentBases);
  assert.deepEqual(slave.table.entries(), master.table.entries());
  const last = master.log.segmentBases.at(-1)!;
  assert.deepEqual(slave.log.read(last, 100), master.log.read(last, 100));
});

Deno.test("CommitLog.appendReplicated() refuses bytes not at its end; an empty log starts there", () => {
  const master = newLog();
  const a = master.log.append(encode(message("T", 0, "a")));
  const b = master.log.append(encode(message("T", 0, "b")));
  master.log.commit();
  const second = master.log.read(b.commitLogOffset, b.wroteBytes)!;
  const slave = newLog();
  // Empty: starts at the master's offset (RocketMQ ships from the master's last file).
  assert.equal(
    slave.log.appendReplicated(b.commitLogOffset, second),
    b.commitLogOffset + b.wroteBytes,
  );
  assert.equal(slave.table.next("T", 0), 2);
  const first = master.log.read(a.commitLogOffset, a.wroteBytes)!;
  assert.throws(() => slave.log.appendReplicated(a.commitLogOffset, first), AssertionError);
});
