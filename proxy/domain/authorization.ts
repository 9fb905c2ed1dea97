/**
 * The `authorization` request header of RocketMQ 5 clients:
 * `MQv2-HMAC-SHA1 Credential=<ak>, SignedHeaders=x-mq-date-time, Signature=<hex>`.
 * Parsed here and handed to an {@linkcode AuthorizationHook}; until access
 * control exists the default hook accepts every call.
 *
 * @module
 */

/** A parsed `authorization` header. */
export interface Authorization {
  /** The algorithm word (`MQv2-HMAC-SHA1`). */
  readonly algorithm: string;
  /** The access key. */
  readonly accessKey: string;
  /** Headers covered by the signature. */
  readonly signedHeaders: readonly string[];
  /** HMAC of the signed headers, hex. */
  readonly signature: string;
}

/** A topic or group a call touches, and how. */
export interface AccessResource {
  /** Topic or group name. */
  readonly name: string;
  /** Which kind of name. */
  readonly kind: "topic" | "group";
  /** `PUB` to send, `SUB` to consume, `ANY` for either. */
  readonly access: "PUB" | "SUB" | "ANY";
}

/** What an authorization hook sees of a call. */
export interface AuthorizationRequest {
  /** The RPC name (`SendMessage`). */
  readonly rpc: string;
  /** The parsed header, or undefined when the call has none. */
  readonly authorization: Authorization | undefined;
  /** The header as sent. */
  readonly rawAuthorization: string | undefined;
  /** The peer, `host:port`. */
  readonly peer: string;
  /** What the call touches. */
  readonly resources: readonly AccessResource[];
  /** `x-mq-date-time`, the signed value. */
  readonly dateTime: string | undefined;
  /** `x-mq-session-token`, when present. */
  readonly sessionToken: string | undefined;
}

/** Decides whether a call may proceed; undefined means yes, a string is the refusal. */
export type AuthorizationHook = (request: AuthorizationRequest) => string | undefined;

/** The hook used until access control exists: accept everything. */
export const ACCEPT_ALL: AuthorizationHook = () => undefined;

/**
 * Parse an `authorization` header value.
 *
 * @param value The header value.
 * @returns The parsed header, or undefined when it is not in the v2 form.
 */
export function parseAuthorization(value: string): Authorization | undefined {
  const space = value.indexOf(" ");
  if (space <= 0) return undefined;
  const algorithm = value.slice(0, space);
  const fields = new Map<string, string>();
  for (const part of value.slice(space + 1).split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const accessKey = fields.get("Credential");
  const signature = fields.get("Signature");
  if (accessKey === undefined || signature === undefined) return undefined;
  const signed = fields.get("SignedHeaders") ?? "";
  return {
    algorithm,
    accessKey,
    signedHeaders: signed === "" ? [] : signed.split(";"),
    signature,
  };
}
