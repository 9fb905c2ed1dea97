/**
 * Plain ACL checks for remoting requests and gRPC calls.
 *
 * Order, as RocketMQ's `PlainPermissionManager.validate`: a peer in the
 * global white list passes; otherwise the access key must name an account;
 * a peer matching the account's `whiteRemoteAddress` skips the signature;
 * otherwise the signature must match (constant-time comparison); then admin
 * requests need `admin: true`, and every needed resource must be granted by
 * its own permission or the account's default. Deny by default.
 *
 * The config is swapped whole on reload (`update`), so a check always sees one
 * consistent version. Lives on the broker's main thread.
 *
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import {
  ACCESS_KEY_FIELD,
  calculateSignature,
  hmacSha1,
  requestSignatureContent,
  SIGNATURE_FIELD,
} from "../../../client/protocol/acl_signature.ts";
import type { RemotingCommand } from "../../../client/protocol/remoting_command.ts";
import { requestCodeName } from "../../../client/protocol/request_code.ts";
import { type AccessRules, BROKER_ACCESS_RULES, type NeededResource } from "./access_resources.ts";
import { type AclAccount, permGrants, type PlainAclConfig } from "./plain_acl_config.ts";
import { peerHost } from "./remote_address.ts";

/** Outcome of a check. `accessKey` is set once the request named one (for the failure log). */
export type AclDecision =
  | { readonly status: "ALLOWED" }
  | { readonly status: "DENIED"; readonly remark: string; readonly accessKey?: string };

/** What a gRPC call presents (see {@linkcode AccessValidator.checkGrpc}). */
export interface GrpcAccessRequest {
  /** The `authorization` header: `MQv2-HMAC-SHA1 Credential=AK/..., SignedHeaders=x-mq-date-time, Signature=HEX`. */
  readonly authorization: string | undefined;
  /** The `x-mq-date-time` header (the signed content). */
  readonly dateTime: string | undefined;
  /** Peer `host:port`. */
  readonly remoteAddress: string;
  /** Resources the call touches (topic PUB for SendMessage, topic+group SUB for ReceiveMessage...). */
  readonly resources: readonly NeededResource[];
  /** True for admin calls. */
  readonly admin?: boolean;
}

const ALLOWED: AclDecision = Object.freeze({ status: "ALLOWED" });
const RETRY_PREFIX = "%RETRY%";

/** Checks requests against the current plain ACL config. */
export class AccessValidator {
  #config: PlainAclConfig;
  readonly #rules: AccessRules;

  /**
   * @param config The initial config.
   * @param rules Admin codes and needed resources; default the broker's.
   */
  constructor(config: PlainAclConfig, rules: AccessRules = BROKER_ACCESS_RULES) {
    this.#config = config;
    this.#rules = rules;
  }

  /**
   * Replace the config (after a reload).
   *
   * @param config The new config.
   */
  update(config: PlainAclConfig): void {
    this.#config = config;
  }

  /** Number of accounts in the current config. */
  get accountCount(): number {
    return this.#config.accounts.size;
  }

  /**
   * Check an admin's password login (the HTTP API's Basic authentication).
   *
   * @param accessKey The account's access key.
   * @param secretKey The secret presented.
   * @returns True for an admin account whose secret matches (compared in constant time).
   */
  checkAdmin(accessKey: string, secretKey: string): boolean {
    const account = this.#config.accounts.get(accessKey);
    // Compare even for an unknown key, so timing does not tell which keys exist.
    const matches = equalConstantTime(secretKey, account?.secretKey ?? "\u0000" + secretKey);
    return account !== undefined && account.admin && matches;
  }

  /**
   * Check one remoting request.
   *
   * @param request The request.
   * @param remoteAddress The peer's `host:port`.
   * @returns ALLOWED, or DENIED with the remark to answer NO_PERMISSION with.
   */
  check(request: RemotingCommand, remoteAddress: string): AclDecision {
    const config = this.#config;
    const host = peerHost(remoteAddress);
    if (config.globalWhiteRemoteAddresses.some((p) => p.matches(host))) return ALLOWED;
    const fields = request.extFields;
    const accessKey = fields?.[ACCESS_KEY_FIELD];
    const name = requestCodeName(request.code);
    if (accessKey === undefined || accessKey === "") {
      return { status: "DENIED", remark: `No accessKey in ${name}: the request is not signed` };
    }
    const account = config.accounts.get(accessKey);
    if (account === undefined) {
      return { status: "DENIED", accessKey, remark: `No ACL account for accessKey ${accessKey}` };
    }
    if (account.whiteRemoteAddress?.matches(host) !== true) {
      const signature = fields![SIGNATURE_FIELD] ?? "";
      const expected = calculateSignature(
        requestSignatureContent(fields!, request.body),
        account.secretKey,
      );
      if (!equalConstantTime(signature, expected)) {
        return {
          status: "DENIED",
          accessKey,
          remark: `Check signature failed for accessKey ${accessKey}`,
        };
      }
    }
    const needed = this.#rules.neededResources(request);
    if (!needed.ok) {
      return { status: "DENIED", accessKey, remark: `Cannot check ${name}: ${needed.error}` };
    }
    return this.#authorize(account, request.code, name, needed.resources);
  }

