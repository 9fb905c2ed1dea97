/**
 * Worker side of `ring_stress_test.ts`: plays the producer or the consumer of
 * one ring, with random record sizes and a checksum in every record.
 *
 * Record payload: `seq:u32 | checksum:u32 | filler`, where the checksum is
 * FNV-1a over the filler. The producer publishes after a random number of
 * records; both sides block with `Atomics.wait` when the ring is full/empty.
 *
 * @module
 */

import { RingConsumer, RingProducer } from "./ring_buffer.ts";

/** Start message posted by the test (setup only). */
export interface RingStressJob {
  readonly role: "producer" | "consumer";
  readonly buffer: SharedArrayBuffer;
  readonly records: number;
  readonly seed: number;
  readonly payloadBytesMax: number;
  /** Give up after this long, ms (bounds the test). */
  readonly deadlineMs: number;
}

/** Final report posted back to the test. */
export interface RingStressReport {
  readonly role: "producer" | "consumer";
  readonly records: number;
  /** XOR of every record's checksum. */
  readonly checksumXor: number;
  /** Bytes of payload moved. */
  readonly payloadBytes: number;
  /** First problem seen, if any. */
  readonly error?: string;
}

function fnv1a(bytes: Uint8Array, from: number, to: number): number {
  let hash = 0x811c9dc5;
  for (let i = from; i < to; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  return hash >>> 0;
}

function runProducer(job: RingStressJob): RingStressReport {
  const producer = new RingProducer(job.buffer);
  const view = producer.ring.view;
  const data = producer.data;
  let state = job.seed >>> 0 || 1;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>>= 0);
  };
  const deadline = Date.now() + job.deadlineMs;
  let xor = 0;
  let payloadBytes = 0;
  let unpublished = 0;
  let publishEvery = 1 + (random() % 64);
  for (let seq = 0; seq < job.records; seq++) {
    const length = 8 + (random() % (job.payloadBytesMax - 7));
    let at = producer.tryReserve(length);
    while (at < 0) {
      producer.publish();
      unpublished = 0;
      if (Date.now() > deadline) {
        return {
          role: "producer",
          records: seq,
          checksumXor: xor,
          payloadBytes,
          error: "deadline",
        };
      }
      producer.waitForRoom(length, 50);
      at = producer.tryReserve(length);
    }
    const fill = random() & 0xff;
    for (let i = at + 8; i < at + length; i++) data[i] = (fill + i) & 0xff;
    const checksum = fnv1a(data, at + 8, at + length);
    view.setUint32(at, seq, true);
    view.setUint32(at + 4, checksum, true);
    xor ^= checksum;
    payloadBytes += length;
    if (++unpublished >= publishEvery) {
      producer.publish();
      unpublished = 0;
      publishEvery = 1 + (random() % 64);
    }
  }
  producer.publish();
  return { role: "producer", records: job.records, checksumXor: xor >>> 0, payloadBytes };
}

function runConsumer(job: RingStressJob): RingStressReport {
  const consumer = new RingConsumer(job.buffer);
  const view = consumer.view;
  const deadline = Date.now() + job.deadlineMs;
  let expected = 0;
  let xor = 0;
  let payloadBytes = 0;
  let error: string | undefined;
  while (expected < job.records && error === undefined) {
    if (consumer.waitForData(50) === "timed-out") {
      if (Date.now() > deadline) error = "deadline";
      continue;
    }
    consumer.drain((data, at, length) => {
      if (error !== undefined) return;
      const seq = view.getUint32(at, true);
      const checksum = view.getUint32(at + 4, true);
      if (seq !== expected) error = `record ${expected}: got sequence ${seq}`;
      else if (fnv1a(data, at + 8, at + length) !== checksum) {
        error = `record ${seq}: checksum mismatch (length ${length})`;
      }
      xor ^= checksum;
      payloadBytes += length;
      expected++;
    });
  }
  return { role: "consumer", records: expected, checksumXor: xor >>> 0, payloadBytes, error };
}

/** The worker global, typed narrowly (this file is also imported for its types). */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<RingStressJob>) => void) | null;
  postMessage(message: RingStressReport): void;
  close(): void;
};

scope.onmessage = (event) => {
  const job = event.data;
  let report: RingStressReport;
  try {
    report = job.role === "producer" ? runProducer(job) : runConsumer(job);
  } catch (error) {
    report = { role: job.role, records: 0, checksumXor: 0, payloadBytes: 0, error: String(error) };
  }
  scope.postMessage(report);
  scope.close();
};
