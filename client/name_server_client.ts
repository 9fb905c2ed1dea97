/**
 * A client of one or more name servers (spec §9): routes, cluster info and
 * topic lists, from whichever name server answers.
 *
 * @module
 */

import { BrokerClient } from "./broker_client.ts";
import { parseEndpoint } from "./connection.ts";
import { MQBrokerError, MQClientError, MQConnectionClosedError, MQTimeoutError } from "./errors.ts";
import type { SessionCredentials } from "./protocol/acl_signature.ts";
import { type ClusterInfo, parseClusterInfo, parseTopicList } from "./protocol/cluster_info.ts";
import { getRouteInfoRequestHeader } from "./protocol/headers.ts";
import { parseTopicRouteData, type TopicRouteData } from "./protocol/heartbeat.ts";
import type { RemotingCommand } from "./protocol/remoting_command.ts";
import { RequestCode } from "./protocol/request_code.ts";
import { ResponseCode } from "./protocol/response_code.ts";

/** Default time one name server has to answer before the next is tried, ms. */
export const NAMESRV_REQUEST_TIMEOUT_MS_DEFAULT = 3_000;

/**
 * Split a `host:port;host:port` name-server list.
 *
 * @param text The list.
 * @returns The addresses.
 * @throws {TypeError} If the list is empty or an address is not `host:port`.
 */
export function parseNameServerList(text: string): string[] {
  const list = text.split(";").map((a) => a.trim()).filter((a) => a !== "");
  if (list.length === 0) {
    throw new TypeError(`Cannot use name servers "${text}": expected host:port;host:port`);
  }
  for (const address of list) parseEndpoint(address);
  return list;
}

/**
 * Requests to a list of name servers. Name servers are independent replicas,
 * so any one can answer: requests go to the current one; when it cannot be
 * reached or does not answer in time, the next one is tried (each at most
 * once per request) and becomes current.
 */
export class NameServerClient implements AsyncDisposable {
  /** The name-server addresses. */
  readonly addresses: readonly string[];
  readonly #clients: BrokerClient[];
  #current = 0;

  /**
   * @param addresses `host:port;host:port` or a list.
   * @param requestTimeoutMs Time each name server has to answer, ms.
   * @param credentials ACL credentials every request is signed with (name servers with ACL on).
   * @throws {TypeError} On an empty list.
   */
  constructor(
    addresses: string | readonly string[],
    requestTimeoutMs = NAMESRV_REQUEST_TIMEOUT_MS_DEFAULT,
    credentials?: SessionCredentials,
  ) {
    this.addresses = typeof addresses === "string" ? parseNameServerList(addresses) : addresses;
    if (this.addresses.length === 0) throw new TypeError("Cannot use name servers: none given");
    this.#clients = this.addresses.map((endpoint) =>
      new BrokerClient({
        endpoint,
        requestTimeoutMs,
        connectTimeoutMs: requestTimeoutMs,
        credentials,
      })
    );
  }

  /**
   * Send a request to the first name server that answers.
   *
   * @param code Request code.
   * @param extFields Header fields.
   * @param body Body.
   * @param signal Aborts the wait.
   * @returns The response, whatever its code.
   * @throws {MQConnectionClosedError} / {MQTimeoutError} When no name server answers.
   */
  async request(
    code: number,
    extFields?: Record<string, string>,
    body?: Uint8Array,
    signal?: AbortSignal,
  ): Promise<RemotingCommand> {
    let lastError: unknown;
    for (let tried = 0; tried < this.#clients.length; tried++) {
      const index = (this.#current + tried) % this.#clients.length;
      try {
        const response = await this.#clients[index].request(code, extFields, body, { signal });
        this.#current = index;
        return response;
      } catch (error) {
        if (!(error instanceof MQConnectionClosedError) && !(error instanceof MQTimeoutError)) {
          throw error;
        }
        lastError = error;
      }
    }
    throw lastError;
  }

  /**
   * A topic's route (standard JSON asked for).
   *
   * @param topic Topic name.
   * @param signal Aborts the wait.
   * @returns The route.
   * @throws {MQBrokerError} TOPIC_NOT_EXIST when no broker has the topic.
   */
  async topicRoute(topic: string, signal?: AbortSignal): Promise<TopicRouteData> {
    const response = await this.request(
      RequestCode.GET_ROUTEINFO_BY_TOPIC,
      getRouteInfoRequestHeader.encode({ topic, acceptStandardJsonOnly: true }),
      undefined,
      signal,
    );
    check(response, RequestCode.GET_ROUTEINFO_BY_TOPIC);
    const parsed = parseTopicRouteData(response.body);
    if (!parsed.ok) throw new MQClientError(`Bad route for topic ${topic}: ${parsed.error}`);
    return parsed.value;
  }

  /**
   * Brokers by name and broker names by cluster.
   *
   * @returns The cluster info.
   */
  async clusterInfo(): Promise<ClusterInfo> {
    const response = await this.request(RequestCode.GET_BROKER_CLUSTER_INFO);
    check(response, RequestCode.GET_BROKER_CLUSTER_INFO);
    const parsed = parseClusterInfo(response.body);
    if (!parsed.ok) throw new MQClientError(`Bad cluster info: ${parsed.error}`);
    return parsed.value;
  }

  /**
   * Every topic the name servers know, or a cluster's.
   *
   * @param cluster Only this cluster's topics, when given.
   * @returns Topic names.
   */
  async topicList(cluster?: string): Promise<string[]> {
    const response = cluster === undefined
      ? await this.request(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER)
      : await this.request(RequestCode.GET_TOPICS_BY_CLUSTER, { cluster });
    check(response, RequestCode.GET_TOPICS_BY_CLUSTER);
    const parsed = parseTopicList(response.body);
    if (!parsed.ok) throw new MQClientError(`Bad topic list: ${parsed.error}`);
    return [...parsed.value.topicList];
  }

  /** Close every connection. Idempotent. */
  async close(): Promise<void> {
    await Promise.all(this.#clients.map((c) => c.close()));
  }

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function check(response: RemotingCommand, code: number): void {
  if (response.code !== ResponseCode.SUCCESS) {
    throw new MQBrokerError(response.code, response.remark, code);
  }
}
