/**
 * White-list address patterns of RocketMQ's plain ACL (IPv4):
 *
 * | pattern | matches |
 * | ------- | ------- |
 * | `*` or `*.*.*.*` | every address |
 * | `192.168.0.1` | that address |
 * | `192.168.*.*`, `192.168.1.*` | trailing segments free |
 * | `192.168.1.1-100` | a range in a segment |
 * | `192.168.1.{1,2,3}` | a set in the last segment |
 * | `10.0.0.1,10.0.0.2` | any of the listed patterns |
 *
 * @module
 */

/** A parsed pattern: tests a dotted IPv4 address. */
export interface RemoteAddressPattern {
  /** The pattern as written. */
  readonly text: string;
  /**
   * Test an address.
   *
   * @param ip Dotted IPv4 text (no port).
   * @returns True when the pattern covers it.
   */
  matches(ip: string): boolean;
}

type Segment = { min: number; max: number } | { set: ReadonlySet<number> };

function parseSegment(text: string): Segment | undefined {
  if (text === "*") return { min: 0, max: 255 };
  const number = (t: string) => /^\d{1,3}$/.test(t) && Number(t) <= 255 ? Number(t) : undefined;
  const dash = text.indexOf("-");
  if (dash !== -1) {
    const min = number(text.slice(0, dash));
    const max = number(text.slice(dash + 1));
    return min === undefined || max === undefined || min > max ? undefined : { min, max };
  }
  if (text.startsWith("{") && text.endsWith("}")) {
    const values = text.slice(1, -1).split(",").map((t) => number(t.trim()));
    return values.some((v) => v === undefined) ? undefined : { set: new Set(values as number[]) };
  }
  const value = number(text);
  return value === undefined ? undefined : { min: value, max: value };
}

function parseOne(text: string): ((ip: string) => boolean) | undefined {
  if (text === "*" || text === "*.*.*.*") return () => true;
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const segments = parts.map(parseSegment);
  if (segments.some((s) => s === undefined)) return undefined;
  return (ip) => {
    const bytes = ip.split(".");
    if (bytes.length !== 4) return false;
    return segments.every((segment, i) => {
      if (!/^\d{1,3}$/.test(bytes[i])) return false;
      const value = Number(bytes[i]);
      return "set" in segment!
        ? segment.set.has(value)
        : value >= segment!.min && value <= segment!.max;
    });
  };
}

/**
 * Parse a white-list pattern.
 *
 * @param text The pattern (see the module table).
 * @returns The pattern, or undefined if it is malformed.
 */
export function parseRemoteAddressPattern(text: string): RemoteAddressPattern | undefined {
  const trimmed = text.trim();
  // A comma outside braces separates alternatives.
  const alternatives: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < trimmed.length; i++) {
    if (trimmed[i] === "{") depth++;
    else if (trimmed[i] === "}") depth--;
    else if (trimmed[i] === "," && depth === 0) {
      alternatives.push(trimmed.slice(start, i).trim());
      start = i + 1;
    }
  }
  alternatives.push(trimmed.slice(start).trim());
  const tests = alternatives.map(parseOne);
  if (trimmed === "" || tests.some((t) => t === undefined)) return undefined;
  return { text: trimmed, matches: (ip) => tests.some((t) => t!(ip)) };
}

/**
 * The host part of a `host:port` peer address (IPv6 brackets removed, IPv4-mapped IPv6 unwrapped).
 *
 * @param address E.g. `127.0.0.1:53211` or `[::ffff:10.0.0.1]:53211`.
 * @returns The host.
 */
export function peerHost(address: string): string {
  let host = address;
  const bracket = /^\[(.*)\](?::\d+)?$/.exec(address);
  if (bracket !== null) host = bracket[1];
  else if (address.indexOf(":") === address.lastIndexOf(":")) host = address.split(":")[0];
  return host.startsWith("::ffff:") ? host.slice(7) : host;
}
