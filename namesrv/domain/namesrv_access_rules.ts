/**
 * What the name server's ACL guard asks of each request (with `--acl-file`).
 *
 * - Writes to the route tables and the KV config — a broker's registration,
 *   unregistration, heartbeat and data-version check, topic registration and
 *   deletion, KV puts and deletes, write-permission and config changes — need
 *   an admin account: brokers and operators sign them, applications do not.
 * - GET_ROUTEINFO_BY_TOPIC needs PUB or SUB on the topic (a route is asked
 *   for to send or to consume; RocketMQ 5's authorization asks the same of a
 *   route query). A retry topic `%RETRY%group` is checked as the group.
 * - Every other request (cluster info, topic lists, KV reads) needs any valid
 *   account: a known access key with a correct signature.
 *
 * @module
 */

import type { AccessRules, NeededResult } from "../../broker/domain/acl/access_resources.ts";
import { AclPerm } from "../../broker/domain/acl/plain_acl_config.ts";
import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";

/** Name-server request codes that need `admin: true`. */
export const NAMESRV_ADMIN_REQUEST_CODES: ReadonlySet<number> = new Set([
  RequestCode.PUT_KV_CONFIG,
  RequestCode.DELETE_KV_CONFIG,
  RequestCode.REGISTER_BROKER,
  RequestCode.UNREGISTER_BROKER,
  RequestCode.DELETE_TOPIC_IN_NAMESRV,
  RequestCode.REGISTER_TOPIC_IN_NAMESRV,
  RequestCode.QUERY_DATA_VERSION,
  RequestCode.BROKER_HEARTBEAT,
  205, // WIPE_WRITE_PERM_OF_BROKER
  318, // UPDATE_NAMESRV_CONFIG
  327, // ADD_WRITE_PERM_OF_BROKER
]);

const NONE: NeededResult = Object.freeze({ ok: true, resources: Object.freeze([]) });

/**
 * The resources a name-server request needs.
 *
 * @param request The request.
 * @returns The topic (PUB or SUB) of a route query; nothing for other requests.
 */
export function namesrvNeededResources(request: RemotingCommand): NeededResult {
  if (request.code !== RequestCode.GET_ROUTEINFO_BY_TOPIC) return NONE;
  const topic = request.extFields?.topic;
  if (topic === undefined || topic === "") return NONE;
  return { ok: true, resources: [{ name: topic, isGroup: false, perm: AclPerm.ANY }] };
}

/** The name server's access rules (see the module documentation). */
export const NAMESRV_ACCESS_RULES: AccessRules = Object.freeze({
  adminCodes: NAMESRV_ADMIN_REQUEST_CODES,
  neededResources: namesrvNeededResources,
});
