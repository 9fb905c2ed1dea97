/**
 * The gRPC `transaction_id` of a transactional message: where its half
 * message lies, so EndTransaction (which carries only the message id, the
 * transaction id and the topic) can name it to the transaction service.
 *
 * Form: `<commitLogOffset hex>-<halfQueueOffset hex>` (uppercase hex, no
 * padding), then `-<brokerName>` in cluster mode, where several brokers may
 * hold half messages. Opaque to clients.
 *
 * @module
 */

/** Where a half message lies. */
export interface HalfMessagePosition {
  /** CommitLog offset of the half message (or its check copy). */
  readonly commitLogOffset: number;
  /** QueueOffset in the half queue. */
  readonly halfQueueOffset: number;
  /** The broker holding it, when the front serves several (cluster mode). */
  readonly brokerName?: string;
}

/**
 * Encode a transaction id.
 *
 * @param position The half message's position.
 * @returns The transaction id.
 */
export function encodeTransactionId(position: HalfMessagePosition): string {
  const offsets = position.commitLogOffset.toString(16).toUpperCase() + "-" +
    position.halfQueueOffset.toString(16).toUpperCase();
  return position.brokerName === undefined ? offsets : `${offsets}-${position.brokerName}`;
}

/**
 * Decode a transaction id.
 *
 * @param id The transaction id from EndTransaction.
 * @returns The position, or undefined when `id` is not one of ours.
 */
export function decodeTransactionId(id: string): HalfMessagePosition | undefined {
  const match = /^([0-9A-F]{1,14})-([0-9A-F]{1,14})(?:-([A-Za-z0-9_%|-]{1,127}))?$/.exec(id);
  if (match === null) return undefined;
  const commitLogOffset = parseInt(match[1], 16);
  const halfQueueOffset = parseInt(match[2], 16);
  if (!Number.isSafeInteger(commitLogOffset) || !Number.isSafeInteger(halfQueueOffset)) {
    return undefined;
  }
  return match[3] === undefined
    ? { commitLogOffset, halfQueueOffset }
    : { commitLogOffset, halfQueueOffset, brokerName: match[3] };
}
