/**
 * SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320).
 *
 * @module
 */

import { decodeSendMessageRequestHeader } from "../../client/protocol/headers.ts";
import type { SendMessageRequestHeader } from "../../client/protocol/headers.ts";
import { createOffsetMessageId } from "../../client/protocol/message_id.ts";
import { getProperty, MessageConst } from "../../client/protocol/properties.ts";
import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { createResponse } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import { DEFAULT_STORE_LIMITS } from "../../store/mod.ts";
import type { MessageToPut, PutMessageResult } from "../../store/mod.ts";
import {
  checkTopicName,
  checkTopicNotReserved,
  createTopicConfig,
  isWriteable,
  type TopicConfig,
} from "../domain/topic_config.ts";
import { prepareBatchForStore, prepareForStore } from "../domain/put_hooks.ts";
import {
  type BrokerContext,
  type BrokerResponse,
  type Channel,
  RequestError,
  type RequestHandler,
} from "./broker_context.ts";

/** Most messages in one SEND_BATCH_MESSAGE. */
export const BATCH_MESSAGES_MAX = DEFAULT_STORE_LIMITS.batchMessagesMax;

/** Fixed bytes of one batch mini record around its body and properties. */
const MINI_RECORD_OVERHEAD_BYTES = 4 + 4 + 4 + 4 + 4 + 2;

const NAME_VALUE = "\u0001";
const PAIR_END = "\u0002";
const utf8 = new TextDecoder();

/**
 * Handles the send requests (spec §2.9): validate, pick a queue, add
 * `UNIQ_KEY` and `CLUSTER`, stamp born/store hosts, put into the store and
 * answer with the offset message id, queue id and queue offset.
 */
export class SendController {
  readonly #ctx: BrokerContext;
  readonly #clusterPair: string;
  readonly #timerMaxDelayMs: number | undefined;

  /** @param ctx The broker's object graph. */
  constructor(ctx: BrokerContext) {
    this.#ctx = ctx;
    this.#clusterPair = MessageConst.CLUSTER + NAME_VALUE + ctx.config.clusterName + PAIR_END;
    this.#timerMaxDelayMs = ctx.config.timerMaxDelayMs > 0 ? ctx.config.timerMaxDelayMs : undefined;
  }

  /**
   * The handlers of this controller.
   *
   * @returns Request code and handler pairs.
   */
  handlers(): [number, RequestHandler][] {
    const send: RequestHandler = (request, channel) => this.send(request, channel);
    return [
      [RequestCode.SEND_MESSAGE, send],
      [RequestCode.SEND_MESSAGE_V2, send],
      [RequestCode.SEND_BATCH_MESSAGE, send],
    ];
  }

