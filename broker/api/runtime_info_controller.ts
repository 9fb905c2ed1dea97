/**
 * GET_BROKER_RUNTIME_INFO (28): the broker's identity and store counters as
 * RocketMQ's `KVTable` (`{"table": {"brokerName": "...", ...}}`), for
 * `admin brokerStatus`.
 *
 * @module
 */

import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { encodeJsonBody } from "../../client/protocol/heartbeat.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { BROKER_VERSION } from "../version.ts";
import {
  type BrokerContext,
  type BrokerResponse,
  type RequestHandler,
  success,
} from "./broker_context.ts";

/** Answers GET_BROKER_RUNTIME_INFO from the context and the store's stats. */
export class RuntimeInfoController {
  readonly #ctx: BrokerContext;
  readonly #startedMs: number;

  /** @param ctx The broker's object graph. */
  constructor(ctx: BrokerContext) {
    this.#ctx = ctx;
    this.#startedMs = ctx.clock.nowMs();
  }

  /**
   * The request handlers of this controller.
   *
   * @returns Code and handler pairs.
   */
  handlers(): [number, RequestHandler][] {
    return [[RequestCode.GET_BROKER_RUNTIME_INFO, (r) => this.runtimeInfo(r)]];
  }

  /**
   * GET_BROKER_RUNTIME_INFO.
   *
   * @param request The request.
   * @returns SUCCESS with the KV table (every value a string, as RocketMQ's).
   */
  runtimeInfo(request: RemotingCommand): BrokerResponse {
    const { config, store, topics, brokerAddress, clock } = this.#ctx;
    const stats = store.stats();
    const table: Record<string, string> = {
      brokerName: config.brokerName,
      clusterName: config.clusterName,
      brokerVersion: BROKER_VERSION,
      brokerId: String(config.brokerId),
      brokerAddr: brokerAddress,
      namesrvAddr: config.namesrvAddr,
      topicCount: String(topics.list().length),
      bootTimestamp: String(this.#startedMs),
      runtimeMs: String(clock.nowMs() - this.#startedMs),
      commitLogMinOffset: String(stats.commitLogMinOffset),
      commitLogMaxOffset: String(stats.commitLogMaxOffset),
      commitLogFlushedOffset: String(stats.commitLogFlushedOffset),
      dispatchBehindBytes: String(stats.commitLogMaxOffset - stats.dispatchedOffset),
      putMessageCount: String(stats.putMessageCount),
      getMessageCount: String(stats.getMessageCount),
      diskUsedRatio: stats.diskUsedRatio.toFixed(4),
      writeRefused: String(stats.writeRefused),
    };
    return success(request, {}, encodeJsonBody({ table }));
  }
}
