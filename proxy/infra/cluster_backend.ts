/**
 * Cluster mode of the gRPC front (`deno task proxy --namesrv-addr ...`): the
 * {@linkcode ProxyBackend} port over remoting, with routes from the name
 * server and one channel per broker master, as RocketMQ's proxy does in
 * `cluster` mode.
 *
 * Served: routes (cached for {@linkcode ROUTE_TTL_MS}), sends (SEND_MESSAGE_V2
 * to the chosen broker), and consumption by pop (POP_MESSAGE to each broker
 * of the topic in turn, ACK_MESSAGE and CHANGE_MESSAGE_INVISIBLETIME to the
 * broker the receipt handle names), and transactional messages
 * (`cluster_transactions.ts`). Not yet served in this mode, answered with a
 * clear status: recall, dead-letter forwarding and lite pull.
 *
 * @module
 */

import type { BrokerClient } from "../../client/broker_client.ts";
import { BrokerPool } from "../../client/broker_pool.ts";
import { sendMessageRequestHeaderV2 } from "../../client/protocol/headers.ts";
import { decodeOffsetMessageId } from "../../client/protocol/message_id.ts";
import { MessageSysFlag } from "../../client/protocol/message_record.ts";
import type { TopicRouteData } from "../../client/protocol/heartbeat.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type {
  BackendAckResult,
  BackendChangeInvisibleResult,
  BackendEndTransaction,
  BackendEndTransactionResult,
  BackendHost,
  BackendMessage,
  BackendPullResult,
  BackendRecallResult,
  BackendReceiveRequest,
  BackendReceiveResult,
  BackendSendResult,
  BackendTopic,
  GroupRetryPolicy,
  ProxyBackend,
  QueueOffsets,
} from "../domain/backend.ts";
import { ClusterPop } from "./cluster_pop.ts";
import { ClusterTransactions, type TransactionCheckHandler } from "./cluster_transactions.ts";

/** How long a topic's route is reused before it is asked again, ms. */
export const ROUTE_TTL_MS = 30_000;
/** Retries a consumer group gets in cluster mode (the brokers' default retry limit + 1). */
export const CLUSTER_DELIVERY_ATTEMPTS = 17;
/** Permission bits of routes (RocketMQ `PermName`). */
const PERM_READ = 4;
const PERM_WRITE = 2;
/** The producer group the front sends with (gRPC producers have none). */
export const CLUSTER_PRODUCER_GROUP = "GRPC_PROXY_PRODUCER";

const NOT_IN_CLUSTER_MODE = "not available in cluster mode yet; use the broker's own gRPC port";

/** Options of {@linkcode ClusterBackend}. */
export interface ClusterBackendOptions {
  /** Name servers, `host:port;host:port`. */
  readonly namesrvAddr: string;
  /** Request timeout toward name servers and brokers, ms. */
  readonly requestTimeoutMs?: number;
  /** Current time (default `Date.now`). */
  readonly nowMs?: () => number;
}

/** The brokers of a cluster, reached over remoting. */
export class ClusterBackend implements ProxyBackend, AsyncDisposable {
  readonly brokerName = "cluster";
  readonly storeHost: BackendHost = { ip: new Uint8Array([127, 0, 0, 1]), port: 0 };
  readonly #pool: BrokerPool;
  readonly #nowMs: () => number;
  readonly #routes = new Map<string, { atMs: number; route: TopicRouteData | undefined }>();
  readonly #pop: ClusterPop;
  readonly #transactions: ClusterTransactions;

