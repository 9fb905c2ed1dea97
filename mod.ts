/**
 * A client for a RocketMQ-design message broker: producer, clustering
 * consumer and admin, over RocketMQ's remoting protocol.
 *
 * Each factory takes one options object and returns a connected client that
 * supports `await using`. Waits accept an `AbortSignal`. Errors the client
 * raises are {@linkcode MQClientError}s; a broker's refusal is an
 * {@linkcode MQBrokerError} carrying the response code.
 *
 * @example Send and consume
 * ```ts ignore
 * import { createAdmin, createConsumer, createProducer } from "@rmq/broker";
 *
 * const endpoint = "127.0.0.1:10911";
 * await using admin = await createAdmin({ endpoint });
 * await admin.createTopic("Orders", { readQueueNums: 4, writeQueueNums: 4 });
 *
 * await using producer = await createProducer({ endpoint, group: "shop" });
 * const sent = await producer.send({ topic: "Orders", body: "order #1", tags: "created" });
 * console.log(sent.msgId, sent.queue.queueId, sent.queueOffset);
 *
 * await using consumer = await createConsumer({
 *   endpoint,
 *   group: "billing",
 *   topic: "Orders",
 *   consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
 * });
 * for await (const message of consumer.messages()) {
 *   console.log(message.tags, message.text());
 *   break;
 * }
 * ```
 *
 * @example Validation happens before anything is sent
 * ```ts
 * import { MQClientError, MESSAGE_BODY_BYTES_MAX } from "./mod.ts";
 * console.assert(MESSAGE_BODY_BYTES_MAX === 4 * 1024 * 1024);
 * console.assert(new MQClientError("x") instanceof Error);
 * ```
 *
 * @module
 */

export {
  type Admin,
  type AdminOptions,
  type ConsumerProgress,
  createAdmin,
  type CreateTopicOptions,
  type QueueProgress,
  type QueueStatus,
} from "./client/admin.ts";
export {
  type Consumer,
  type ConsumerOptions,
  createConsumer,
  type MessagesOptions,
} from "./client/consumer.ts";
export {
  createProducer,
  type Producer,
  type ProducerOptions,
  RETRIABLE_SEND_CODES,
  type SendBatchResult,
  type SendOptions,
  type SendResult,
  type SendStatus,
} from "./client/producer.ts";
export {
  type Message,
  MESSAGE_BODY_BYTES_MAX,
  type MessageQueue,
  ReceivedMessage,
} from "./client/message.ts";
export {
  MQBrokerError,
  MQClientError,
  MQConnectionClosedError,
  MQTimeoutError,
} from "./client/errors.ts";
export { type TopicConfig } from "./client/protocol/heartbeat.ts";
