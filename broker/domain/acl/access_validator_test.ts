import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { signRequestFields } from "../../../client/protocol/acl_signature.ts";
import { createRequest } from "../../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../../client/protocol/request_code.ts";
import { AccessValidator, parseAuthorizationHeader } from "./access_validator.ts";
import { ACL_FAILURE_LOGS_PER_WINDOW, AclFailureLog } from "./acl_failure_log.ts";
import { AclPerm, parsePlainAclConfig } from "./plain_acl_config.ts";
import { parseRemoteAddressPattern, peerHost } from "./remote_address.ts";

function validator(extra: Record<string, unknown> = {}): AccessValidator {
  const parsed = parsePlainAclConfig({
    accounts: [
      {
        accessKey: "grpcUser",
        secretKey: "grpc-secret",
        defaultTopicPerm: "DENY",
        topicPerms: ["T=PUB"],
        groupPerms: ["G=SUB"],
      },
      { accessKey: "rootUser", secretKey: "root-secret", admin: true },
    ],
    ...extra,
  });
  assert.ok(parsed.ok);
  return new AccessValidator(parsed.config);
}

function grpcAuth(accessKey: string, secret: string, dateTime: string): string {
  const hex = createHmac("sha1", secret).update(dateTime).digest("hex").toUpperCase();
  return `MQv2-HMAC-SHA1 Credential=${accessKey}/region/channel, SignedHeaders=x-mq-date-time, Signature=${hex}`;
}

Deno.test("AccessValidator.checkGrpc() verifies HEX(HMAC-SHA1(sk, x-mq-date-time)) and resources", () => {
  const v = validator();
  const dateTime = "20261205T023000Z";
  const base = { dateTime, remoteAddress: "10.1.2.3:5000" };
  const pub = [{ name: "T", isGroup: false, perm: AclPerm.PUB }];
  assert.equal(
    v.checkGrpc({
      ...base,
      authorization: grpcAuth("grpcUser", "grpc-secret", dateTime),
      resources: pub,
    }).status,
    "ALLOWED",
  );
  const wrong = v.checkGrpc({
    ...base,
    authorization: grpcAuth("grpcUser", "other-secret", dateTime),
    resources: pub,
  });
  assert.equal(wrong.status, "DENIED");
  const unsigned = v.checkGrpc({ ...base, authorization: undefined, resources: pub });
  assert.equal(unsigned.status, "DENIED");
  const sub = v.checkGrpc({
    ...base,
    authorization: grpcAuth("grpcUser", "grpc-secret", dateTime),
    resources: [{ name: "T", isGroup: false, perm: AclPerm.SUB }],
  });
  assert.ok(sub.status === "DENIED" && /No SUB permission on topic T/.test(sub.remark));
  const admin = v.checkGrpc({
    ...base,
    authorization: grpcAuth("grpcUser", "grpc-secret", dateTime),
    resources: [],
    admin: true,
  });
  assert.equal(admin.status, "DENIED");
  assert.equal(
    v.checkGrpc({
      ...base,
      authorization: grpcAuth("rootUser", "root-secret", dateTime),
      resources: [],
      admin: true,
    }).status,
    "ALLOWED",
  );
});

Deno.test("parseAuthorizationHeader() takes the access key before the first slash", () => {
  assert.deepEqual(
    parseAuthorizationHeader(
      "MQv2-HMAC-SHA1 Credential=ak/r/c, SignedHeaders=x-mq-date-time, Signature=AB",
    ),
    { accessKey: "ak", signature: "AB", signedHeaders: ["x-mq-date-time"] },
  );
  assert.equal(parseAuthorizationHeader("garbage"), undefined);
});

