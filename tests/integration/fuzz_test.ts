// Goal: no byte sequence from a client can stop the broker from serving others.
// Method: on several connections, send random bytes, valid frames cut short,
// valid frames with corrupted bytes, and random-but-well-framed headers (a
// bounded, seeded amount; the seed is printed on failure); then check that a
// fresh connection still sends and pulls.

import assert from "node:assert/strict";
import {
  createTopic,
  pullFields,
  sendV2Fields,
  startTestBroker,
  TestConnection,
} from "../_helpers/broker.ts";
import { createRequest, encodeCommand } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import { decodeRecords } from "../../client/protocol/message_record.ts";

/** Connections per fuzz case. */
const CONNECTIONS = 6;
/** Payloads per connection. */
const PAYLOADS_PER_CONNECTION = 40;

/** Small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const te = new TextEncoder();

function validFrames(random: () => number): Uint8Array[] {
  const codes = [
    RequestCode.SEND_MESSAGE_V2,
    RequestCode.PULL_MESSAGE,
    RequestCode.HEART_BEAT,
    RequestCode.GET_MAX_OFFSET,
    RequestCode.UPDATE_AND_CREATE_TOPIC,
    RequestCode.SEND_BATCH_MESSAGE,
    RequestCode.QUERY_CONSUMER_OFFSET,
    12345,
  ];
  return codes.map((code, i) => {
    const fields = code === RequestCode.PULL_MESSAGE
      ? pullFields("FZ", 0, Math.floor(random() * 10))
      : sendV2Fields("FZ", Math.floor(random() * 3) - 1);
    return encodeCommand(createRequest(code, i + 1, fields, te.encode("fuzz".repeat(i + 1))));
  });
}

function payload(random: () => number, frames: Uint8Array[]): Uint8Array {
  const kind = Math.floor(random() * 5);
  const frame = frames[Math.floor(random() * frames.length)];
  switch (kind) {
    case 0: { // random bytes
      const bytes = new Uint8Array(1 + Math.floor(random() * 512));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
      return bytes;
    }
    case 1: // a frame cut short
      return frame.slice(0, Math.floor(random() * frame.length));
    case 2: { // a frame with a few corrupted bytes
      const bytes = frame.slice();
      for (let i = 0; i < 3; i++) {
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      }
      return bytes;
    }
    case 3: { // a well-framed but random header
      const header = new Uint8Array(Math.floor(random() * 64));
      for (let i = 0; i < header.length; i++) header[i] = 32 + Math.floor(random() * 95);
      const out = new Uint8Array(8 + header.length);
      const view = new DataView(out.buffer);
      view.setUint32(0, 4 + header.length);
      view.setUint32(4, ((random() < 0.5 ? 0 : 1) << 24) | header.length);
      out.set(header, 8);
      return out;
    }
    default: // a valid frame
      return frame;
  }
}

Deno.test("broker survives random, truncated and corrupt frames on many connections", async () => {
  const seed = Math.floor(Math.random() * 2 ** 31);
  const random = prng(seed);
  await using broker = await startTestBroker({
    frameBytesMax: 256 * 1024,
    messageBytesMax: 128 * 1024,
  });
  {
    await using admin = await TestConnection.connect(broker.port);
    await createTopic(admin, "FZ", 2);
  }
  const frames = validFrames(random);
  const attacks: Promise<void>[] = [];
  for (let c = 0; c < CONNECTIONS; c++) {
    const plan = Array.from({ length: PAYLOADS_PER_CONNECTION }, () => payload(random, frames));
    attacks.push((async () => {
      const conn = await TestConnection.connect(broker.port);
      try {
        for (const bytes of plan) await conn.writeRaw(bytes);
      } catch {
        // The broker may hang up mid-way: that is the expected outcome of a bad frame.
      } finally {
        await conn.close();
      }
    })());
  }
  await Promise.all(attacks);

  await using conn = await TestConnection.connect(broker.port);
  const sent = await conn.request(
    RequestCode.SEND_MESSAGE_V2,
    sendV2Fields("FZ", 1),
    te.encode("after the storm"),
  );
  assert.equal(sent.code, ResponseCode.SUCCESS, `seed ${seed}: ${sent.remark}`);
  const offset = Number(sent.extFields?.queueOffset);
  const pulled = await conn.request(RequestCode.PULL_MESSAGE, pullFields("FZ", 1, offset));
  assert.equal(pulled.code, ResponseCode.SUCCESS, `seed ${seed}: ${pulled.remark}`);
  assert.equal(new TextDecoder().decode(decodeRecords(pulled.body!)[0].body), "after the storm");
});
