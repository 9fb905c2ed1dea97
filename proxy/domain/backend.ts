/**
 * The port the gRPC front calls: what it needs from "the brokers behind it".
 *
 * In local mode (`deno task broker`) the broker implements it over its own
 * domain objects (topic table, store, transaction and timer services, pop),
 * with no network hop; a cluster-mode proxy would implement it over remoting
 * clients routed by the name server. Messages cross this port in the
 * remoting form (an encoded properties string, see
 * `client/protocol/properties.ts`), so both protocols share one store format.
 *
 * @module
 */

/** A host as raw address bytes and port. */
export interface BackendHost {
  /** 4 bytes (IPv4) or 16 bytes (IPv6). */
  readonly ip: Uint8Array;
  /** Port. */
  readonly port: number;
}

/** One broker's share of a topic. */
export interface BackendTopicBroker {
  /** Broker name. */
  readonly name: string;
  /** Queues consumers read on it. */
  readonly readQueueNums: number;
  /** Queues producers write on it. */
  readonly writeQueueNums: number;
  /** Readable on it. */
  readonly readable: boolean;
  /** Writeable on it. */
  readonly writeable: boolean;
}

/** What the front needs to know about one topic. */
export interface BackendTopic {
  /** Topic name. */
  readonly name: string;
  /** The brokers that host it, in a stable order (one in local mode). */
  readonly brokers: readonly BackendTopicBroker[];
  /** Readable on some broker. */
  readonly readable: boolean;
  /** Writeable on some broker. */
  readonly writeable: boolean;
  /**
   * The topic's declared message type (attribute `message.type`: NORMAL,
   * FIFO, DELAY, TRANSACTION, MIXED), or undefined when it declares none
   * (any type accepted).
   */
  readonly messageType: string | undefined;
}

/** One message to store, converted from gRPC by the front. */
export interface BackendMessage {
  /** Target topic. */
  readonly topic: string;
  /** Target broker (the front picks it among the topic's brokers). */
  readonly brokerName: string;
  /** Target queue on that broker (the front picks it). */
  readonly queueId: number;
  /** Body bytes, uncompressed. */
  readonly body: Uint8Array;
  /** Encoded properties, with `UNIQ_KEY` = the gRPC message id. */
  readonly properties: string;
  /** Client's born time, ms since the epoch. */
  readonly bornTimestamp: number;
  /** The client's address. */
  readonly bornHost: BackendHost;
  /** True for a transactional prepare (stored as a half message). */
  readonly transactional: boolean;
}

/** Outcome of storing one message. */
export type BackendSendResult =
  | {
    readonly status: "SEND_OK";
    /** Offset message id (store host + CommitLog offset). */
    readonly offsetMessageId: string;
    /** CommitLog offset of the stored record. */
    readonly commitLogOffset: number;
    /** Queue the message went to. */
    readonly queueId: number;
    /** Its QueueOffset (for a half message: in the half queue). */
    readonly queueOffset: number;
    /** The broker that stored it, when the front serves several (cluster mode). */
    readonly brokerName?: string;
  }
  | {
    readonly status:
      | "TOPIC_NOT_FOUND"
      | "ILLEGAL"
      | "BODY_TOO_LARGE"
      | "PROPERTIES_TOO_LARGE"
      | "FORBIDDEN"
      | "FLUSH_TIMEOUT"
      | "BUSY"
      | "ERROR";
    readonly remark: string;
  };

/** END_TRANSACTION as the front asks it. */
export interface BackendEndTransaction {
  /** The producer group recorded in the half message. */
  readonly producerGroup: string;
  /** CommitLog offset of the half message (or its check copy). */
  readonly commitLogOffset: number;
  /** QueueOffset of it in the half queue. */
  readonly halfQueueOffset: number;
  /** Commit (true) or roll back (false). */
  readonly commit: boolean;
  /** True when the producer answers a transaction check. */
  readonly fromCheck: boolean;
  /** The message id (UNIQ_KEY). */
  readonly messageId: string;
  /** The broker holding the half message (cluster mode). */
  readonly brokerName?: string;
  /** The topic of the message. */
  readonly topic: string;
}

/** Outcome of END_TRANSACTION. */
export type BackendEndTransactionResult =
  | { readonly status: "OK" }
  | { readonly status: "NOT_FOUND" | "INVALID" | "ERROR"; readonly remark: string };

