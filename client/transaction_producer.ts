/**
 * The transactional producer: sends a half message, runs the caller's local
 * transaction, then commits or rolls the message back; answers the broker's
 * check-back requests with the caller's checker.
 *
 * @module
 */

import type { BrokerClient } from "./broker_client.ts";
import type { SessionCredentials } from "./protocol/acl_signature.ts";
import { sendProducerHeartbeat, unregisterAndClose } from "./client_registration.ts";
import { MQClientError, MQConnectionClosedError } from "./errors.ts";
import {
  encodeMessage,
  type Message,
  MESSAGE_BODY_BYTES_MAX,
  type MessageQueue,
  ReceivedMessage,
  validateName,
} from "./message.ts";
import {
  RETRIABLE_SEND_CODES,
  RETRY_TIMES_DEFAULT,
  ROUTE_TTL_MS_DEFAULT,
  SEND_TIMEOUT_MS_DEFAULT,
  type SendResult,
  type SendStatus,
} from "./producer.ts";
import { SendRouter } from "./send_router.ts";
import {
  checkTransactionStateRequestHeader,
  DEFAULT_TOPIC,
  DEFAULT_TOPIC_QUEUE_NUMS,
  endTransactionRequestHeader,
  sendMessageRequestHeaderV2,
  sendMessageResponseHeader,
  TransactionState,
} from "./protocol/headers.ts";
import { decodeOffsetMessageId, UniqueIdGenerator } from "./protocol/message_id.ts";
import { checkRecord, decodeRecord, MessageSysFlag } from "./protocol/message_record.ts";
import { encodeProperties, getProperty, MessageConst } from "./protocol/properties.ts";
import { createResponse, isOneway, type RemotingCommand } from "./protocol/remoting_command.ts";
import { RequestCode } from "./protocol/request_code.ts";
import { ResponseCode } from "./protocol/response_code.ts";

/** Default time between heartbeats that keep the producer group registered, ms. */
export const HEARTBEAT_INTERVAL_MS_DEFAULT = 30_000;

/** The outcome of a local transaction, as the producer reports it to the broker. */
export type LocalTransactionState = "COMMIT" | "ROLLBACK" | "UNKNOWN";

/**
 * Runs the local transaction after the half message is stored.
 * Throwing counts as `UNKNOWN`: the broker will ask the checker later.
 */
export type LocalTransactionExecutor = (
  message: Message,
  sendResult: SendResult,
) => LocalTransactionState | Promise<LocalTransactionState>;

/**
 * Answers the broker's check-back for a half message left unresolved.
 * Throwing counts as `UNKNOWN`: the broker asks again later.
 */
export type TransactionChecker = (
  message: ReceivedMessage,
) => LocalTransactionState | Promise<LocalTransactionState>;

/** Options of {@linkcode createTransactionProducer}. Give `endpoint` or `nameServer`. */
export interface TransactionProducerOptions {
  /** A standalone broker's address, `host:port`. */
  readonly endpoint?: string;
  /**
   * Name servers, `host:port;host:port`: half messages spread over every
   * broker of the topic; each outcome goes to the broker that stored the
   * half message, and every broker used gets the group's heartbeats.
   */
  readonly nameServer?: string;
  /** ACL credentials (`accessKey`, `secretKey`); every request is signed with them. */
  readonly credentials?: SessionCredentials;
  /** Producer group; the broker sends check-backs to a live producer of this group. */
  readonly group: string;
  /** Answers check-backs. */
  readonly checker: TransactionChecker;
  /** Time budget of one half-message send including retries, ms. Default 3000. */
  readonly sendTimeoutMs?: number;
  /** Extra attempts after a retriable failure. Default 2. */
  readonly retryTimes?: number;
  /** Largest body accepted, bytes. Default 4 MiB. */
  readonly bodyBytesMax?: number;
  /** Route cache lifetime, ms. Default 30000. */
  readonly routeTtlMs?: number;
  /** Time between heartbeats, ms. Default {@linkcode HEARTBEAT_INTERVAL_MS_DEFAULT}. */
  readonly heartbeatIntervalMs?: number;
  /** Client id sent in heartbeats. Default: random per producer. */
  readonly clientId?: string;
}

/** The result of {@linkcode TransactionProducer.sendInTransaction}. */
export interface TransactionSendResult extends SendResult {
  /** The transaction id (the half message's UNIQ_KEY). */
  readonly transactionId: string;
  /** What the local transaction decided (and the producer told the broker). */
  readonly localTransactionState: LocalTransactionState;
}

