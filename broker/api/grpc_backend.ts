/**
 * Local mode of the gRPC front: the {@linkcode ProxyBackend} port over this
 * broker's own domain objects (topic table, store, put hooks, transaction
 * service), with no network hop, as RocketMQ's proxy does in `local` mode.
 *
 * @module
 */

import { TransactionState } from "../../client/protocol/headers.ts";
import { MessageSysFlag } from "../../client/protocol/message_record.ts";
import { MessageConst } from "../../client/protocol/properties.ts";
import { createOffsetMessageId } from "../../client/protocol/message_id.ts";
import type {
  BackendAckResult,
  BackendChangeInvisibleResult,
  BackendEndTransaction,
  BackendEndTransactionResult,
  BackendHost,
  BackendMessage,
  BackendPullRequest,
  BackendPullResult,
  BackendRecallResult,
  BackendReceiveRequest,
  BackendReceiveResult,
  BackendSendResult,
  BackendTopic,
  GroupRetryPolicy,
  ProxyBackend,
  QueueOffsets,
} from "../../proxy/mod.ts";
import type { MessageToPut, PutMessageResult } from "../../store/mod.ts";
import { prepareForStore } from "../domain/put_hooks.ts";
import { checkTopicNotReserved, isReadable, isWriteable } from "../domain/topic_config.ts";
import type { TransactionService } from "../domain/transaction/transaction_service.ts";
import type { BrokerContext } from "./broker_context.ts";
import { pullQueue, recallTimerMessage } from "./grpc_queue_reads.ts";
import type { GrpcPopBridge } from "./grpc_pop.ts";

/** Topic attribute naming the message type a topic accepts (RocketMQ 5). */
export const MESSAGE_TYPE_ATTRIBUTE = "message.type";

/** Why the consumer RPCs are refused while the broker has no pop service. */
const POP_MISSING = "consumption over gRPC needs the broker's pop service, which this build lacks";

const NAME_VALUE = "\u0001";
const PAIR_END = "\u0002";

/** Per-group settings the front reads (the broker's subscription groups). */
export interface GroupSettings {
  /** Attempts before the DLQ, minus one; undefined: the broker's default. */
  groupRetryMaxTimes(group: string): number | undefined;
  /** Whether the group consumes in order. */
  groupOrderly(group: string): boolean;
}

/** The broker as the gRPC front's backend. */
export class LocalGrpcBackend implements ProxyBackend {
  readonly #ctx: BrokerContext;
  readonly #transactions: TransactionService;
  readonly #clusterPair: string;
  readonly #pop: GrpcPopBridge | undefined;
  readonly #groups: GroupSettings | undefined;

  /**
   * @param ctx The broker's object graph.
   * @param transactions The transaction service (EndTransaction).
   * @param pop The consumer RPCs over the pop service; without it they answer UNSUPPORTED.
   * @param groups Per-group settings (subscription groups), when the broker keeps them.
   */
  constructor(
    ctx: BrokerContext,
    transactions: TransactionService,
    pop?: GrpcPopBridge,
    groups?: GroupSettings,
  ) {
    this.#ctx = ctx;
    this.#transactions = transactions;
    this.#pop = pop;
    this.#groups = groups;
    this.#clusterPair = MessageConst.CLUSTER + NAME_VALUE + ctx.config.clusterName + PAIR_END;
  }

  /** The broker name in routes. */
  get brokerName(): string {
    return this.#ctx.config.brokerName;
  }

  /** The broker's advertised address. */
  get storeHost(): BackendHost {
    return this.#ctx.storeHost;
  }

  /**
   * A topic, unless it is missing or reserved for the broker.
   *
   * @param name Topic name.
   * @returns The topic's view, or undefined.
   */
  topic(name: string): Promise<BackendTopic | undefined> {
    return Promise.resolve(this.#topic(name));
  }

  #topic(name: string): BackendTopic | undefined {
    const config = this.#ctx.topics.get(name);
    if (config === undefined || checkTopicNotReserved(name) !== undefined) return undefined;
    const type = config.attributes[MESSAGE_TYPE_ATTRIBUTE];
    const readable = isReadable(config.perm);
    const writeable = isWriteable(config.perm);
    return {
      name,
      brokers: [{
        name: this.#ctx.config.brokerName,
        readQueueNums: config.readQueueNums,
        writeQueueNums: config.writeQueueNums,
        readable,
        writeable,
      }],
      readable,
      writeable,
      messageType: type === undefined || type === "" || type === "MIXED"
        ? undefined
        : type.toUpperCase(),
    };
  }

