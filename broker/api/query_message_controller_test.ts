import assert from "node:assert/strict";
import {
  queryMessageRequestHeader,
  queryMessageResponseHeader,
} from "../../client/protocol/headers.ts";
import { encodeRecord, recordSize } from "../../client/protocol/message_record.ts";
import { encodeProperties } from "../../client/protocol/properties.ts";
import { createRequest, type RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type { StoredMessage, StoreStats } from "../../store/mod.ts";
import { type Channel, RequestError } from "./broker_context.ts";
import { QueryMessageController, UNIQUE_KEY_QUERY_MAX } from "./query_message_controller.ts";

const T0 = 1_700_000_000_000;
const HOST = { ip: new Uint8Array([127, 0, 0, 1]), port: 10911 };
const encoder = new TextEncoder();

function stored(offset: number, props: Record<string, string>): StoredMessage {
  const topicBytes = encoder.encode("T");
  const propertiesBytes = encoder.encode(encodeProperties(props));
  const body = encoder.encode("hello");
  const record = new Uint8Array(
    recordSize(body.length, topicBytes.length, propertiesBytes.length, 4, 4),
  );
  encodeRecord({
    queueId: 0,
    flag: 0,
    queueOffset: 0,
    commitLogOffset: offset,
    sysFlag: 0,
    bornTimestamp: T0,
    bornHost: HOST,
    storeTimestamp: T0,
    storeHost: HOST,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    body,
    topicBytes,
    propertiesBytes,
  }, record);
  return { queueOffset: 0, commitLogOffset: offset, tagsCode: 0, record };
}

/** A store answering lookups from a fixed list, recording the calls. */
function fakeStore(messages: StoredMessage[]) {
  const calls: unknown[][] = [];
  return {
    calls,
    store: {
      queryMessageByKey(...args: [string, string, number, number, number]) {
        calls.push(args);
        return Promise.resolve(messages.slice(0, args[2]));
      },
      stats: () => ({ dispatchedOffset: 4242 }) as StoreStats,
    },
    clock: { nowMs: () => T0 + 5 },
  };
}

function request(fields: Record<string, string>): RemotingCommand {
  return createRequest(RequestCode.QUERY_MESSAGE, 9, fields);
}

const BASE = { topic: "T", key: "k", maxNum: 10, beginTimestamp: 0, endTimestamp: T0 * 2 };

Deno.test("QueryMessageController answers the records of a key concatenated, with the index status", async () => {
  const a = stored(200, { UNIQ_KEY: "U2", KEYS: "k" });
  const b = stored(100, { UNIQ_KEY: "U1", KEYS: "k" });
  const deps = fakeStore([a, b]);
  const controller = new QueryMessageController(deps, {
    indexStatus: () => ({ lastUpdateTimestamp: T0 + 1, lastUpdatePhyOffset: 200 }),
  });
  const [[code, handler]] = controller.handlers();
  assert.equal(code, RequestCode.QUERY_MESSAGE);
  const response = await handler(request(queryMessageRequestHeader.encode(BASE)), {} as Channel);
  assert.equal(response?.code, ResponseCode.SUCCESS);
  assert.deepEqual(response?.bodyParts, [a.record, b.record]);
  const header = queryMessageResponseHeader.decode(response?.extFields);
  assert.deepEqual(header, {
    ok: true,
    header: { indexLastUpdateTimestamp: T0 + 1, indexLastUpdatePhyoffset: 200 },
  });
  assert.deepEqual(deps.calls, [["T", "k", 10, 0, T0 * 2]]);
});

Deno.test("QueryMessageController caps maxNum at 64 and answers QUERY_NOT_FOUND when nothing matches", async () => {
  const deps = fakeStore([]);
  const controller = new QueryMessageController(deps);
  const response = await controller.queryMessage(
    request(queryMessageRequestHeader.encode({ ...BASE, maxNum: 1000 })),
  );
  assert.equal(response.code, ResponseCode.QUERY_NOT_FOUND);
  assert.match(response.remark ?? "", /No message with key k in topic T/);
  assert.equal(deps.calls[0][2], 64);
  // Default index status: the clock and the store's dispatched offset.
  assert.equal(response.extFields?.indexLastUpdateTimestamp, String(T0 + 5));
  assert.equal(response.extFields?.indexLastUpdatePhyoffset, "4242");
});

Deno.test("QueryMessageController treats _UNIQUE_KEY_QUERY as a message id query", async () => {
  // The index matched U1 both as an id and as another message's key.
  const byId = stored(100, { UNIQ_KEY: "U1" });
  const byKey = stored(300, { UNIQ_KEY: "U9", KEYS: "U1" });
  const deps = fakeStore([byKey, byId]);
  const controller = new QueryMessageController(deps);
  const fields = queryMessageRequestHeader.encode({
    ...BASE,
    key: "U1",
    maxNum: 1,
    uniqueKeyQuery: true,
  });
  assert.equal(fields._UNIQUE_KEY_QUERY, "true");
  const response = await controller.queryMessage(request(fields));
  assert.equal(response.code, ResponseCode.SUCCESS);
  assert.deepEqual(response.bodyParts, [byId.record]);
  assert.equal(deps.calls[0][2], UNIQUE_KEY_QUERY_MAX, "maxNum is forced for id queries");
});

Deno.test("QueryMessageController answers INVALID_PARAMETER for a bad request", async () => {
  const controller = new QueryMessageController(fakeStore([]));
  const bad: Record<string, string>[] = [
    {},
    queryMessageRequestHeader.encode({ ...BASE, topic: "bad topic" }),
    queryMessageRequestHeader.encode({ ...BASE, key: "" }),
    queryMessageRequestHeader.encode({ ...BASE, maxNum: 0 }),
    queryMessageRequestHeader.encode({ ...BASE, beginTimestamp: 10, endTimestamp: 5 }),
  ];
  for (const fields of bad) {
    await assert.rejects(
      () => controller.queryMessage(request(fields)),
      (error: unknown) =>
        error instanceof RequestError && error.code === ResponseCode.INVALID_PARAMETER,
      JSON.stringify(fields),
    );
  }
  assert.throws(
    () => new QueryMessageController(fakeStore([]), { queryMessagesMax: 0 }),
    RangeError,
  );
});
