/**
 * Browser-side attacks on a dashboard that listens on loopback without a
 * password: a page on another site can make the operator's browser send
 * requests to `http://127.0.0.1:8080`. Two checks stop them:
 *
 * - Cross-site requests: a write (`POST`, `DELETE`) must be JSON
 *   (`Content-Type: application/json`, which a cross-site page can send only
 *   after a CORS preflight this server never grants) and, when the browser
 *   sends an `Origin`, come from the page's own origin.
 * - DNS rebinding: when the server listens on loopback, the `Host` header must
 *   name loopback (`127.0.0.1`, `localhost`, `[::1]`), not a domain that an
 *   attacker pointed at 127.0.0.1.
 *
 * @module
 */

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** Outcome of {@linkcode checkBrowserRequest}: undefined to serve, else the refusal. */
export type GuardRefusal = { readonly status: 403 | 415; readonly reason: string } | undefined;

/**
 * Check a dashboard or API request against cross-site writes and DNS rebinding.
 *
 * @param request The request.
 * @param listenHostname The address the server listens on.
 * @param api True for `/api/` paths (the only ones that accept writes).
 * @returns undefined when the request may be served, else the status and reason.
 */
export function checkBrowserRequest(
  request: Request,
  listenHostname: string,
  api: boolean,
): GuardRefusal {
  const host = request.headers.get("host") ?? "";
  const hostname = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0];
  if (LOOPBACK_HOSTS.has(listenHostname) && !LOOPBACK_HOSTS.has(hostname.toLowerCase())) {
    return { status: 403, reason: `Host "${host}" is not loopback (DNS rebinding guard)` };
  }
  if (!api || request.method === "GET" || request.method === "HEAD") return undefined;
  const origin = request.headers.get("origin");
  if (origin !== null) {
    let originHost: string;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = "";
    }
    if (originHost !== host) {
      return { status: 403, reason: `Cross-site request from ${origin} refused` };
    }
  }
  const type = request.headers.get("content-type") ?? "";
  if (request.method === "POST" && !/^application\/json\b/i.test(type)) {
    return { status: 415, reason: "Writes must send Content-Type: application/json" };
  }
  return undefined;
}
