import assert from "node:assert/strict";
import { FaultAvoidance } from "./broker_pool.ts";
import { NameServerClient } from "./name_server_client.ts";
import { SendRouter } from "./send_router.ts";
import { pickQueue, type RouteEntry } from "./topic_route.ts";
import { RETRIABLE_SEND_CODES } from "./producer.ts";
import { ok, startFakeBroker } from "./_testing/fake_broker.ts";
import { encodeJsonBody } from "./protocol/heartbeat.ts";
import { createResponse } from "./protocol/remoting_command.ts";
import { RequestCode } from "./protocol/request_code.ts";
import { ResponseCode } from "./protocol/response_code.ts";

function route(brokers: readonly string[], queues: number): RouteEntry {
  return {
    queues: brokers.flatMap((brokerName) =>
      Array.from({ length: queues }, (_, queueId) => ({ topic: "T", brokerName, queueId }))
    ),
    expiresAt: Infinity,
    next: 0,
  };
}

Deno.test("pickQueue() skips avoided brokers and the broker that just failed while another has queues", () => {
  const r = route(["a", "b", "c"], 2);
  const avoided = (name: string) => name === "a";
  const picked = Array.from({ length: 6 }, () => pickQueue(r, "T", avoided).brokerName);
  assert.ok(!picked.includes("a"));
  assert.ok(picked.includes("b") && picked.includes("c"));
  assert.equal(pickQueue(r, "T", undefined, "b").brokerName === "b", false);
  // Every broker avoided: still a queue, preferably not the one that just failed.
  const all = () => true;
  assert.notEqual(pickQueue(r, "T", all, "c").brokerName, "c");
  assert.deepEqual(pickQueue(route([], 0), "T", all), { topic: "T", brokerName: "", queueId: -1 });
});

Deno.test("FaultAvoidance avoids a failed broker for its isolation time, and forgets it on success", () => {
  let now = 0;
  const faults = new FaultAvoidance(100, () => now);
  faults.failed("a");
  assert.equal(faults.avoided("a"), true);
  assert.equal(faults.avoided("b"), false);
  now = 101;
  assert.equal(faults.avoided("a"), false);
  faults.failed("a");
  faults.succeeded("a");
  assert.equal(faults.avoided("a"), false);
});

Deno.test("SendRouter retries a refused send on another broker and then avoids the refusing one", async () => {
  const busy = startFakeBroker((r) => createResponse(r, ResponseCode.SYSTEM_BUSY, "busy", {}));
  const fine = startFakeBroker((r) => ok(r));
  const namesrv = startFakeBroker((r) =>
    r.code === RequestCode.GET_ROUTEINFO_BY_TOPIC
      ? ok(
        r,
        {},
        encodeJsonBody({
          queueDatas: [
            { brokerName: "busy", readQueueNums: 2, writeQueueNums: 2, perm: 6 },
            { brokerName: "fine", readQueueNums: 2, writeQueueNums: 2, perm: 6 },
          ],
          brokerDatas: [
            { cluster: "C", brokerName: "busy", brokerAddrs: { "0": busy.endpoint } },
            { cluster: "C", brokerName: "fine", brokerAddrs: { "0": fine.endpoint } },
          ],
        }),
      )
      : createResponse(r, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, "no", {})
  );
  const router = new SendRouter({
    nameServer: namesrv.endpoint,
    requestTimeoutMs: 3_000,
    retryTimes: 2,
    retriableCodes: RETRIABLE_SEND_CODES,
    routeTtlMs: 30_000,
  });
  try {
    const landed: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { queue } = await router.send({
        code: RequestCode.SEND_MESSAGE_V2,
        topic: "T",
        body: new Uint8Array([1]),
        header: (q) => ({ b: "T", e: String(q.queueId) }),
        timeoutMs: 3_000,
      });
      landed.push(queue.brokerName);
    }
    assert.deepEqual(new Set(landed), new Set(["fine"]));
    assert.ok(busy.requests.length <= 1, `busy broker asked ${busy.requests.length} times`);
  } finally {
    await router.close((c) => c.close());
    await busy.close();
    await fine.close();
    await namesrv.close();
  }
});

Deno.test("NameServerClient asks the next name server when one cannot be reached", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dead = `127.0.0.1:${(probe.addr as Deno.NetAddr).port}`;
  probe.close();
  const live = startFakeBroker((r) =>
    ok(r, {}, encodeJsonBody({ queueDatas: [], brokerDatas: [], topicList: ["A"] }))
  );
  await using client = new NameServerClient(`${dead};${live.endpoint}`);
  try {
    assert.deepEqual(await client.topicList(), ["A"]);
    assert.deepEqual(await client.topicList(), ["A"]);
    assert.equal(live.requests.length, 2);
    assert.throws(() => new NameServerClient(" ; "), TypeError);
  } finally {
    await live.close();
  }
});

Deno.test("Clients need exactly one of endpoint and nameServer, and a well-formed name-server list", () => {
  const base = { requestTimeoutMs: 1, retryTimes: 0, retriableCodes: [], routeTtlMs: 1 };
  assert.throws(() => new SendRouter(base), /either endpoint or nameServer/);
  assert.throws(
    () => new SendRouter({ ...base, endpoint: "127.0.0.1:1", nameServer: "127.0.0.1:2" }),
    /either endpoint or nameServer/,
  );
  assert.throws(() => new SendRouter({ ...base, nameServer: "127.0.0.1:2;nohost" }), TypeError);
});
