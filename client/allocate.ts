/**
 * Queue allocation for clustering consumers (RocketMQ
 * `AllocateMessageQueueAveragely`).
 *
 * @module
 */

/**
 * Split sorted queues into contiguous blocks across sorted client ids and
 * return the block of `clientId`.
 *
 * With `n` queues, `c` clients and this client at index `i`, `mod = n % c`;
 * the block size is 1 when `n <= c`, else `floor(n / c)` plus 1 for `i < mod`;
 * it starts at `i * size` when `i < mod`, else at `i * size + mod`.
 *
 * @param clientId This client's id.
 * @param queues All queues, already sorted.
 * @param clientIds All live client ids of the group (sorted here).
 * @returns This client's queues; empty if it is not in `clientIds` or has no share.
 *
 * @example
 * ```ts
 * import { allocateAveragely } from "./allocate.ts";
 * const mine = allocateAveragely("b", [0, 1, 2, 3, 4], ["a", "b"]);
 * // mine is [3, 4]: "a" gets [0, 1, 2]
 * ```
 */
export function allocateAveragely<Q>(
  clientId: string,
  queues: readonly Q[],
  clientIds: readonly string[],
): Q[] {
  const clients = [...new Set(clientIds)].sort();
  const index = clients.indexOf(clientId);
  if (index < 0 || queues.length === 0) return [];
  const n = queues.length;
  const c = clients.length;
  const mod = n % c;
  const size = n <= c ? 1 : Math.floor(n / c) + (index < mod ? 1 : 0);
  const start = index < mod ? index * size : index * size + mod;
  const range = Math.min(size, n - start);
  const out: Q[] = [];
  for (let i = 0; i < range; i++) out.push(queues[(start + i) % n]);
  return out;
}