/** A transaction check the brokers want the producers of a topic to answer. */
export interface TransactionCheck {
  /** The half message as stored, with the real topic restored (a record). */
  readonly record: Uint8Array;
  /** CommitLog offset of the half message (or check copy) to name in the answer. */
  readonly commitLogOffset: number;
  /** Its QueueOffset in the half queue. */
  readonly halfQueueOffset: number;
  /** The broker asking (cluster mode). */
  readonly brokerName?: string;
}

/** The retry policy of a consumer group. */
export interface GroupRetryPolicy {
  /** Most deliveries of one message (retries + 1). */
  readonly maxDeliveryAttempts: number;
  /** Whether the group consumes in order (FIFO). */
  readonly fifo: boolean;
}

/** Outcome of a recall. */
export type BackendRecallResult =
  | { readonly status: "OK"; readonly messageId: string }
  | { readonly status: "NOT_FOUND" | "INVALID" | "UNSUPPORTED"; readonly remark: string };

/** A filter as a subscription states it. */
export interface BackendFilter {
  /** `TAG` or `SQL92`. */
  readonly type: "TAG" | "SQL92";
  /** The expression (`*`, `TagA || TagB`, an SQL92 condition). */
  readonly expression: string;
}

/** A lite-pull read of one queue. */
export interface BackendPullRequest {
  /** Consumer group. */
  readonly group: string;
  /** Topic. */
  readonly topic: string;
  /** Queue. */
  readonly queueId: number;
  /** First QueueOffset wanted. */
  readonly offset: number;
  /** Most messages. */
  readonly maxCount: number;
  /** Filter, or undefined for all. */
  readonly filter: BackendFilter | undefined;
  /** Hold an empty read this long for new messages, ms (0: answer at once). */
  readonly holdMs: number;
  /** Aborted when the caller goes away. */
  readonly signal: AbortSignal;
}

/** Outcome of a lite-pull read. */
export type BackendPullResult =
  | {
    readonly status: "FOUND" | "NO_NEW_MESSAGE" | "OFFSET_ILLEGAL";
    /** The records read (each a whole CommitLog record). */
    readonly records: readonly Uint8Array[];
    /** Offset to read next. */
    readonly nextOffset: number;
  }
  | { readonly status: "BAD_FILTER"; readonly remark: string }
  | { readonly status: "UNSUPPORTED"; readonly remark: string };

/** Offsets of one queue. */
export interface QueueOffsets {
  /** Oldest retained QueueOffset. */
  readonly minOffset: number;
  /** Next QueueOffset to be written. */
  readonly maxOffset: number;
}

/** A pop of a topic for a consumer group (ReceiveMessage). */
export interface BackendReceiveRequest {
  /** Consumer group. */
  readonly group: string;
  /** Topic. */
  readonly topic: string;
  /** Most messages. */
  readonly maxCount: number;
  /** How long popped messages stay invisible, ms. */
  readonly invisibleMs: number;
  /** Hold an empty pop this long for new messages, ms (0: answer at once). */
  readonly pollMs: number;
  /** Filter, or undefined for all. */
  readonly filter: BackendFilter | undefined;
  /** FIFO pop (one message group at a time, in order). */
  readonly fifo: boolean;
  /** The client's attempt id (FIFO retries reuse it). */
  readonly attemptId: string | undefined;
  /** Aborted when the caller goes away. */
  readonly signal: AbortSignal;
}

/** A popped message and the handle to ack it with. */
export interface ReceivedRecord {
  /** The stored record (whole CommitLog record). */
  readonly record: Uint8Array;
  /** Receipt handle (opaque to clients). */
  readonly receiptHandle: string;
  /** Delivery attempt when the record's reconsume times do not say it (FIFO redeliveries). */
  readonly deliveryAttempt?: number;
}

/** Outcome of a pop. */
export type BackendReceiveResult =
  | {
    readonly status: "FOUND";
    readonly messages: readonly ReceivedRecord[];
    /** Invisible time applied, ms. */
    readonly invisibleMs: number;
  }
  | { readonly status: "EMPTY" }
  | { readonly status: "BAD_FILTER" | "BUSY" | "UNSUPPORTED"; readonly remark: string };

/** Outcome of an ack or a forward to the dead-letter queue. */
export type BackendAckResult =
  | { readonly status: "OK" }
  | {
    readonly status: "INVALID_HANDLE" | "NOT_FOUND" | "ERROR" | "UNSUPPORTED";
    readonly remark: string;
  };

