/**
 * Administers a cluster through its name servers: cluster membership,
 * routes, topic lists, topics created or deleted on every master of a
 * cluster, consumer progress across brokers, and a broker's runtime status.
 *
 * @module
 */

import { Admin, type CreateTopicOptions, type QueueProgress } from "./admin.ts";
import { BrokerClient } from "./broker_client.ts";
import { MQBrokerError, MQClientError } from "./errors.ts";
import { validateName } from "./message.ts";
import { NameServerClient } from "./name_server_client.ts";
import type { SessionCredentials } from "./protocol/acl_signature.ts";
import { type ClusterInfo, parseKvTable } from "./protocol/cluster_info.ts";
import type { TopicRouteData } from "./protocol/heartbeat.ts";
import { deleteTopicFromNamesrvRequestHeader } from "./protocol/namesrv_headers.ts";
import { RequestCode } from "./protocol/request_code.ts";
import { ResponseCode } from "./protocol/response_code.ts";

/** Options of {@linkcode ClusterAdmin}. */
export interface ClusterAdminOptions {
  /** Name servers, `host:port;host:port`. */
  readonly nameServer: string;
  /** Per-request timeout, ms. Default 3000. */
  readonly requestTimeoutMs?: number;
  /** ACL credentials; every request, to name servers and brokers, is signed with them. */
  readonly credentials?: SessionCredentials;
}

/** A master broker of a cluster. */
export interface MasterBroker {
  /** Broker name. */
  readonly brokerName: string;
  /** Master address. */
  readonly addr: string;
}

/** One queue's progress, with the broker that owns it. */
export interface ClusterQueueProgress extends QueueProgress {
  /** Broker name. */
  readonly brokerName: string;
}

/**
 * Cluster-wide administration. Each operation asks the name servers where
 * the brokers are, then talks to each broker (through the one-broker
 * {@linkcode Admin}). Create with `new`, dispose with `await using`.
 */
export class ClusterAdmin implements AsyncDisposable {
  readonly #nameServer: NameServerClient;
  readonly #requestTimeoutMs: number | undefined;
  readonly #credentials: SessionCredentials | undefined;

