/**
 * The dedup window against a real broker: a producer retry of the same
 * UNIQ_KEY is answered with the original msgId, queue and offset and not
 * stored again, also after a broker restart (the window is rebuilt from the
 * store's tail).
 */

import assert from "node:assert/strict";
import { sendV2Fields, startTestBroker, TestConnection } from "../_helpers/broker.ts";
import { createAdmin } from "../../client/admin.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";

Deno.test("Dedup: a resend of a UNIQ_KEY gets the original answer, also after a restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "rmq_dedup_" });
  try {
    const send = async (port: number, key: string) => {
      await using conn = await TestConnection.connect(port);
      const response = await conn.request(
        RequestCode.SEND_MESSAGE_V2,
        sendV2Fields("Dedup", -1, { UNIQ_KEY: key }),
        new TextEncoder().encode(`body of ${key}`),
      );
      assert.equal(response.code, ResponseCode.SUCCESS, response.remark);
      const f = response.extFields!;
      return { msgId: f.msgId, queueId: f.queueId, queueOffset: f.queueOffset };
    };
    let original;
    {
      await using broker = await startTestBroker({ dedupWindowMs: 60_000 }, { dataDir });
      await using admin = await createAdmin({ endpoint: `127.0.0.1:${broker.port}` });
      await admin.createTopic("Dedup", { readQueueNums: 4, writeQueueNums: 4 });
      original = await send(broker.port, "KEY-1");
      // The producer timed out and retries: same key, any queue.
      for (let i = 0; i < 5; i++) assert.deepEqual(await send(broker.port, "KEY-1"), original);
      const other = await send(broker.port, "KEY-2");
      assert.notEqual(other.msgId, original.msgId);
      const stored = (await admin.topicStatus("Dedup")).reduce((n, q) => n + q.maxOffset, 0);
      assert.equal(stored, 2, "each key stored once");
    }
    {
      await using broker = await startTestBroker({ dedupWindowMs: 60_000 }, { dataDir });
      // The offset msgId names the broker's address (a new port here) and the CommitLog offset.
      const again = await send(broker.port, "KEY-1");
      assert.equal(again.msgId.slice(-16), original.msgId.slice(-16), "after a restart");
      assert.deepEqual([again.queueId, again.queueOffset], [
        original.queueId,
        original.queueOffset,
      ]);
      await using admin = await createAdmin({ endpoint: `127.0.0.1:${broker.port}` });
      const stored = (await admin.topicStatus("Dedup")).reduce((n, q) => n + q.maxOffset, 0);
      assert.equal(stored, 2);
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
