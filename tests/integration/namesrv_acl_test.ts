/**
 * Goal: a name server started with `--acl-file` checks registrations and route queries with the
 * same plain ACL as the broker: broker writes need an admin account, route queries a valid
 * account with PUB or SUB on the topic; everything else is answered NO_PERMISSION (16) with a
 * remark, the connection stays usable and the tables do not change; edits of the file are
 * followed. Method: an in-process name server with a YAML ACL file; raw signed and unsigned
 * connections; real brokers with and without `--namesrv-access-key`; the real producer,
 * ClusterAdmin and admin CLI with and without credentials.
 */

import assert from "node:assert/strict";
import { runAdminCli } from "../../client/cli/admin_cli.ts";
import { ClusterAdmin } from "../../client/cluster_admin.ts";
import { Connection } from "../../client/connection.ts";
import { MQBrokerError } from "../../client/errors.ts";
import { createOpsAdmin } from "../../client/ops_admin.ts";
import { createProducer } from "../../client/producer.ts";
import { type SessionCredentials, signRequestFields } from "../../client/protocol/acl_signature.ts";
import { getRouteInfoRequestHeader } from "../../client/protocol/headers.ts";
import { registerBrokerRequestHeader } from "../../client/protocol/namesrv_headers.ts";
import { encodeRegisterBrokerBody } from "../../client/protocol/register_broker_body.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import { BROKER_CONFIG_DEFAULTS, validateBrokerConfig } from "../../broker/config.ts";
import { NAMESRV_CONFIG_DEFAULTS } from "../../namesrv/config.ts";
import { NameServer } from "../../namesrv/namesrv.ts";
import { createTopic, startTestBroker, TestConnection } from "../_helpers/broker.ts";
import { until } from "../_helpers/consume.ts";
import { makeTempDir } from "../_helpers/temp_dir.ts";

const ACL = `
globalWhiteRemoteAddresses: []
accounts:
  - accessKey: brokerAK01
    secretKey: broker-secret
    admin: true
  - accessKey: producerAK
    secretKey: producer-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms: ["Orders=PUB"]
`;
const BROKER: SessionCredentials = { accessKey: "brokerAK01", secretKey: "broker-secret" };
const PRODUCER: SessionCredentials = { accessKey: "producerAK", secretKey: "producer-secret" };

async function withAclNamesrv(
  yaml: string,
  run: (ctx: { namesrv: NameServer; endpoint: string; aclPath: string }) => Promise<void>,
): Promise<void> {
  await using dir = await makeTempDir("rmq_namesrv_acl_");
  const aclPath = `${dir.path}/plain_acl.yml`;
  await Deno.writeTextFile(aclPath, yaml);
  await using namesrv = await NameServer.start({
    config: { ...NAMESRV_CONFIG_DEFAULTS, port: 0, dataDir: `${dir.path}/ns`, aclFile: aclPath },
    aclReloadCheckIntervalMs: 50,
  });
  await run({ namesrv, endpoint: `127.0.0.1:${namesrv.port}`, aclPath });
}

function registration(): { fields: Record<string, string>; body: Uint8Array } {
  const topic = { topicName: "Stolen", readQueueNums: 4, writeQueueNums: 4, perm: 6 };
  const body = encodeRegisterBrokerBody({
    topicConfigTable: { Stolen: topic as never },
    dataVersion: { stateVersion: 0, timestamp: Date.now(), counter: 1 },
    filterServerList: [],
  }, false);
  const fields = registerBrokerRequestHeader.encode({
    brokerName: "intruder",
    brokerAddr: "127.0.0.1:1",
    clusterName: "C",
    haServerAddr: "127.0.0.1:2",
    brokerId: 0,
  });
  return { fields, body };
}

const route = (topic: string) =>
  getRouteInfoRequestHeader.encode({ topic, acceptStandardJsonOnly: true });

