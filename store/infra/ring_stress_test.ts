/**
 * Goal: show that the ring keeps every record intact and in order when a
 * producer and a consumer run flat out on two Worker threads.
 *
 * Method: two Workers share one small ring (so it fills and wraps constantly);
 * the producer writes records of random size with a sequence number and a
 * checksum and publishes after random batch sizes; the consumer checks order
 * and checksums. Both report; the test compares their totals. Every wait is
 * bounded by a deadline.
 */

import assert from "node:assert/strict";
import { RingBuffer } from "./ring_buffer.ts";
import type { RingStressJob, RingStressReport } from "./ring_stress_worker.ts";

const DEADLINE_MS = 20_000;

function runWorker(job: RingStressJob): { report: Promise<RingStressReport>; worker: Worker } {
  const worker = new Worker(new URL("./ring_stress_worker.ts", import.meta.url), {
    type: "module",
  });
  const report = new Promise<RingStressReport>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<RingStressReport>) => resolve(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`${job.role} worker failed: ${event.message}`));
    };
  });
  worker.postMessage(job);
  return { report, worker };
}

for (
  const { capacityBytes, payloadBytesMax, records, seed } of [
    { capacityBytes: 4096, payloadBytesMax: 2044, records: 40_000, seed: 0x9e3779b9 },
    { capacityBytes: 64 * 1024, payloadBytesMax: 1500, records: 300_000, seed: 12345 },
  ]
) {
  Deno.test(
    `RingBuffer carries ${records} random records intact between two Workers (capacity ${capacityBytes})`,
    async () => {
      const ring = RingBuffer.allocate(capacityBytes);
      const base = { buffer: ring.buffer, records, seed, payloadBytesMax, deadlineMs: DEADLINE_MS };
      const consumer = runWorker({ ...base, role: "consumer" });
      const producer = runWorker({ ...base, role: "producer" });
      try {
        const [sent, received] = await Promise.all([producer.report, consumer.report]);
        assert.equal(sent.error, undefined);
        assert.equal(received.error, undefined);
        assert.equal(received.records, records);
        assert.equal(received.checksumXor, sent.checksumXor);
        assert.equal(received.payloadBytes, sent.payloadBytes);
        assert.equal(ring.usedBytes(), 0);
      } finally {
        producer.worker.terminate();
        consumer.worker.terminate();
      }
    },
  );
}
