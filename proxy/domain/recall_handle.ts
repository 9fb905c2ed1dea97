/**
 * The `recall_handle` of a delayed message: what RecallMessage needs to find
 * it again. Form: base64url of `v1 <topic> <brokerName> <deliverMs> <messageId>`
 * (space-separated; topics, broker names and ids contain no spaces).
 *
 * @module
 */

/** What a recall handle names. */
export interface RecallTarget {
  /** Topic the message was sent to. */
  readonly topic: string;
  /** Broker that stores it. */
  readonly brokerName: string;
  /** When it is due, epoch ms. */
  readonly deliverMs: number;
  /** Its message id (`UNIQ_KEY`). */
  readonly messageId: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encode a recall handle.
 *
 * @param target The delayed message.
 * @returns The handle.
 */
export function encodeRecallHandle(target: RecallTarget): string {
  const text = ["v1", target.topic, target.brokerName, target.deliverMs, target.messageId].join(
    " ",
  );
  let binary = "";
  for (const byte of encoder.encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Decode a recall handle.
 *
 * @param handle The handle.
 * @returns The target, or undefined when it is not a handle of ours.
 */
export function decodeRecallHandle(handle: string): RecallTarget | undefined {
  try {
    const binary = atob(handle.replaceAll("-", "+").replaceAll("_", "/"));
    const parts = decoder.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))).split(" ");
    if (parts.length !== 5 || parts[0] !== "v1") return undefined;
    const deliverMs = Number(parts[3]);
    if (!Number.isSafeInteger(deliverMs) || parts[1] === "" || parts[4] === "") return undefined;
    return { topic: parts[1], brokerName: parts[2], deliverMs, messageId: parts[4] };
  } catch {
    return undefined;
  }
}
