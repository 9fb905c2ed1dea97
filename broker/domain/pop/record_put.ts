/**
 * The put of pop's revive records (checkpoints, acks, change-invisible
 * checkpoints): the timer transform first (so a record waits in the timer
 * until due), then group commit per destination queue. Nearly every record
 * goes to the one timer queue, so concurrent pops and acks would otherwise
 * put one record each: while a put to a queue is in flight, later records
 * for it gather and go together as one `putMessages` (each caller still gets
 * its own result). At low load a record goes out at once.
 *
 * @module
 */

import type { MessageStore, MessageToPut, PutMessageResult } from "../../../store/mod.ts";
import type { PutPort } from "../retry/send_back.ts";
import { transformTimerMessage } from "../timer/timer_transform.ts";

/** Most records in one gathered `putMessages` (the store's default `batchMessagesMax`). */
export const RECORD_PUT_BATCH_MAX = 1024;

interface Waiting {
  readonly message: MessageToPut;
  readonly resolve: (result: PutMessageResult) => void;
}

interface Lane {
  inFlight: boolean;
  waiting: Waiting[];
}

/**
 * Build the timer-aware, gathering put.
 *
 * @param store The store (`putMessage` / `putMessages`).
 * @param nowMs Broker clock, epoch ms.
 * @returns The put port.
 */
export function createRecordPut(
  store: Pick<MessageStore, "putMessage" | "putMessages">,
  nowMs: () => number,
): PutPort {
  const lanes = new Map<string, Lane>();
  const drain = async (lane: Lane): Promise<void> => {
    lane.inFlight = true;
    try {
      while (lane.waiting.length > 0) {
        const batch = lane.waiting.splice(0, RECORD_PUT_BATCH_MAX);
        let result: PutMessageResult;
        try {
          result = batch.length === 1
            ? await store.putMessage(batch[0].message)
            : await store.putMessages(batch.map((w) => w.message));
        } catch (error) {
          result = { status: "UNKNOWN_ERROR", remark: String(error) };
        }
        if (result.status !== "PUT_OK" && result.status !== "FLUSH_DISK_TIMEOUT") {
          for (const w of batch) w.resolve(result);
          continue;
        }
        for (const [i, w] of batch.entries()) {
          const offset = result.commitLogOffsets[i] ?? result.commitLogOffset;
          w.resolve({
            ...result,
            commitLogOffset: offset,
            queueOffset: result.queueOffset + i,
            commitLogOffsets: [offset],
          });
        }
      }
    } finally {
      lane.inFlight = false;
    }
  };
  return (message) => {
    const transformed = transformTimerMessage(message, nowMs());
    if (transformed.kind === "illegal") {
      return Promise.resolve({ status: "MESSAGE_ILLEGAL", remark: transformed.remark });
    }
    const toPut = transformed.kind === "scheduled" ? transformed.message : message;
    const key = `${toPut.topic}\u0000${toPut.queueId}`;
    let lane = lanes.get(key);
    if (lane === undefined) lanes.set(key, lane = { inFlight: false, waiting: [] });
    return new Promise<PutMessageResult>((resolve) => {
      lane!.waiting.push({ message: toPut, resolve });
      if (!lane!.inFlight) void drain(lane!);
    });
  };
}