  /**
   * Store messages through the put hooks (half messages, timers).
   *
   * @param messages The messages.
   * @param producerGroup Recorded in half messages.
   * @returns One result per message.
   */
  send(
    messages: readonly BackendMessage[],
    producerGroup: string,
  ): Promise<readonly BackendSendResult[]> {
    return Promise.all(messages.map((m) => this.#sendOne(m, producerGroup)));
  }

  async #sendOne(message: BackendMessage, producerGroup: string): Promise<BackendSendResult> {
    const { config, clock, store } = this.#ctx;
    if (message.body.length > config.messageBytesMax) {
      return {
        status: "BODY_TOO_LARGE",
        remark: `body is ${message.body.length} bytes, limit is ${config.messageBytesMax}`,
      };
    }
    let properties = message.properties;
    if (properties.length > 0 && !properties.endsWith(PAIR_END)) properties += PAIR_END;
    properties += this.#clusterPair;
    const toPut: MessageToPut = {
      topic: message.topic,
      queueId: message.queueId,
      flag: 0,
      body: message.body,
      properties,
      sysFlag: message.transactional ? MessageSysFlag.TRANSACTION_PREPARED_TYPE : 0,
      bornTimestamp: message.bornTimestamp,
      bornHost: message.bornHost,
      reconsumeTimes: 0,
      preparedTransactionOffset: 0,
    };
    const prepared = prepareForStore(toPut, producerGroup, clock.nowMs(), {
      timerMaxDelayMs: config.timerMaxDelayMs > 0 ? config.timerMaxDelayMs : undefined,
    });
    if (prepared.kind === "illegal") return { status: "ILLEGAL", remark: prepared.remark };
    let result: PutMessageResult;
    try {
      result = await store.putMessage(prepared.value);
    } catch (error) {
      return { status: "ERROR", remark: String((error as Error)?.message ?? error) };
    }
    return this.#result(result, message.queueId);
  }

  #result(result: PutMessageResult, queueId: number): BackendSendResult {
    switch (result.status) {
      case "PUT_OK":
        return {
          status: "SEND_OK",
          offsetMessageId: createOffsetMessageId(this.#ctx.storeHost, result.commitLogOffset),
          commitLogOffset: result.commitLogOffset,
          queueId,
          queueOffset: result.queueOffset,
        };
      case "FLUSH_DISK_TIMEOUT":
        return { status: "FLUSH_TIMEOUT", remark: "flush to disk timed out" };
      case "FLUSH_SLAVE_TIMEOUT":
        return { status: "FLUSH_TIMEOUT", remark: "replication to the slave timed out" };
      case "SLAVE_NOT_AVAILABLE":
        return { status: "BUSY", remark: "too few slaves in sync" };
      case "MESSAGE_ILLEGAL":
        return { status: "ILLEGAL", remark: result.remark };
      case "PROPERTIES_SIZE_EXCEEDED":
        return { status: "PROPERTIES_TOO_LARGE", remark: result.remark };
      case "OS_PAGE_CACHE_BUSY":
      case "SERVICE_NOT_AVAILABLE":
        return { status: "BUSY", remark: result.remark };
      case "UNKNOWN_ERROR":
        return { status: "ERROR", remark: result.remark };
    }
  }

  /**
   * Commit or roll back through the transaction service.
   *
   * @param request What to end.
   * @returns The outcome.
   */
  async endTransaction(request: BackendEndTransaction): Promise<BackendEndTransactionResult> {
    const result = await this.#transactions.endTransaction({
      commitLogOffset: request.commitLogOffset,
      tranStateTableOffset: request.halfQueueOffset,
      producerGroup: request.producerGroup,
      commitOrRollback: request.commit ? TransactionState.COMMIT : TransactionState.ROLLBACK,
      fromTransactionCheck: request.fromCheck,
      msgId: request.messageId,
    });
    switch (result.status) {
      case "COMMITTED":
      case "ROLLED_BACK":
      case "UNKNOWN_IGNORED":
        return { status: "OK" };
      case "ALREADY_RESOLVED":
        return result.conflict
          ? { status: "INVALID", remark: `transaction already ended with ${result.resolution}` }
          : { status: "OK" };
      case "HALF_NOT_FOUND":
        return { status: "NOT_FOUND", remark: result.remark };
      case "GROUP_WRONG":
      case "OFFSET_WRONG":
      case "ILLEGAL_OPERATION":
      case "INVALID_TYPE":
        return { status: "INVALID", remark: result.remark };
      case "PUT_FAILED":
        return { status: "ERROR", remark: result.remark };
    }
  }

  /**
   * The retry policy of a consumer group: its subscription group's
   * `retryMaxTimes` (else the broker's), and FIFO when the group is
   * `consumeMessageOrderly` or every subscribed topic is ordered (created
   * with `order`, or attribute `message.type` FIFO).
   *
   * @param group Consumer group.
   * @param topics The subscribed topics.
   * @returns Its policy.
   */
  groupRetryPolicy(group: string, topics: readonly string[]): GroupRetryPolicy {
    const orderedTopics = topics.length > 0 && topics.every((name) => {
      const config = this.#ctx.topics.get(name);
      return config !== undefined &&
        (config.order || config.attributes[MESSAGE_TYPE_ATTRIBUTE]?.toUpperCase() === "FIFO");
    });
    const retryMaxTimes = this.#groups?.groupRetryMaxTimes(group) ?? this.#ctx.config.retryMaxTimes;
    return {
      maxDeliveryAttempts: retryMaxTimes + 1,
      fifo: orderedTopics || this.#groups?.groupOrderly(group) === true,
    };
  }

  /**
   * Lite pull: read a queue, holding an empty read in the broker's
   * long-polling service until a message arrives or `holdMs` passes.
   *
   * @param request What to read.
   * @returns The records, or why not.
   */
  pull(request: BackendPullRequest): Promise<BackendPullResult> {
    return pullQueue(this.#ctx, request);
  }

  /**
   * A queue's offsets.
   *
   * @param topic Topic.
   * @param queueId Queue.
   * @returns Min and max, or undefined for a queue the topic does not have.
   */
  queueOffsets(topic: string, queueId: number): QueueOffsets | undefined {
    const config = this.#ctx.topics.get(topic);
    if (config === undefined || queueId < 0 || queueId >= config.readQueueNums) return undefined;
    const { store } = this.#ctx;
    return {
      minOffset: store.getMinOffsetInQueue(topic, queueId),
      maxOffset: store.getMaxOffsetInQueue(topic, queueId),
    };
  }

  /**
   * The first QueueOffset stored at or after a time.
   *
   * @param topic Topic.
   * @param queueId Queue.
   * @param timestampMs Epoch ms.
   * @returns The offset.
   */
  offsetByTime(topic: string, queueId: number, timestampMs: number): Promise<number> {
    return this.#ctx.store.getOffsetInQueueByTime(topic, queueId, timestampMs);
  }

  /**
   * A group's committed offset.
   *
   * @param group Consumer group.
   * @param topic Topic.
   * @param queueId Queue.
   * @returns The offset or undefined.
   */
  committedOffset(group: string, topic: string, queueId: number): number | undefined {
    return this.#ctx.store.queryConsumerOffset(group, topic, queueId);
  }

  /**
   * Commit a group's offset.
   *
   * @param group Consumer group.
   * @param topic Topic.
   * @param queueId Queue.
   * @param offset Next QueueOffset to consume.
   */
  commitOffset(group: string, topic: string, queueId: number, offset: number): void {
    this.#ctx.store.commitConsumerOffset(group, topic, queueId, offset);
  }

  /**
   * Cancel a delayed message not yet due.
   *
   * @param topic Its topic.
   * @param messageId Its UNIQ_KEY.
   * @param deliverMs Its due time.
   * @param bornHost Who asks.
   * @returns The outcome.
   */
  recall(
    topic: string,
    messageId: string,
    deliverMs: number,
    bornHost: BackendHost,
  ): Promise<BackendRecallResult> {
    return recallTimerMessage(this.#ctx, topic, messageId, deliverMs, bornHost);
  }

  /**
   * Pop for ReceiveMessage, through the pop service.
   *
   * @param request What to pop.
   * @returns The messages, or UNSUPPORTED without a pop service.
   */
  receive(request: BackendReceiveRequest): Promise<BackendReceiveResult> {
    if (this.#pop !== undefined) return this.#pop.receive(request);
    return Promise.resolve({ status: "UNSUPPORTED", remark: POP_MISSING });
  }

  /**
   * Ack a popped message.
   *
   * @param group Consumer group.
   * @param topic Topic as received.
   * @param receiptHandle Its handle.
   * @returns The outcome, or UNSUPPORTED without a pop service.
   */
  ack(group: string, topic: string, receiptHandle: string): Promise<BackendAckResult> {
    if (this.#pop !== undefined) return this.#pop.ack(group, topic, receiptHandle);
    return Promise.resolve({ status: "UNSUPPORTED", remark: POP_MISSING });
  }

  /**
   * Change a popped message's invisible time.
   *
   * @param group Consumer group.
   * @param topic Topic as received.
   * @param receiptHandle Its handle.
   * @param invisibleMs New invisible time, ms.
   * @returns The new handle, or UNSUPPORTED without a pop service.
   */
  changeInvisible(
    group: string,
    topic: string,
    receiptHandle: string,
    invisibleMs: number,
  ): Promise<BackendChangeInvisibleResult> {
    if (this.#pop !== undefined) {
      return this.#pop.changeInvisible(group, topic, receiptHandle, invisibleMs);
    }
    return Promise.resolve({ status: "UNSUPPORTED", remark: POP_MISSING });
  }

  /**
   * Forward a popped message to the dead-letter queue.
   *
   * @param group Consumer group.
   * @param topic Topic as received.
   * @param receiptHandle Its handle.
   * @returns The outcome, or UNSUPPORTED without a pop service.
   */
  forwardToDeadLetter(
    group: string,
    topic: string,
    receiptHandle: string,
  ): Promise<BackendAckResult> {
    if (this.#pop !== undefined) return this.#pop.forwardToDeadLetter(group, topic, receiptHandle);
    return Promise.resolve({ status: "UNSUPPORTED", remark: POP_MISSING });
  }
}
