/**
 * Consumer administration: GET_CONSUMER_CONNECTION_LIST (203, who is in a
 * group), GET_CONSUME_STATS (208, per-queue progress with lag in messages
 * and time, plus pop in-flight counts) and INVOKE_BROKER_TO_RESET_OFFSET
 * (222, move a group to the first message stored at or after a time, then
 * tell live members with RESET_CONSUMER_CLIENT_OFFSET so they move too).
 *
 * Bodies are JSON. The reset table is
 * `{ "offsetTable": { "<topic>@<brokerName>@<queueId>": offset } }` (standard
 * JSON keys instead of fastjson's object keys).
 *
 * @module
 */

import { decodeRecord } from "../../client/protocol/message_record.ts";
import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { createRequest } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type { PopContext } from "../domain/pop/pop_context.ts";
import { popRetryTopicOf } from "../domain/pop/revive_record.ts";
import {
  type BrokerContext,
  type BrokerResponse,
  RequestError,
  type RequestHandler,
  success,
} from "./broker_context.ts";

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function field(request: RemotingCommand, name: string, verb: string): string {
  const value = request.extFields?.[name];
  if (value === undefined || value === "") {
    throw new RequestError(ResponseCode.INVALID_PARAMETER, `Cannot ${verb}: ${name} is missing`);
  }
  return value;
}

/** One queue of GET_CONSUME_STATS. */
export interface QueueConsumeStats {
  /** Topic. */
  readonly topic: string;
  /** Broker. */
  readonly brokerName: string;
  /** Queue. */
  readonly queueId: number;
  /** Next offset to be written. */
  readonly brokerOffset: number;
  /** The group's next offset (-1 = none). */
  readonly consumerOffset: number;
  /** Store time of the oldest unconsumed message, epoch ms (0 = none). */
  readonly oldestUnconsumedTimestamp: number;
}

/** Consumer administration requests. */
export class ConsumerAdminController {
  readonly #ctx: BrokerContext;
  readonly #pop: PopContext;

  /**
   * @param ctx The broker's object graph.
   * @param pop The pop state (in-flight counts, pop offsets).
   */
  constructor(ctx: BrokerContext, pop: PopContext) {
    this.#ctx = ctx;
    this.#pop = pop;
  }