Deno.test("namesrv ACL: unsigned, wrong-secret and non-admin registrations and unsigned route queries are refused; the name server keeps serving", async () => {
  await withAclNamesrv(ACL, async ({ namesrv, endpoint }) => {
    await using conn = await Connection.connect({ endpoint });
    const { fields, body } = registration();

    const unsigned = await conn.request(RequestCode.REGISTER_BROKER, fields, body);
    assert.equal(unsigned.code, ResponseCode.NO_PERMISSION);
    assert.match(unsigned.remark!, /not signed/);

    const wrong = await conn.request(
      RequestCode.REGISTER_BROKER,
      signRequestFields(fields, body, { accessKey: "brokerAK01", secretKey: "not-the-secret" }),
      body,
    );
    assert.equal(wrong.code, ResponseCode.NO_PERMISSION);
    assert.match(wrong.remark!, /signature failed for accessKey brokerAK01/);
    assert.doesNotMatch(wrong.remark!, /broker-secret|not-the-secret/);

    const notAdmin = await conn.request(
      RequestCode.REGISTER_BROKER,
      signRequestFields(fields, body, PRODUCER),
      body,
    );
    assert.equal(notAdmin.code, ResponseCode.NO_PERMISSION);
    assert.match(notAdmin.remark!, /needs an admin account; accessKey producerAK is not admin/);
    assert.deepEqual(namesrv.routes.clusterInfo().clusterAddrTable, {}, "nothing registered");

    const unsignedRoute = await conn.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, route("Orders"));
    assert.equal(unsignedRoute.code, ResponseCode.NO_PERMISSION);
    const unknownKey = await conn.request(
      RequestCode.GET_BROKER_CLUSTER_INFO,
      signRequestFields({}, undefined, { accessKey: "strangerAK", secretKey: "whatever1" }),
    );
    assert.equal(unknownKey.code, ResponseCode.NO_PERMISSION);
    assert.match(unknownKey.remark!, /No ACL account for accessKey strangerAK/);

    // The same connection still serves signed requests; the admin account may register.
    const info = await conn.request(
      RequestCode.GET_BROKER_CLUSTER_INFO,
      signRequestFields({}, undefined, PRODUCER),
    );
    assert.equal(info.code, ResponseCode.SUCCESS);
    const admitted = await conn.request(
      RequestCode.REGISTER_BROKER,
      signRequestFields(fields, body, BROKER),
      body,
    );
    assert.equal(admitted.code, ResponseCode.SUCCESS);
    assert.deepEqual(namesrv.routes.clusterInfo().clusterAddrTable, { C: ["intruder"] });
  });
});

