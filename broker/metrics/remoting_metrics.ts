/**
 * What the broker counts as requests pass: RPC latency by request and
 * response code, messages and bytes in per topic, messages and bytes out per
 * topic and consumer group, and message sizes.
 *
 * It wraps the router's dispatch function once (in the composition root), so
 * no controller changes. Per request it costs one extra promise reaction, a
 * few map lookups and additions; label objects are built only the first time
 * a topic, group or code pair is seen. The clock is read once per event-loop
 * turn, not per request (`performance.now()` costs about 150 ns): requests
 * decoded in one turn share a start time and responses completed in one turn
 * share an end time, so a latency is exact to within the time one turn takes,
 * well inside the smallest bucket (1 ms) under normal load. Lives on the main
 * thread.
 *
 * @module
 */

import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { isOneway } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import { MessageSysFlag } from "../../client/protocol/message_record.ts";
import type { BrokerResponse, Channel } from "../api/broker_context.ts";
import { KeyedHistogram, type Sample } from "./exposition.ts";

/** Buckets of `rocketmq_rpc_latency`, ms (RocketMQ 5 uses the same scale). */
export const RPC_LATENCY_BUCKETS_MS: readonly number[] = [
  1,
  3,
  5,
  10,
  20,
  50,
  100,
  200,
  500,
  1000,
  3000,
];

/** Buckets of `rocketmq_message_size`, bytes. */
export const MESSAGE_SIZE_BUCKETS_BYTES: readonly number[] = [
  1024,
  4096,
  16384,
  65536,
  262144,
  524288,
  1048576,
  2097152,
  4194304,
];

/** Message types as RocketMQ 5 labels them (`message_type`). */
export const MESSAGE_TYPES = ["Normal", "Delay", "Transaction"] as const;

/** The router's dispatch signature. */
export type Dispatch = (
  request: RemotingCommand,
  channel: Channel,
) => BrokerResponse | undefined | Promise<BrokerResponse | undefined>;

/** Messages and bytes counted for one key. */
interface Flow {
  messages: number;
  bytes: number;
}

