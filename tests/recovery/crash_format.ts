/**
 * Message bodies and hashes shared by the crash test and its child process.
 *
 * @module
 */

/**
 * The body of message `seq`: 100..4099 bytes derived from `seq`.
 *
 * @param seq Sequence number.
 * @returns The body.
 */
export function crashBody(seq: number): Uint8Array {
  const length = 100 + ((seq * 7919) % 4000);
  const body = new Uint8Array(length);
  for (let i = 0; i < length; i++) body[i] = (seq * 31 + i * 17) & 0xff;
  return body;
}

/**
 * FNV-1a hash of bytes.
 *
 * @param bytes Input.
 * @returns Unsigned 32-bit hash.
 */
export function fnv1a(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  return hash >>> 0;
}
