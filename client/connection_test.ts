import assert from "node:assert/strict";
import { Connection, parseEndpoint } from "./connection.ts";
import { MQConnectionClosedError, MQTimeoutError } from "./errors.ts";
import { ok, startFakeBroker } from "./_testing/fake_broker.ts";
import {
  createRequest,
  createResponse,
  encodeCommand,
  FLAG_ONEWAY,
} from "./protocol/remoting_command.ts";
import { RequestCode } from "./protocol/request_code.ts";
import { ResponseCode } from "./protocol/response_code.ts";

Deno.test("parseEndpoint() splits host and port and rejects a missing port", () => {
  assert.deepEqual(parseEndpoint("127.0.0.1:10911"), { hostname: "127.0.0.1", port: 10911 });
  assert.deepEqual(parseEndpoint("[::1]:9876"), { hostname: "::1", port: 9876 });
  assert.throws(() => parseEndpoint("localhost"), TypeError);
  assert.throws(() => parseEndpoint("host:99999"), TypeError);
});

Deno.test("Connection.request() matches pipelined responses by opaque, even out of order", async () => {
  // Goal: many requests in flight on one socket; the fake answers them in reverse order.
  const held: Array<() => Promise<void>> = [];
  await using fake = startFakeBroker((request, peer) => {
    held.push(() =>
      peer.send(createResponse(request, 0, undefined, { echo: request.extFields?.n }))
    );
    if (held.length === 50) {
      return (async () => {
        for (const send of held.reverse()) await send();
        return undefined;
      })();
    }
    return undefined;
  });
  await using conn = await Connection.connect({ endpoint: fake.endpoint });
  const responses = await Promise.all(
    Array.from({ length: 50 }, (_, n) => conn.request(RequestCode.HEART_BEAT, { n: String(n) })),
  );
  assert.deepEqual(
    responses.map((r) => r.extFields?.echo),
    Array.from({ length: 50 }, (_, n) => String(n)),
  );
  assert.equal(conn.pendingRequests, 0);
});

Deno.test("Connection delivers frames queued in the same tick, in order", async () => {
  // Goal: 100 requests issued synchronously reach the peer; the fake sees them all in order.
  await using fake = startFakeBroker((request) => ok(request));
  await using conn = await Connection.connect({ endpoint: fake.endpoint });
  const calls = Array.from(
    { length: 100 },
    (_, n) => conn.request(RequestCode.GET_MAX_OFFSET, { n: String(n) }),
  );
  await Promise.all(calls);
  assert.deepEqual(fake.requests.map((r) => r.extFields?.n), calls.map((_, n) => String(n)));
});

Deno.test("Connection.request() rejects with MQTimeoutError when no response arrives", async () => {
  await using fake = startFakeBroker(() => undefined);
  await using conn = await Connection.connect({ endpoint: fake.endpoint });
  await assert.rejects(
    conn.request(RequestCode.PULL_MESSAGE, {}, undefined, { timeoutMs: 30 }),
    (error: unknown) => error instanceof MQTimeoutError && error.timeoutMs === 30,
  );
  assert.equal(conn.pendingRequests, 0);
});

Deno.test("Connection.request() rejects with the signal's reason when aborted", async () => {
  await using fake = startFakeBroker(() => undefined);
  await using conn = await Connection.connect({ endpoint: fake.endpoint });
  const controller = new AbortController();
  const call = conn.request(RequestCode.PULL_MESSAGE, {}, undefined, {
    signal: controller.signal,
    timeoutMs: 10_000,
  });
  controller.abort(new Error("stop"));
  await assert.rejects(call, { message: "stop" });
  await assert.rejects(
    conn.request(RequestCode.PULL_MESSAGE, {}, undefined, { signal: controller.signal }),
    { message: "stop" },
  );
});