  /** @param options Name servers and timeouts. */
  constructor(options: ClusterBackendOptions) {
    this.#pool = new BrokerPool({
      nameServer: options.namesrvAddr,
      requestTimeoutMs: options.requestTimeoutMs,
      // Broker-initiated requests arrive only after channels open, once the fields are set.
      onRequest: (request) => this.#transactions.handle(request),
    });
    this.#transactions = new ClusterTransactions(this.#pool);
    this.#nowMs = options.nowMs ?? Date.now;
    this.#pop = new ClusterPop(this.#pool, this.#nowMs);
  }

  async #route(topic: string): Promise<TopicRouteData | undefined> {
    const cached = this.#routes.get(topic);
    if (cached !== undefined && this.#nowMs() - cached.atMs < ROUTE_TTL_MS) return cached.route;
    let route: TopicRouteData | undefined;
    try {
      route = await this.#pool.fetchRoute(topic);
      for (const broker of route.brokerDatas) {
        const master = broker.brokerAddrs["0"];
        if (master !== undefined) this.#transactions.learnBroker(broker.brokerName, master);
      }
    } catch {
      route = undefined; // TOPIC_NOT_EXIST or no name server: not found
    }
    this.#routes.set(topic, { atMs: this.#nowMs(), route });
    return route;
  }

  /**
   * A topic's brokers and queues from its route.
   *
   * @param name Topic name.
   * @returns The topic, or undefined when no broker has it.
   */
  async topic(name: string): Promise<BackendTopic | undefined> {
    const route = await this.#route(name);
    if (route === undefined || route.queueDatas.length === 0) return undefined;
    const brokers = route.queueDatas
      .filter((q) => this.#pool.hasMaster(q.brokerName))
      .map((q) => ({
        name: q.brokerName,
        readQueueNums: q.readQueueNums,
        writeQueueNums: q.writeQueueNums,
        readable: (q.perm & PERM_READ) !== 0,
        writeable: (q.perm & PERM_WRITE) !== 0,
      }))
      .sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    if (brokers.length === 0) return undefined;
    return {
      name,
      brokers,
      readable: brokers.some((b) => b.readable),
      writeable: brokers.some((b) => b.writeable),
      messageType: undefined,
    };
  }

  /**
   * Send each message to its broker with SEND_MESSAGE_V2.
   *
   * @param messages The messages (broker and queue chosen by the front).
   * @returns One result per message.
   */
  send(messages: readonly BackendMessage[]): Promise<readonly BackendSendResult[]> {
    return Promise.all(messages.map((m) => this.#sendOne(m)));
  }

  async #sendOne(message: BackendMessage): Promise<BackendSendResult> {
    let client: BrokerClient;
    try {
      client = this.#pool.client(message.brokerName);
      // Checks of this topic's half messages must reach this front.
      if (message.transactional) {
        await this.#transactions.ensureProducer(message.brokerName, message.topic);
      }
    } catch (error) {
      return { status: "ERROR", remark: (error as Error).message };
    }
    let response;
    try {
      response = await client.request(
        RequestCode.SEND_MESSAGE_V2,
        sendMessageRequestHeaderV2.encode({
          // A half message records its producer group; gRPC producers have none: the topic.
          producerGroup: message.transactional ? message.topic : CLUSTER_PRODUCER_GROUP,
          topic: message.topic,
          defaultTopic: "TBW102",
          defaultTopicQueueNums: 4,
          queueId: message.queueId,
          sysFlag: message.transactional ? MessageSysFlag.TRANSACTION_PREPARED_TYPE : 0,
          bornTimestamp: message.bornTimestamp,
          flag: 0,
          properties: message.properties,
          reconsumeTimes: 0,
          unitMode: false,
          batch: false,
        }),
        message.body,
      );
    } catch (error) {
      return { status: "ERROR", remark: (error as Error).message };
    }
    const fields = response.extFields ?? {};
    switch (response.code) {
      case ResponseCode.SUCCESS:
        return {
          status: "SEND_OK",
          offsetMessageId: String(fields.msgId ?? ""),
          commitLogOffset: commitLogOffsetOf(String(fields.msgId ?? "")),
          queueId: Number(fields.queueId ?? message.queueId),
          queueOffset: Number(fields.queueOffset ?? 0),
          brokerName: message.brokerName,
        };
      case ResponseCode.TOPIC_NOT_EXIST:
        this.#routes.delete(message.topic);
        return { status: "TOPIC_NOT_FOUND", remark: response.remark ?? "" };
      case ResponseCode.MESSAGE_ILLEGAL:
        return { status: "ILLEGAL", remark: response.remark ?? "" };
      case ResponseCode.NO_PERMISSION:
        return { status: "FORBIDDEN", remark: response.remark ?? "" };
      case ResponseCode.FLUSH_DISK_TIMEOUT:
        return { status: "FLUSH_TIMEOUT", remark: response.remark ?? "" };
      case ResponseCode.SYSTEM_BUSY:
      case ResponseCode.SERVICE_NOT_AVAILABLE:
        return { status: "BUSY", remark: response.remark ?? "" };
      default:
        return { status: "ERROR", remark: `code ${response.code}: ${response.remark ?? ""}` };
    }
  }

  /** EndTransaction is not served in cluster mode. */
  endTransaction(request: BackendEndTransaction): Promise<BackendEndTransactionResult> {
    return this.#transactions.end(request);
  }

  /**
   * Where the brokers' transaction checks go (the front's producers).
   *
   * @param handler Hands a check to a gRPC producer of its topic.
   */
  onTransactionCheck(handler: TransactionCheckHandler): void {
    this.#transactions.onCheck = handler;
  }

  /**
   * The retry policy: the brokers' default; FIFO is not known here.
   *
   * @returns The policy.
   */
  groupRetryPolicy(): GroupRetryPolicy {
    return { maxDeliveryAttempts: CLUSTER_DELIVERY_ATTEMPTS, fifo: false };
  }

  /** Lite pull is not served in cluster mode. */
  pull(): Promise<BackendPullResult> {
    return Promise.resolve({
      status: "UNSUPPORTED",
      remark: `lite pull is ${NOT_IN_CLUSTER_MODE}`,
    });
  }

  /** Lite pull is not served in cluster mode. */
  queueOffsets(): QueueOffsets | undefined {
    return undefined;
  }

  /** Lite pull is not served in cluster mode. */
  offsetByTime(): Promise<number> {
    return Promise.resolve(0);
  }

  /** Lite pull is not served in cluster mode. */
  committedOffset(): number | undefined {
    return undefined;
  }

  /** Lite pull is not served in cluster mode. */
  commitOffset(): void {}

  /** Recall is not served in cluster mode. */
  recall(): Promise<BackendRecallResult> {
    return Promise.resolve({ status: "UNSUPPORTED", remark: `recall is ${NOT_IN_CLUSTER_MODE}` });
  }

  /**
   * Pop from the topic's brokers, one after another, until one has messages.
   *
   * @param request What to pop.
   * @returns Messages with gRPC receipt handles.
   */
  async receive(request: BackendReceiveRequest): Promise<BackendReceiveResult> {
    const topic = await this.topic(request.topic);
    const brokers = topic?.brokers.filter((b) => b.readable).map((b) => b.name) ?? [];
    return this.#pop.receive(request, brokers);
  }

  /**
   * Ack on the broker the receipt handle names.
   *
   * @param group Consumer group.
   * @param topic Topic.
   * @param receiptHandle gRPC receipt handle.
   * @returns The outcome.
   */
  ack(group: string, topic: string, receiptHandle: string): Promise<BackendAckResult> {
    return this.#pop.ack(group, topic, receiptHandle);
  }

  /**
   * Change the invisible time on the broker the receipt handle names.
   *
   * @param group Consumer group.
   * @param topic Topic.
   * @param receiptHandle gRPC receipt handle.
   * @param invisibleMs New invisible time, ms.
   * @returns The new handle.
   */
  changeInvisible(
    group: string,
    topic: string,
    receiptHandle: string,
    invisibleMs: number,
  ): Promise<BackendChangeInvisibleResult> {
    return this.#pop.changeInvisible(group, topic, receiptHandle, invisibleMs);
  }

  /** Dead-letter forwarding is not served in cluster mode. */
  forwardToDeadLetter(): Promise<BackendAckResult> {
    return Promise.resolve({
      status: "UNSUPPORTED",
      remark: `dead-letter forwarding is ${NOT_IN_CLUSTER_MODE}`,
    });
  }

  /** Close every broker and name-server channel. */
  async close(): Promise<void> {
    this.#transactions.close();
    await this.#pool.close((client) => client.close());
  }

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The CommitLog offset inside an offset message id (0 when it is not one). */
function commitLogOffsetOf(offsetMessageId: string): number {
  try {
    return decodeOffsetMessageId(offsetMessageId).commitLogOffset;
  } catch {
    return 0;
  }
}
