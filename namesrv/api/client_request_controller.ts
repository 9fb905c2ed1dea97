/**
 * What clients and admin tools ask the name server: routes
 * (GET_ROUTEINFO_BY_TOPIC 105), cluster info (106), topic lists (206, 224),
 * topic registration and removal (216, 217) and the KV config (100–102).
 *
 * @module
 */

import { createResponse, type RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { getRouteInfoRequestHeader } from "../../client/protocol/headers.ts";
import { encodeJsonBody, parseTopicRouteData } from "../../client/protocol/heartbeat.ts";
import {
  deleteTopicFromNamesrvRequestHeader,
  getKvConfigResponseHeader,
  getTopicsByClusterRequestHeader,
  kvConfigKeyHeader,
  ORDER_TOPIC_CONFIG_NAMESPACE,
  putKvConfigRequestHeader,
  registerTopicRequestHeader,
} from "../../client/protocol/namesrv_headers.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type { TopicRoute } from "../domain/route_info_manager.ts";
import {
  type BrokerResponse,
  decodeHeader,
  type NamesrvContext,
  type RequestHandler,
  success,
} from "./namesrv_context.ts";

/**
 * Remoting `version` from which clients get standard JSON routes
 * (RocketMQ `MQVersion.Version.V4_9_4`); older ones get fastjson's bare
 * integer keys (`"brokerAddrs":{0:"10.0.0.1:10911"}`).
 */
export const STANDARD_JSON_ROUTE_VERSION_MIN = 401;

/** Most encoded routes kept; the cache is cleared when full or when routes change. */
export const ROUTE_CACHE_ENTRIES_MAX = 100_000;

/**
 * Encode a route as RocketMQ's `TopicRouteData`.
 *
 * @param route Queue and broker data.
 * @param orderTopicConf The ORDER_TOPIC_CONFIG KV entry, if any.
 * @param standard Standard JSON (quoted keys) or fastjson's bare integer keys.
 * @returns The body bytes.
 */
export function encodeTopicRoute(
  route: TopicRoute,
  orderTopicConf: string | undefined,
  standard: boolean,
): Uint8Array {
  const json = JSON.stringify({
    orderTopicConf,
    queueDatas: route.queueDatas,
    brokerDatas: route.brokerDatas,
    filterServerTable: {},
  });
  // Only brokerAddrs has all-digit keys; a string value is never followed by ':'.
  return new TextEncoder().encode(standard ? json : json.replace(/"(\d+)":/g, "$1:"));
}

/** Client-facing requests. Encoded routes are cached until routes or the KV config change. */
export class ClientRequestController {
  readonly #ctx: NamesrvContext;
  readonly #routeCache = new Map<string, Uint8Array>();
  #cacheStamp = "";

  /** @param ctx The name server's object graph. */
  constructor(ctx: NamesrvContext) {
    this.#ctx = ctx;
  }

  /**
   * The request handlers of this controller.
   *
   * @returns Code and handler pairs.
   */
  handlers(): [number, RequestHandler][] {
    return [
      [RequestCode.GET_ROUTEINFO_BY_TOPIC, (r) => this.routeInfo(r)],
      [RequestCode.GET_BROKER_CLUSTER_INFO, (r) => this.clusterInfo(r)],
      [RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER, (r) => this.allTopics(r)],
      [RequestCode.GET_TOPICS_BY_CLUSTER, (r) => this.topicsByCluster(r)],
      [RequestCode.DELETE_TOPIC_IN_NAMESRV, (r) => this.deleteTopic(r)],
      [RequestCode.REGISTER_TOPIC_IN_NAMESRV, (r) => this.registerTopic(r)],
      [RequestCode.PUT_KV_CONFIG, (r) => this.putKvConfig(r)],
      [RequestCode.GET_KV_CONFIG, (r) => this.getKvConfig(r)],
      [RequestCode.DELETE_KV_CONFIG, (r) => this.deleteKvConfig(r)],
    ];
  }

  /**
   * GET_ROUTEINFO_BY_TOPIC: standard JSON when `acceptStandardJsonOnly` or the
   * client's `version` ≥ {@linkcode STANDARD_JSON_ROUTE_VERSION_MIN}.
   *
   * @param request The request.
   * @returns SUCCESS with `TopicRouteData`, or TOPIC_NOT_EXIST.
   */
  routeInfo(request: RemotingCommand): BrokerResponse {
    const h = decodeHeader(getRouteInfoRequestHeader, request);
    const standard = h.acceptStandardJsonOnly === true ||
      request.version >= STANDARD_JSON_ROUTE_VERSION_MIN;
    const stamp = `${this.#ctx.routes.version}/${this.#ctx.kv.version}`;
    if (stamp !== this.#cacheStamp || this.#routeCache.size >= ROUTE_CACHE_ENTRIES_MAX) {
      this.#routeCache.clear();
      this.#cacheStamp = stamp;
    }
    const key = standard ? h.topic : `\u0000${h.topic}`;
    let body = this.#routeCache.get(key);
    if (body === undefined) {
      const route = this.#ctx.routes.topicRoute(h.topic);
      if (route === undefined) {
        return createResponse(
          request,
          ResponseCode.TOPIC_NOT_EXIST,
          `No topic route info in name server for the topic: ${h.topic}`,
        );
      }
      body = encodeTopicRoute(
        route,
        this.#ctx.kv.get(ORDER_TOPIC_CONFIG_NAMESPACE, h.topic),
        standard,
      );
      this.#routeCache.set(key, body);
    }
    return success(request, {}, body);
  }

  /**
   * GET_BROKER_CLUSTER_INFO: `{"brokerAddrTable": {...}, "clusterAddrTable": {...}}`.
   *
   * @param request The request.
   * @returns SUCCESS with the cluster info.
   */
  clusterInfo(request: RemotingCommand): BrokerResponse {
    return success(request, {}, encodeJsonBody(this.#ctx.routes.clusterInfo()));
  }

  /**
   * GET_ALL_TOPIC_LIST_FROM_NAMESERVER: `{"topicList": [...]}`.
   *
   * @param request The request.
   * @returns SUCCESS with every topic.
   */
  allTopics(request: RemotingCommand): BrokerResponse {
    return success(request, {}, encodeJsonBody({ topicList: this.#ctx.routes.allTopics() }));
  }

  /**
   * GET_TOPICS_BY_CLUSTER: topics hosted by the cluster's brokers.
   *
   * @param request The request.
   * @returns SUCCESS with `{"topicList": [...]}`.
   */
  topicsByCluster(request: RemotingCommand): BrokerResponse {
    const h = decodeHeader(getTopicsByClusterRequestHeader, request);
    return success(
      request,
      {},
      encodeJsonBody({ topicList: this.#ctx.routes.topicsByCluster(h.cluster) }),
    );
  }

  /**
   * DELETE_TOPIC_IN_NAMESRV: drop the topic's queues (of `clusterName`'s brokers, or all).
   *
   * @param request The request.
   * @returns SUCCESS.
   */
  deleteTopic(request: RemotingCommand): BrokerResponse {
    const h = decodeHeader(deleteTopicFromNamesrvRequestHeader, request);
    this.#ctx.routes.deleteTopic(h.topic, h.clusterName);
    return success(request);
  }

  /**
   * REGISTER_TOPIC_IN_NAMESRV: body = `TopicRouteData` whose `queueDatas` are
   * added for brokers that are registered (others are ignored).
   *
   * @param request The request.
   * @returns SUCCESS, or INVALID_PARAMETER for a malformed body.
   */
  registerTopic(request: RemotingCommand): BrokerResponse {
    const h = decodeHeader(registerTopicRequestHeader, request);
    const parsed = parseTopicRouteData(request.body);
    if (!parsed.ok) {
      return createResponse(
        request,
        ResponseCode.INVALID_PARAMETER,
        `Cannot register topic ${h.topic}: ${parsed.error}`,
      );
    }
    for (const q of parsed.value.queueDatas) {
      if (!this.#ctx.routes.hasBroker(q.brokerName)) continue;
      this.#ctx.routes.putQueueData(h.topic, {
        brokerName: q.brokerName,
        readQueueNums: q.readQueueNums,
        writeQueueNums: q.writeQueueNums,
        perm: q.perm,
        topicSysFlag: q.topicSysFlag ?? 0,
      });
    }
    return success(request);
  }

  /**
   * PUT_KV_CONFIG.
   *
   * @param request The request.
   * @returns SUCCESS once persisted.
   */
  async putKvConfig(request: RemotingCommand): Promise<BrokerResponse> {
    const h = decodeHeader(putKvConfigRequestHeader, request);
    await this.#ctx.kv.put(h.namespace, h.key, h.value);
    return success(request);
  }

  /**
   * GET_KV_CONFIG.
   *
   * @param request The request.
   * @returns SUCCESS with `value`, or QUERY_NOT_FOUND.
   */
  getKvConfig(request: RemotingCommand): BrokerResponse {
    const h = decodeHeader(kvConfigKeyHeader, request);
    const value = this.#ctx.kv.get(h.namespace, h.key);
    if (value === undefined) {
      return createResponse(
        request,
        ResponseCode.QUERY_NOT_FOUND,
        `No config item, Namespace: ${h.namespace} Key: ${h.key}`,
      );
    }
    return success(request, getKvConfigResponseHeader.encode({ value }));
  }

  /**
   * DELETE_KV_CONFIG.
   *
   * @param request The request.
   * @returns SUCCESS once persisted (also when the key did not exist).
   */
  async deleteKvConfig(request: RemotingCommand): Promise<BrokerResponse> {
    const h = decodeHeader(kvConfigKeyHeader, request);
    await this.#ctx.kv.delete(h.namespace, h.key);
    return success(request);
  }
}
