/**
 * SendMessage and EndTransaction: validate, map to the remoting form, pick
 * the queue, store through the backend, answer per message.
 *
 * Queue choice: a FIFO message goes to `hash(message_group) % writeQueueNums`
 * (one group, one queue, so its order holds); others round-robin. The
 * client's `queue_id` is ignored (it always names queue 0, see
 * grpc-compat.md pitfall 3). gRPC producers have no group: half messages
 * record the topic as producer group, as RocketMQ's proxy does.
 *
 * @module
 */

import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { javaStringHashCode } from "../../client/protocol/properties.ts";
import type { BackendMessage, BackendSendResult } from "../domain/backend.ts";
import { fromGrpcMessage } from "../domain/message_mapping.ts";
import {
  type EndTransactionRequest,
  type EndTransactionResponse,
  EndTransactionResponseSchema,
  type Message,
  MessageType,
  type RecallMessageRequest,
  type RecallMessageResponse,
  RecallMessageResponseSchema,
  type SendMessageRequest,
  type SendMessageResponse,
  SendMessageResponseSchema,
  type SendResultEntry,
  SendResultEntrySchema,
  type Status,
  TransactionResolution,
  TransactionSource,
} from "../domain/protocol.ts";
import { SendDedup } from "../domain/send_dedup.ts";
import { Code, okStatus, status } from "../domain/status.ts";
import { qualifiedName } from "../domain/namespace.ts";
import { decodeTransactionId, encodeTransactionId } from "../domain/transaction_id.ts";
import { decodeRecallHandle, encodeRecallHandle } from "../domain/recall_handle.ts";
import type { CallContext } from "./call_context.ts";
import { type FrontContext, MESSAGE_GROUP_CHARS_MAX, SEND_MESSAGES_MAX } from "./front_context.ts";
import { acceptedTypes } from "./route_activity.ts";

/** Publishing RPCs. */
export class SendActivity {
  readonly #ctx: FrontContext;
  readonly #dedup = new SendDedup<SendResultEntry>();
  readonly #turns = new Map<string, number>();

  /** @param ctx The front's context. */
  constructor(ctx: FrontContext) {
    this.#ctx = ctx;
  }

  /** SendMessage: each message stored independently; retries of one message id answered once. */
  async sendMessage(request: SendMessageRequest, call: CallContext): Promise<SendMessageResponse> {
    const messages = request.messages;
    if (messages.length === 0) {
      return create(SendMessageResponseSchema, { status: status(Code.BAD_REQUEST, "no messages") });
    }
    if (messages.length > SEND_MESSAGES_MAX) {
      return create(SendMessageResponseSchema, {
        status: status(
          Code.BAD_REQUEST,
          `Cannot send: ${messages.length} messages, limit is ${SEND_MESSAGES_MAX}`,
        ),
      });
    }
    const entries = await Promise.all(messages.map((message) => this.#sendOne(message, call)));
    const failed = entries.find((e) => e.status?.code !== Code.OK);
    let top: Status;
    if (failed === undefined) top = okStatus();
    else if (entries.length === 1) top = failed.status!;
    else top = status(Code.MULTIPLE_RESULTS, "some messages were not stored, see entries");
    return create(SendMessageResponseSchema, { status: top, entries });
  }

  #sendOne(message: Message, call: CallContext): Promise<SendResultEntry> {
    const messageId = message.systemProperties?.messageId ?? "";
    const send = () => this.#store(message, call);
    if (messageId === "") return send();
    return this.#dedup.run(
      messageId,
      this.#ctx.nowMs(),
      send,
      (entry) => entry.status?.code === Code.OK,
    );
  }

