import assert from "node:assert/strict";
import { createRequest } from "../../client/protocol/remoting_command.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import { type Channel, RequestError, success } from "../api/broker_context.ts";
import { RequestRouter } from "./request_router.ts";

const channel: Channel = {
  id: "1",
  remoteAddress: "127.0.0.1:1",
  remoteHost: { ip: new Uint8Array([127, 0, 0, 1]), port: 1 },
  closed: false,
  send() {},
};

Deno.test("RequestRouter.dispatch() routes by code, sync and async", async () => {
  const router = new RequestRouter();
  router.register([[1, (r) => success(r, { sync: true })], [
    2,
    (r) => Promise.resolve(success(r, { sync: false })),
  ]]);
  const sync = router.dispatch(createRequest(1, 10), channel);
  assert.ok(!(sync instanceof Promise));
  assert.deepEqual([sync?.opaque, sync?.extFields], [10, { sync: "true" }]);
  const async = await router.dispatch(createRequest(2, 11), channel);
  assert.deepEqual([async?.opaque, async?.extFields], [11, { sync: "false" }]);
  assert.throws(() => router.register([[1, () => undefined]]), TypeError);
});

Deno.test("RequestRouter.dispatch() turns failures into responses and never throws", async () => {
  const logged: unknown[] = [];
  const router = new RequestRouter((e) => logged.push(e));
  router.register([
    [1, () => {
      throw new RequestError(ResponseCode.TOPIC_NOT_EXIST, "no topic");
    }],
    [2, () => Promise.reject(new Error("boom"))],
    [3, () => {
      throw new TypeError("bug");
    }],
  ]);
  const known = await router.dispatch(createRequest(1, 1), channel);
  assert.deepEqual([known?.code, known?.remark], [ResponseCode.TOPIC_NOT_EXIST, "no topic"]);
  const rejected = await router.dispatch(createRequest(2, 2), channel);
  assert.equal(rejected?.code, ResponseCode.SYSTEM_ERROR);
  assert.match(rejected?.remark ?? "", /boom/);
  const thrown = await router.dispatch(createRequest(3, 3), channel);
  assert.equal(thrown?.code, ResponseCode.SYSTEM_ERROR);
  assert.equal(logged.length, 2);
  const unknown = await router.dispatch(createRequest(777, 4), channel);
  assert.equal(unknown?.code, ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
});

Deno.test("RequestRouter.dispatch() never answers oneway requests", async () => {
  const router = new RequestRouter();
  let called = 0;
  router.register([[1, (r) => {
    called++;
    return success(r);
  }]]);
  assert.equal(await router.dispatch(createRequest(1, 1, {}, undefined, true), channel), undefined);
  assert.equal(await router.dispatch(createRequest(9, 2, {}, undefined, true), channel), undefined);
  assert.equal(called, 1);
});
