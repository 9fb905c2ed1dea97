/**
 * Namespaces of RocketMQ 5 clients: a client configured with a namespace
 * sends every topic and group as `Resource{resource_namespace, name}`; the
 * brokers know it as `<namespace>%<name>` (RocketMQ's `NamespaceUtil`).
 * Names the broker owns (`%RETRY%`, `%DLQ%`, `rmq_sys_` topics) are not
 * wrapped.
 *
 * @module
 */

/** Separator between namespace and name. */
export const NAMESPACE_SEPARATOR = "%";

/** A topic or group as a request names it. */
export interface NamedResource {
  readonly resourceNamespace?: string;
  readonly name?: string;
}

/**
 * The broker-side name of a resource.
 *
 * @param resource The request's resource.
 * @param callNamespace The call's `x-mq-namespace` (used when the resource names none; the
 *   official Node.js client sets only the header on some requests).
 * @returns `<namespace>%<name>`, or the name when there is no namespace (empty when missing).
 */
export function qualifiedName(resource: NamedResource | undefined, callNamespace = ""): string {
  const name = resource?.name ?? "";
  const namespace = resource?.resourceNamespace || callNamespace;
  if (namespace === "" || name === "" || name.startsWith("%")) return name;
  if (name.startsWith(namespace + NAMESPACE_SEPARATOR)) return name;
  return namespace + NAMESPACE_SEPARATOR + name;
}

/**
 * Split a broker-side name back into namespace and name for a client.
 *
 * @param name The broker-side name.
 * @param namespace The client's namespace (`x-mq-namespace`), or "".
 * @returns The resource as the client knows it.
 */
export function clientResource(
  name: string,
  namespace: string,
): { resourceNamespace: string; name: string } {
  const prefix = namespace + NAMESPACE_SEPARATOR;
  if (namespace !== "" && name.startsWith(prefix)) {
    return { resourceNamespace: namespace, name: name.slice(prefix.length) };
  }
  return { resourceNamespace: "", name };
}
