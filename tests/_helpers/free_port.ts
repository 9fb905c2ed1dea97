/**
 * A loopback TCP port that was free a moment ago (for servers, such as the
 * gRPC front, where port 0 means "off" rather than "any").
 *
 * @module
 */

/**
 * Find a free loopback port.
 *
 * @returns A port number that was free when checked.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
