/**
 * RESET_CONSUMER_CLIENT_OFFSET on the client (RocketMQ's `resetOffset`): the
 * broker moved the group's offsets (admin `resetOffsetByTime`); each owned
 * queue named in the table drops its state without committing its old
 * progress, and the new offset is stored again last (a pull sent before the
 * reset may have stored the old one). The next rebalance starts the queues
 * from there.
 *
 * @module
 */

import type { OffsetStore } from "./offset_store.ts";
import type { ProcessQueue } from "./process_queue.ts";

/**
 * Drop the reset queues and store their new offsets.
 *
 * @param queues The owned queues (reset ones are removed).
 * @param body The request body `{ "offsetTable": { "<topic>@<broker>@<queueId>": offset } }`.
 * @param offsets The offset store.
 * @returns How many queues were reset (0 for a body that does not parse).
 */
export async function resetQueues(
  queues: Map<string, ProcessQueue>,
  body: Uint8Array | undefined,
  offsets: OffsetStore,
): Promise<number> {
  let table: Record<string, unknown>;
  try {
    table = JSON.parse(new TextDecoder().decode(body ?? new Uint8Array())).offsetTable ?? {};
  } catch {
    return 0;
  }
  const reset: [ProcessQueue, number][] = [];
  for (const pq of queues.values()) {
    const offset = table[`${pq.queue.topic}@${pq.queue.brokerName}@${pq.queue.queueId}`];
    if (typeof offset === "number") reset.push([pq, offset]);
  }
  for (const [pq] of reset) {
    queues.delete(pq.key);
    pq.deactivate();
  }
  await Promise.all(reset.map(([pq]) => pq.loop));
  await Promise.all(reset.map(([pq, offset]) => offsets.commit(pq.queue, offset)));
  return reset.length;
}
