import assert from "node:assert/strict";
import { MessageConst } from "../../client/protocol/properties.ts";
import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type { MessageToPut, PutMessageResult } from "../../store/mod.ts";
import { TIMER_TOPIC } from "../domain/timer/timer_transform.ts";
import { createTopicConfig } from "../domain/topic_config.ts";
import type { BrokerContext, Channel } from "./broker_context.ts";
import { SendController } from "./send_controller.ts";

const utf8 = new TextEncoder();
const NOW = 1_700_000_000_000;

/** A controller over a fake store that records every batch it is given. */
function harness(): { controller: SendController; puts: MessageToPut[][] } {
  const puts: MessageToPut[][] = [];
  let offset = 0;
  const store = {
    putMessages(messages: readonly MessageToPut[]): Promise<PutMessageResult> {
      puts.push([...messages]);
      const commitLogOffsets = messages.map(() => (offset += 100));
      return Promise.resolve({
        status: "PUT_OK",
        commitLogOffset: commitLogOffsets[0],
        commitLogOffsets,
        queueOffset: 0,
        storeTimestamp: NOW,
      } as unknown as PutMessageResult);
    },
  };
  const topic = createTopicConfig("Orders", { readQueueNums: 4, writeQueueNums: 4 });
  let id = 0;
  const ctx = {
    config: {
      clusterName: "Cluster\u00e9",
      timerMaxDelayMs: 0,
      messageBytesMax: 4 << 20,
      autoCreateTopicEnable: false,
      defaultTopicQueueNums: 4,
    },
    store,
    topics: { get: (name: string) => name === "Orders" ? topic : undefined },
    clock: { nowMs: () => NOW },
    uniqueIds: { next: () => `ID${id++}` },
    storeHost: { ip: new Uint8Array([127, 0, 0, 1]), port: 10911 },
    brokerAddress: "127.0.0.1:10911",
    nextOpaque: () => 1,
  } as unknown as BrokerContext;
  return { controller: new SendController(ctx), puts };
}

/** A SEND_BATCH_MESSAGE body from raw properties bytes per message. */
function batchBody(properties: readonly Uint8Array[]): Uint8Array {
  const records = properties.map((p, i) => {
    const body = utf8.encode(`body ${i}`);
    const record = new Uint8Array(22 + body.length + p.length);
    const view = new DataView(record.buffer);
    view.setInt32(0, record.length);
    view.setInt32(16, body.length);
    record.set(body, 20);
    view.setInt16(20 + body.length, p.length);
    record.set(p, 22 + body.length);
    return record;
  });
  const out = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
  let at = 0;
  for (const r of records) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}

function batchRequest(body: Uint8Array): RemotingCommand {
  return {
    code: RequestCode.SEND_BATCH_MESSAGE,
    language: "JAVA",
    version: 1,
    opaque: 1,
    flag: 0,
    extFields: { a: "G", b: "Orders", c: "TBW102", d: "4", e: "1", f: "0", g: `${NOW}`, h: "0" },
    body,
  };
}

const channel = { remoteHost: { ip: new Uint8Array([10, 0, 0, 1]), port: 4242 } } as Channel;

/** Every message's bytes for the store are absent or exactly the UTF-8 of its properties. */
function assertBytesMatch(messages: readonly MessageToPut[]): void {
  for (const m of messages) {
    if (m.propertiesBytes !== undefined) {
      assert.deepEqual(m.propertiesBytes, utf8.encode(m.properties), m.properties);
    }
  }
}

Deno.test("SendController batch hands the store properties bytes equal to the enriched properties", async () => {
  const { controller, puts } = harness();
  const sent = [
    utf8.encode("UNIQ_KEY\u0001U1\u0002WAIT\u0001true\u0002"),
    utf8.encode("KEYS\u0001k\u0001"), // no trailing separator, no UNIQ_KEY
    new Uint8Array(0),
    utf8.encode("\ufeffTAGS\u0001caf\u00e9\u0002UNIQ_KEY\u0001U4\u0002"), // BOM and non-ASCII
    utf8.encode(`UNIQ_KEY\u0001U5\u0002${MessageConst.CLUSTER}\u0001c\u0002`),
  ];
  const response = await controller.send(batchRequest(batchBody(sent)), channel);
  assert.equal(response.code, ResponseCode.SUCCESS);
  assert.equal(puts.length, 1);
  const stored = puts[0];
  assert.equal(stored.length, 5);
  assertBytesMatch(stored);
  assert.ok(stored.every((m) => m.propertiesBytes !== undefined));
  assert.ok(stored[3].properties.startsWith("\ufeffTAGS\u0001caf\u00e9"));
  assert.ok(stored[1].properties.startsWith("KEYS\u0001k\u0001\u0002UNIQ_KEY\u0001ID"));
  assert.ok(stored[4].properties.endsWith(`${MessageConst.CLUSTER}\u0001c\u0002`));
});

Deno.test("SendController batch with malformed UTF-8 properties leaves the store to encode them", async () => {
  const { controller, puts } = harness();
  const sent = [utf8.encode("UNIQ_KEY\u0001U1\u0002"), new Uint8Array([0x41, 0x01, 0xff, 0x02])];
  const response = await controller.send(batchRequest(batchBody(sent)), channel);
  assert.equal(response.code, ResponseCode.SUCCESS);
  assertBytesMatch(puts[0]);
  assert.equal(puts[0][1].propertiesBytes, undefined);
});

Deno.test("SendController delayed batch reaches the store rewritten, without the sent bytes", async () => {
  const { controller, puts } = harness();
  const sent = [1, 2].map((i) => utf8.encode(`UNIQ_KEY\u0001U${i}\u0002DELAY\u00012\u0002`));
  const response = await controller.send(batchRequest(batchBody(sent)), channel);
  assert.equal(response.code, ResponseCode.SUCCESS);
  for (const m of puts[0]) {
    assert.equal(m.topic, TIMER_TOPIC);
    assert.equal(m.propertiesBytes, undefined);
    assert.ok(m.properties.includes(MessageConst.REAL_TOPIC));
  }
});
