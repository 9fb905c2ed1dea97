/**
 * RocketMQ's plain ACL model: accounts with an access key and secret, an
 * admin flag, default and per-resource permissions, an optional white-listed
 * address, and a global white list.
 *
 * File shape (YAML or JSON, RocketMQ's `plain_acl.yml` keys):
 *
 * ```yaml
 * globalWhiteRemoteAddresses: ["10.10.103.*"]
 * accounts:
 *   - accessKey: RocketMQ
 *     secretKey: "12345678"
 *     whiteRemoteAddress: ""
 *     admin: false
 *     defaultTopicPerm: DENY
 *     defaultGroupPerm: SUB
 *     topicPerms: ["topicA=DENY", "topicB=PUB|SUB", "topicC=SUB"]
 *     groupPerms: ["groupA=DENY", "groupB=PUB|SUB", "groupC=SUB"]
 * ```
 *
 * @module
 */

import { parseRemoteAddressPattern, type RemoteAddressPattern } from "./remote_address.ts";

/** Permission bits, RocketMQ's `Permission`. */
export const AclPerm = Object.freeze({ DENY: 1, ANY: 2, PUB: 4, SUB: 8 } as const);

/** Shortest access key and secret key accepted, characters (RocketMQ requires more than 6). */
export const ACL_KEY_CHARS_MIN = 7;
/** Most accounts one file may hold. */
export const ACL_ACCOUNTS_MAX = 10_000;

/** One account, parsed. */
export interface AclAccount {
  readonly accessKey: string;
  readonly secretKey: string;
  readonly admin: boolean;
  /** Where this account may connect from without a signature. */
  readonly whiteRemoteAddress: RemoteAddressPattern | undefined;
  readonly defaultTopicPerm: number;
  readonly defaultGroupPerm: number;
  /** Topic name -> perm bits. */
  readonly topicPerms: ReadonlyMap<string, number>;
  /** Group name -> perm bits. */
  readonly groupPerms: ReadonlyMap<string, number>;
}

/** A whole ACL file, parsed. */
export interface PlainAclConfig {
  /** Addresses that skip access control entirely. */
  readonly globalWhiteRemoteAddresses: readonly RemoteAddressPattern[];
  /** Accounts by access key. */
  readonly accounts: ReadonlyMap<string, AclAccount>;
}

/** Outcome of {@linkcode parsePlainAclConfig}. */
export type ParseAclResult =
  | { readonly ok: true; readonly config: PlainAclConfig }
  | { readonly ok: false; readonly error: string };

/**
 * Parse a permission word.
 *
 * @param text `PUB`, `SUB`, `PUB|SUB` (either order) or `DENY`; empty means DENY.
 * @returns The bits, or undefined for an unknown word.
 */
export function parsePerm(text: string | undefined): number | undefined {
  const word = (text ?? "").trim().toUpperCase();
  switch (word) {
    case "":
    case "DENY":
      return AclPerm.DENY;
    case "PUB":
      return AclPerm.PUB;
    case "SUB":
      return AclPerm.SUB;
    case "PUB|SUB":
    case "SUB|PUB":
      return AclPerm.PUB | AclPerm.SUB;
    default:
      return undefined;
  }
}

/**
 * Whether owned permission bits grant the needed ones (RocketMQ's `checkPermission`).
 *
 * @param needed PUB, SUB or ANY.
 * @param owned The account's bits for the resource.
 * @returns True when granted.
 */
export function permGrants(needed: number, owned: number): boolean {
  if ((owned & AclPerm.DENY) !== 0) return false;
  if (needed === AclPerm.ANY) return (owned & (AclPerm.PUB | AclPerm.SUB)) !== 0;
  return (needed & owned) !== 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringList(value: unknown, path: string): string[] | string {
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return value === "" ? [] : [value];
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    return `${path} must be a list of strings`;
  }
  return value as string[];
}

function resourcePerms(value: unknown, path: string): Map<string, number> | string {
  const list = stringList(value, path);
  if (typeof list === "string") return list;
  const out = new Map<string, number>();
  for (const entry of list) {
    const eq = entry.indexOf("=");
    const name = eq === -1 ? "" : entry.slice(0, eq).trim();
    const perm = eq === -1 ? undefined : parsePerm(entry.slice(eq + 1));
    if (name === "" || perm === undefined) {
      return `${path} entry "${entry}" is not NAME=PUB|SUB|PUB|SUB|DENY`;
    }
    out.set(name, perm);
  }
  return out;
}

/**
 * Validate a parsed YAML/JSON document as a plain ACL config.
 *
 * Error texts name the field and account index, never a secret.
 *
 * @param document The parsed file.
 * @returns The config, or the first problem found.
 */