Deno.test("AccessValidator.check() checks groups as their retry topic and honours the admin default", () => {
  const v = validator();
  const back = createRequest(
    RequestCode.CONSUMER_SEND_MSG_BACK,
    1,
    signRequestFields({ group: "G", offset: "0" }, undefined, {
      accessKey: "grpcUser",
      secretKey: "grpc-secret",
    }),
  );
  assert.equal(v.check(back, "1.2.3.4:1").status, "ALLOWED");
  const root = createRequest(
    RequestCode.UPDATE_AND_CREATE_TOPIC,
    1,
    signRequestFields({ topic: "X" }, undefined, {
      accessKey: "rootUser",
      secretKey: "root-secret",
    }),
  );
  assert.equal(v.check(root, "1.2.3.4:1").status, "ALLOWED");
});

Deno.test("Remote address patterns: exact, wildcard, range, set, list", () => {
  const m = (p: string, ip: string) => parseRemoteAddressPattern(p)!.matches(ip);
  assert.ok(m("*", "8.8.8.8"));
  assert.ok(m("192.168.0.1", "192.168.0.1") && !m("192.168.0.1", "192.168.0.2"));
  assert.ok(m("192.168.*.*", "192.168.7.9") && !m("192.168.*.*", "192.169.0.1"));
  assert.ok(m("10.0.0.1-10", "10.0.0.10") && !m("10.0.0.1-10", "10.0.0.11"));
  assert.ok(m("10.0.0.{1,3}", "10.0.0.3") && !m("10.0.0.{1,3}", "10.0.0.2"));
  assert.ok(m("1.1.1.1,2.2.2.2", "2.2.2.2"));
  assert.equal(parseRemoteAddressPattern("300.1.1.1"), undefined);
  assert.equal(peerHost("[::ffff:10.0.0.1]:99"), "10.0.0.1");
  assert.equal(peerHost("127.0.0.1:5"), "127.0.0.1");
});

Deno.test("parsePlainAclConfig() rejects short keys and bad permissions without quoting secrets", () => {
  const short = parsePlainAclConfig({ accounts: [{ accessKey: "ab", secretKey: "TOPSECRET99" }] });
  assert.ok(!short.ok && /accessKey/.test(short.error) && !short.error.includes("TOPSECRET99"));
  const perm = parsePlainAclConfig({
    accounts: [{ accessKey: "abcdefg", secretKey: "TOPSECRET99", topicPerms: ["T=READ"] }],
  });
  assert.ok(!perm.ok && /T=READ/.test(perm.error) && !perm.error.includes("TOPSECRET99"));
});

Deno.test("AclFailureLog keeps a bounded list and rate-limits its log lines", () => {
  const lines: Readonly<Record<string, unknown>>[] = [];
  let now = 0;
  const log = new AclFailureLog((e) => lines.push(e), () => now);
  for (let i = 0; i < 500; i++) {
    log.record({ remoteAddress: "1.2.3.4:5", requestCode: 10, accessKey: "ak", remark: "no" });
  }
  assert.equal(log.total, 500);
  assert.equal(log.recent().length, 100);
  assert.equal(lines.length, ACL_FAILURE_LOGS_PER_WINDOW);
  now = 60_000;
  log.record({ remoteAddress: "1.2.3.4:5", requestCode: 10, accessKey: "ak", remark: "no" });
  assert.deepEqual(lines.at(-2), {
    event: "acl_denied_suppressed",
    count: 500 - ACL_FAILURE_LOGS_PER_WINDOW,
  });
});

Deno.test("AccessValidator.checkGrpc() admits a signed call to a PUB topic and refuses SUB on it", () => {
  const v = validator();
  const dateTime = "20261205T030000Z";
  const auth = grpcAuth("grpcUser", "grpc-secret", dateTime);
  const call = (perm: number) =>
    v.checkGrpc({
      authorization: auth,
      dateTime,
      remoteAddress: "10.0.0.9:1",
      resources: [{ name: "T", isGroup: false, perm }],
    }).status;
  assert.equal(call(AclPerm.PUB), "ALLOWED");
  assert.equal(call(AclPerm.SUB), "DENIED");
});
