/**
 * Access control for the gRPC front: the `authorize` hook `GrpcFront` calls
 * before each RPC. It checks the `authorization` header's signature
 * (`HEX(HMAC-SHA1(secretKey, x-mq-date-time))`) and the topics and group the
 * request names against the same plain ACL accounts as remoting, and records
 * denials in the same failure log. Installed only with `--acl-file`.
 *
 * @module
 */

import type { AuthorizationRequest } from "../../proxy/mod.ts";
import type { AccessValidator } from "../domain/acl/access_validator.ts";
import type { AclFailureLog } from "../domain/acl/acl_failure_log.ts";
import { grpcNeededResources, type GrpcResourceNames } from "../domain/acl/grpc_resources.ts";

type Named = { readonly name?: string } | undefined;

/**
 * The topics and group a MessagingService request names.
 *
 * @param request The decoded request message.
 * @returns Topic names and the group name found in it.
 */
export function grpcRequestNames(request: unknown): GrpcResourceNames {
  const r = (request ?? {}) as {
    topic?: Named;
    group?: Named;
    messageQueue?: { topic?: Named };
    messages?: readonly { topic?: Named }[];
  };
  const topics = new Set<string>();
  for (const name of [r.topic?.name, r.messageQueue?.topic?.name]) if (name) topics.add(name);
  for (const message of r.messages ?? []) if (message.topic?.name) topics.add(message.topic.name);
  return { topics: [...topics], group: r.group?.name || undefined };
}

function peerText(peer: AuthorizationRequest["peer"]): string {
  if (peer === undefined) return "";
  const ip = peer.ip.length === 4
    ? Array.from(peer.ip).join(".")
    : `[${Array.from(peer.ip).map((b) => b.toString(16)).join(":")}]`;
  return `${ip}:${peer.port}`;
}

/** RPC code recorded for gRPC denials in the failure log (RocketMQ has none; -1 marks gRPC). */
export const GRPC_REQUEST_CODE = -1;

/**
 * Build the gRPC front's authorization hook.
 *
 * @param validator The access validator (shared with remoting).
 * @param failures The denial log (shared with remoting).
 * @returns The hook: undefined to allow, the refusal text to deny.
 */
export function grpcAclHook(
  validator: AccessValidator,
  failures: AclFailureLog,
): (request: AuthorizationRequest) => string | undefined {
  return (call) => {
    const remoteAddress = peerText(call.peer);
    const a = call.authorization;
    const header = a === undefined
      ? undefined
      : `${a.algorithm} Credential=${a.accessKey}, SignedHeaders=${
        a.signedHeaders.join(";")
      }, Signature=${a.signature}`;
    const decision = validator.checkGrpc({
      authorization: header,
      dateTime: call.dateTime,
      remoteAddress,
      resources: grpcNeededResources(call.rpc, grpcRequestNames(call.request)),
    });
    if (decision.status === "ALLOWED") return undefined;
    failures.record({
      remoteAddress,
      requestCode: GRPC_REQUEST_CODE,
      accessKey: decision.accessKey,
      remark: `${call.rpc}: ${decision.remark}`,
    });
    return decision.remark;
  };
}
