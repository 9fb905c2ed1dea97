// Goal: transactional messages end to end: the client's transactional producer
// against a real broker on port 0. Method: send in a transaction, observe the
// real topic through the store's arrival events (bounded waits) and a raw pull,
// and drive check-backs with small timeouts and intervals.

import assert from "node:assert/strict";
import {
  createTopic,
  pullFields,
  startTestBroker,
  type TestBroker,
  TestConnection,
} from "../_helpers/broker.ts";
import { spawnBroker } from "../_helpers/broker_process.ts";
import { createAdmin } from "../../client/admin.ts";
import { createTransactionProducer } from "../../client/transaction_producer.ts";
import { decodeRecords } from "../../client/protocol/message_record.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type { MessageStore } from "../../store/mod.ts";

const TOPIC = "TxOrders";
const QUEUES = 4;
const WAIT_MS = 10_000;
const td = new TextDecoder();

function visible(store: MessageStore, topic = TOPIC, queues = QUEUES): number {
  let count = 0;
  for (let q = 0; q < queues; q++) count += store.getMaxOffsetInQueue(topic, q);
  return count;
}

/** Resolve once `predicate()` holds, re-checking on every store arrival; bounded. */
async function waitForStore(
  store: MessageStore,
  predicate: () => boolean,
  what: string,
): Promise<void> {
  if (predicate()) return;
  let unsubscribe = () => {};
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      unsubscribe = store.onArrival(() => {
        if (predicate()) resolve();
      });
      timer = setTimeout(() => reject(new Error(`${what}: not within ${WAIT_MS} ms`)), WAIT_MS);
      if (predicate()) resolve();
    });
  } finally {
    unsubscribe();
    clearTimeout(timer);
  }
}

async function withTopic(broker: TestBroker): Promise<void> {
  await using conn = await TestConnection.connect(broker.port);
  await createTopic(conn, TOPIC, QUEUES);
}

Deno.test("a committed transactional message is visible exactly once; a rolled-back one never", async () => {
  await using broker = await startTestBroker();
  await withTopic(broker);
  const store = broker.broker.store;
  await using producer = await createTransactionProducer({
    endpoint: `127.0.0.1:${broker.port}`,
    group: "tx-pg",
    checker: () => "ROLLBACK",
  });
  const rolledBack = await producer.sendInTransaction(
    { topic: TOPIC, body: "cancelled" },
    (_m, sent) => {
      // While the local transaction runs, the half message is invisible.
      assert.equal(visible(store), 0);
      assert.equal(sent.status, "SEND_OK");
      return "ROLLBACK";
    },
  );
  assert.equal(rolledBack.localTransactionState, "ROLLBACK");
  const committed = await producer.sendInTransaction(
    { topic: TOPIC, body: "paid", tags: "t" },
    () => "COMMIT",
  );
  await waitForStore(store, () => visible(store) === 1, "committed message visible");

  await using conn = await TestConnection.connect(broker.port);
  const pulled = await conn.request(
    RequestCode.PULL_MESSAGE,
    pullFields(TOPIC, committed.queue.queueId, 0),
  );
  assert.equal(pulled.code, ResponseCode.SUCCESS, pulled.remark);
  const records = decodeRecords(pulled.body!);
  assert.deepEqual(records.map((r) => td.decode(r.body)), ["paid"]);
  assert.equal(records[0].topic, TOPIC);
  assert.equal(visible(store), 1);
});

Deno.test("the broker asks a live producer about an UNKNOWN transaction and commits on its answer", async () => {
  await using broker = await startTestBroker({
    transactionTimeoutMs: 200,
    transactionCheckIntervalMs: 100,
  });
  await withTopic(broker);
  const store = broker.broker.store;
  const asked: string[] = [];
  await using producer = await createTransactionProducer({
    endpoint: `127.0.0.1:${broker.port}`,
    group: "tx-check",
    checker: (message) => {
      asked.push(message.msgId);
      return "COMMIT";
    },
  });
  const sent = await producer.sendInTransaction({ topic: TOPIC, body: "late" }, () => "UNKNOWN");
  await waitForStore(store, () => visible(store) === 1, "checked message committed");
  assert.equal(asked[0], sent.msgId);
});

