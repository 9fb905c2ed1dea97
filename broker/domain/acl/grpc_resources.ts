/**
 * Which resources a RocketMQ 5 gRPC call (`apache.rocketmq.v2.MessagingService`)
 * touches, for {@linkcode AccessValidator.checkGrpc}, following the remoting
 * rules: producing needs topic PUB; receiving, acking and offsets need topic
 * and group SUB; route queries need topic PUB or SUB (ANY).
 *
 * @module
 */

import type { NeededResource } from "./access_resources.ts";
import { AclPerm } from "./plain_acl_config.ts";

/** The names a gRPC request carries (`topic.name`, `group.name`). */
export interface GrpcResourceNames {
  /** Topic names (SendMessage may carry several messages). */
  readonly topics?: readonly string[];
  /** Consumer or producer group name. */
  readonly group?: string;
}

/**
 * Resources a MessagingService call needs.
 *
 * @param method The RPC's method name, e.g. `SendMessage`.
 * @param names Topics and group from the request.
 * @returns The resources; empty for calls on no resource (Telemetry, unknown methods).
 */
export function grpcNeededResources(method: string, names: GrpcResourceNames): NeededResource[] {
  const topics = (perm: number) =>
    (names.topics ?? []).filter((t) => t !== "").map((name) => ({ name, isGroup: false, perm }));
  const group = names.group === undefined || names.group === ""
    ? []
    : [{ name: names.group, isGroup: true, perm: AclPerm.SUB }];
  switch (method) {
    case "SendMessage":
    case "EndTransaction":
    case "RecallMessage":
      return topics(AclPerm.PUB);
    case "QueryRoute":
    case "QueryAssignment":
      return topics(AclPerm.ANY);
    case "ReceiveMessage":
    case "AckMessage":
    case "ChangeInvisibleDuration":
    case "ForwardMessageToDeadLetterQueue":
    case "PullMessage":
    case "UpdateOffset":
    case "GetOffset":
    case "QueryOffset":
      return [...topics(AclPerm.SUB), ...group];
    case "Heartbeat":
    case "NotifyClientTermination":
      return group;
    default:
      return [];
  }
}
