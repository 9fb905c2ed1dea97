/**
 * Goal: the admin CLI's operations commands work against a real broker and their effects are
 * real: a subscription group's retryMaxTimes sends the next failure to the DLQ, a run-time config
 * change turns on topic auto-creation, statsAll counts what was sent, message queries find what
 * was sent, and ACL accounts created by the CLI can (and after deletion cannot) send. Method: a
 * real broker; the CLI's `runAdminCli` with captured output (tables and --json); effects checked
 * through the broker's own state and the real client.
 */

import assert from "node:assert/strict";
import { startTestBroker } from "../_helpers/broker.ts";
import { runAdminCli } from "../../client/cli/admin_cli.ts";
import { Connection } from "../../client/connection.ts";
import { createAdmin } from "../../client/admin.ts";
import { createProducer } from "../../client/producer.ts";
import { MQBrokerError } from "../../client/errors.ts";
import { consumerSendMsgBackRequestHeader } from "../../client/protocol/headers.ts";
import { decodeOffsetMessageId } from "../../client/protocol/message_id.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";

async function cli(...argv: string[]): Promise<{ code: number; text: string }> {
  const out: string[] = [];
  const code = await runAdminCli(argv, (t) => out.push(t));
  return { code, text: out.join("\n") };
}

Deno.test("admin CLI: subscription groups, broker config, statsAll, message queries", async () => {
  await using broker = await startTestBroker();
  const n = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint: n });
  await admin.createTopic("OpsCli", { readQueueNums: 2, writeQueueNums: 2 });
  await using producer = await createProducer({ endpoint: n, group: "pg" });
  const sent = [];
  for (let i = 0; i < 5; i++) {
    sent.push(await producer.send({ topic: "OpsCli", body: `m${i}`, keys: [`key-${i}`] }));
  }

  // Subscription groups: retryMaxTimes 0 sends the first failure straight to the DLQ.
  assert.equal((await cli("updateSubGroup", "-n", n, "-g", "ops-group", "-q", "0")).code, 0);
  const listed = JSON.parse((await cli("subGroupList", "-n", n, "--json")).text);
  assert.deepEqual(
    listed.map((g: { group: string; retryMaxTimes: number }) => [g.group, g.retryMaxTimes]),
    [["ops-group", 0]],
  );
  await using conn = await Connection.connect({ endpoint: n });
  const back = await conn.request(
    RequestCode.CONSUMER_SEND_MSG_BACK,
    consumerSendMsgBackRequestHeader.encode({
      offset: decodeOffsetMessageId(sent[0].offsetMsgId).commitLogOffset,
      group: "ops-group",
      delayLevel: 0,
      originMsgId: sent[0].msgId,
      originTopic: "OpsCli",
    }),
  );
  assert.equal(back.code, ResponseCode.SUCCESS);
  assert.equal(broker.broker.store.getMaxOffsetInQueue("%DLQ%ops-group", 0), 1);
  assert.equal(broker.broker.store.getMaxOffsetInQueue("%RETRY%ops-group", 0), 0);
  // consumeEnable false: the group's pulls are refused.
  assert.equal((await cli("updateSubGroup", "-n", n, "-g", "ops-group", "-s", "false")).code, 0);
  const pull = await conn.request(RequestCode.PULL_MESSAGE, {
    consumerGroup: "ops-group",
    topic: "OpsCli",
    queueId: "0",
    queueOffset: "0",
    maxMsgNums: "1",
    sysFlag: "0",
    commitOffset: "0",
    suspendTimeoutMillis: "0",
    subVersion: "0",
  });
  assert.equal(pull.code, ResponseCode.NO_PERMISSION);
  assert.match(pull.remark!, /consumeEnable is false/);
  assert.match((await cli("deleteSubGroup", "-n", n, "-g", "ops-group")).text, /deleted/);
  await assert.rejects(
    cli("deleteSubGroup", "-n", n, "-g", "ops-group"),
    (e: unknown) =>
      e instanceof MQBrokerError && e.code === ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST,
  );

  // Broker config: read, change a run-time option, refuse one that needs a restart.
  const config = JSON.parse((await cli("getBrokerConfig", "-n", n, "--json")).text);
  assert.equal(config.autoCreateTopicEnable, "false");
  assert.match((await cli("getBrokerConfig", "-n", n)).text, /brokerName\s+broker-a/);
  assert.equal(
    (await cli("updateBrokerConfig", "-n", n, "-k", "autoCreateTopicEnable", "-v", "true")).code,
    0,
  );
  assert.equal(broker.broker.config.autoCreateTopicEnable, true);
  assert.equal((await producer.send({ topic: "MadeOnTheFly", body: "x" })).status, "SEND_OK");
  await assert.rejects(
    cli("updateBrokerConfig", "-n", n, "-k", "port", "-v", "1"),
    (e: unknown) => e instanceof MQBrokerError && /needs a restart/.test(e.message),
  );

  // statsAll: the five sends (in the day window) and the topic's consumers.
  broker.broker.store.commitConsumerOffset("stats-group", "OpsCli", 0, 0);
  const stats = JSON.parse((await cli("statsAll", "-n", n, "-t", "OpsCli", "--json")).text);
  assert.equal(stats.length, 1);
  assert.equal(stats[0].group, "stats-group");
  assert.equal(stats[0].inMsgDay, 5);
  assert.ok(stats[0].accumulation > 0);
  assert.match((await cli("statsAll", "-n", n)).text, /OpsCli/);

  // Message queries and consumeMessage.
  const byKey = JSON.parse(
    (await cli("queryMsgByKey", "-n", n, "-t", "OpsCli", "-k", "key-3", "--json")).text,
  );
  assert.deepEqual(byKey.map((m: { body: string }) => m.body), ["m3"]);
  const byUniq = await cli("queryMsgByUniqueKey", "-n", n, "-t", "OpsCli", "-i", sent[2].msgId);
  assert.match(byUniq.text, /m2/);
  assert.equal((await cli("queryMsgByKey", "-n", n, "-t", "OpsCli", "-k", "nope")).code, 1);
  const consumed = JSON.parse(
    (await cli("consumeMessage", "-n", n, "-t", "OpsCli", "-c", "10", "--json")).text,
  );
  assert.deepEqual(consumed.map((m: { body: string }) => m.body).sort(), [
    "m0",
    "m1",
    "m2",
    "m3",
    "m4",
  ]);
  const later = JSON.parse(
    (await cli(
      "consumeMessage",
      "-n",
      n,
      "-t",
      "OpsCli",
      "-s",
      String(Date.now() + 60_000),
      "--json",
    )).text,
  );
  assert.deepEqual(later, []);
});

