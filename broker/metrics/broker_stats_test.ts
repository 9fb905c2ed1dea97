import assert from "node:assert/strict";
import { BrokerStats } from "./broker_stats.ts";
import { RemotingMetrics } from "./remoting_metrics.ts";
import type { Clock } from "../domain/clock.ts";
import type { BrokerResponse, Channel } from "../api/broker_context.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";

Deno.test("BrokerStats answers minute, hour and day windows from sampled counters", async () => {
  let now = 0;
  const clock: Clock = { nowMs: () => now, schedule: () => () => {} };
  const remoting = new RemotingMetrics();
  const response: BrokerResponse = {
    code: 0,
    language: "JAVA",
    version: 0,
    opaque: 1,
    flag: 1,
    extFields: { msgId: "x" },
  };
  const send = remoting.wrap(() => response);
  const sendOne = () =>
    send({
      code: RequestCode.SEND_MESSAGE_V2,
      language: "JAVA",
      version: 0,
      opaque: 1,
      flag: 0,
      extFields: { b: "T", f: "0" },
      body: new Uint8Array(10),
    }, {} as Channel);
  const stats = new BrokerStats(remoting, clock);
  for (let i = 0; i < 6; i++) sendOne();
  now = 120_000;
  stats.sample();
  for (let i = 0; i < 3; i++) sendOne();
  now = 150_000;
  const data = stats.get("TOPIC_PUT_NUMS", "T")!;
  assert.equal(data.statsDay.sum, 9);
  assert.equal(data.statsMinute.sum, 3);
  assert.equal(data.statsMinute.tps, 0.1);
  assert.equal(stats.get("TOPIC_PUT_SIZE", "T")!.statsDay.sum, 90);
  assert.equal(stats.get("NOPE", "T"), undefined);
  await Promise.resolve();
});
