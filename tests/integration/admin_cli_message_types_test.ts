/**
 * Goal: every message type is reachable from the admin command line. Method: a real broker;
 * the CLI sends delayed, FIFO and transactional messages and peeks through tag and SQL92
 * filters; results are checked through the CLI's own output and the Admin client.
 */

import assert from "node:assert/strict";
import { startTestBroker } from "../_helpers/broker.ts";
import { until } from "../_helpers/consume.ts";
import { runAdminCli } from "../../client/cli/admin_cli.ts";
import { createAdmin } from "../../mod.ts";

async function cli(...argv: string[]): Promise<{ code: number; text: string }> {
  const out: string[] = [];
  const code = await runAdminCli(argv, (t) => out.push(t));
  return { code, text: out.join("\n") };
}

Deno.test("admin CLI sends delayed, FIFO and transactional messages", async () => {
  await using broker = await startTestBroker();
  const n = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint: n });
  await admin.createTopic("CliTypes", { readQueueNums: 2, writeQueueNums: 2 });
  const visible = async () =>
    (await admin.topicStatus("CliTypes")).reduce((sum, q) => sum + q.maxOffset, 0);

  // Delayed: stored at once, visible only when due.
  const delayed = await cli(
    "sendMessage",
    "-n",
    n,
    "-t",
    "CliTypes",
    "-b",
    "later",
    "--delay-ms",
    "300",
  );
  assert.equal(delayed.code, 0);
  assert.match(delayed.text, /status\s+SEND_OK/);
  assert.equal(await visible(), 0);
  await until(async () => await visible() === 1, "the delayed message to come due");

  // FIFO: one message group always lands on one queue.
  const queues = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const sent = await cli(
      "sendMessage",
      "-n",
      n,
      "-t",
      "CliTypes",
      "-b",
      `g${i}`,
      "--group",
      "order-7",
    );
    queues.add(/queue\s+(\S+)/.exec(sent.text)![1]);
  }
  assert.equal(queues.size, 1);

  // Transactions: a committed one becomes visible, a rolled-back one never does.
  const before = await visible();
  const committed = await cli(
    "sendMessage",
    "-n",
    n,
    "-t",
    "CliTypes",
    "-b",
    "paid",
    "--transaction",
    "commit",
  );
  assert.match(committed.text, /transaction\s+commit/);
  await cli("sendMessage", "-n", n, "-t", "CliTypes", "-b", "void", "--transaction", "rollback");
  await until(async () => await visible() === before + 1, "the committed message to appear");
  assert.equal((await admin.findMessages(/msgId\s+(\S+)/.exec(committed.text)![1])).length, 1);

  await assert.rejects(
    runAdminCli(
      ["sendMessage", "-n", n, "-t", "CliTypes", "-b", "x", "--transaction", "maybe"],
      () => {},
    ),
    /--transaction must be commit or rollback/,
  );
});

Deno.test("admin CLI peekMessage filters by tags and by SQL92 on the broker", async () => {
  await using broker = await startTestBroker();
  const n = `127.0.0.1:${broker.port}`;
  await using admin = await createAdmin({ endpoint: n });
  await admin.createTopic("CliPeek", { readQueueNums: 1, writeQueueNums: 1 });
  for (
    const [body, tags, props] of [["a", "red", "amount=5"], ["b", "blue", "amount=50"], [
      "c",
      "red",
      "amount=500",
    ]]
  ) {
    assert.equal(
      (await cli(
        "sendMessage",
        "-n",
        n,
        "-t",
        "CliPeek",
        "-b",
        body,
        "--tags",
        tags,
        "--props",
        props,
      )).code,
      0,
    );
  }
  const bodies = (text: string) => [...text.matchAll(/\s([abc])$/gm)].map((m) => m[1]);

  assert.deepEqual(bodies((await cli("peekMessage", "-n", n, "-t", "CliPeek")).text), [
    "a",
    "b",
    "c",
  ]);
  assert.deepEqual(
    bodies((await cli("peekMessage", "-n", n, "-t", "CliPeek", "--tags", "red")).text),
    ["a", "c"],
  );
  assert.deepEqual(
    bodies(
      (await cli("peekMessage", "-n", n, "-t", "CliPeek", "--sql", "amount > 10 AND TAGS = 'red'"))
        .text,
    ),
    ["c"],
  );
  // Peeking consumes nothing.
  const progress = await admin.consumerProgress("TOOLS_CONSUMER", "CliPeek");
  assert.ok(progress.queues.every((q) => q.consumerOffset <= 0), JSON.stringify(progress));
  await assert.rejects(
    runAdminCli(["peekMessage", "-n", n, "-t", "CliPeek", "--sql", "amount >"], () => {}),
    /SUBSCRIPTION_PARSE_FAILED/,
  );
});
