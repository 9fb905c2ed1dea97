/**
 * Queue allocation strategies of clustering consumers, chosen by the
 * `allocateStrategy` option (RocketMQ's `AllocateMessageQueueStrategy`):
 *
 * | name              | RocketMQ class                          | shape                                     |
 * |-------------------|-----------------------------------------|-------------------------------------------|
 * | `AVG`             | `AllocateMessageQueueAveragely`         | contiguous blocks (the default)            |
 * | `AVG_BY_CIRCLE`   | `AllocateMessageQueueAveragelyByCircle` | queue i goes to client i mod c             |
 * | `CONSISTENT_HASH` | `AllocateMessageQueueConsistentHash`    | MD5 ring with virtual nodes per client     |
 *
 * Every strategy is a pure function of (this client, all queues sorted, all
 * client ids): members that see the same inputs agree without talking.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { allocateAveragely } from "../allocate.ts";
import type { MessageQueue } from "../message.ts";

/** Names of the allocation strategies. */
export type AllocateStrategyName = "AVG" | "AVG_BY_CIRCLE" | "CONSISTENT_HASH";

/** A strategy: this client's share of `queues` among `clientIds`. */
export type AllocateStrategy = (
  clientId: string,
  queues: readonly MessageQueue[],
  clientIds: readonly string[],
) => MessageQueue[];

/** Virtual nodes per client on the consistent-hash ring (RocketMQ's default, 10). */
export const CONSISTENT_HASH_VIRTUAL_NODES = 10;

/**
 * Round-robin allocation: with clients sorted, client `i` gets queues
 * `i, i + c, i + 2c, ...`.
 *
 * @param clientId This client's id.
 * @param queues All queues, sorted.
 * @param clientIds All live client ids of the group.
 * @returns This client's queues.
 */
export function allocateAveragelyByCircle<Q>(
  clientId: string,
  queues: readonly Q[],
  clientIds: readonly string[],
): Q[] {
  const clients = [...new Set(clientIds)].sort();
  const index = clients.indexOf(clientId);
  const out: Q[] = [];
  if (index < 0) return out;
  for (let i = index; i < queues.length; i += clients.length) out.push(queues[i]);
  return out;
}

/** RocketMQ's MD5 ring hash: the first four digest bytes, big-endian, unsigned. */
function ringHash(key: string): number {
  const digest = createHash("md5").update(key).digest();
  return digest.readUInt32BE(0);
}

/** RocketMQ's `MessageQueue.toString()`, the key a queue is hashed by. */
function queueHashKey(queue: MessageQueue): string {
  return `MessageQueue [topic=${queue.topic}, brokerName=${queue.brokerName}, queueId=${queue.queueId}]`;
}

/**
 * Consistent-hash allocation: each client owns `virtualNodes` points
 * (`<clientId>-<n>`) on an MD5 ring; a queue belongs to the first point at or
 * after its hash (wrapping). A member joining or leaving moves only the
 * queues next to its points.
 *
 * @param clientId This client's id.
 * @param queues All queues.
 * @param clientIds All live client ids of the group.
 * @param virtualNodes Points per client.
 * @returns This client's queues.
 */
export function allocateConsistentHash(
  clientId: string,
  queues: readonly MessageQueue[],
  clientIds: readonly string[],
  virtualNodes: number = CONSISTENT_HASH_VIRTUAL_NODES,
): MessageQueue[] {
  const clients = [...new Set(clientIds)];
  if (!clients.includes(clientId)) return [];
  const ring: { hash: number; client: string }[] = [];
  for (const client of clients) {
    for (let n = 0; n < virtualNodes; n++) ring.push({ hash: ringHash(`${client}-${n}`), client });
  }
  ring.sort((a, b) => a.hash - b.hash || (a.client < b.client ? -1 : 1));
  const out: MessageQueue[] = [];
  for (const queue of queues) {
    const hash = ringHash(queueHashKey(queue));
    let lo = 0;
    let hi = ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring[mid].hash < hash) lo = mid + 1;
      else hi = mid;
    }
    if (ring[lo === ring.length ? 0 : lo].client === clientId) out.push(queue);
  }
  return out;
}

/**
 * The strategy of a name.
 *
 * @param name `AVG` (default), `AVG_BY_CIRCLE` or `CONSISTENT_HASH`.
 * @returns The allocation function.
 * @throws {TypeError} On an unknown name.
 */
export function allocateStrategy(name: AllocateStrategyName = "AVG"): AllocateStrategy {
  switch (name) {
    case "AVG":
      return allocateAveragely;
    case "AVG_BY_CIRCLE":
      return allocateAveragelyByCircle;
    case "CONSISTENT_HASH":
      return (clientId, queues, clientIds) => allocateConsistentHash(clientId, queues, clientIds);
    default:
      throw new TypeError(
        `Cannot create consumer: allocateStrategy must be AVG, AVG_BY_CIRCLE or CONSISTENT_HASH, got ${
          String(name)
        }`,
      );
  }
}
