/**
 * Cost of the metrics wrapper on the request path: dispatches through
 * `RemotingMetrics.wrap` versus the bare dispatch, for sends (SEND_MESSAGE_V2
 * answered SUCCESS asynchronously) and pulls (PULL_MESSAGE answered with 32
 * records); one request per turn of the event loop (a lone client) and 64 per
 * turn (a loaded connection, frames decoded from one read).
 * Run: `deno bench --allow-read bench/remoting_metrics_bench.ts`.
 *
 * @module
 */

import { RemotingMetrics } from "../broker/metrics/remoting_metrics.ts";
import type { BrokerResponse, Channel } from "../broker/api/broker_context.ts";
import type { RemotingCommand } from "../client/protocol/remoting_command.ts";
import { RequestCode } from "../client/protocol/request_code.ts";

const channel = {} as Channel;
const send: RemotingCommand = {
  code: RequestCode.SEND_MESSAGE_V2,
  language: "JAVA",
  version: 0,
  opaque: 1,
  flag: 0,
  extFields: { a: "pg", b: "BenchTopic", e: "0", f: "0", i: "UNIQ_KEY\u0001abc\u0002" },
  body: new Uint8Array(1024),
};
const sendResponse: BrokerResponse = {
  code: 0,
  language: "JAVA",
  version: 0,
  opaque: 1,
  flag: 1,
  extFields: { msgId: "7F00000100002A9F0000000000001000", queueId: "0", queueOffset: "1" },
};
const pull: RemotingCommand = {
  code: RequestCode.PULL_MESSAGE,
  language: "JAVA",
  version: 0,
  opaque: 2,
  flag: 0,
  extFields: { consumerGroup: "cg", topic: "BenchTopic", queueId: "0", queueOffset: "100" },
};
const pullResponse: BrokerResponse = {
  code: 0,
  language: "JAVA",
  version: 0,
  opaque: 2,
  flag: 1,
  extFields: { nextBeginOffset: "132" },
  bodyParts: [new Uint8Array(32 * 1100)],
};

const bareSend = () => Promise.resolve(sendResponse);
const barePull = () => Promise.resolve(pullResponse);
const metrics = new RemotingMetrics();
const wrappedSend = metrics.wrap(bareSend);
const wrappedPull = metrics.wrap(barePull);

const BURST = 64;
const burst = (dispatch: (r: RemotingCommand, c: Channel) => unknown, request: RemotingCommand) => {
  const pending = [];
  for (let i = 0; i < BURST; i++) pending.push(dispatch(request, channel));
  return Promise.all(pending);
};

Deno.bench("send: bare dispatch", { group: "send", baseline: true }, async () => {
  await bareSend();
});
Deno.bench("send: dispatch with metrics", { group: "send" }, async () => {
  await wrappedSend(send, channel);
});
Deno.bench("pull: bare dispatch", { group: "pull", baseline: true }, async () => {
  await barePull();
});
Deno.bench("pull: dispatch with metrics", { group: "pull" }, async () => {
  await wrappedPull(pull, channel);
});
Deno.bench(`send x${BURST} per turn: bare`, { group: "burst", baseline: true }, async () => {
  await burst(bareSend, send);
});
Deno.bench(`send x${BURST} per turn: with metrics`, { group: "burst" }, async () => {
  await burst(wrappedSend, send);
});
