/**
 * What each RPC touches, for access control: topics it publishes to (PUB),
 * topics and groups it consumes (SUB). Calls that touch no resource (route
 * and session upkeep) are only authenticated.
 *
 * @module
 */

import type { AccessResource } from "../domain/authorization.ts";
import { type NamedResource, qualifiedName } from "../domain/namespace.ts";

type Named = NamedResource | undefined;

function topic(
  resource: Named,
  access: AccessResource["access"],
  namespace: string,
): AccessResource[] {
  const name = qualifiedName(resource, namespace);
  return name === "" ? [] : [{ name, kind: "topic", access }];
}

function group(resource: Named, namespace: string): AccessResource[] {
  const name = qualifiedName(resource, namespace);
  return name === "" ? [] : [{ name, kind: "group", access: "SUB" }];
}

/**
 * The resources a request needs.
 *
 * @param rpc The method's local name (`sendMessage`).
 * @param request The decoded request.
 * @param namespace The call's `x-mq-namespace`.
 * @returns What must be granted.
 */
export function resourcesOf(rpc: string, request: unknown, namespace = ""): AccessResource[] {
  // deno-lint-ignore no-explicit-any
  const r = request as any;
  switch (rpc) {
    case "sendMessage":
      return (r.messages ?? []).flatMap((m: { topic?: Named }) => topic(m.topic, "PUB", namespace));
    case "endTransaction":
    case "recallMessage":
      return topic(r.topic, "PUB", namespace);
    case "receiveMessage":
    case "pullMessage":
    case "updateOffset":
    case "getOffset":
      return [...topic(r.messageQueue?.topic, "SUB", namespace), ...group(r.group, namespace)];
    case "queryOffset":
      return topic(r.messageQueue?.topic, "SUB", namespace);
    case "queryAssignment":
    case "ackMessage":
    case "changeInvisibleDuration":
    case "forwardMessageToDeadLetterQueue":
      return [...topic(r.topic, "SUB", namespace), ...group(r.group, namespace)];
    default:
      return [];
  }
}
