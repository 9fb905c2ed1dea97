/**
 * What each RPC touches, for access control: topics it publishes to (PUB),
 * topics and groups it consumes (SUB). Calls that touch no resource (route
 * and session upkeep) are only authenticated.
 *
 * @module
 */

import type { AccessResource } from "../domain/authorization.ts";

type Named = { name?: string } | undefined;

function topic(resource: Named, access: AccessResource["access"]): AccessResource[] {
  const name = resource?.name ?? "";
  return name === "" ? [] : [{ name, kind: "topic", access }];
}

function group(resource: Named): AccessResource[] {
  const name = resource?.name ?? "";
  return name === "" ? [] : [{ name, kind: "group", access: "SUB" }];
}

/**
 * The resources a request needs.
 *
 * @param rpc The method's local name (`sendMessage`).
 * @param request The decoded request.
 * @returns What must be granted.
 */
export function resourcesOf(rpc: string, request: unknown): AccessResource[] {
  // deno-lint-ignore no-explicit-any
  const r = request as any;
  switch (rpc) {
    case "sendMessage":
      return (r.messages ?? []).flatMap((m: { topic?: Named }) => topic(m.topic, "PUB"));
    case "endTransaction":
    case "recallMessage":
      return topic(r.topic, "PUB");
    case "receiveMessage":
    case "pullMessage":
    case "updateOffset":
    case "getOffset":
      return [...topic(r.messageQueue?.topic, "SUB"), ...group(r.group)];
    case "queryOffset":
      return topic(r.messageQueue?.topic, "SUB");
    case "queryAssignment":
    case "ackMessage":
    case "changeInvisibleDuration":
    case "forwardMessageToDeadLetterQueue":
      return [...topic(r.topic, "SUB"), ...group(r.group)];
    default:
      return [];
  }
}