/** Outcome of a change of invisible time. */
export type BackendChangeInvisibleResult =
  | { readonly status: "OK"; readonly receiptHandle: string }
  | {
    readonly status: "INVALID_HANDLE" | "NOT_FOUND" | "ERROR" | "UNSUPPORTED";
    readonly remark: string;
  };

/** The brokers behind the gRPC front. */
export interface ProxyBackend {
  /** The broker name advertised in routes. */
  readonly brokerName: string;
  /** This broker's store host (message ids). */
  readonly storeHost: BackendHost;
  /**
   * Look a topic up.
   *
   * @param name Topic name.
   * @returns The topic, or undefined when it does not exist.
   */
  topic(name: string): Promise<BackendTopic | undefined>;
  /**
   * Store messages (all of one request, each independently).
   *
   * @param messages The messages, already validated and mapped.
   * @param producerGroup The producer group recorded in half messages.
   * @returns One result per message, in order.
   */
  send(
    messages: readonly BackendMessage[],
    producerGroup: string,
  ): Promise<readonly BackendSendResult[]>;
  /**
   * Commit or roll back a half message.
   *
   * @param request What to end.
   * @returns The outcome.
   */
  endTransaction(request: BackendEndTransaction): Promise<BackendEndTransactionResult>;
  /**
   * The retry policy of a consumer group for the topics it subscribes.
   *
   * @param group Consumer group.
   * @param topics The subscribed topics.
   * @returns Its policy.
   */
  groupRetryPolicy(group: string, topics: readonly string[]): GroupRetryPolicy;
  /**
   * Read one queue from an offset (lite pull), holding an empty read.
   *
   * @param request What to read.
   * @returns The records, or why not.
   */
  pull(request: BackendPullRequest): Promise<BackendPullResult>;
  /**
   * The queue's offsets, or undefined when the queue does not exist.
   *
   * @param topic Topic.
   * @param queueId Queue.
   */
  queueOffsets(topic: string, queueId: number): QueueOffsets | undefined;
  /**
   * The first QueueOffset stored at or after a time.
   *
   * @param topic Topic.
   * @param queueId Queue.
   * @param timestampMs Epoch ms.
   */
  offsetByTime(topic: string, queueId: number, timestampMs: number): Promise<number>;
  /**
   * A group's committed offset of a queue.
   *
   * @param group Consumer group.
   * @param topic Topic.
   * @param queueId Queue.
   * @returns The offset, or undefined when none is committed.
   */
  committedOffset(group: string, topic: string, queueId: number): number | undefined;
  /**
   * Commit a group's offset of a queue.
   *
   * @param group Consumer group.
   * @param topic Topic.
   * @param queueId Queue.
   * @param offset Next QueueOffset to consume.
   */
  commitOffset(group: string, topic: string, queueId: number, offset: number): void;
  /**
   * Cancel a delayed message that is not yet due.
   *
   * @param topic Its topic.
   * @param messageId Its message id (`UNIQ_KEY`).
   * @param deliverMs Its due time.
   * @param bornHost Who asks.
   * @returns The outcome.
   */
  recall(
    topic: string,
    messageId: string,
    deliverMs: number,
    bornHost: BackendHost,
  ): Promise<BackendRecallResult>;
  /**
   * Pop messages of a topic for a group (invisible until acked or the time ends).
   *
   * @param request What to pop.
   * @returns The messages with their receipt handles, or why none.
   */
  receive(request: BackendReceiveRequest): Promise<BackendReceiveResult>;
  /**
   * Ack a popped message.
   *
   * @param group Consumer group.
   * @param topic Topic as received.
   * @param receiptHandle Its handle.
   */
  ack(group: string, topic: string, receiptHandle: string): Promise<BackendAckResult>;
  /**
   * Change how long a popped message stays invisible, from now.
   *
   * @param group Consumer group.
   * @param topic Topic as received.
   * @param receiptHandle Its handle.
   * @param invisibleMs New invisible time, ms.
   * @returns The new handle.
   */
  changeInvisible(
    group: string,
    topic: string,
    receiptHandle: string,
    invisibleMs: number,
  ): Promise<BackendChangeInvisibleResult>;
  /**
   * Move a popped message to the group's dead-letter queue and ack it.
   *
   * @param group Consumer group.
   * @param topic Topic as received.
   * @param receiptHandle Its handle.
   */
  forwardToDeadLetter(
    group: string,
    topic: string,
    receiptHandle: string,
  ): Promise<BackendAckResult>;
}
