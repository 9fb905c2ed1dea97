/**
 * Lookup of messages by key or unique id: index candidates, read back and
 * re-checked. Shared by `LocalMessageStore` and the Worker store's main
 * thread (each passes its own index reader and record reader).
 *
 * @module
 */

import { decodeRecord } from "../../client/protocol/message_record.ts";
import { getProperty, MessageConst } from "../../client/protocol/properties.ts";
import type { StoredMessage } from "../message_store.ts";
import type { IndexQueryResult, IndexService } from "./index_service.ts";
import { KEY_SEPARATOR } from "./index_service.ts";

/** Candidates asked of the index per wanted message (hash collisions and stale entries drop out). */
const CANDIDATES_PER_RESULT = 2;
/** Extra candidates asked of the index on top of that. */
const CANDIDATES_EXTRA = 16;

/** Outcome of `lookupMessagesByKey`. */
export interface MessageLookupResult {
  /** Matching records, newest first, no duplicates. */
  readonly messages: StoredMessage[];
  /** Store time of the index's newest entry, epoch ms (0 when empty). */
  readonly indexLastUpdateTimestamp: number;
  /** CommitLog offset of the index's newest entry (0 when empty). */
  readonly indexLastUpdatePhyOffset: number;
}

/**
 * Whether a record carries `key` as its `UNIQ_KEY` or as one of its `KEYS`.
 *
 * @param properties The record's encoded properties.
 * @param key The key looked up.
 * @returns True on a match.
 */
export function recordHasKey(properties: string, key: string): boolean {
  if (getProperty(properties, MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX) === key) return true;
  const keys = getProperty(properties, MessageConst.KEYS);
  return keys !== undefined && keys.split(KEY_SEPARATOR).includes(key);
}

/**
 * Messages of `topic` whose `UNIQ_KEY` or a `KEYS` element equals `key`,
 * stored within [beginMs, endMs], newest first, at most `maxCount`.
 *
 * Reads candidate offsets from the index, reads each record with `look`,
 * and keeps it only if its topic, key and exact store time match (the index
 * matches by hash and to the second, and may hold entries past a cut
 * CommitLog tail).
 *
 * @param index The index (a reader, or the writer on its own thread).
 * @param look Reads one record by CommitLog offset (undefined if none starts there).
 * @param topic Topic.
 * @param key Key or unique id.
 * @param maxCount Most messages, >= 1.
 * @param beginMs Window start, epoch ms.
 * @param endMs Window end, epoch ms.
 * @returns The messages and the index's last update.
 * @throws {RangeError} If `maxCount` is not a positive integer.
 */
export async function lookupMessagesByKey(
  index: Pick<IndexService, "queryOffsets">,
  look: (commitLogOffset: number) => Promise<StoredMessage | undefined> | StoredMessage | undefined,
  topic: string,
  key: string,
  maxCount: number,
  beginMs: number,
  endMs: number,
): Promise<MessageLookupResult> {
  if (!Number.isSafeInteger(maxCount) || maxCount < 1) {
    throw new RangeError(
      `Cannot query messages: maxCount is ${maxCount}, expected an integer >= 1`,
    );
  }
  const candidates: IndexQueryResult = index.queryOffsets(
    topic,
    key,
    maxCount * CANDIDATES_PER_RESULT + CANDIDATES_EXTRA,
    beginMs,
    endMs,
  );
  const messages: StoredMessage[] = [];
  const seen = new Set<number>();
  for (const offset of candidates.offsets) {
    if (messages.length >= maxCount) break;
    if (seen.has(offset)) continue;
    seen.add(offset);
    const message = await look(offset);
    if (message === undefined) continue;
    const record = decodeRecord(message.record);
    if (record.topic !== topic) continue;
    if (record.storeTimestamp < beginMs || record.storeTimestamp > endMs) continue;
    if (!recordHasKey(record.properties, key)) continue;
    messages.push(message);
  }
  return {
    messages,
    indexLastUpdateTimestamp: candidates.indexLastUpdateTimestamp,
    indexLastUpdatePhyOffset: candidates.indexLastUpdatePhyOffset,
  };
}
