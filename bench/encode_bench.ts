/**
 * Encode micro-benchmark: `encodeMessagesInto` of one prepared 1 KiB message
 * at a time into a 1 MiB buffer (the request ring's data region), as the
 * main thread does per put; CPU µs per message.
 *
 * Run: `deno run -A bench/encode_bench.ts [messages]`
 *
 * @module
 */

import { cpuUsage } from "node:process";
import { encodeMessagesInto, type PreparedMessage } from "../store/domain/message_encoder.ts";

const messages = Number(Deno.args[0] ?? 2_000_000);
const body = new Uint8Array(1024).map((_, i) => i & 0xff);
const topicBytes = new TextEncoder().encode("BenchTopic");
const propertiesBytes = new TextEncoder().encode(
  "TAGS\u0001TagA\u0002UNIQ_KEY\u00017F0000010F2A18B4AAC200000000002A\u0002WAIT\u0001true\u0002",
);
const host = { ip: new Uint8Array([127, 0, 0, 1]), port: 10911 };
const prepared: PreparedMessage[] = [{
  message: {
    topic: "BenchTopic",
    queueId: 1,
    flag: 0,
    sysFlag: 0,
    bornTimestamp: Date.now(),
    bornHost: host,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    body,
    properties: "",
  },
  topicBytes,
  propertiesBytes,
  size: 0,
}];
const target = new Uint8Array(1 << 20);
let at = 0;
const round = (n: number) => {
  for (let i = 0; i < n; i++) {
    if (at + 2048 > target.length) at = 0;
    at = encodeMessagesInto(prepared, host, target, at);
  }
};
round(200_000);
const start = cpuUsage();
round(messages);
const cpu = cpuUsage(start);
console.log(JSON.stringify({
  case: "encode_1k",
  messages,
  cpuUsPerMsg: Number(((cpu.user + cpu.system) / messages).toFixed(3)),
}));
