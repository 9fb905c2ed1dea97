import assert from "node:assert/strict";
import { startTestBroker } from "../_helpers/broker.ts";
import { formatTable, runAdminCli } from "../../client/cli/admin_cli.ts";

Deno.test("formatTable() aligns columns", () => {
  assert.equal(formatTable(["A", "Long"], [["xyz", 1]]), "A    Long\nxyz  1");
});

Deno.test("admin CLI creates a topic, sends, shows status, progress and the message", async () => {
  await using broker = await startTestBroker();
  const n = `127.0.0.1:${broker.port}`;
  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const code = await runAdminCli(argv, (t) => out.push(t));
    assert.equal(code, 0, argv.join(" "));
    return out.join("\n");
  };
  assert.match(await run("updateTopic", "-n", n, "-t", "CliT", "-r", "2", "-w", "2"), /CliT/);
  assert.match(await run("topicList", "-n", n), /CliT\s+2\s+2\s+6/);
  const sent = await run("sendMessage", "-n", n, "-t", "CliT", "-b", "hello");
  const offsetMsgId = /offsetMsgId\s+(\S+)/.exec(sent)![1];
  assert.match(await run("topicStatus", "-n", n, "-t", "CliT"), /MaxOffset/);
  assert.match(await run("queryMsgById", "-n", n, "-i", offsetMsgId), /body\s+hello/);
  assert.match(await run("consumerProgress", "-n", n, "-g", "nobody", "-t", "CliT"), /Total\s+1/);
  assert.match(await run("deleteTopic", "-n", n, "-t", "CliT"), /deleted/);
  await assert.rejects(runAdminCli(["bogus", "-n", n], () => {}), TypeError);
  await assert.rejects(runAdminCli(["deleteTopic", "-n", n], () => {}), /Missing -t/);
});
