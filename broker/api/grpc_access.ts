/**
 * Access control of the gRPC front: the front's authorization hook backed by
 * the broker's plain ACL (`--acl-file`), with denials in the same failure log
 * as remoting's.
 *
 * @module
 */

import type { AuthorizationHook } from "../../proxy/mod.ts";
import type { AccessValidator } from "../domain/acl/access_validator.ts";
import type { AclFailureLog } from "../domain/acl/acl_failure_log.ts";
import { AclPerm } from "../domain/acl/plain_acl_config.ts";

/** Request code recorded for gRPC denials in the failure log (gRPC calls have none). */
export const GRPC_ACL_REQUEST_CODE = -2;

/**
 * The front's hook over the plain ACL.
 *
 * @param acl The validator and failure log.
 * @returns The hook: undefined to allow, or why not.
 */
export function grpcAccessHook(
  acl: { readonly validator: AccessValidator; readonly failures: AclFailureLog },
): AuthorizationHook {
  return (request) => {
    const decision = acl.validator.checkGrpc({
      authorization: request.rawAuthorization,
      dateTime: request.dateTime,
      remoteAddress: request.peer,
      resources: request.resources.map((r) => ({
        name: r.name,
        isGroup: r.kind === "group",
        perm: AclPerm[r.access],
      })),
    });
    if (decision.status === "ALLOWED") return undefined;
    acl.failures.record({
      remoteAddress: request.peer,
      requestCode: GRPC_ACL_REQUEST_CODE,
      accessKey: decision.accessKey,
      remark: `${request.rpc}: ${decision.remark}`,
    });
    return decision.remark;
  };
}