  /**
   * Create an admin; nothing connects until the first call.
   *
   * @param options Name servers and timeout.
   * @throws {TypeError} On an empty name-server list.
   */
  constructor(options: ClusterAdminOptions) {
    this.#nameServer = new NameServerClient(
      options.nameServer,
      options.requestTimeoutMs,
      options.credentials,
    );
    this.#requestTimeoutMs = options.requestTimeoutMs;
    this.#credentials = options.credentials;
  }

  /**
   * Brokers by name and broker names by cluster.
   *
   * @returns The cluster info.
   */
  clusterInfo(): Promise<ClusterInfo> {
    return this.#nameServer.clusterInfo();
  }

  /**
   * A topic's route.
   *
   * @param topic Topic name.
   * @returns The route.
   * @throws {MQBrokerError} TOPIC_NOT_EXIST.
   */
  topicRoute(topic: string): Promise<TopicRouteData> {
    return this.#nameServer.topicRoute(topic);
  }

  /**
   * Every topic, or a cluster's.
   *
   * @param cluster Cluster name.
   * @returns Topic names.
   */
  topicList(cluster?: string): Promise<string[]> {
    return this.#nameServer.topicList(cluster);
  }

  /**
   * The master of every broker of a cluster.
   *
   * @param cluster Cluster name.
   * @returns Masters, by broker name.
   * @throws {MQClientError} If the cluster is unknown.
   */
  async masters(cluster: string): Promise<MasterBroker[]> {
    const info = await this.clusterInfo();
    const names = info.clusterAddrTable[cluster];
    if (names === undefined) {
      throw new MQClientError(`Cluster ${cluster} is not known to the name servers`);
    }
    const out: MasterBroker[] = [];
    for (const brokerName of [...names].sort()) {
      const addr = info.brokerAddrTable[brokerName]?.brokerAddrs["0"];
      if (addr !== undefined) out.push({ brokerName, addr });
    }
    return out;
  }

  /**
   * Create or update a topic on every master of a cluster (each broker then
   * registers it with the name servers).
   *
   * @param topic Topic name.
   * @param cluster Cluster name.
   * @param options Queue counts, perm, order.
   * @returns The masters it was created on.
   */
  async createTopic(
    topic: string,
    cluster: string,
    options: CreateTopicOptions = {},
  ): Promise<MasterBroker[]> {
    validateName("topic", topic, "create topic");
    const masters = await this.masters(cluster);
    await Promise.all(
      masters.map((m) => this.#withAdmin(m.addr, (a) => a.createTopic(topic, options))),
    );
    return masters;
  }

  /**
   * Delete a topic from every master of a cluster and from every name server.
   *
   * @param topic Topic name.
   * @param cluster Cluster name.
   * @returns The masters it was deleted from.
   */
  async deleteTopic(topic: string, cluster: string): Promise<MasterBroker[]> {
    validateName("topic", topic, "delete topic");
    const masters = await this.masters(cluster);
    await Promise.all(masters.map((m) => this.#withAdmin(m.addr, (a) => a.deleteTopic(topic))));
    // Name servers are independent: each one forgets the topic.
    await Promise.all(this.#nameServer.addresses.map(async (endpoint) => {
      await using client = new BrokerClient({
        endpoint,
        requestTimeoutMs: this.#requestTimeoutMs,
        credentials: this.#credentials,
      });
      await client.invoke(
        RequestCode.DELETE_TOPIC_IN_NAMESRV,
        deleteTopicFromNamesrvRequestHeader.encode({ topic, clusterName: cluster }),
      );
    }));
    return masters;
  }

  /**
   * A consumer group's progress on every broker that hosts the topic (or,
   * without a topic, on every master of every cluster).
   *
   * @param group Consumer group.
   * @param topic Topic name.
   * @returns Per-queue progress with broker names, and the total lag.
   */
  async consumerProgress(
    group: string,
    topic?: string,
  ): Promise<{ queues: ClusterQueueProgress[]; totalLag: number }> {
    let brokers: MasterBroker[];
    if (topic !== undefined) {
      const route = await this.topicRoute(topic);
      brokers = route.brokerDatas.flatMap((d) =>
        d.brokerAddrs["0"] === undefined
          ? []
          : [{ brokerName: d.brokerName, addr: d.brokerAddrs["0"] }]
      );
    } else {
      const info = await this.clusterInfo();
      brokers = Object.values(info.brokerAddrTable).flatMap((d) =>
        d.brokerAddrs["0"] === undefined
          ? []
          : [{ brokerName: d.brokerName, addr: d.brokerAddrs["0"] }]
      );
    }
    const parts = await Promise.all(brokers.map((b) =>
      this.#withAdmin(b.addr, async (a) => {
        try {
          const progress = await a.consumerProgress(group, topic);
          return progress.queues.map((q) => ({ ...q, brokerName: b.brokerName }));
        } catch (error) {
          // A broker that never saw the topic has no progress to report.
          if (
            error instanceof MQBrokerError && error.code === ResponseCode.TOPIC_NOT_EXIST
          ) return [];
          throw error;
        }
      })
    ));
    const queues = parts.flat().sort((a, b) =>
      a.topic !== b.topic
        ? (a.topic < b.topic ? -1 : 1)
        : a.brokerName !== b.brokerName
        ? (a.brokerName < b.brokerName ? -1 : 1)
        : a.queueId - b.queueId
    );
    return { queues, totalLag: queues.reduce((sum, q) => sum + q.lag, 0) };
  }

  /**
   * A broker's runtime status (GET_BROKER_RUNTIME_INFO).
   *
   * @param addr Broker address.
   * @returns Its KV table.
   */
  async brokerStatus(addr: string): Promise<Readonly<Record<string, string>>> {
    await using client = new BrokerClient({
      endpoint: addr,
      requestTimeoutMs: this.#requestTimeoutMs,
      credentials: this.#credentials,
    });
    const response = await client.invoke(RequestCode.GET_BROKER_RUNTIME_INFO);
    const parsed = parseKvTable(response.body);
    if (!parsed.ok) throw new MQClientError(`Bad runtime info from ${addr}: ${parsed.error}`);
    return parsed.value;
  }

  async #withAdmin<T>(addr: string, work: (admin: Admin) => Promise<T>): Promise<T> {
    await using admin = new Admin({
      endpoint: addr,
      requestTimeoutMs: this.#requestTimeoutMs,
      credentials: this.#credentials,
    });
    return await work(admin);
  }

  /** Close the name-server channels. */
  close(): Promise<void> {
    return this.#nameServer.close();
  }

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