Deno.test("Connection.close() rejects pending requests with MQConnectionClosedError", async () => {
  await using fake = startFakeBroker(() => undefined);
  const conn = await Connection.connect({ endpoint: fake.endpoint });
  const call = conn.request(RequestCode.PULL_MESSAGE, {}, undefined, { timeoutMs: 10_000 });
  const rejected = assert.rejects(call, MQConnectionClosedError);
  await conn.close();
  await rejected;
  assert.equal(conn.isClosed, true);
  assert.equal(await conn.closed, undefined);
  await assert.rejects(conn.request(RequestCode.HEART_BEAT), MQConnectionClosedError);
  assert.throws(() => conn.oneway(RequestCode.HEART_BEAT), MQConnectionClosedError);
});

Deno.test("Connection ends with MQConnectionClosedError when the peer closes", async () => {
  await using fake = startFakeBroker((_request, peer) => {
    peer.close();
    return undefined;
  });
  await using conn = await Connection.connect({ endpoint: fake.endpoint });
  await assert.rejects(conn.request(RequestCode.HEART_BEAT), MQConnectionClosedError);
  assert.ok((await conn.closed) instanceof Error);
});

Deno.test("Connection ends on a malformed frame from the peer", async () => {
  const bad = new Uint8Array([0, 0, 0, 2, 0, 0]); // length 2 < 4
  await using fake = startFakeBroker(() => bad);
  await using conn = await Connection.connect({ endpoint: fake.endpoint });
  await assert.rejects(conn.request(RequestCode.HEART_BEAT), MQConnectionClosedError);
});

Deno.test("Connection.oneway() sends with the oneway flag and expects no answer", async () => {
  await using fake = startFakeBroker((request) =>
    request.code === RequestCode.HEART_BEAT ? ok(request) : undefined
  );
  await using conn = await Connection.connect({ endpoint: fake.endpoint });
  conn.oneway(RequestCode.END_TRANSACTION, { a: "1" });
  await conn.request(RequestCode.HEART_BEAT); // ordered after the oneway on the same socket
  assert.equal(fake.requests[0].code, RequestCode.END_TRANSACTION);
  assert.equal(fake.requests[0].flag & FLAG_ONEWAY, FLAG_ONEWAY);
});

Deno.test("Connection hands broker-initiated requests to onRequest and sends its response", async () => {
  await using fake = startFakeBroker((request) =>
    request.code === RequestCode.HEART_BEAT ? ok(request) : undefined
  );
  const seen: number[] = [];
  let answered!: () => void;
  const done = new Promise<void>((resolve) => (answered = resolve));
  await using conn = await Connection.connect({
    endpoint: fake.endpoint,
    onRequest: (request) => {
      seen.push(request.code);
      if (request.code === RequestCode.CHECK_TRANSACTION_STATE) {
        queueMicrotask(answered);
        return createResponse(request, ResponseCode.SUCCESS);
      }
      return undefined;
    },
  });
  assert.equal(conn.isClosed, false);
  const peer = await fake.firstPeer;
  await peer.send(createRequest(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, 7, {}, undefined, true));
  await peer.send(createRequest(RequestCode.CHECK_TRANSACTION_STATE, 8, {}));
  await done;
  // The response was queued before this request, so the fake has read it once this answers.
  await conn.request(RequestCode.HEART_BEAT);
  assert.deepEqual(seen, [
    RequestCode.NOTIFY_CONSUMER_IDS_CHANGED,
    RequestCode.CHECK_TRANSACTION_STATE,
  ]);
  assert.equal(fake.responses.length, 1);
  assert.equal(fake.responses[0].opaque, 8);
});

Deno.test("Connection.connect() rejects with MQConnectionClosedError when nothing listens", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await assert.rejects(
    Connection.connect({ endpoint: `127.0.0.1:${port}` }),
    MQConnectionClosedError,
  );
});

Deno.test("encodeCommand() frames round-trip through the fake peer", async () => {
  // A response carrying a body arrives intact (the connection copies it out of its carry buffer).
  const body = new Uint8Array(200_000).map((_, i) => i & 0xff);
  await using fake = startFakeBroker((request) => ok(request, {}, body));
  await using conn = await Connection.connect({ endpoint: fake.endpoint });
  const [a, b] = await Promise.all([conn.request(1), conn.request(2)]);
  assert.deepEqual(a.body, body);
  assert.deepEqual(b.body, body);
  assert.ok(encodeCommand(a).length > body.length);
});
