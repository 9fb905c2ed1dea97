/**
 * The QueueOffset table: for each (topic, queueId), the next QueueOffset the
 * CommitLog will assign (RocketMQ's `topic-queueId -> offset` map).
 *
 * Lives with the CommitLog writer (store worker, or the calling thread in
 * `LocalMessageStore`). After recovery it is rebuilt from the ConsumeQueues'
 * max offsets.
 *
 * @module
 */

/** Next QueueOffset per (topic, queueId). */
export class QueueOffsetTable {
  #table: Map<string, Map<number, number>> = new Map();

  /**
   * The next QueueOffset of a queue (0 if unseen).
   *
   * @param topic Topic.
   * @param queueId Queue id.
   * @returns The next offset to assign.
   */
  next(topic: string, queueId: number): number {
    return this.#table.get(topic)?.get(queueId) ?? 0;
  }

  /**
   * Set the next QueueOffset of a queue.
   *
   * @param topic Topic.
   * @param queueId Queue id.
   * @param offset Next offset.
   */
  set(topic: string, queueId: number, offset: number): void {
    let queues = this.#table.get(topic);
    if (queues === undefined) {
      queues = new Map();
      this.#table.set(topic, queues);
    }
    queues.set(queueId, offset);
  }

  /**
   * Advance a queue by `count` and return the offset before advancing.
   *
   * @param topic Topic.
   * @param queueId Queue id.
   * @param count How many offsets to take.
   * @returns The first taken offset.
   */
  take(topic: string, queueId: number, count: number): number {
    const first = this.next(topic, queueId);
    this.set(topic, queueId, first + count);
    return first;
  }

  /**
   * Forget every queue of a topic.
   *
   * @param topic Topic.
   */
  deleteTopic(topic: string): void {
    this.#table.delete(topic);
  }

  /**
   * Every entry.
   *
   * @returns `[topic, queueId, nextOffset]` triples.
   */
  entries(): [string, number, number][] {
    const out: [string, number, number][] = [];
    for (const [topic, queues] of this.#table) {
      for (const [queueId, offset] of queues) out.push([topic, queueId, offset]);
    }
    return out;
  }
}
