/**
 * SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320).
 *
 * @module
 */

import { putOnce } from "../domain/dedup/dedup_window.ts";
import { decodeSendMessageRequestHeader } from "../../client/protocol/headers.ts";
import type { SendMessageRequestHeader } from "../../client/protocol/headers.ts";
import { createOffsetMessageId } from "../../client/protocol/message_id.ts";
import { fastSendV2Header } from "../../client/protocol/send_v2_json.ts";
import {
  findPropertyValue,
  MessageConst,
  propertyNeedle,
} from "../../client/protocol/properties.ts";
import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import {
  createResponse,
  FLAG_RESPONSE,
  LANGUAGE,
  PROTOCOL_VERSION,
} from "../../client/protocol/remoting_command.ts";
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
import { mayTriggerPutHooks, prepareBatchForStore, prepareForStore } from "../domain/put_hooks.ts";
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

const EMPTY_BYTES = new Uint8Array(0);

const NAME_VALUE = "\u0001";
const PAIR_END = "\u0002";
const utf8 = new TextDecoder();
/** Throws on malformed UTF-8 and keeps a BOM, so a decoded string re-encodes to its bytes. */
const utf8Exact = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

function badMiniRecord(index: number, at: number, what: string): RequestError {
  return new RequestError(
    ResponseCode.MESSAGE_ILLEGAL,
    `Cannot send batch: message ${index} at byte ${at} ${what}`,
  );
}

const UNIQ_KEY_NEEDLE = propertyNeedle(MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX);
const CLUSTER_NEEDLE = propertyNeedle(MessageConst.CLUSTER);

/** Uppercase hex of each byte value. */
const HEX_BYTES: readonly string[] = Array.from(
  { length: 256 },
  (_, b) => b.toString(16).toUpperCase().padStart(2, "0"),
);

/** A non-negative safe integer as 16 uppercase hex digits (the offset part of an offset message id). */
function hex64(value: number): string {
  const high = Math.floor(value / 0x1_0000_0000);
  const low = value - high * 0x1_0000_0000;
  return HEX_BYTES[high >>> 24] + HEX_BYTES[(high >>> 16) & 0xff] +
    HEX_BYTES[(high >>> 8) & 0xff] + HEX_BYTES[high & 0xff] + HEX_BYTES[low >>> 24] +
    HEX_BYTES[(low >>> 16) & 0xff] + HEX_BYTES[(low >>> 8) & 0xff] + HEX_BYTES[low & 0xff];
}

/**
 * Handles the send requests (spec §2.9): validate, pick a queue, add
 * `UNIQ_KEY` and `CLUSTER`, stamp born/store hosts, put into the store and
 * answer with the offset message id, queue id and queue offset.
 */
export class SendController {
  readonly #ctx: BrokerContext;
  readonly #clusterPair: string;
  readonly #clusterPairBytes: Uint8Array;
  /** Gathers a batch's properties bytes for one decode; reused (the decode is synchronous). */
  #propertiesScratch = new Uint8Array(16 * 1024);
  readonly #timerMaxDelayMs: number | undefined;
  #prefixHost: unknown;
  #prefix = "";

  /** @param ctx The broker's object graph. */
  constructor(ctx: BrokerContext) {
    this.#ctx = ctx;
    this.#clusterPair = MessageConst.CLUSTER + NAME_VALUE + ctx.config.clusterName + PAIR_END;
    this.#clusterPairBytes = utf8Encoder.encode(this.#clusterPair);
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
   *   must not be overwritten by the server (its read buffers are never reused).
   * @param channel The producer's connection.
   * @returns The send response.
   */
  send(request: RemotingCommand, channel: Channel): Promise<BrokerResponse> {
    // Synchronous checks and the single-message path use no async function: one promise per
    // send (the store's), continued by one `then`.
    try {
      return this.#send(request, channel);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #send(request: RemotingCommand, channel: Channel): Promise<BrokerResponse> {
    let header = fastSendV2Header(request);
    if (header === undefined) {
      const decoded = decodeSendMessageRequestHeader(request.code, request.extFields);
      if (!decoded.ok) throw new RequestError(ResponseCode.INVALID_PARAMETER, decoded.error);
      header = decoded.header;
    }
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
    const topic = this.#topicConfig(header);
    if (topic === undefined) {
      const h = header;
      return this.#autoCreate(h).then((created) =>
        this.#sendTo(request, h, created, body, channel)
      );
    }
    return this.#sendTo(request, header, topic, body, channel);
  }

  #sendTo(
    request: RemotingCommand,
    header: SendMessageRequestHeader,
    topic: TopicConfig,
    body: Uint8Array,
    channel: Channel,
  ): Promise<BrokerResponse> {
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
      ? this.#sendBatch(request, header, queueId, body, channel)
      : this.#sendOne(request, header, queueId, body, channel);
  }

