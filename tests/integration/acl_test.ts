/**
 * Goal: with `--acl-file`, the broker admits exactly what RocketMQ's plain ACL admits over
 * remoting, answers everything else NO_PERMISSION (16) with a clear remark, stores nothing for a
 * denied send, keeps the connection usable, and follows edits of the file. Method: a real broker
 * with a YAML ACL file; the real producer and admin with credentials, and raw connections for
 * unsigned, badly signed and group requests.
 */

import assert from "node:assert/strict";
import { startTestBroker } from "../_helpers/broker.ts";
import { until } from "../_helpers/consume.ts";
import { createAdmin } from "../../client/admin.ts";
import { BrokerHttpServer } from "../../broker/http/http_server.ts";
import { createProducer } from "../../client/producer.ts";
import { createConsumer } from "../../client/consumer.ts";
import { Connection } from "../../client/connection.ts";
import { MQBrokerError } from "../../client/errors.ts";
import { signRequestFields } from "../../client/protocol/acl_signature.ts";
import { sendMessageRequestHeaderV2 } from "../../client/protocol/headers.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";

const ACL = (extra = "") => `
globalWhiteRemoteAddresses: []
accounts:
  - accessKey: producerAK
    secretKey: producer-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms: ["Allowed=PUB|SUB", "ReadOnly=SUB"]
    groupPerms: ["goodGroup=SUB", "badGroup=DENY"]
  - accessKey: adminAK01
    secretKey: admin-secret
    admin: true
${extra}`;

function sendFields(topic: string): Record<string, string> {
  return sendMessageRequestHeaderV2.encode({
    producerGroup: "pg",
    topic,
    defaultTopic: "TBW102",
    defaultTopicQueueNums: 4,
    queueId: 0,
    sysFlag: 0,
    bornTimestamp: Date.now(),
    flag: 0,
    properties: "",
  });
}

const body = new TextEncoder().encode("payload");