  async #store(message: Message, call: CallContext): Promise<SendResultEntry> {
    const messageId = message.systemProperties?.messageId ?? "";
    const fail = (code: Code, text: string) =>
      create(SendResultEntrySchema, { status: status(code, text), messageId });
    const name = qualifiedName(message.topic, call.namespace);
    if (name === "") return fail(Code.ILLEGAL_TOPIC, "topic is empty");
    const topic = await this.#ctx.backend.topic(name);
    if (topic === undefined) return fail(Code.TOPIC_NOT_FOUND, `topic ${name} does not exist`);
    const writeQueues = topic.brokers.flatMap((b) =>
      b.writeable ? Array.from({ length: b.writeQueueNums }, (_, q) => ({ broker: b.name, q })) : []
    );
    if (writeQueues.length === 0) return fail(Code.FORBIDDEN, `topic ${name} is not writeable`);
    if (message.body.length > this.#ctx.bodyBytesMax) {
      return fail(
        Code.MESSAGE_BODY_TOO_LARGE,
        `Cannot send message: body is ${message.body.length} bytes, limit is ${this.#ctx.bodyBytesMax}`,
      );
    }
    if (message.body.length === 0) return fail(Code.MESSAGE_BODY_EMPTY, "body is empty");
    const mapped = fromGrpcMessage(message, this.#ctx.nowMs());
    if (!mapped.ok) {
      const code = mapped.field === "id"
        ? Code.ILLEGAL_MESSAGE_ID
        : mapped.field === "body"
        ? Code.BAD_REQUEST
        : Code.ILLEGAL_MESSAGE_PROPERTY_KEY;
      return fail(code, mapped.reason);
    }
    const { messageType, messageGroup } = mapped.message;
    if (!acceptedTypes(topic).includes(messageType)) {
      return fail(
        Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE,
        `topic ${name} accepts ${topic.messageType} messages, not ${MessageType[messageType]}`,
      );
    }
    if (messageType === MessageType.FIFO && (messageGroup ?? "") === "") {
      return fail(Code.ILLEGAL_MESSAGE_GROUP, "a FIFO message needs a message_group");
    }
    if (messageGroup !== undefined && messageGroup.length > MESSAGE_GROUP_CHARS_MAX) {
      return fail(
        Code.ILLEGAL_MESSAGE_GROUP,
        `message_group has ${messageGroup.length} characters, limit is ${MESSAGE_GROUP_CHARS_MAX}`,
      );
    }
    const target = writeQueues[this.#pickQueue(name, writeQueues.length, messageGroup)];
    const toStore: BackendMessage = {
      topic: name,
      brokerName: target.broker,
      queueId: target.q,
      body: mapped.message.body,
      properties: mapped.message.properties,
      bornTimestamp: mapped.message.bornTimestamp,
      bornHost: call.peer,
      transactional: messageType === MessageType.TRANSACTION,
    };
    const [result] = await this.#ctx.backend.send([toStore], name);
    const entry = this.#entry(result, messageId, messageType);
    const deliver = message.systemProperties?.deliveryTimestamp;
    if (
      entry.status?.code === Code.OK && messageType === MessageType.DELAY && deliver !== undefined
    ) {
      entry.recallHandle = encodeRecallHandle({
        topic: name,
        brokerName: this.#ctx.backend.brokerName,
        deliverMs: timestampDate(deliver).getTime(),
        messageId,
      });
    }
    return entry;
  }

  /** Index of the write queue to use: by message group (FIFO), else round-robin. */
  #pickQueue(topic: string, n: number, group: string | undefined): number {
    if (group !== undefined && group !== "") return Math.abs(javaStringHashCode(group) % n);
    const turn = (this.#turns.get(topic) ?? 0) % 0x4000_0000;
    this.#turns.set(topic, turn + 1);
    return turn % n;
  }

  #entry(result: BackendSendResult, messageId: string, type: MessageType): SendResultEntry {
    switch (result.status) {
      case "SEND_OK":
        return create(SendResultEntrySchema, {
          status: okStatus(),
          messageId,
          offset: BigInt(result.queueOffset),
          transactionId: type === MessageType.TRANSACTION
            ? encodeTransactionId({
              commitLogOffset: result.commitLogOffset,
              halfQueueOffset: result.queueOffset,
              brokerName: result.brokerName,
            })
            : "",
        });
      case "TOPIC_NOT_FOUND":
        return failed(Code.TOPIC_NOT_FOUND, result.remark, messageId);
      case "ILLEGAL":
        return failed(
          type === MessageType.DELAY ? Code.ILLEGAL_DELIVERY_TIME : Code.BAD_REQUEST,
          result.remark,
          messageId,
        );
      case "BODY_TOO_LARGE":
        return failed(Code.MESSAGE_BODY_TOO_LARGE, result.remark, messageId);
      case "PROPERTIES_TOO_LARGE":
        return failed(Code.MESSAGE_PROPERTIES_TOO_LARGE, result.remark, messageId);
      case "FORBIDDEN":
        return failed(Code.FORBIDDEN, result.remark, messageId);
      case "FLUSH_TIMEOUT":
        return failed(Code.MASTER_PERSISTENCE_TIMEOUT, result.remark, messageId);
      case "BUSY":
        return failed(Code.TOO_MANY_REQUESTS, result.remark, messageId);
      case "ERROR":
        return failed(Code.INTERNAL_SERVER_ERROR, result.remark, messageId);
    }
  }

