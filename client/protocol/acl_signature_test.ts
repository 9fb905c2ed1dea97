import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { calculateSignature, requestSignatureContent, signRequestFields } from "./acl_signature.ts";

Deno.test("requestSignatureContent() joins values in key order, then the body", () => {
  const content = requestSignatureContent(
    { b: "2", a: "1", Signature: "x", AccessKey: "ak", _UNIQUE_KEY_QUERY: "true" },
    new Uint8Array([0x41, 0x42]),
  );
  // Java TreeMap order: "AccessKey" < "a" < "b" (upper case sorts first).
  assert.equal(new TextDecoder().decode(content), "ak12AB");
});

Deno.test("signRequestFields() adds AccessKey, SecurityToken and a base64 HMAC-SHA1 Signature", () => {
  const body = new TextEncoder().encode("hello");
  const signed = signRequestFields({ topic: "T", queueId: "3" }, body, {
    accessKey: "RocketMQ",
    secretKey: "12345678",
    securityToken: "tok",
  });
  assert.equal(signed.AccessKey, "RocketMQ");
  assert.equal(signed.SecurityToken, "tok");
  // Content: AccessKey, SecurityToken, queueId, topic values, then the body.
  const expected = createHmac("sha1", "12345678").update("RocketMQtok3Thello").digest("base64");
  assert.equal(signed.Signature, expected);
  assert.equal(
    calculateSignature(requestSignatureContent(signed, body), "12345678"),
    signed.Signature,
  );
});