const STORED_STATUS: ReadonlyMap<number, SendStatus> = new Map<number, SendStatus>([
  [ResponseCode.SUCCESS, "SEND_OK"],
  [ResponseCode.FLUSH_DISK_TIMEOUT, "FLUSH_DISK_TIMEOUT"],
  [ResponseCode.FLUSH_SLAVE_TIMEOUT, "FLUSH_SLAVE_TIMEOUT"],
  [ResponseCode.SLAVE_NOT_AVAILABLE, "SLAVE_NOT_AVAILABLE"],
]);

const STATE_CODES: Readonly<Record<LocalTransactionState, number>> = Object.freeze({
  COMMIT: TransactionState.COMMIT,
  ROLLBACK: TransactionState.ROLLBACK,
  UNKNOWN: TransactionState.UNKNOWN,
});

/**
 * Sends transactional messages to one broker (RocketMQ `TransactionMQProducer`).
 *
 * `sendInTransaction` stores a half message (property `TRAN_MSG=true`,
 * `PGROUP`, sysflag PREPARED), which consumers cannot see; runs the local
 * transaction; then sends END_TRANSACTION (oneway) with its outcome. The
 * broker commits (the message becomes visible once) or rolls back. When the
 * outcome is `UNKNOWN`, the END is lost, or the producer dies, the broker
 * later sends CHECK_TRANSACTION_STATE to a live producer of the group, which
 * calls the `checker` and answers with END_TRANSACTION (`fromTransactionCheck`).
 * Heartbeats every `heartbeatIntervalMs` keep the group registered so checks
 * can reach it.
 *
 * @example
 * ```ts ignore
 * import { createTransactionProducer } from "./transaction_producer.ts";
 * const paid = new Set<string>();
 * await using producer = await createTransactionProducer({
 *   endpoint: "127.0.0.1:10911",
 *   group: "orders-tx",
 *   checker: (message) => paid.has(message.msgId) ? "COMMIT" : "UNKNOWN",
 * });
 * const result = await producer.sendInTransaction(
 *   { topic: "Orders", body: "order-42 paid" },
 *   (_message, sent) => {
 *     paid.add(sent.msgId); // the local database write
 *     return "COMMIT";
 *   },
 * );
 * console.log(result.transactionId, result.localTransactionState);
 * ```
 */