async function withAclBroker(
  yaml: string,
  run: (
    ctx: {
      endpoint: string;
      aclPath: string;
      stored: (t: string) => number;
      broker: Awaited<ReturnType<typeof startTestBroker>>;
    },
  ) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rmq_acl_" });
  const aclPath = `${dir}/plain_acl.yml`;
  await Deno.writeTextFile(aclPath, yaml);
  try {
    await using broker = await startTestBroker({ aclFile: aclPath });
    const endpoint = `127.0.0.1:${broker.port}`;
    {
      // Topics are created by an admin account (creating them needs admin).
      await using admin = await createAdmin({
        endpoint,
        credentials: { accessKey: "adminAK01", secretKey: "admin-secret" },
      });
      for (const topic of ["Allowed", "ReadOnly", "Other"]) await admin.createTopic(topic);
    }
    const stored = (topic: string) =>
      [0, 1, 2, 3].reduce((n, q) => n + broker.broker.store.getMaxOffsetInQueue(topic, q), 0);
    await run({ endpoint, aclPath, stored, broker });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("ACL: a signed producer with PUB sends; unsigned, wrong-secret and unknown-key sends are denied and not stored", async () => {
  await withAclBroker(ACL(), async ({ endpoint, stored }) => {
    await using producer = await createProducer({
      endpoint,
      group: "pg",
      credentials: { accessKey: "producerAK", secretKey: "producer-secret" },
    });
    const sent = await producer.send({ topic: "Allowed", body: "ok" });
    assert.equal(sent.status, "SEND_OK");
    assert.equal(stored("Allowed"), 1);

    await using conn = await Connection.connect({ endpoint });
    const unsigned = await conn.request(RequestCode.SEND_MESSAGE_V2, sendFields("Allowed"), body);
    assert.equal(unsigned.code, ResponseCode.NO_PERMISSION);
    assert.match(unsigned.remark!, /not signed/);

    const wrong = await conn.request(
      RequestCode.SEND_MESSAGE_V2,
      signRequestFields(sendFields("Allowed"), body, {
        accessKey: "producerAK",
        secretKey: "not-the-secret",
      }),
      body,
    );
    assert.equal(wrong.code, ResponseCode.NO_PERMISSION);
    assert.match(wrong.remark!, /signature failed for accessKey producerAK/);
    assert.doesNotMatch(wrong.remark!, /producer-secret|not-the-secret/);

    const unknown = await conn.request(
      RequestCode.SEND_MESSAGE_V2,
      signRequestFields(sendFields("Allowed"), body, {
        accessKey: "strangerAK",
        secretKey: "whatever1",
      }),
      body,
    );
    assert.equal(unknown.code, ResponseCode.NO_PERMISSION);
    assert.match(unknown.remark!, /No ACL account for accessKey strangerAK/);

    // A signature over different content (tampered body) fails too.
    const fields = signRequestFields(sendFields("Allowed"), body, {
      accessKey: "producerAK",
      secretKey: "producer-secret",
    });
    const tampered = await conn.request(
      RequestCode.SEND_MESSAGE_V2,
      fields,
      new TextEncoder().encode("PAYLOAD"),
    );
    assert.equal(tampered.code, ResponseCode.NO_PERMISSION);

    // The same connection still works, and only the allowed send was stored.
    const good = await conn.request(RequestCode.SEND_MESSAGE_V2, fields, body);
    assert.equal(good.code, ResponseCode.SUCCESS);
    assert.equal(stored("Allowed"), 2);
  });
});

Deno.test("ACL: topic without PUB, group without SUB and admin-only requests are denied with a clear remark", async () => {
  await withAclBroker(ACL(), async ({ endpoint, stored }) => {
    const credentials = { accessKey: "producerAK", secretKey: "producer-secret" };
    await using producer = await createProducer({ endpoint, group: "pg", credentials });
    await assert.rejects(
      producer.send({ topic: "ReadOnly", body: "x" }),
      (error: unknown) =>
        error instanceof MQBrokerError && error.code === ResponseCode.NO_PERMISSION &&
        /No PUB permission on topic ReadOnly/.test(error.message),
    );
    await assert.rejects(producer.send({ topic: "Other", body: "x" }), MQBrokerError);
    assert.equal(stored("ReadOnly") + stored("Other"), 0);

    await using conn = await Connection.connect({ endpoint, credentials });
    const query = (group: string) =>
      conn.request(RequestCode.QUERY_CONSUMER_OFFSET, {
        consumerGroup: group,
        topic: "ReadOnly",
        queueId: "0",
      });
    const good = await query("goodGroup");
    assert.notEqual(good.code, ResponseCode.NO_PERMISSION);
    const bad = await query("badGroup");
    assert.equal(bad.code, ResponseCode.NO_PERMISSION);
    assert.match(bad.remark!, /No SUB permission on group badGroup for accessKey producerAK/);

    await using admin = await createAdmin({ endpoint, credentials });
    await assert.rejects(
      admin.createTopic("MadeByProducer"),
      (error: unknown) =>
        error instanceof MQBrokerError && error.code === ResponseCode.NO_PERMISSION &&
        /needs an admin account/.test(error.message),
    );
  });
});

Deno.test("ACL: white-listed addresses skip the signature", async () => {
  // The account's own white list: a wrong secret from 127.0.0.1 is still accepted for its topics.
  const yaml = ACL(`  - accessKey: localAK01
    secretKey: local-secret
    whiteRemoteAddress: 127.0.0.*
    defaultTopicPerm: PUB
`);
  await withAclBroker(yaml, async ({ endpoint, stored }) => {
    await using conn = await Connection.connect({ endpoint });
    const response = await conn.request(
      RequestCode.SEND_MESSAGE_V2,
      signRequestFields(sendFields("Other"), body, {
        accessKey: "localAK01",
        secretKey: "nope-nope",
      }),
      body,
    );
    assert.equal(response.code, ResponseCode.SUCCESS);
    assert.equal(stored("Other"), 1);
  });
  // The global white list: even unsigned requests pass.
  await withAclBroker(
    `globalWhiteRemoteAddresses: ["127.0.0.1"]\n${ACL().replace(/^\nglobal.*\n/, "\n")}`,
    async ({ endpoint, stored }) => {
      await using conn = await Connection.connect({ endpoint });
      const response = await conn.request(RequestCode.SEND_MESSAGE_V2, sendFields("Other"), body);
      assert.equal(response.code, ResponseCode.SUCCESS);
      assert.equal(stored("Other"), 1);
    },
  );
});

Deno.test("ACL: an edited file is reloaded", async () => {
  await withAclBroker(ACL(), async ({ endpoint, aclPath }) => {
    const credentials = { accessKey: "producerAK", secretKey: "producer-secret" };
    await using conn = await Connection.connect({ endpoint, credentials });
    const send = () => conn.request(RequestCode.SEND_MESSAGE_V2, sendFields("Other"), body);
    assert.equal((await send()).code, ResponseCode.NO_PERMISSION);

    await Deno.writeTextFile(aclPath, ACL().replace("ReadOnly=SUB", 'ReadOnly=SUB", "Other=PUB'));
    await until(
      async () => (await send()).code === ResponseCode.SUCCESS,
      "the reload to grant PUB",
    );

    await Deno.writeTextFile(aclPath, ACL().replace("producerAK", "renamedAK"));
    await until(
      async () => (await send()).code === ResponseCode.NO_PERMISSION,
      "the reload to drop the account",
    );
  });
});

Deno.test("ACL: the HTTP API needs an admin account; /metrics stays open", async () => {
  await withAclBroker(ACL(), async ({ broker }) => {
    await using http = BrokerHttpServer.start({
      source: broker.broker.operations,
      hostname: "127.0.0.1",
      port: 0,
    });
    const base = `http://127.0.0.1:${http.port}`;
    const get = async (path: string, user?: string) => {
      const response = await fetch(`${base}${path}`, {
        headers: user === undefined ? {} : { authorization: `Basic ${btoa(user)}` },
      });
      await response.body?.cancel();
      return response.status;
    };
    assert.equal(await get("/metrics"), 200);
    // Denials so far are counted (the fetches below add none: HTTP is not remoting).
    await using conn = await Connection.connect({ endpoint: `127.0.0.1:${broker.port}` });
    await conn.request(RequestCode.SEND_MESSAGE_V2, sendFields("Allowed"), body);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^rocketmq_acl_denied_total\{[^}]*\} 1$/m);
    assert.equal(await get("/api/broker"), 401);
    assert.equal(await get("/api/broker", "producerAK:producer-secret"), 401);
    assert.equal(await get("/api/broker", "adminAK01:wrong-secret"), 401);
    assert.equal(await get("/api/broker", "adminAK01:admin-secret"), 200);
    assert.equal(await get("/", "adminAK01:admin-secret"), 200);
    const state = await (await fetch(`${base}/api/acl`, {
      headers: { authorization: `Basic ${btoa("adminAK01:admin-secret")}` },
    })).json();
    assert.equal(state.enabled, true);
    assert.equal(state.deniedTotal, 1);
    assert.match(state.recent[0].remark, /not signed/);
    assert.doesNotMatch(JSON.stringify(state), /secret/);
  });
});

Deno.test("ACL: a consumer with SUB on topic and group consumes; without group SUB it is refused", async () => {
  await withAclBroker(ACL(), async ({ endpoint }) => {
    const credentials = { accessKey: "producerAK", secretKey: "producer-secret" };
    await using producer = await createProducer({ endpoint, group: "pg", credentials });
    await producer.send({ topic: "Allowed", body: "for the consumer" });
    await using consumer = await createConsumer({
      endpoint,
      group: "goodGroup",
      topic: "Allowed",
      consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
      credentials,
    });
    const iterator = consumer.messages();
    const first = await iterator.next();
    assert.equal(first.done, false);
    assert.equal(first.value!.text(), "for the consumer");
    await iterator.return?.();

    await assert.rejects(
      (async () => {
        await using refused = await createConsumer({
          endpoint,
          group: "badGroup",
          topic: "Allowed",
          credentials,
        });
        await refused.messages().next();
      })(),
      (e: unknown) => e instanceof MQBrokerError && e.code === ResponseCode.NO_PERMISSION,
    );
  });
});