Deno.test("namesrv ACL: a broker with --namesrv-access-key registers, one without does not; producers, ClusterAdmin and the CLI route with credentials", async () => {
  await withAclNamesrv(ACL, async ({ namesrv, endpoint }) => {
    await using signed = await startTestBroker({
      namesrvAddr: endpoint,
      brokerName: "signed",
      clusterName: "C",
      namesrvAccessKey: BROKER.accessKey,
      namesrvSecretKey: BROKER.secretKey,
    });
    // start() awaits the first registration round, so both outcomes are known now.
    await using _unsigned = await startTestBroker({
      namesrvAddr: endpoint,
      brokerName: "unsigned",
      clusterName: "C",
    });
    assert.deepEqual(namesrv.routes.clusterInfo().clusterAddrTable, { C: ["signed"] });

    await using conn = await TestConnection.connect(signed.port);
    await createTopic(conn, "Orders");
    await until(() => namesrv.routes.topicRoute("Orders") !== undefined, "the Orders route");

    await using producer = await createProducer({
      nameServer: endpoint,
      group: "pg",
      credentials: PRODUCER,
    });
    const sent = await producer.send({ topic: "Orders", body: "through the name server" });
    assert.equal(sent.status, "SEND_OK");
    assert.equal(sent.queue.brokerName, "signed");
    // No PUB or SUB on this topic for producerAK: its route is refused.
    await assert.rejects(
      producer.send({ topic: "Secret", body: "x" }),
      (e) => e instanceof MQBrokerError && e.code === ResponseCode.NO_PERMISSION,
    );

    await using anonymous = await createProducer({ nameServer: endpoint, group: "pg" });
    await assert.rejects(
      anonymous.send({ topic: "Orders", body: "x" }),
      (e) => e instanceof MQBrokerError && e.code === ResponseCode.NO_PERMISSION,
    );

    await using admin = new ClusterAdmin({ nameServer: endpoint, credentials: BROKER });
    assert.deepEqual((await admin.clusterInfo()).clusterAddrTable, { C: ["signed"] });
    await using anonymousAdmin = new ClusterAdmin({ nameServer: endpoint });
    await assert.rejects(
      anonymousAdmin.clusterInfo(),
      (e) => e instanceof MQBrokerError && e.code === ResponseCode.NO_PERMISSION,
    );

    const out: string[] = [];
    const code = await runAdminCli(
      ["clusterList", "-n", endpoint, "--ak", BROKER.accessKey, "--sk", BROKER.secretKey],
      (t) => out.push(t),
    );
    assert.equal(code, 0);
    assert.match(out.join("\n"), /C\s+signed\s+0/);
    await assert.rejects(runAdminCli(["clusterList", "-n", endpoint], () => {}), MQBrokerError);

    // The broker's config shows that a secret is set, never the secret.
    await using ops = createOpsAdmin({ endpoint: `127.0.0.1:${signed.port}` });
    const config = await ops.getBrokerConfig();
    assert.equal(config.namesrvAccessKey, "brokerAK01");
    assert.equal(config.namesrvSecretKey, "***");
  });
});

Deno.test("namesrv ACL: an edited file is reloaded", async () => {
  await withAclNamesrv(ACL, async ({ endpoint, aclPath }) => {
    await using conn = await Connection.connect({ endpoint, credentials: PRODUCER });
    const ask = async () =>
      (await conn.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, route("Secret"))).code;
    assert.equal(await ask(), ResponseCode.NO_PERMISSION);

    // Granted: the query passes the guard (no broker serves the topic, hence TOPIC_NOT_EXIST).
    await Deno.writeTextFile(aclPath, ACL.replace('"Orders=PUB"', '"Orders=PUB", "Secret=SUB"'));
    await until(
      async () => (await ask()) === ResponseCode.TOPIC_NOT_EXIST,
      "the reload to grant SUB",
    );

    await Deno.writeTextFile(aclPath, ACL.replace("producerAK", "renamedAK"));
    await until(
      async () => (await ask()) === ResponseCode.NO_PERMISSION,
      "the reload to drop the account",
    );
  });
});

Deno.test("namesrv ACL: an unreadable ACL file stops the start with a clear error", async () => {
  await using dir = await makeTempDir("rmq_namesrv_acl_bad_");
  await assert.rejects(
    NameServer.start({
      config: {
        ...NAMESRV_CONFIG_DEFAULTS,
        port: 0,
        dataDir: dir.path,
        aclFile: `${dir.path}/missing.yml`,
      },
    }),
    /Cannot read ACL file/,
  );
});

Deno.test("broker config: a name-server access key needs its secret, and the other way round", () => {
  validateBrokerConfig({ ...BROKER_CONFIG_DEFAULTS, namesrvAccessKey: "a", namesrvSecretKey: "s" });
  assert.throws(
    () => validateBrokerConfig({ ...BROKER_CONFIG_DEFAULTS, namesrvAccessKey: "brokerAK01" }),
    /give both namesrvAccessKey and namesrvSecretKey/,
  );
  assert.throws(
    () => validateBrokerConfig({ ...BROKER_CONFIG_DEFAULTS, namesrvSecretKey: "broker-secret" }),
    RangeError,
  );
});