  /** EndTransaction: commit or roll back the half message the transaction id names. */
  async endTransaction(
    request: EndTransactionRequest,
    call: CallContext,
  ): Promise<EndTransactionResponse> {
    const answer = (s: Status) => create(EndTransactionResponseSchema, { status: s });
    const position = decodeTransactionId(request.transactionId);
    if (position === undefined) {
      return answer(
        status(Code.INVALID_TRANSACTION_ID, `bad transaction_id ${request.transactionId}`),
      );
    }
    const topic = qualifiedName(request.topic, call.namespace);
    if (topic === "") return answer(status(Code.ILLEGAL_TOPIC, "topic is empty"));
    const resolution = request.resolution;
    if (
      resolution !== TransactionResolution.COMMIT && resolution !== TransactionResolution.ROLLBACK
    ) {
      return answer(status(Code.BAD_REQUEST, "resolution must be COMMIT or ROLLBACK"));
    }
    const result = await this.#ctx.backend.endTransaction({
      producerGroup: topic,
      commitLogOffset: position.commitLogOffset,
      halfQueueOffset: position.halfQueueOffset,
      commit: resolution === TransactionResolution.COMMIT,
      fromCheck: request.source === TransactionSource.SOURCE_SERVER_CHECK,
      messageId: request.messageId,
      brokerName: position.brokerName,
      topic,
    });
    switch (result.status) {
      case "OK":
        return answer(okStatus());
      case "NOT_FOUND":
        return answer(status(Code.INVALID_TRANSACTION_ID, result.remark));
      case "INVALID":
        return answer(status(Code.BAD_REQUEST, result.remark));
      case "ERROR":
        return answer(status(Code.INTERNAL_SERVER_ERROR, result.remark));
    }
  }
}

/**
 * RecallMessage: cancel a delayed message that is not yet due, by the
 * recall handle its SendMessage answer carried.
 *
 * @param ctx The front's context.
 * @param request The request.
 * @param call The call.
 * @returns The answer.
 */
export async function recallMessage(
  ctx: FrontContext,
  request: RecallMessageRequest,
  call: CallContext,
): Promise<RecallMessageResponse> {
  const target = decodeRecallHandle(request.recallHandle);
  const topic = qualifiedName(request.topic, call.namespace);
  if (target === undefined || (topic !== "" && topic !== target.topic)) {
    return create(RecallMessageResponseSchema, {
      status: status(Code.BAD_REQUEST, "recall_handle is not valid for this topic"),
    });
  }
  const result = await ctx.backend.recall(
    target.topic,
    target.messageId,
    target.deliverMs,
    call.peer,
  );
  switch (result.status) {
    case "OK":
      return create(RecallMessageResponseSchema, {
        status: okStatus(),
        messageId: result.messageId,
      });
    case "NOT_FOUND":
      return create(RecallMessageResponseSchema, {
        status: status(Code.NOT_FOUND, result.remark),
        messageId: target.messageId,
      });
    case "INVALID":
    case "UNSUPPORTED":
      return create(RecallMessageResponseSchema, {
        status: status(Code.INTERNAL_SERVER_ERROR, result.remark),
        messageId: target.messageId,
      });
  }
}

function failed(code: Code, text: string, messageId: string): SendResultEntry {
  return create(SendResultEntrySchema, { status: status(code, text), messageId });
}
