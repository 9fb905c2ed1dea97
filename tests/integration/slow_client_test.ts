/**
 * Goal: clients that pipeline pulls and never read their socket cost the
 * broker a bounded amount of memory, and a normal client next to them keeps
 * sending and pulling. Method: four raw connections each write 3,000
 * PULL_MESSAGE requests (32 messages of 1 KiB each) and never read; a normal
 * connection then sends and pulls back 300 messages. The broker's held output
 * must stay within a few high-water marks per slow connection; process RSS is
 * reported, not asserted.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createRequest, encodeCommand } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import {
  createTopic,
  pullFields,
  sendV2Fields,
  startTestBroker,
  TestConnection,
} from "../_helpers/broker.ts";

const HIGH_WATER = 256 * 1024;
const SLOW_CLIENTS = 4;
const PIPELINED_PULLS = 3000;
const body = new Uint8Array(1024).fill(0x62);

Deno.test("slow readers are held to their high-water mark while a normal client keeps flowing", async () => {
  await using broker = await startTestBroker({
    outputHighWaterBytes: HIGH_WATER,
    outputBytesPerConnectionMax: 16 * 1024 * 1024,
  });
  await using normal = await TestConnection.connect(broker.port);
  await createTopic(normal, "Slow", 1);
  // Data for the slow clients' pulls.
  const fill = await Promise.all(
    Array.from(
      { length: 200 },
      () => normal.request(RequestCode.SEND_MESSAGE_V2, sendV2Fields("Slow", 0), body),
    ),
  );
  assert.ok(fill.every((r) => r.code === ResponseCode.SUCCESS));

  const rssBefore = Deno.memoryUsage().rss;
  const slow: Deno.TcpConn[] = [];
  const writes: Promise<unknown>[] = [];
  for (let c = 0; c < SLOW_CLIENTS; c++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: broker.port });
    slow.push(conn);
    const frames = Array.from(
      { length: PIPELINED_PULLS },
      (_, i) =>
        encodeCommand(createRequest(RequestCode.PULL_MESSAGE, i + 1, pullFields("Slow", 0, 0))),
    );
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of frames) {
      all.set(f, at);
      at += f.length;
    }
    // The broker stops reading these requests at the high-water mark, so this write may never
    // finish; it fails when the connection is closed at the end.
    writes.push(
      (async () => {
        let written = 0;
        while (written < all.length) written += await conn.write(all.subarray(written));
      })().catch(() => {}),
    );
  }

  // Wait (bounded, on events: the normal client's round trips) until the slow readers hold output.
  let maxHeld = 0;
  for (let i = 0; i < 5000 && broker.broker.heldOutputBytes < HIGH_WATER; i++) {
    const r = await normal.request(RequestCode.PULL_MESSAGE, pullFields("Slow", 0, 0));
    assert.equal(r.code, ResponseCode.SUCCESS);
    maxHeld = Math.max(maxHeld, broker.broker.heldOutputBytes);
  }
  assert.ok(broker.broker.heldOutputBytes >= HIGH_WATER, "the slow readers never built a backlog");

  // The normal client keeps sending and pulling.
  await createTopic(normal, "Normal", 1);
  const sent = await Promise.all(
    Array.from(
      { length: 300 },
      () => normal.request(RequestCode.SEND_MESSAGE_V2, sendV2Fields("Normal", 0), body),
    ),
  );
  assert.ok(sent.every((r) => r.code === ResponseCode.SUCCESS));
  maxHeld = Math.max(maxHeld, broker.broker.heldOutputBytes);
  let offset = 0;
  while (offset < 300) {
    const r = await normal.request(RequestCode.PULL_MESSAGE, pullFields("Normal", 0, offset));
    assert.equal(r.code, ResponseCode.SUCCESS, r.remark);
    offset = Number(r.extFields?.nextBeginOffset);
    maxHeld = Math.max(maxHeld, broker.broker.heldOutputBytes);
  }
  assert.equal(offset, 300);

  // Each slow reader holds at most its high-water mark plus what its running pulls produce.
  const bound = SLOW_CLIENTS * 4 * HIGH_WATER;
  assert.ok(maxHeld <= bound, `held output ${maxHeld} exceeds ${bound}`);
  console.log(
    `slow readers: held output max ${(maxHeld / 1e6).toFixed(1)} MB; process RSS ${
      (rssBefore / 1e6).toFixed(0)
    } -> ${(Deno.memoryUsage().rss / 1e6).toFixed(0)} MB`,
  );

  for (const conn of slow) conn.close();
  await Promise.all(writes);
});
