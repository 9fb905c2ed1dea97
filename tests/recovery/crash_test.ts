/**
 * Goal: every put that a `sync`-flush WorkerMessageStore acknowledged survives
 * a SIGKILL of its process, with the same bytes and offsets, and recovery
 * leaves no half-written record visible.
 *
 * Method: a child `deno` process puts messages (16 in flight, bodies of
 * varying size over small segments so the CommitLog rolls) and prints each
 * acknowledgement. The parent kills it with SIGKILL after enough acks, keeps
 * every ack line already printed, reopens the store in-process and checks each
 * acknowledged message by CommitLog offset and through its ConsumeQueue, then
 * scans the CommitLog to confirm it ends exactly at the last valid record.
 */

import assert from "node:assert/strict";
import { decodeRecord } from "../../client/protocol/message_record.ts";
import { getProperty } from "../../client/protocol/properties.ts";
import { scanCommitLog } from "../../store/domain/commit_log.ts";
import { FsSegmentDirectory } from "../../store/infra/fs_segment.ts";
import { WorkerMessageStore } from "../../store/infra/worker_message_store.ts";
import { defaultStoreConfig } from "../../store/message_store.ts";
import { makeTempDir } from "../_helpers/temp_dir.ts";
import { crashBody, fnv1a } from "./crash_format.ts";

const SEGMENT_BYTES = 256 * 1024;
const ACKS_BEFORE_KILL = 2000;
const CHILD_TIMEOUT_MS = 60_000;

interface Ack {
  readonly seq: number;
  readonly queueId: number;
  readonly queueOffset: number;
  readonly commitLogOffset: number;
  readonly bodyHash: number;
}

/** Run the child until ACKS_BEFORE_KILL acks, SIGKILL it, return every ack it printed. */
async function runAndKill(dataDir: string): Promise<Ack[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      new URL("./crash_child.ts", import.meta.url).pathname,
      dataDir,
      String(SEGMENT_BYTES),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const acks: Ack[] = [];
  const deadline = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, CHILD_TIMEOUT_MS);
  let killed = false;
  try {
    let carry = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      carry += chunk;
      const lines = carry.split("\n");
      carry = lines.pop()!;
      for (const line of lines) {
        const parts = line.split(" ");
        if (parts[0] === "error") throw new Error(`child reported ${line}`);
        if (parts[0] !== "ack") continue;
        const [seq, queueId, queueOffset, commitLogOffset, bodyHash] = parts.slice(1).map(Number);
        acks.push({ seq, queueId, queueOffset, commitLogOffset, bodyHash });
      }
      if (!killed && acks.length >= ACKS_BEFORE_KILL) {
        child.kill("SIGKILL");
        killed = true;
      }
    }
  } finally {
    clearTimeout(deadline);
    if (!killed) {
      try {
        child.kill("SIGKILL");
      } catch {
        // It already exited (a failure the assertions below report).
      }
    }
    const status = await child.status;
    assert.equal(status.signal, "SIGKILL", `the child exited on its own with code ${status.code}`);
  }
  return acks;
}

Deno.test("WorkerMessageStore keeps every acknowledged sync put across a SIGKILL", async () => {
  await using dir = await makeTempDir("rmq_crash_");
  const acks = await runAndKill(dir.path);
  assert.ok(acks.length >= ACKS_BEFORE_KILL, `only ${acks.length} acks before the kill`);

  await using store = new WorkerMessageStore(
    defaultStoreConfig(dir.path, {
      flushMode: "sync",
      commitLogSegmentBytes: SEGMENT_BYTES,
      consumeQueueSegmentUnits: 64,
    }),
    { diskUsedRatio: () => 0.1 },
  );
  await store.open();

  // Each acknowledged message is readable by CommitLog offset with its bytes and offsets.
  for (const ack of acks) {
    const found = await store.lookMessageByOffset(ack.commitLogOffset);
    assert.ok(found, `ack ${ack.seq} at ${ack.commitLogOffset} is missing`);
    const record = decodeRecord(found.record);
    assert.equal(record.queueId, ack.queueId);
    assert.equal(record.queueOffset, ack.queueOffset);
    assert.equal(record.commitLogOffset, ack.commitLogOffset);
    assert.equal(fnv1a(record.body), ack.bodyHash);
    assert.equal(getProperty(record.properties, "SEQ"), String(ack.seq));
    assert.deepEqual(record.body, crashBody(ack.seq));
  }

  // Through the ConsumeQueues: offsets are dense and every acked one points at its record.
  const byQueue = new Map<string, number>();
  for (const queueId of [0, 1, 2]) {
    let offset = 0;
    const max = store.getMaxOffsetInQueue("CrashTopic", queueId);
    while (offset < max) {
      const got = await store.getMessage({
        group: "G",
        topic: "CrashTopic",
        queueId,
        queueOffset: offset,
        maxCount: 64,
      });
      assert.equal(got.status, "FOUND");
      for (const message of got.messages) {
        assert.equal(message.queueOffset, offset++);
        byQueue.set(`${queueId}/${message.queueOffset}`, message.commitLogOffset);
        const record = decodeRecord(message.record);
        assert.deepEqual(record.body, crashBody(Number(getProperty(record.properties, "SEQ"))));
      }
    }
  }
  for (const ack of acks) {
    assert.equal(byQueue.get(`${ack.queueId}/${ack.queueOffset}`), ack.commitLogOffset);
  }

  // Nothing half-written is visible: a CRC-checking scan ends exactly where the store ends.
  const stats = store.stats();
  const scan = scanCommitLog(
    new FsSegmentDirectory(`${dir.path}/commitlog`),
    SEGMENT_BYTES,
    0,
    true,
  );
  assert.equal(scan.endOffset, stats.commitLogMaxOffset);
  assert.match(scan.stopReason, /zero-filled|only \d+ bytes left|segment \d+ missing/);
  const lastAck = Math.max(...acks.map((a) => a.commitLogOffset));
  assert.ok(stats.commitLogMaxOffset > lastAck);

  // The store accepts new puts after recovery, continuing the QueueOffsets.
  const next = await store.putMessage({
    topic: "CrashTopic",
    queueId: 0,
    flag: 0,
    body: new Uint8Array([1]),
    properties: "",
    sysFlag: 0,
    bornTimestamp: 0,
    bornHost: { ip: new Uint8Array([127, 0, 0, 1]), port: 1 },
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  });
  assert.equal(next.status, "PUT_OK");
  assert.equal(
    next.status === "PUT_OK" && next.queueOffset,
    store.getMaxOffsetInQueue("CrashTopic", 0) - 1,
  );
});