  #sendOne(
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
    const dedup = this.#ctx.dedup;
    if (dedup === undefined || dedup.windowOf(header.topic) <= 0) {
      // The common case stays one store promise and one then (no async frame per send).
      return this.#ctx.store.putMessage(prepared.value).then((result) =>
        this.#respond(request, result, queueId, uniqKey)
      );
    }
    return dedup.put(
      header.topic,
      queueId,
      [uniqKey],
      () => this.#ctx.store.putMessage(prepared.value),
    )
      .then(({ result, queueId: storedIn }) => this.#respond(request, result, storedIn, uniqKey));
  }

  /**
   * Decode the mini records of a SEND_BATCH_MESSAGE body (spec §2.11) into
   * messages for one queue, with every check of the single path: sizes,
   * count, and the put hooks (no transactional member; all or none delayed).
   *
   * Lean by design, since a coalescing producer sends most messages this
   * way: one DataView for the whole body, bodies as views (no copies), one
   * UTF-8 decode for all the properties strings of the batch (gathered into
   * one buffer; each `TextDecoder` call costs ~0.2 µs of fixed overhead, so
   * per-message decodes were ~25% of this path), sliced per message when
   * all ASCII, and UNIQ_KEY/CLUSTER found by a substring search rather than
   * a full property parse. The sent properties bytes, plus the bytes of any pairs
   * `#enrich` appended, go to the store as `propertiesBytes` so it need not
   * encode the string again (the put hooks drop them when they rewrite).
   */
  async #sendBatch(
    request: RemotingCommand,
    header: SendMessageRequestHeader,
    queueId: number,
    body: Uint8Array,
    channel: Channel,
  ): Promise<BrokerResponse> {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const end = body.length;
    // Pass 1: check the mini records and gather every properties string's bytes into one
    // scratch buffer, so one UTF-8 decode serves the whole batch (one op call, not one each).
    const starts: number[] = [];
    let scratch = this.#propertiesScratch;
    let scratchAt = 0;
    let at = 0;
    while (at < end) {
      const index = starts.length;
      if (index >= BATCH_MESSAGES_MAX) {
        throw new RequestError(
          ResponseCode.MESSAGE_ILLEGAL,
          `Cannot send batch: more than ${BATCH_MESSAGES_MAX} messages`,
        );
      }
      if (at + MINI_RECORD_OVERHEAD_BYTES > end) throw badMiniRecord(index, at, "is truncated");
      const totalSize = view.getInt32(at);
      const bodyLength = view.getInt32(at + 16);
      if (totalSize < MINI_RECORD_OVERHEAD_BYTES || at + totalSize > end) {
        throw badMiniRecord(index, at, `has a bad size ${totalSize}`);
      }
      if (bodyLength < 0 || 20 + bodyLength + 2 > totalSize) {
        throw badMiniRecord(index, at, `has a bad body length ${bodyLength}`);
      }
      const propertiesStart = at + 22 + bodyLength;
      const propertiesLength = view.getInt16(propertiesStart - 2);
      if (propertiesLength < 0 || 22 + bodyLength + propertiesLength !== totalSize) {
        throw badMiniRecord(index, at, `has a bad properties length ${propertiesLength}`);
      }
      if (scratchAt + propertiesLength > scratch.length) {
        const grown = new Uint8Array(Math.max(scratch.length * 2, scratchAt + propertiesLength));
        grown.set(scratch.subarray(0, scratchAt));
        scratch = this.#propertiesScratch = grown;
      }
      scratch.set(body.subarray(propertiesStart, propertiesStart + propertiesLength), scratchAt);
      scratchAt += propertiesLength;
      starts.push(at);
      at += totalSize;
    }
    let all: string | undefined;
    try {
      all = utf8Exact.decode(scratch.subarray(0, scratchAt));
    } catch {
      all = undefined; // Malformed UTF-8 somewhere: decode message by message below.
    }
    // String offsets equal byte offsets only when every byte is ASCII.
    const ascii = all !== undefined && all.length === scratchAt;

    // Pass 2: the messages, with UNIQ_KEY/CLUSTER added and their properties bytes.
    const messages: MessageToPut[] = [];
    const uniqKeys: string[] = [];
    const { topic, sysFlag, bornTimestamp } = header;
    const bornHost = channel.remoteHost;
    const reconsumeTimes = header.reconsumeTimes ?? 0;
    const clusterPair = this.#clusterPair;
    const clusterPairBytes = this.#clusterPairBytes;
    // Enriched properties bytes are packed into one buffer per batch (replaced if full).
    let arena = EMPTY_BYTES;
    let arenaAt = 0;
    let textAt = 0;
    for (let i = 0; i < starts.length; i++) {
      at = starts[i];
      const totalSize = view.getInt32(at);
      const flag = view.getInt32(at + 12);
      const bodyLength = view.getInt32(at + 16);
      const propertiesStart = at + 22 + bodyLength;
      const propertiesLength = totalSize - 22 - bodyLength;
      const sent = body.subarray(propertiesStart, propertiesStart + propertiesLength);
      let text: string;
      let exact = true;
      if (ascii) {
        text = all!.slice(textAt, textAt + propertiesLength);
        textAt += propertiesLength;
      } else {
        try {
          text = utf8Exact.decode(sent);
        } catch {
          // Malformed UTF-8: the store encodes the replacement-decoded string itself.
          text = utf8.decode(sent);
          exact = false;
        }
      }
      const { properties, uniqKey, added } = this.#enrich(text);
      uniqKeys.push(uniqKey);
      let propertiesBytes: Uint8Array | undefined;
      if (!exact) {
        propertiesBytes = undefined;
      } else if (added === "") {
        propertiesBytes = sent;
      } else {
        const addedBytes = added === clusterPair ? clusterPairBytes : utf8Encoder.encode(added);
        const bytes = sent.length + addedBytes.length;
        if (arenaAt + bytes > arena.length) {
          // Room for this message and, at the same size, the rest of the batch.
          arena = new Uint8Array(bytes * (starts.length - i));
          arenaAt = 0;
        }
        arena.set(sent, arenaAt);
        arena.set(addedBytes, arenaAt + sent.length);
        propertiesBytes = arena.subarray(arenaAt, arenaAt + bytes);
        arenaAt += bytes;
      }
      messages.push({
        topic,
        queueId,
        flag,
        body: body.subarray(at + 20, at + 20 + bodyLength),
        properties,
        propertiesBytes,
        sysFlag,
        bornTimestamp,
        bornHost,
        reconsumeTimes,
        preparedTransactionOffset: 0,
      });
    }
    // One scan of the whole batch's sent properties usually shows no hook applies (the pairs
    // #enrich adds are UNIQ_KEY and CLUSTER, which no hook reads).
    let toPut: readonly MessageToPut[] = messages;
    if (all === undefined || mayTriggerPutHooks(all)) {
      const prepared = prepareBatchForStore(messages, this.#ctx.clock.nowMs(), {
        timerMaxDelayMs: this.#timerMaxDelayMs,
      });
      if (prepared.kind === "illegal") {
        throw new RequestError(ResponseCode.MESSAGE_ILLEGAL, prepared.remark);
      }
      toPut = prepared.value;
    }
    const { result, queueId: storedIn } = await putOnce(
      this.#ctx.dedup,
      header.topic,
      queueId,
      uniqKeys,
      () => this.#ctx.store.putMessages(toPut),
    );
    return this.#respond(request, result, storedIn, uniqKeys.join(","));
  }

  /**
   * Add UNIQ_KEY (when missing) and CLUSTER by appending to the string: no
   * re-encoding. `added` is the appended text (`properties === text + added`).
   */
  #enrich(text: string): { properties: string; uniqKey: string; added: string } {
    let added = "";
    if (text.length > 0 && !text.endsWith(PAIR_END)) added = PAIR_END;
    const properties = added === "" ? text : text + added;
    let uniqKey = findPropertyValue(properties, UNIQ_KEY_NEEDLE);
    if (uniqKey === undefined || uniqKey === "") {
      uniqKey = this.#ctx.uniqueIds.next();
      added += UNIQ_KEY_NEEDLE + uniqKey + PAIR_END;
    }
    if (findPropertyValue(properties, CLUSTER_NEEDLE) === undefined) {
      added += this.#clusterPair;
    }
    return { properties: added === "" ? text : text + added, uniqKey, added };
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

  /** The store-host part of offset message ids (everything before the offset's 16 hex digits). */
  #msgIdPrefix(): string {
    const host = this.#ctx.storeHost;
    if (this.#prefixHost !== host) {
      const id = createOffsetMessageId(host, 0);
      this.#prefix = id.slice(0, id.length - 16);
      this.#prefixHost = host;
    }
    return this.#prefix;
  }

  #respond(
    request: RemotingCommand,
    result: PutMessageResult,
    queueId: number,
    uniqKey: string,
  ): BrokerResponse {
    switch (result.status) {
      case "PUT_OK":
      case "FLUSH_DISK_TIMEOUT":
      case "FLUSH_SLAVE_TIMEOUT":
      case "SLAVE_NOT_AVAILABLE": {
        // Every id shares the store-host prefix; only the offset's 16 hex digits vary.
        const prefix = this.#msgIdPrefix();
        const offsets = result.commitLogOffsets;
        let msgId = prefix + hex64(offsets[0] ?? result.commitLogOffset);
        for (let i = 1; i < offsets.length; i++) msgId += "," + prefix + hex64(offsets[i]);
        const code = result.status === "PUT_OK"
          ? ResponseCode.SUCCESS
          : ResponseCode[result.status];
        // createResponse's fields, built directly (this runs once per message).
        return {
          code,
          language: LANGUAGE,
          version: PROTOCOL_VERSION,
          opaque: request.opaque,
          flag: FLAG_RESPONSE,
          remark: undefined,
          extFields: {
            msgId,
            queueId: String(queueId),
            queueOffset: String(result.queueOffset),
            transactionId: uniqKey,
          },
        };
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
