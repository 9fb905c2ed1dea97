/**
 * A client for a RocketMQ-design message broker: producer, clustering
 * consumer and admin, over RocketMQ's remoting protocol, against one broker
 * (`endpoint`) or a cluster behind name servers (`nameServer`).
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
 * @example Throughput: concurrent sends are coalesced into batches
 * ```ts ignore
 * import { createProducer } from "@rmq/broker";
 *
 * // Each request costs a frame on both sides (codec, socket write, store call,
 * // response), so frames, not bytes, bound a producer. By default (`coalesce: true`)
 * // plain sends of one topic issued in the same tick travel as one
 * // SEND_BATCH_MESSAGE (at most `batchMessagesMax` messages, `batchBytesMax`
 * // bytes); each send still resolves with its own msgId and queueOffset. A lone
 * // send, delayed, one-way and signalled sends go alone; `coalesce: false` sends
 * // every message as its own request.
 * await using producer = await createProducer({ endpoint: "127.0.0.1:10911" });
 * const results = await Promise.all(
 *   Array.from({ length: 1000 }, (_, i) => producer.send({ topic: "Clicks", body: `click ${i}` })),
 * );
 * console.log(results[0].msgId, results[0].queueOffset);
 * ```
 *
 * @example Retry a failed message, and read the dead letters
 * ```ts ignore
 * import { createAdmin, createConsumer } from "@rmq/broker";
 *
 * const endpoint = "127.0.0.1:10911";
 * await using consumer = await createConsumer({ endpoint, group: "billing", topic: "Orders" });
 * for await (const message of consumer.messages()) {
 *   try {
 *     await charge(message.text()); // your processing
 *   } catch {
 *     // Redelivered later through %RETRY%billing with reconsumeTimes + 1 (delay level 1 = 1 s);
 *     // after maxReconsumeTimes (default 16) it goes to %DLQ%billing instead.
 *     await consumer.reconsumeLater(message, { delayLevel: 1 });
 *   }
 * }
 *
 * await using admin = await createAdmin({ endpoint });
 * for (const dead of await admin.listDlqMessages("billing", { max: 10 })) {
 *   console.log(dead.queueOffset, dead.properties.DLQ_ORIGIN_TOPIC, dead.text());
 *   await admin.resendDlqMessage("billing", dead.queueOffset); // back to Orders
 * }
 * declare function charge(order: string): Promise<void>;
 * ```
 *
 * @example FIFO: one message group, one queue, strict order
 * ```ts ignore
 * import { createConsumer, createProducer } from "@rmq/broker";
 *
 * const endpoint = "127.0.0.1:10911";
 * await using producer = await createProducer({ endpoint });
 * for (const step of ["created", "paid", "shipped"]) {
 *   await producer.send({ topic: "OrderEvents", body: step, messageGroup: "order-42" });
 * }
 * // Orderly: each queue is locked to one group member and delivered strictly in order;
 * // reconsumeLater() retries the message in place after retrySuspendMs.
 * await using consumer = await createConsumer({
 *   endpoint,
 *   group: "fulfilment",
 *   topic: "OrderEvents",
 *   orderly: true,
 *   subscription: { type: "SQL92", expression: "TAGS IS NULL OR TAGS <> 'test'" },
 * });
 * for await (const message of consumer.messages()) console.log(message.messageGroup, message.text());
 * ```
 *
 * @example Delayed and scheduled messages
 * ```ts ignore
 * import { createProducer } from "@rmq/broker";
 * await using producer = await createProducer({ endpoint: "127.0.0.1:10911" });
 * await producer.send({ topic: "Reminders", body: "in 90 s", delayMs: 90_000 });
 * await producer.send({ topic: "Reminders", body: "at noon", deliverAt: new Date("2030-01-01T12:00:00Z") });
 * await producer.send({ topic: "Reminders", body: "level 3 = 10 s", delayLevel: 3 });
 * ```
 *
 * @example Several brokers behind name servers
 * ```ts ignore
 * import { ClusterAdmin, createConsumer, createProducer } from "@rmq/broker";
 *
 * // Brokers started with --namesrv-addr register with every name server.
 * const nameServer = "127.0.0.1:9876;127.0.0.1:9877";
 * await using admin = new ClusterAdmin({ nameServer });
 * await admin.createTopic("Orders", "DefaultCluster", { writeQueueNums: 4 }); // on every master
 *
 * // Sends spread over every broker's queues; a failed broker is avoided and retried elsewhere.
 * await using producer = await createProducer({ nameServer });
 * const sent = await producer.send({ topic: "Orders", body: "order #2" });
 * console.log(sent.queue.brokerName, sent.queue.queueId);
 *
 * // The group rebalances over all brokers' queues; offsets go to the broker owning each queue.
 * await using consumer = await createConsumer({ nameServer, group: "billing", topic: "Orders" });
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
  type ListDlqOptions,
  type PeekMessagesOptions,
  type QueryMessagesOptions,
  type QueueProgress,
  type QueueStatus,
  type ResendDlqOptions,
  type ResendResult,
} from "./client/admin.ts";
export {
  type Consumer,
  type ConsumerOptions,
  createConsumer,
  type MessagesOptions,
  type ReconsumeOptions,
  type SubscriptionExpression,
} from "./client/consumer.ts";
export type {
  ConsumerConnection,
  ConsumerMember,
  ConsumeStats,
  QueueConsumeStats,
} from "./client/admin_consumer.ts";
export {
  createSimpleConsumer,
  type ReceiveOptions,
  type SimpleConsumer,
  type SimpleConsumerOptions,
} from "./client/simple_consumer.ts";
export {
  createProducer,
  type Producer,
  type ProducerOptions,
  type QueueSelector,
  RETRIABLE_SEND_CODES,
  selectQueueByGroup,
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
  createTransactionProducer,
  type LocalTransactionExecutor,
  type LocalTransactionState,
  type TransactionChecker,
  TransactionProducer,
  type TransactionProducerOptions,
  type TransactionSendResult,
} from "./client/transaction_producer.ts";
export {
  MQBrokerError,
  MQClientError,
  MQConnectionClosedError,
  MQTimeoutError,
} from "./client/errors.ts";
export {
  type BrokerData,
  type QueueData,
  type TopicConfig,
  type TopicRouteData,
} from "./client/protocol/heartbeat.ts";
export {
  ClusterAdmin,
  type ClusterAdminOptions,
  type ClusterQueueProgress,
  type MasterBroker,
} from "./client/cluster_admin.ts";
export { type ClusterInfo } from "./client/protocol/cluster_info.ts";
export { type SessionCredentials } from "./client/protocol/acl_signature.ts";
