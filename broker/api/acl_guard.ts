/**
 * The one place remoting requests meet access control: wraps the router's
 * dispatch so a denied request is answered NO_PERMISSION (16) with the
 * validator's remark before any handler runs (so nothing is stored), and the
 * connection stays open. Installed by the composition root only when
 * `--acl-file` is set; with ACL off there is no wrapper at all.
 *
 * @module
 */

import {
  createResponse,
  isOneway,
  type RemotingCommand,
} from "../../client/protocol/remoting_command.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type { AclFailureLog } from "../domain/acl/acl_failure_log.ts";
import type { AccessValidator } from "../domain/acl/access_validator.ts";
import type { BrokerResponse, Channel } from "./broker_context.ts";

/** The router's dispatch signature. */
export type Dispatch = (
  request: RemotingCommand,
  channel: Channel,
) => BrokerResponse | undefined | Promise<BrokerResponse | undefined>;

/**
 * Put an ACL check in front of a dispatch function.
 *
 * @param dispatch The router's dispatch.
 * @param validator The access validator (its config may be swapped on reload).
 * @param failures Where denials are recorded.
 * @returns The guarded dispatch.
 */
export function guardWithAcl(
  dispatch: Dispatch,
  validator: AccessValidator,
  failures: AclFailureLog,
): Dispatch {
  return (request, channel) => {
    const decision = validator.check(request, channel.remoteAddress);
    if (decision.status === "ALLOWED") return dispatch(request, channel);
    failures.record({
      remoteAddress: channel.remoteAddress,
      requestCode: request.code,
      accessKey: decision.accessKey,
      remark: decision.remark,
    });
    return isOneway(request)
      ? undefined
      : createResponse(request, ResponseCode.NO_PERMISSION, decision.remark);
  };
}