Deno.test("an unresolved transaction survives a broker restart and is checked afterwards", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "rmq_tx_restart_" });
  try {
    {
      await using broker = await startTestBroker({ transactionCheckIntervalMs: 600_000 }, {
        dataDir,
      });
      await withTopic(broker);
      await using producer = await createTransactionProducer({
        endpoint: `127.0.0.1:${broker.port}`,
        group: "tx-restart",
        checker: () => "UNKNOWN",
      });
      await producer.sendInTransaction({ topic: TOPIC, body: "survivor" }, () => "UNKNOWN");
    }
    await using broker = await startTestBroker({
      transactionTimeoutMs: 100,
      transactionCheckIntervalMs: 100,
    }, { dataDir });
    const store = broker.broker.store;
    assert.equal(visible(store), 0);
    await using _producer = await createTransactionProducer({
      endpoint: `127.0.0.1:${broker.port}`,
      group: "tx-restart",
      checker: (message) => message.text() === "survivor" ? "COMMIT" : "ROLLBACK",
    });
    await waitForStore(store, () => visible(store) === 1, "message committed after restart");
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a half message nobody answers is discarded after transactionCheckMax checks", async () => {
  await using broker = await startTestBroker({
    transactionTimeoutMs: 50,
    transactionCheckIntervalMs: 50,
    transactionCheckMax: 2,
  });
  await withTopic(broker);
  const store = broker.broker.store;
  let asked = 0;
  {
    await using producer = await createTransactionProducer({
      endpoint: `127.0.0.1:${broker.port}`,
      group: "tx-discard",
      checker: () => {
        asked++;
        return "UNKNOWN";
      },
    });
    await producer.sendInTransaction({ topic: TOPIC, body: "abandoned" }, () => "UNKNOWN");
    await waitForStore(
      store,
      () => store.getMaxOffsetInQueue("TRANS_CHECK_MAX_TIME_TOPIC", 0) === 1,
      "discarded after the maximum checks",
    );
  }
  // Each check reaches the producer before the next round; the discard comes after the last.
  assert.ok(asked <= 2, `asked ${asked} times`);
  assert.equal(store.getMaxOffsetInQueue("RMQ_SYS_TRANS_HALF_TOPIC", 0), 3);
  assert.equal(visible(store), 0);
});

/** Sync flush, and small segments so the restart's recovery is short. */
const CHILD_ARGS = ["--flush", "sync", "--commit-log-segment-bytes", String(1024 * 1024)];

Deno.test("an unresolved transaction survives SIGKILL of the broker and is committed by the check", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "rmq_tx_sigkill_" });
  try {
    const first = await spawnBroker({
      dataDir,
      args: [...CHILD_ARGS, "--transaction-check-interval-ms", "600000"],
    });
    try {
      await using admin = await createAdmin({ endpoint: first.endpoint });
      await admin.createTopic(TOPIC, { readQueueNums: QUEUES, writeQueueNums: QUEUES });
      await using producer = await createTransactionProducer({
        endpoint: first.endpoint,
        group: "tx-kill",
        checker: () => "UNKNOWN",
      });
      await producer.sendInTransaction({ topic: TOPIC, body: "acked" }, () => "UNKNOWN");
    } finally {
      await first.kill("SIGKILL");
    }
    const second = await spawnBroker({
      dataDir,
      args: [
        ...CHILD_ARGS,
        "--transaction-timeout-ms",
        "100",
        "--transaction-check-interval-ms",
        "100",
      ],
    });
    try {
      await using admin = await createAdmin({ endpoint: second.endpoint });
      await using _producer = await createTransactionProducer({
        endpoint: second.endpoint,
        group: "tx-kill",
        checker: (message) => message.text() === "acked" ? "COMMIT" : "ROLLBACK",
      });
      const started = performance.now();
      let count = 0;
      // The broker is another process: poll its offsets, bounded.
      while (count < 1 && performance.now() - started < WAIT_MS) {
        count = (await admin.topicStatus(TOPIC)).reduce((sum, q) => sum + q.maxOffset, 0);
        if (count < 1) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(count, 1);
    } finally {
      await second.kill("SIGTERM");
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
