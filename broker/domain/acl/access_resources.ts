/**
 * Which resources a remoting request touches and which permission each needs,
 * as RocketMQ's `PlainAccessResource.parse` decides it; and which requests
 * need an admin account.
 *
 * Groups are checked as their retry topic (`%RETRY%group`), as in RocketMQ.
 *
 * @module
 */

import { parseHeartbeatData } from "../../../client/protocol/heartbeat.ts";
import type { RemotingCommand } from "../../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../../client/protocol/request_code.ts";
import { AclPerm } from "./plain_acl_config.ts";

/** One resource a request needs. */
export interface NeededResource {
  /** Topic or group name. */
  readonly name: string;
  /** True for a consumer group. */
  readonly isGroup: boolean;
  /** PUB, SUB or ANY. */
  readonly perm: number;
}

/** RocketMQ request codes that need `admin: true` (RocketMQ's `Permission.ADMIN_CODE`, plus ours). */
export const ADMIN_REQUEST_CODES: ReadonlySet<number> = new Set([
  RequestCode.UPDATE_AND_CREATE_TOPIC,
  RequestCode.UPDATE_AND_CREATE_TOPIC_LIST,
  RequestCode.DELETE_TOPIC_IN_BROKER,
  RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
  RequestCode.DELETE_SUBSCRIPTIONGROUP,
  RequestCode.UPDATE_BROKER_CONFIG,
  RequestCode.UPDATE_AND_CREATE_ACL_CONFIG,
  RequestCode.DELETE_ACL_CONFIG,
  52, // GET_BROKER_CLUSTER_ACL_INFO
  53, // UPDATE_GLOBAL_WHITE_ADDRS_CONFIG
  RequestCode.GET_BROKER_CLUSTER_ACL_CONFIG,
  222, // INVOKE_BROKER_TO_RESET_OFFSET
]);

/** Outcome of {@linkcode neededResources}. */
export type NeededResult =
  | { readonly ok: true; readonly resources: readonly NeededResource[] }
  | { readonly ok: false; readonly error: string };

const topic = (name: string | undefined, perm: number): NeededResource[] =>
  name === undefined || name === "" ? [] : [{ name, isGroup: false, perm }];
const group = (name: string | undefined, perm: number): NeededResource[] =>
  name === undefined || name === "" ? [] : [{ name, isGroup: true, perm }];

/**
 * The resources a request needs.
 *
 * @param request The request.
 * @returns The resources (empty for requests on no resource), or why the body could not be read.
 */
export function neededResources(request: RemotingCommand): NeededResult {
  const f = request.extFields ?? {};
  const { PUB, SUB } = AclPerm;
  switch (request.code) {
    case RequestCode.SEND_MESSAGE:
      return ok(topic(f.topic, PUB));
    case RequestCode.SEND_MESSAGE_V2:
    case RequestCode.SEND_BATCH_MESSAGE:
      return ok(topic(f.b, PUB));
    case RequestCode.CONSUMER_SEND_MSG_BACK:
      return ok(group(f.group, SUB));
    case RequestCode.PULL_MESSAGE:
    case RequestCode.LITE_PULL_MESSAGE:
    case RequestCode.POP_MESSAGE:
    case RequestCode.ACK_MESSAGE:
    case RequestCode.CHANGE_MESSAGE_INVISIBLETIME:
      return ok([...topic(f.topic, SUB), ...group(f.consumerGroup, SUB)]);
    case RequestCode.QUERY_MESSAGE:
      return ok(topic(f.topic, SUB));
    case RequestCode.UNREGISTER_CLIENT:
    case RequestCode.GET_CONSUMER_LIST_BY_GROUP:
      return ok(group(f.consumerGroup, SUB));
    case RequestCode.UPDATE_CONSUMER_OFFSET:
    case RequestCode.QUERY_CONSUMER_OFFSET:
      return ok([...group(f.consumerGroup, SUB), ...topic(f.topic, SUB)]);
    case RequestCode.HEART_BEAT: {
      const parsed = parseHeartbeatData(request.body);
      if (!parsed.ok) return { ok: false, error: parsed.error };
      const out: NeededResource[] = [];
      for (const consumer of parsed.value.consumerDataSet) {
        out.push(...group(consumer.groupName, SUB));
        for (const sub of consumer.subscriptionDataSet) out.push(...topic(sub.topic, SUB));
      }
      return ok(out);
    }
    default:
      return ok([]);
  }
}

/**
 * What a server's ACL guard checks beyond the signature: which requests need
 * an admin account and which resources each request needs. The broker uses
 * {@linkcode BROKER_ACCESS_RULES}; the name server has its own.
 */
export interface AccessRules {
  /** Request codes that need `admin: true`. */
  readonly adminCodes: ReadonlySet<number>;
  /** The resources a request needs. */
  readonly neededResources: (request: RemotingCommand) => NeededResult;
}

/** The broker's rules: {@linkcode ADMIN_REQUEST_CODES} and {@linkcode neededResources}. */
export const BROKER_ACCESS_RULES: AccessRules = Object.freeze({
  adminCodes: ADMIN_REQUEST_CODES,
  neededResources,
});

function ok(resources: NeededResource[]): NeededResult {
  return { ok: true, resources };
}