  /**
   * Check one gRPC call (for the gRPC front): parse the `authorization`
   * header, verify `Signature = HEX(HMAC-SHA1(secretKey, x-mq-date-time))`,
   * then the same admin and resource rules as remoting.
   *
   * @param call Header values, peer and needed resources.
   * @returns ALLOWED, or DENIED with a remark for the `PERMISSION_DENIED` status.
   */
  checkGrpc(call: GrpcAccessRequest): AclDecision {
    const config = this.#config;
    const host = peerHost(call.remoteAddress);
    if (config.globalWhiteRemoteAddresses.some((p) => p.matches(host))) return ALLOWED;
    const header = parseAuthorizationHeader(call.authorization ?? "");
    if (header === undefined) {
      return { status: "DENIED", remark: "No valid authorization header: the call is not signed" };
    }
    const { accessKey } = header;
    const account = config.accounts.get(accessKey);
    if (account === undefined) {
      return { status: "DENIED", accessKey, remark: `No ACL account for accessKey ${accessKey}` };
    }
    if (account.whiteRemoteAddress?.matches(host) !== true) {
      const expected = hmacSha1(new TextEncoder().encode(call.dateTime ?? ""), account.secretKey);
      const given = hexBytes(header.signature);
      if (call.dateTime === undefined || given === undefined || !equalBytes(given, expected)) {
        return {
          status: "DENIED",
          accessKey,
          remark: `Check signature failed for accessKey ${accessKey}`,
        };
      }
    }
    return this.#authorize(account, call.admin === true ? -1 : 0, "this call", call.resources);
  }

  #authorize(
    account: AclAccount,
    code: number,
    name: string,
    resources: readonly NeededResource[],
  ): AclDecision {
    const accessKey = account.accessKey;
    if ((code === -1 || this.#rules.adminCodes.has(code)) && !account.admin) {
      return {
        status: "DENIED",
        accessKey,
        remark: `${name} needs an admin account; accessKey ${accessKey} is not admin`,
      };
    }
    const explicit = account.topicPerms.size + account.groupPerms.size > 0;
    if (account.admin && !explicit) return ALLOWED;
    for (const resource of resources) {
      // As in RocketMQ, a retry topic (`%RETRY%group`, e.g. in a heartbeat's subscriptions) is the group.
      const retry = resource.name.startsWith(RETRY_PREFIX);
      const isGroup = resource.isGroup || retry;
      const bare = retry ? resource.name.slice(RETRY_PREFIX.length) : resource.name;
      const owned = isGroup
        ? account.groupPerms.get(bare) ?? account.defaultGroupPerm
        : account.topicPerms.get(bare) ?? account.defaultTopicPerm;
      if (!permGrants(resource.perm, owned)) {
        const kind = isGroup ? "group" : "topic";
        const word = resource.perm === 4 ? "PUB" : resource.perm === 8 ? "SUB" : "PUB or SUB";
        return {
          status: "DENIED",
          accessKey,
          remark: `No ${word} permission on ${kind} ${bare} for accessKey ${accessKey}`,
        };
      }
    }
    return ALLOWED;
  }
}

/**
 * Parse a gRPC `authorization` header.
 *
 * @param header `MQv2-HMAC-SHA1 Credential=AK[/region/channel], SignedHeaders=x-mq-date-time, Signature=HEX`.
 * @returns Access key and hex signature, or undefined if malformed.
 */
export function parseAuthorizationHeader(
  header: string,
): { accessKey: string; signature: string; signedHeaders: string[] } | undefined {
  const space = header.indexOf(" ");
  if (space === -1) return undefined;
  let accessKey = "", signature = "", signedHeaders: string[] = [];
  for (const item of header.slice(space + 1).split(",")) {
    const eq = item.indexOf("=");
    if (eq === -1) return undefined;
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === "Credential") accessKey = value.split("/")[0];
    else if (key === "SignedHeaders") signedHeaders = value.split(";");
    else if (key === "Signature") signature = value;
  }
  return accessKey === "" || signature === "" ? undefined : { accessKey, signature, signedHeaders };
}

function hexBytes(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function equalConstantTime(given: string, expected: string): boolean {
  const encoder = new TextEncoder();
  return equalBytes(encoder.encode(given), encoder.encode(expected));
}