  /**
   * Handle one send request.
   *
   * @param request SEND_MESSAGE, SEND_MESSAGE_V2 or SEND_BATCH_MESSAGE; its body
   *   must already be a private copy (the server copies bodies).
   * @param channel The producer's connection.
   * @returns The send response.
   */
  async send(request: RemotingCommand, channel: Channel): Promise<BrokerResponse> {
    const decoded = decodeSendMessageRequestHeader(request.code, request.extFields);
    if (!decoded.ok) throw new RequestError(ResponseCode.INVALID_PARAMETER, decoded.error);
    const header = decoded.header;
    const { config } = this.#ctx;
    const topicProblem = checkTopicName(header.topic);
    if (topicProblem !== undefined) {
      throw new RequestError(ResponseCode.MESSAGE_ILLEGAL, `Cannot send message: ${topicProblem}`);
    }
    const body = request.body;
    if (body === undefined || body.length === 0) {
      throw new RequestError(ResponseCode.MESSAGE_ILLEGAL, "Cannot send message: body is empty");
    }
    if (body.length > config.messageBytesMax) {
      throw new RequestError(
        ResponseCode.MESSAGE_ILLEGAL,
        `Cannot send message: body is ${body.length} bytes, limit is ${config.messageBytesMax}`,
      );
    }
    const topic = this.#topicConfig(header) ?? await this.#autoCreate(header);
    if (!isWriteable(topic.perm)) {
      throw new RequestError(
        ResponseCode.NO_PERMISSION,
        `Cannot send message: topic ${header.topic} is not writeable (perm ${topic.perm})`,
      );
    }
    let queueId = header.queueId;
    if (queueId < 0) {
      queueId = Math.floor(Math.random() * topic.writeQueueNums);
    } else if (queueId >= topic.writeQueueNums) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot send message: queueId ${queueId} is not below writeQueueNums ${topic.writeQueueNums} of ${header.topic}`,
      );
    }
    return header.batch === true || request.code === RequestCode.SEND_BATCH_MESSAGE
      ? await this.#sendBatch(request, header, queueId, body, channel)
      : await this.#sendOne(request, header, queueId, body, channel);
  }

  async #sendOne(
    request: RemotingCommand,
    header: SendMessageRequestHeader,
    queueId: number,
    body: Uint8Array,
    channel: Channel,
  ): Promise<BrokerResponse> {
    const { properties, uniqKey } = this.#enrich(header.properties ?? "");
    const message: MessageToPut = {
      topic: header.topic,
      queueId,
      flag: header.flag,
      body,
      properties,
      sysFlag: header.sysFlag,
      bornTimestamp: header.bornTimestamp,
      bornHost: channel.remoteHost,
      reconsumeTimes: header.reconsumeTimes ?? 0,
      preparedTransactionOffset: 0,
    };
    const prepared = prepareForStore(message, header.producerGroup, this.#ctx.clock.nowMs(), {
      timerMaxDelayMs: this.#timerMaxDelayMs,
    });
    if (prepared.kind === "illegal") {
      throw new RequestError(ResponseCode.MESSAGE_ILLEGAL, prepared.remark);
    }
    const result = await this.#ctx.store.putMessage(prepared.value);
    return this.#respond(request, result, queueId, uniqKey);
  }

  async #sendBatch(
    request: RemotingCommand,
    header: SendMessageRequestHeader,
    queueId: number,
    body: Uint8Array,
    channel: Channel,
  ): Promise<BrokerResponse> {
    const messages: MessageToPut[] = [];
    const uniqKeys: string[] = [];
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    let at = 0;
    while (at < body.length) {
      if (messages.length >= BATCH_MESSAGES_MAX) {
        throw new RequestError(
          ResponseCode.MESSAGE_ILLEGAL,
          `Cannot send batch: more than ${BATCH_MESSAGES_MAX} messages`,
        );
      }
      const bad = (what: string): RequestError =>
        new RequestError(
          ResponseCode.MESSAGE_ILLEGAL,
          `Cannot send batch: message ${messages.length} at byte ${at} ${what}`,
        );
      if (at + MINI_RECORD_OVERHEAD_BYTES > body.length) throw bad("is truncated");
      const totalSize = view.getInt32(at);
      const flag = view.getInt32(at + 12);
      const bodyLength = view.getInt32(at + 16);
      if (totalSize < MINI_RECORD_OVERHEAD_BYTES || at + totalSize > body.length) {
        throw bad(`has a bad size ${totalSize}`);
      }
      if (bodyLength < 0 || 20 + bodyLength + 2 > totalSize) {
        throw bad(`has a bad body length ${bodyLength}`);
      }
      const propertiesLength = view.getInt16(at + 20 + bodyLength);
      if (propertiesLength < 0 || 20 + bodyLength + 2 + propertiesLength !== totalSize) {
        throw bad(`has a bad properties length ${propertiesLength}`);
      }
      const propertiesStart = at + 22 + bodyLength;
      const { properties, uniqKey } = this.#enrich(
        utf8.decode(body.subarray(propertiesStart, propertiesStart + propertiesLength)),
      );
      uniqKeys.push(uniqKey);
      messages.push({
        topic: header.topic,
        queueId,
        flag,
        body: body.subarray(at + 20, at + 20 + bodyLength),
        properties,
        sysFlag: header.sysFlag,
        bornTimestamp: header.bornTimestamp,
        bornHost: channel.remoteHost,
        reconsumeTimes: header.reconsumeTimes ?? 0,
        preparedTransactionOffset: 0,
      });
      at += totalSize;
    }
    const prepared = prepareBatchForStore(messages, this.#ctx.clock.nowMs(), {
      timerMaxDelayMs: this.#timerMaxDelayMs,
    });
    if (prepared.kind === "illegal") {
      throw new RequestError(ResponseCode.MESSAGE_ILLEGAL, prepared.remark);
    }
    const result = await this.#ctx.store.putMessages(prepared.value);
    return this.#respond(request, result, queueId, uniqKeys.join(","));
  }

  /** Add UNIQ_KEY (when missing) and CLUSTER by appending to the string: no re-encoding. */
  #enrich(text: string): { properties: string; uniqKey: string } {
    let properties = text;
    if (properties.length > 0 && !properties.endsWith(PAIR_END)) properties += PAIR_END;
    let uniqKey = getProperty(properties, MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX);
    if (uniqKey === undefined || uniqKey === "") {
      uniqKey = this.#ctx.uniqueIds.next();
      properties += MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX + NAME_VALUE + uniqKey + PAIR_END;
    }
    if (getProperty(properties, MessageConst.CLUSTER) === undefined) {
      properties += this.#clusterPair;
    }
    return { properties, uniqKey };
  }

  #topicConfig(header: SendMessageRequestHeader): TopicConfig | undefined {
    const topic = this.#ctx.topics.get(header.topic);
    if (topic !== undefined && checkTopicNotReserved(header.topic) !== undefined) {
      throw new RequestError(
        ResponseCode.NO_PERMISSION,
        `Cannot send message: topic ${header.topic} is reserved for the broker`,
      );
    }
    return topic;
  }

  async #autoCreate(header: SendMessageRequestHeader): Promise<TopicConfig> {
    const { config, topics } = this.#ctx;
    if (!config.autoCreateTopicEnable) {
      throw new RequestError(
        ResponseCode.TOPIC_NOT_EXIST,
        `Cannot send message: topic ${header.topic} does not exist on ${config.brokerName} (auto-creation is off)`,
      );
    }
    const reserved = checkTopicNotReserved(header.topic);
    if (reserved !== undefined) {
      throw new RequestError(ResponseCode.MESSAGE_ILLEGAL, `Cannot create topic: ${reserved}`);
    }
    const queueNums = Math.max(
      1,
      Math.min(header.defaultTopicQueueNums, config.defaultTopicQueueNums),
    );
    const created = createTopicConfig(header.topic, {
      readQueueNums: queueNums,
      writeQueueNums: queueNums,
    });
    // Two first sends may race here; both write the same config.
    await topics.put(created);
    return topics.get(header.topic) ?? created;
  }

  #respond(
    request: RemotingCommand,
    result: PutMessageResult,
    queueId: number,
    uniqKey: string,
  ): BrokerResponse {
    switch (result.status) {
      case "PUT_OK":
      case "FLUSH_DISK_TIMEOUT": {
        const host = this.#ctx.storeHost;
        const offsets = result.commitLogOffsets;
        let msgId = createOffsetMessageId(host, offsets[0] ?? result.commitLogOffset);
        for (let i = 1; i < offsets.length; i++) {
          msgId += "," + createOffsetMessageId(host, offsets[i]);
        }
        const code = result.status === "PUT_OK"
          ? ResponseCode.SUCCESS
          : ResponseCode.FLUSH_DISK_TIMEOUT;
        return createResponse(request, code, undefined, {
          msgId,
          queueId,
          queueOffset: result.queueOffset,
          transactionId: uniqKey,
        });
      }
      case "MESSAGE_ILLEGAL":
      case "PROPERTIES_SIZE_EXCEEDED":
        return createResponse(request, ResponseCode.MESSAGE_ILLEGAL, result.remark);
      case "SERVICE_NOT_AVAILABLE":
        return createResponse(request, ResponseCode.SERVICE_NOT_AVAILABLE, result.remark);
      case "OS_PAGE_CACHE_BUSY":
        return createResponse(
          request,
          ResponseCode.SYSTEM_BUSY,
          `[PC_SYNCHRONIZED]broker busy, try later: ${result.remark}`,
        );
      case "UNKNOWN_ERROR":
        return createResponse(request, ResponseCode.SYSTEM_ERROR, result.remark);
    }
  }
}
