/**
 * RocketMQ's request signature for access control (plain ACL, remoting).
 *
 * A signed request carries `AccessKey`, `Signature` and optionally
 * `SecurityToken` in its `extFields`. The signature is
 * `base64(HMAC-SHA1(secretKey, content))` where `content` is the UTF-8 bytes
 * of the values of every other field (all but `Signature` and
 * `_UNIQUE_KEY_QUERY`), concatenated in ascending key order (Java's
 * `TreeMap` order: UTF-16 code units), followed by the raw body bytes.
 * `AccessKey` and `SecurityToken` are themselves part of the content.
 *
 * The client signs with {@linkcode signRequestFields}; the broker recomputes
 * with {@linkcode requestSignatureContent} and compares in constant time.
 *
 * @module
 */

import { createHmac } from "node:crypto";

/** extFields key of the access key. */
export const ACCESS_KEY_FIELD = "AccessKey";
/** extFields key of the signature. */
export const SIGNATURE_FIELD = "Signature";
/** extFields key of the optional security token. */
export const SECURITY_TOKEN_FIELD = "SecurityToken";
/** A field RocketMQ clients add after signing; never part of the content. */
export const UNIQUE_KEY_QUERY_FIELD = "_UNIQUE_KEY_QUERY";

/** An account's credentials as the client holds them. */
export interface SessionCredentials {
  /** The account's access key (its public name). */
  readonly accessKey: string;
  /** The shared secret; never sent, never logged. */
  readonly secretKey: string;
  /** Optional token, sent and signed as `SecurityToken`. */
  readonly securityToken?: string;
}

const encoder = new TextEncoder();

/**
 * The bytes a remoting request's signature covers.
 *
 * @param fields The request's extFields (with `AccessKey`, and `SecurityToken` if any).
 * @param body The request body.
 * @returns Values in key order, then the body.
 */
export function requestSignatureContent(
  fields: Readonly<Record<string, string>>,
  body: Uint8Array | undefined,
): Uint8Array {
  const keys = Object.keys(fields).filter((k) =>
    k !== SIGNATURE_FIELD && k !== UNIQUE_KEY_QUERY_FIELD
  ).sort();
  let text = "";
  for (const key of keys) text += fields[key];
  const head = encoder.encode(text);
  if (body === undefined || body.length === 0) return head;
  const content = new Uint8Array(head.length + body.length);
  content.set(head, 0);
  content.set(body, head.length);
  return content;
}

/**
 * HMAC-SHA1 of some content.
 *
 * @param content The signed bytes.
 * @param secretKey The account's secret.
 * @returns The raw 20-byte digest.
 */
export function hmacSha1(content: Uint8Array, secretKey: string): Uint8Array {
  return new Uint8Array(createHmac("sha1", secretKey).update(content).digest());
}

/**
 * A remoting signature: base64 of HMAC-SHA1.
 *
 * @param content The signed bytes.
 * @param secretKey The account's secret.
 * @returns The base64 signature.
 */
export function calculateSignature(content: Uint8Array, secretKey: string): string {
  return createHmac("sha1", secretKey).update(content).digest("base64");
}

/**
 * Sign a request: a copy of `fields` with `AccessKey`, `SecurityToken` (if
 * the credentials have one) and `Signature` added.
 *
 * @param fields The request's extFields.
 * @param body The request body.
 * @param credentials Access key, secret key, optional token.
 * @returns The signed fields.
 */
export function signRequestFields(
  fields: Readonly<Record<string, string>> | undefined,
  body: Uint8Array | undefined,
  credentials: SessionCredentials,
): Record<string, string> {
  const signed: Record<string, string> = { ...fields, [ACCESS_KEY_FIELD]: credentials.accessKey };
  if (credentials.securityToken !== undefined) {
    signed[SECURITY_TOKEN_FIELD] = credentials.securityToken;
  }
  delete signed[SIGNATURE_FIELD];
  signed[SIGNATURE_FIELD] = calculateSignature(
    requestSignatureContent(signed, body),
    credentials.secretKey,
  );
  return signed;
}
