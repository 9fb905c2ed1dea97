/**
 * Server-side queue assignment (RocketMQ's `QueryAssignmentProcessor`) for
 * pop consumers and 5.x clients: QUERY_ASSIGNMENT answers which queues a
 * client should read and how (PULL or POP); SET_MESSAGE_REQUEST_MODE picks
 * the mode per topic and group.
 *
 * - BROADCASTING: every readable queue.
 * - CLUSTERING, POP mode: every readable queue to every member (the broker
 *   keeps pops of one queue apart with invisible time), unless
 *   `popShareQueueNum` > 0, then the strategy's share.
 * - CLUSTERING, PULL mode (the default): the strategy's share among the
 *   group's live members, as a client-side rebalance would compute it.
 *
 * @module
 */

import {
  allocateStrategy,
  type AllocateStrategyName,
} from "../../../client/consumer/allocate_strategy.ts";
import type { MessageQueue } from "../../../client/message.ts";

/** How a client reads a queue. */
export type MessageRequestMode = "PULL" | "POP";

/** One assigned queue (RocketMQ's `MessageQueueAssignment`). */
export interface MessageQueueAssignment {
  /** The queue. */
  readonly messageQueue: MessageQueue;
  /** How to read it. */
  readonly mode: MessageRequestMode;
  /** Extra attributes (none here). */
  readonly attachments: Record<string, string>;
}

/** The mode setting of a topic and group. */
export interface RequestModeSetting {
  /** PULL or POP. */
  readonly mode: MessageRequestMode;
  /** POP: queues per member (0 = all). */
  readonly popShareQueueNum: number;
}

/** A QUERY_ASSIGNMENT request body. */
export interface AssignmentQuery {
  /** Topic. */
  readonly topic: string;
  /** Group. */
  readonly consumerGroup: string;
  /** Asking client. */
  readonly clientId: string;
  /** `AVG`, `AVG_BY_CIRCLE` or `CONSISTENT_HASH` (RocketMQ class names are mapped). */
  readonly strategyName?: string;
  /** CLUSTERING or BROADCASTING. */
  readonly messageModel?: string;
}

/** Mode settings of (topic, group), in memory (RocketMQ persists them; here they last until restart). */
export class RequestModeTable {
  readonly #modes = new Map<string, RequestModeSetting>();

  /** Set the mode of a topic and group. */
  set(topic: string, group: string, setting: RequestModeSetting): void {
    this.#modes.set(`${topic}@${group}`, setting);
  }

  /** The mode of a topic and group (PULL by default). */
  get(topic: string, group: string): RequestModeSetting {
    return this.#modes.get(`${topic}@${group}`) ?? { mode: "PULL", popShareQueueNum: 0 };
  }
}

function strategyOf(name: string | undefined): AllocateStrategyName {
  const n = (name ?? "").toUpperCase();
  if (n.includes("CIRCLE")) return "AVG_BY_CIRCLE";
  if (n.includes("CONSISTENT")) return "CONSISTENT_HASH";
  return "AVG";
}

/**
 * The queues a client should read.
 *
 * @param query The request.
 * @param queues The topic's readable queues, sorted.
 * @param memberIds The group's live client ids.
 * @param setting The topic and group's mode.
 * @returns The assignments.
 */
export function assignQueuesFor(
  query: AssignmentQuery,
  queues: readonly MessageQueue[],
  memberIds: readonly string[],
  setting: RequestModeSetting,
): MessageQueueAssignment[] {
  const members = memberIds.includes(query.clientId) ? memberIds : [...memberIds, query.clientId];
  let mine: readonly MessageQueue[];
  if (query.messageModel === "BROADCASTING") {
    mine = queues;
  } else if (setting.mode === "POP" && setting.popShareQueueNum <= 0) {
    mine = queues;
  } else {
    mine = allocateStrategy(strategyOf(query.strategyName))(query.clientId, queues, members);
  }
  return mine.map((messageQueue) => ({ messageQueue, mode: setting.mode, attachments: {} }));
}