export class TransactionProducer implements AsyncDisposable {
  /** Producer group. */
  readonly group: string;
  /** Client id used in heartbeats. */
  readonly clientId: string;
  readonly #router: SendRouter;
  readonly #checker: TransactionChecker;
  readonly #ids = new UniqueIdGenerator();
  readonly #sendTimeoutMs: number;
  readonly #retryTimes: number;
  readonly #bodyBytesMax: number;
  readonly #routeTtlMs: number;
  readonly #heartbeatIntervalMs: number;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /**
   * Use {@linkcode createTransactionProducer}.
   *
   * @param options Producer options.
   * @throws {TypeError} On an invalid group or a missing checker.
   * @throws {RangeError} On an out-of-range option.
   */
  constructor(options: TransactionProducerOptions) {
    this.group = options.group;
    validateName("group", this.group, "create transaction producer");
    if (typeof options.checker !== "function") {
      throw new TypeError("Cannot create transaction producer: checker is not a function");
    }
    this.#checker = options.checker;
    this.#sendTimeoutMs = positive(options.sendTimeoutMs, SEND_TIMEOUT_MS_DEFAULT, "sendTimeoutMs");
    this.#retryTimes = options.retryTimes ?? RETRY_TIMES_DEFAULT;
    if (!Number.isInteger(this.#retryTimes) || this.#retryTimes < 0) {
      throw new RangeError(
        `Cannot create transaction producer: retryTimes must be a non-negative integer, got ${this.#retryTimes}`,
      );
    }
    this.#bodyBytesMax = positive(options.bodyBytesMax, MESSAGE_BODY_BYTES_MAX, "bodyBytesMax");
    this.#routeTtlMs = positive(options.routeTtlMs, ROUTE_TTL_MS_DEFAULT, "routeTtlMs");
    this.#heartbeatIntervalMs = positive(
      options.heartbeatIntervalMs,
      HEARTBEAT_INTERVAL_MS_DEFAULT,
      "heartbeatIntervalMs",
    );
    this.clientId = options.clientId ??
      `txproducer@${Deno.pid}@${crypto.randomUUID().slice(0, 8)}`;
    this.#router = new SendRouter({
      endpoint: options.endpoint,
      nameServer: options.nameServer,
      requestTimeoutMs: this.#sendTimeoutMs,
      retryTimes: this.#retryTimes,
      retriableCodes: RETRIABLE_SEND_CODES,
      routeTtlMs: this.#routeTtlMs,
      onRequest: (request, client) => this.#onBrokerRequest(request, client),
      onBrokerConnect: (client) => this.#heartbeat(client),
      credentials: options.credentials,
    });
  }

  /**
   * Connect, register the producer group, and start heartbeats.
   *
   * @param signal Aborts the connect.
   * @throws {MQConnectionClosedError} If the broker cannot be reached.
   */
  async start(signal?: AbortSignal): Promise<void> {
    // With name servers, each broker gets the heartbeat when it is first used.
    const standalone = this.#router.pool.standalone;
    if (standalone !== undefined) {
      await standalone.connection(signal);
      await this.#heartbeat(standalone, signal);
    }
    this.#heartbeatTimer ??= setInterval(
      () =>
        void Promise.all(
          this.#router.pool.clients().map((client) => this.#heartbeat(client).catch(() => {})),
        ),
      this.#heartbeatIntervalMs,
    );
  }

  /**
   * Send a message in a transaction.
   *
   * 1. Send the half message; a refusal throws and nothing is stored.
   * 2. If it was stored with `SEND_OK`, run `executeLocalTransaction`;
   *    otherwise (stored, but not durable as configured) roll back without
   *    running it.
   * 3. Send END_TRANSACTION with the outcome (oneway).
   *
   * @param message The message.
   * @param executeLocalTransaction The local transaction.
   * @returns The send result with the transaction id and outcome.
   * @throws {TypeError} On an invalid message.
   * @throws {RangeError} On an oversize message.
   * @throws {MQBrokerError} If the broker refuses the half message.
   * @throws {MQClientError} If the local transaction throws (`cause` is its
   *   error); the half message is then left for the checker.
   */
  async sendInTransaction(
    message: Message,
    executeLocalTransaction: LocalTransactionExecutor,
  ): Promise<TransactionSendResult> {
    if (typeof executeLocalTransaction !== "function") {
      throw new TypeError("Cannot send in transaction: executeLocalTransaction is not a function");
    }
    const encoded = encodeMessage(message, this.#ids.next(), this.#bodyBytesMax);
    const properties = encoded.properties + encodeProperties({
      [MessageConst.TRANSACTION_PREPARED]: "true",
      [MessageConst.PRODUCER_GROUP]: this.group,
    });
    const { response, queue } = await this.#sendHalf(encoded.topic, properties, encoded.body);
    const broker = this.#router.clientFor(queue);
    const header = sendMessageResponseHeader.decode(response.extFields);
    if (!header.ok) throw new MQClientError(`Bad send response: ${header.error}`);
    const status = STORED_STATUS.get(response.code)!;
    const transactionId = response.extFields?.transactionId ?? encoded.uniqueId;
    const sendResult: SendResult = {
      status,
      msgId: encoded.uniqueId,
      offsetMsgId: header.header.msgId,
      queue: { ...queue, queueId: header.header.queueId },
      queueOffset: header.header.queueOffset,
    };
    let state: LocalTransactionState = "ROLLBACK";
    let failure: unknown;
    if (status === "SEND_OK") {
      try {
        state = checkState(
          await executeLocalTransaction(message, sendResult),
          "executeLocalTransaction",
        );
      } catch (error) {
        state = "UNKNOWN";
        failure = error;
      }
    }
    await this.#endTransaction({
      topic: encoded.topic,
      tranStateTableOffset: sendResult.queueOffset,
      commitLogOffset: decodeOffsetMessageId(sendResult.offsetMsgId).commitLogOffset,
      msgId: encoded.uniqueId,
      transactionId,
      state,
      fromTransactionCheck: false,
    }, broker);
    if (failure !== undefined) {
      throw new MQClientError(
        `Local transaction of message ${encoded.uniqueId} failed; the broker will ask the checker`,
        { cause: failure },
      );
    }
    return { ...sendResult, transactionId, localTransactionState: state };
  }

  /** Stop heartbeats, unregister from the broker and close the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
    await this.#router.close((client) =>
      unregisterAndClose(client, this.clientId, { producerGroup: this.group })
    );
  }

  /** Same as {@linkcode TransactionProducer.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #heartbeat(client: BrokerClient, signal?: AbortSignal): Promise<void> {
    return sendProducerHeartbeat(client, this.clientId, this.group, signal);
  }

  async #endTransaction(end: {
    topic: string;
    tranStateTableOffset: number;
    commitLogOffset: number;
    msgId: string;
    transactionId: string;
    state: LocalTransactionState;
    fromTransactionCheck: boolean;
  }, broker: BrokerClient): Promise<void> {
    if (this.#closed) return;
    // The outcome goes to the broker that holds the half message.
    await broker.oneway(
      RequestCode.END_TRANSACTION,
      endTransactionRequestHeader.encode({
        topic: end.topic,
        producerGroup: this.group,
        tranStateTableOffset: end.tranStateTableOffset,
        commitLogOffset: end.commitLogOffset,
        commitOrRollback: STATE_CODES[end.state],
        fromTransactionCheck: end.fromTransactionCheck,
        msgId: end.msgId,
        transactionId: end.transactionId,
      }),
    );
  }

  /** Broker-initiated requests: CHECK_TRANSACTION_STATE; anything else is not supported. */
  async #onBrokerRequest(
    request: RemotingCommand,
    broker: BrokerClient,
  ): Promise<RemotingCommand | undefined> {
    if (request.code !== RequestCode.CHECK_TRANSACTION_STATE) {
      return isOneway(request) ? undefined : createResponse(
        request,
        ResponseCode.REQUEST_CODE_NOT_SUPPORTED,
        `request code ${request.code} is not supported by a transaction producer`,
      );
    }
    const header = checkTransactionStateRequestHeader.decode(request.extFields);
    const body = request.body;
    if (
      !header.ok || body === undefined || checkRecord(body, 0, body.length, false).status !== "OK"
    ) {
      return undefined; // A malformed check: the broker asks again next round.
    }
    const record = decodeRecord(body);
    const message = new ReceivedMessage(record, "");
    let state: LocalTransactionState;
    try {
      state = checkState(await this.#checker(message), "checker");
    } catch {
      state = "UNKNOWN";
    }
    const uniqKey = header.header.msgId ??
      getProperty(record.properties, MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX) ?? "";
    await this.#endTransaction({
      topic: record.topic,
      tranStateTableOffset: header.header.tranStateTableOffset,
      commitLogOffset: header.header.commitLogOffset,
      msgId: uniqKey,
      transactionId: header.header.transactionId ??
        getProperty(record.properties, MessageConst.TRANSACTION_ID) ?? uniqKey,
      state,
      fromTransactionCheck: true,
    }, broker).catch(() => {});
    return undefined;
  }

  #sendHalf(
    topic: string,
    properties: string,
    body: Uint8Array,
  ): Promise<{ response: RemotingCommand; queue: MessageQueue }> {
    if (this.#closed) {
      return Promise.reject(
        new MQConnectionClosedError("Cannot send: transaction producer is closed"),
      );
    }
    return this.#router.send({
      code: RequestCode.SEND_MESSAGE_V2,
      topic,
      body,
      header: (queue) =>
        sendMessageRequestHeaderV2.encode({
          producerGroup: this.group,
          topic,
          defaultTopic: DEFAULT_TOPIC,
          defaultTopicQueueNums: DEFAULT_TOPIC_QUEUE_NUMS,
          queueId: queue.queueId,
          sysFlag: MessageSysFlag.TRANSACTION_PREPARED_TYPE,
          bornTimestamp: Date.now(),
          flag: 0,
          properties,
          reconsumeTimes: 0,
          unitMode: false,
          batch: false,
        }),
      timeoutMs: this.#sendTimeoutMs,
    });
  }
}