/** Per-request counters of the remoting path. */
export class RemotingMetrics {
  /** `rocketmq_rpc_latency`, ms, by request and response code. */
  readonly rpcLatency: KeyedHistogram = new KeyedHistogram(RPC_LATENCY_BUCKETS_MS);
  /** `rocketmq_message_size`, bytes, by topic and message type. */
  readonly messageSize: KeyedHistogram = new KeyedHistogram(MESSAGE_SIZE_BUCKETS_BYTES);
  /** topic -> one Flow per MESSAGE_TYPES entry. */
  readonly #in = new Map<string, Flow[]>();
  /** topic -> group -> Flow, with the next offset each queue was pulled to (RocketMQ's pull offset). */
  readonly #out = new Map<string, Map<string, Flow & { pulled: Map<number, number> }>>();
  readonly #sizeKeys = new Map<string, number>();
  /** The clock reading of the current event-loop turn, or -1 before the first read in it. */
  #turnNowMs = -1;
  readonly #endTurn = () => {
    this.#turnNowMs = -1;
  };

  /** `performance.now()`, read at most once per turn of the event loop. */
  #now(): number {
    if (this.#turnNowMs < 0) {
      this.#turnNowMs = performance.now();
      queueMicrotask(this.#endTurn);
    }
    return this.#turnNowMs;
  }

  /**
   * Wrap a dispatch function so every answered request is counted.
   *
   * @param dispatch The router's dispatch.
   * @returns A dispatch with the same behaviour.
   */
  wrap(dispatch: Dispatch): Dispatch {
    return (request, channel) => {
      const startMs = this.#now();
      const result = dispatch(request, channel);
      if (result instanceof Promise) {
        return result.then((response) => {
          this.#record(request, response, startMs);
          return response;
        });
      }
      this.#record(request, result, startMs);
      return result;
    };
  }

  /**
   * Messages and bytes received, per topic and message type.
   *
   * @returns `[topic, type, flow]` rows.
   */
  inFlows(): { topic: string; messageType: string; messages: number; bytes: number }[] {
    const rows = [];
    for (const [topic, flows] of this.#in) {
      for (let t = 0; t < MESSAGE_TYPES.length; t++) {
        if (flows[t].messages === 0) continue;
        rows.push({ topic, messageType: MESSAGE_TYPES[t], ...flows[t] });
      }
    }
    return rows;
  }

  /**
   * Messages and bytes delivered by pulls, per topic and consumer group.
   *
   * @returns One row per topic and group.
   */
  outFlows(): { topic: string; group: string; messages: number; bytes: number }[] {
    const rows = [];
    for (const [topic, groups] of this.#out) {
      for (const [group, flow] of groups) {
        rows.push({ topic, group, messages: flow.messages, bytes: flow.bytes });
      }
    }
    return rows;
  }

  /**
   * Where each group's pulls of each queue have reached (the next offset to pull).
   *
   * @returns One row per topic, group and queue pulled since start.
   */
  pullOffsets(): { topic: string; group: string; queueId: number; offset: number }[] {
    const rows = [];
    for (const [topic, groups] of this.#out) {
      for (const [group, flow] of groups) {
        for (const [queueId, offset] of flow.pulled) rows.push({ topic, group, queueId, offset });
      }
    }
    return rows;
  }

  /**
   * Total messages in and out since start (for the dashboard's TPS).
   *
   * @returns The two totals.
   */
  totals(): { messagesIn: number; messagesOut: number; bytesIn: number; bytesOut: number } {
    let messagesIn = 0, bytesIn = 0, messagesOut = 0, bytesOut = 0;
    for (const flows of this.#in.values()) {
      for (const flow of flows) {
        messagesIn += flow.messages;
        bytesIn += flow.bytes;
      }
    }
    for (const groups of this.#out.values()) {
      for (const flow of groups.values()) {
        messagesOut += flow.messages;
        bytesOut += flow.bytes;
      }
    }
    return { messagesIn, messagesOut, bytesIn, bytesOut };
  }

  /**
   * `rocketmq_rpc_latency` samples.
   *
   * @returns Histogram samples.
   */
  rpcLatencySamples(): Sample[] {
    return this.rpcLatency.samples();
  }

  #record(request: RemotingCommand, response: BrokerResponse | undefined, startMs: number): void {
    if (response === undefined || isOneway(request)) return;
    const code = request.code;
    const responseCode = response.code;
    this.rpcLatency.observe(
      code * 4096 + (responseCode & 0xfff),
      () => ({ protocol_type: "remoting", request_code: code, response_code: responseCode }),
      this.#now() - startMs,
    );
    if (responseCode !== ResponseCode.SUCCESS) return;
    const fields = request.extFields;
    if (fields === undefined) return;
    if (
      code === RequestCode.SEND_MESSAGE_V2 || code === RequestCode.SEND_MESSAGE ||
      code === RequestCode.SEND_BATCH_MESSAGE
    ) {
      this.#recordSend(request, fields, response);
    } else if (code === RequestCode.PULL_MESSAGE) {
      this.#recordPull(fields, response);
    }
  }

  #recordSend(
    request: RemotingCommand,
    fields: Record<string, string>,
    response: BrokerResponse,
  ): void {
    const v2 = request.code !== RequestCode.SEND_MESSAGE;
    const topic = v2 ? fields.b : fields.topic;
    if (topic === undefined) return;
    const bytes = request.body?.length ?? 0;
    // A batch answers one msgId per message, comma-separated.
    const ids = response.extFields?.msgId;
    let messages = 1;
    if (ids !== undefined && request.code === RequestCode.SEND_BATCH_MESSAGE) {
      for (let i = ids.indexOf(","); i !== -1; i = ids.indexOf(",", i + 1)) messages++;
    }
    const sysFlag = Number(v2 ? fields.f : fields.sysFlag) | 0;
    const properties = (v2 ? fields.i : fields.properties) ?? "";
    const type = (sysFlag & MessageSysFlag.TRANSACTION_PREPARED_TYPE) !== 0
      ? 2
      : properties.includes("DELAY\u0001") || properties.includes("TIMER_")
      ? 1
      : 0;
    let flows = this.#in.get(topic);
    if (flows === undefined) {
      flows = MESSAGE_TYPES.map(() => ({ messages: 0, bytes: 0 }));
      this.#in.set(topic, flows);
    }
    flows[type].messages += messages;
    flows[type].bytes += bytes;
    let sizeKey = this.#sizeKeys.get(topic);
    if (sizeKey === undefined) {
      sizeKey = this.#sizeKeys.size * 4;
      this.#sizeKeys.set(topic, sizeKey);
    }
    this.messageSize.observe(
      sizeKey + type,
      () => ({ topic, message_type: MESSAGE_TYPES[type] }),
      bytes / messages,
    );
  }

  #recordPull(fields: Record<string, string>, response: BrokerResponse): void {
    const topic = fields.topic;
    const group = fields.consumerGroup;
    const next = Number(response.extFields?.nextBeginOffset);
    const from = Number(fields.queueOffset);
    if (topic === undefined || group === undefined || !(next > from)) return;
    let bytes = response.body?.length ?? 0;
    if (response.bodyParts !== undefined) {
      for (const part of response.bodyParts) bytes += part.length;
    }
    let groups = this.#out.get(topic);
    if (groups === undefined) {
      groups = new Map();
      this.#out.set(topic, groups);
    }
    let flow = groups.get(group);
    if (flow === undefined) {
      flow = { messages: 0, bytes: 0, pulled: new Map() };
      groups.set(group, flow);
    }
    flow.messages += next - from;
    flow.bytes += bytes;
    flow.pulled.set(Number(fields.queueId), next);
  }
}