  /** @returns Request code and handler pairs. */
  handlers(): [number, RequestHandler][] {
    return [
      [RequestCode.GET_CONSUMER_CONNECTION_LIST, (r) => this.#connections(r)],
      [RequestCode.GET_CONSUME_STATS, (r) => this.#consumeStats(r)],
      [RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, (r) => this.#resetOffset(r)],
    ];
  }

  #connections(request: RemotingCommand): BrokerResponse {
    const group = field(request, "consumerGroup", "list consumer connections");
    const info = this.#ctx.clients.consumerGroupInfo(group);
    if (info === undefined) {
      throw new RequestError(
        ResponseCode.CONSUMER_NOT_ONLINE,
        `Consumer group ${group} is not online`,
      );
    }
    return success(
      request,
      {},
      json({
        connectionSet: info.members.map((m) => ({
          clientId: m.clientId,
          clientAddr: m.channel.remoteAddress,
          language: "TYPESCRIPT",
          version: 0,
        })),
        subscriptionTable: Object.fromEntries(info.subscriptions.map((s) => [s.topic, s])),
        consumeType: info.consumeType,
        messageModel: info.messageModel,
        consumeFromWhere: info.consumeFromWhere,
      }),
    );
  }

  async #consumeStats(request: RemotingCommand): Promise<BrokerResponse> {
    const group = field(request, "consumerGroup", "get consume stats");
    const topicFilter = request.extFields?.topic || undefined;
    const { store, config } = this.#ctx;
    const queues = new Map<string, { topic: string; queueId: number }>();
    for (const o of store.listConsumerOffsets()) {
      if (o.group !== group) continue;
      if (topicFilter !== undefined && o.topic !== topicFilter) {
        if (o.topic !== popRetryTopicOf(group, topicFilter)) continue;
      }
      queues.set(`${o.topic}@${o.queueId}`, { topic: o.topic, queueId: o.queueId });
    }
    if (topicFilter !== undefined) {
      const topic = this.#ctx.topics.get(topicFilter);
      for (let q = 0; q < (topic?.readQueueNums ?? 0); q++) {
        queues.set(`${topicFilter}@${q}`, { topic: topicFilter, queueId: q });
      }
    }
    const offsetTable: QueueConsumeStats[] = [];
    for (
      const { topic, queueId } of [...queues.values()].sort((a, b) =>
        a.topic === b.topic ? a.queueId - b.queueId : a.topic < b.topic ? -1 : 1
      )
    ) {
      const brokerOffset = store.getMaxOffsetInQueue(topic, queueId);
      const committed = store.queryConsumerOffset(group, topic, queueId);
      const popped = this.#pop.popOffsets.get(group, topic, queueId);
      const consumerOffset = Math.max(committed ?? -1, popped ?? -1);
      let oldest = 0;
      if (consumerOffset >= 0 && consumerOffset < brokerOffset) {
        const read = await store.getMessage({
          group,
          topic,
          queueId,
          queueOffset: consumerOffset,
          maxCount: 1,
        });
        if (read.messages.length > 0) oldest = decodeRecord(read.messages[0].record).storeTimestamp;
      }
      offsetTable.push({
        topic,
        brokerName: config.brokerName,
        queueId,
        brokerOffset,
        consumerOffset,
        oldestUnconsumedTimestamp: oldest,
      });
    }
    return success(
      request,
      {},
      json({
        offsetTable,
        popInFlight: this.#pop.inFlight.countOf(group, topicFilter),
        consumeTps: 0,
      }),
    );
  }

  async #resetOffset(request: RemotingCommand): Promise<BrokerResponse> {
    const verb = "reset offset";
    const topic = field(request, "topic", verb);
    const group = field(request, "group", verb);
    const timestamp = Number(field(request, "timestamp", verb));
    const force = request.extFields?.isForce !== "false";
    if (!Number.isSafeInteger(timestamp)) {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, `Cannot ${verb}: bad timestamp`);
    }
    const offsetTable = await resetOffsetByTime(this.#ctx, this.#pop, {
      group,
      topic,
      timestamp,
      force,
    });
    return success(request, {}, json({ offsetTable }));
  }
}

/**
 * Move a group's committed (and pop) offsets on every readable queue of a
 * topic to the first message stored at or after a time, and tell the group's
 * live members (RESET_CONSUMER_CLIENT_OFFSET) so they move too. Shared by
 * INVOKE_BROKER_TO_RESET_OFFSET and the dashboard's reset.
 *
 * @param ctx The broker's object graph.
 * @param pop The pop state (pop offsets are reset too).
 * @param reset Group, topic, time (epoch ms) and whether to move forward-only offsets back (`force`).
 * @returns The new offsets by `topic@broker@queueId`.
 * @throws {RequestError} TOPIC_NOT_EXIST for an unknown topic.
 */
export async function resetOffsetByTime(
  ctx: BrokerContext,
  pop: Pick<PopContext, "popOffsets">,
  reset: { group: string; topic: string; timestamp: number; force: boolean },
): Promise<Record<string, number>> {
  const { group, topic, timestamp, force } = reset;
  const config = ctx.topics.get(topic);
  if (config === undefined) {
    throw new RequestError(ResponseCode.TOPIC_NOT_EXIST, `Cannot reset offset: no topic ${topic}`);
  }
  const { store } = ctx;
  const brokerName = ctx.config.brokerName;
  const offsetTable: Record<string, number> = {};
  for (let queueId = 0; queueId < config.readQueueNums; queueId++) {
    const byTime = await store.getOffsetInQueueByTime(topic, queueId, timestamp);
    const current = store.queryConsumerOffset(group, topic, queueId);
    const offset = force || current === undefined || byTime < current ? byTime : current;
    store.commitConsumerOffset(group, topic, queueId, offset);
    pop.popOffsets.reset(group, topic, queueId, offset);
    offsetTable[`${topic}@${brokerName}@${queueId}`] = offset;
  }
  const body = json({ offsetTable });
  for (const channel of ctx.clients.consumerChannels(group)) {
    if (channel.closed) continue;
    channel.send(createRequest(
      RequestCode.RESET_CONSUMER_CLIENT_OFFSET,
      ctx.nextOpaque(),
      { topic, group, timestamp, isForced: force },
      body,
      true,
    ));
  }
  return offsetTable;
}