Deno.test("admin CLI: ACL accounts are created, listed with masked secrets, and deleted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmq_acl_cli_" });
  const aclPath = `${dir}/acl.yml`;
  await Deno.writeTextFile(
    aclPath,
    "accounts:\n  - accessKey: rootAdmin\n    secretKey: root-secret\n    admin: true\n",
  );
  try {
    await using broker = await startTestBroker({ aclFile: aclPath });
    const n = `127.0.0.1:${broker.port}`;
    const root = ["--ak", "rootAdmin", "--sk", "root-secret"];
    assert.equal((await cli("updateTopic", "-n", n, "-t", "AclCli", ...root)).code, 0);
    await assert.rejects(
      cli("updateAclConfig", "-n", n, "-a", "appUser01", "-s", "app-secret"),
      (e: unknown) => e instanceof MQBrokerError && e.code === ResponseCode.NO_PERMISSION,
    );
    const created = await cli(
      "updateAclConfig",
      "-n",
      n,
      ...root,
      "-a",
      "appUser01",
      "-s",
      "app-secret",
      "-i",
      "DENY",
      "-t",
      "AclCli=PUB",
    );
    assert.equal(created.code, 0);
    await using producer = await createProducer({
      endpoint: n,
      group: "pg",
      credentials: { accessKey: "appUser01", secretKey: "app-secret" },
    });
    assert.equal((await producer.send({ topic: "AclCli", body: "ok" })).status, "SEND_OK");

    const listed = await cli("getAclConfig", "-n", n, ...root, "--json");
    const accounts = JSON.parse(listed.text).plainAccessConfigs;
    assert.deepEqual(accounts.map((a: { accessKey: string }) => a.accessKey), [
      "rootAdmin",
      "appUser01",
    ]);
    assert.ok(accounts.every((a: { secretKey: string }) => a.secretKey === "****"));
    assert.doesNotMatch(listed.text, /app-secret|root-secret/);

    assert.equal((await cli("deleteAclConfig", "-n", n, ...root, "-a", "appUser01")).code, 0);
    await assert.rejects(
      producer.send({ topic: "AclCli", body: "denied" }),
      (e: unknown) => e instanceof MQBrokerError && e.code === ResponseCode.NO_PERMISSION,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