export function parsePlainAclConfig(document: unknown): ParseAclResult {
  const fail = (error: string): ParseAclResult => ({ ok: false, error });
  if (!isRecord(document)) return fail("ACL file must be a mapping with accounts");
  const whites = stringList(document.globalWhiteRemoteAddresses, "globalWhiteRemoteAddresses");
  if (typeof whites === "string") return fail(whites);
  const globalWhiteRemoteAddresses: RemoteAddressPattern[] = [];
  for (const text of whites) {
    const pattern = parseRemoteAddressPattern(text);
    if (pattern === undefined) {
      return fail(`globalWhiteRemoteAddresses entry "${text}" is not an address pattern`);
    }
    globalWhiteRemoteAddresses.push(pattern);
  }
  const rawAccounts = document.accounts ?? [];
  if (!Array.isArray(rawAccounts)) return fail("accounts must be a list");
  if (rawAccounts.length > ACL_ACCOUNTS_MAX) {
    return fail(`accounts has ${rawAccounts.length} entries, limit is ${ACL_ACCOUNTS_MAX}`);
  }
  const accounts = new Map<string, AclAccount>();
  for (const [i, raw] of rawAccounts.entries()) {
    const at = `accounts[${i}]`;
    if (!isRecord(raw)) return fail(`${at} must be a mapping`);
    const accessKey = raw.accessKey;
    const secretKey = raw.secretKey === undefined ? undefined : String(raw.secretKey);
    if (typeof accessKey !== "string" || accessKey.length < ACL_KEY_CHARS_MIN) {
      return fail(`${at}.accessKey must be a string of at least ${ACL_KEY_CHARS_MIN} characters`);
    }
    if (secretKey === undefined || secretKey.length < ACL_KEY_CHARS_MIN) {
      return fail(`${at}.secretKey must be at least ${ACL_KEY_CHARS_MIN} characters`);
    }
    if (accounts.has(accessKey)) return fail(`${at}.accessKey "${accessKey}" is a duplicate`);
    let white: RemoteAddressPattern | undefined;
    if (typeof raw.whiteRemoteAddress === "string" && raw.whiteRemoteAddress.trim() !== "") {
      white = parseRemoteAddressPattern(raw.whiteRemoteAddress);
      if (white === undefined) {
        return fail(
          `${at}.whiteRemoteAddress "${raw.whiteRemoteAddress}" is not an address pattern`,
        );
      }
    }
    const defaultTopicPerm = parsePerm(raw.defaultTopicPerm as string | undefined);
    const defaultGroupPerm = parsePerm(raw.defaultGroupPerm as string | undefined);
    if (defaultTopicPerm === undefined) return fail(`${at}.defaultTopicPerm is not a permission`);
    if (defaultGroupPerm === undefined) return fail(`${at}.defaultGroupPerm is not a permission`);
    const topicPerms = resourcePerms(raw.topicPerms, `${at}.topicPerms`);
    if (typeof topicPerms === "string") return fail(topicPerms);
    const groupPerms = resourcePerms(raw.groupPerms, `${at}.groupPerms`);
    if (typeof groupPerms === "string") return fail(groupPerms);
    accounts.set(accessKey, {
      accessKey,
      secretKey,
      admin: raw.admin === true || raw.admin === "true",
      whiteRemoteAddress: white,
      defaultTopicPerm,
      defaultGroupPerm,
      topicPerms,
      groupPerms,
    });
  }
  return { ok: true, config: { globalWhiteRemoteAddresses, accounts } };
}

/** An account as RocketMQ's admin requests carry it (UPDATE_AND_CREATE_ACL_CONFIG). */
export interface PlainAccessConfig {
  readonly accessKey: string;
  readonly secretKey: string;
  readonly whiteRemoteAddress?: string;
  readonly admin?: boolean;
  readonly defaultTopicPerm?: string;
  readonly defaultGroupPerm?: string;
  readonly topicPerms?: readonly string[];
  readonly groupPerms?: readonly string[];
}

/** Outcome of an account change. */
export type AclChangeResult = { readonly ok: true } | {
  readonly ok: false;
  readonly error: string;
};

/**
 * The port through which admin requests change accounts (the infra writes the
 * ACL file and reloads it, so a change takes effect when the call returns).
 */
export interface AclAccountStore {
  /** Create or replace an account. */
  upsert(account: PlainAccessConfig): Promise<AclChangeResult>;
  /** Remove an account; an unknown key is an error. */
  remove(accessKey: string): Promise<AclChangeResult>;
  /** The file's global white list and accounts (secrets included: callers mask them). */
  read(): Promise<{ globalWhiteAddrs: string[]; accounts: PlainAccessConfig[] }>;
}