function checkState(state: unknown, source: string): LocalTransactionState {
  if (state === "COMMIT" || state === "ROLLBACK" || state === "UNKNOWN") return state;
  throw new TypeError(
    `${source} returned ${JSON.stringify(state)}, expected "COMMIT", "ROLLBACK" or "UNKNOWN"`,
  );
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const out = value ?? fallback;
  if (!Number.isFinite(out) || out <= 0) {
    throw new RangeError(
      `Cannot create transaction producer: ${name} must be positive, got ${out}`,
    );
  }
  return out;
}

/**
 * Create a transactional producer and connect it to the broker.
 *
 * @param options Endpoint, group, checker, timeouts.
 * @returns A started producer; close it with `await using` or `close()`.
 * @throws {TypeError} On an invalid group, endpoint or checker.
 * @throws {RangeError} On an out-of-range option.
 * @throws {MQConnectionClosedError} If the broker cannot be reached.
 *
 * @example
 * ```ts ignore
 * import { createTransactionProducer } from "./transaction_producer.ts";
 * await using producer = await createTransactionProducer({
 *   endpoint: "127.0.0.1:10911",
 *   group: "tx-group",
 *   checker: () => "COMMIT",
 * });
 * await producer.sendInTransaction({ topic: "T", body: "x" }, () => "COMMIT");
 * ```
 */
export async function createTransactionProducer(
  options: TransactionProducerOptions,
): Promise<TransactionProducer> {
  const producer = new TransactionProducer(options);
  try {
    await producer.start();
  } catch (error) {
    await producer.close();
    throw error;
  }
  return producer;
}
