/**
 * JSON bodies the name server answers with: `ClusterInfo`
 * (GET_BROKER_CLUSTER_INFO) and `TopicList` (GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
 * GET_TOPICS_BY_CLUSTER), and `KVTable` (REGISTER_BROKER's response).
 *
 * @module
 */

import { type BrokerData, type JsonResult, parseJsonLenient } from "./heartbeat.ts";

/** Body of GET_BROKER_CLUSTER_INFO (106), RocketMQ `ClusterInfo`. */
export interface ClusterInfo {
  /** Broker name → its addresses by broker id. */
  readonly brokerAddrTable: Readonly<Record<string, BrokerData>>;
  /** Cluster name → broker names. */
  readonly clusterAddrTable: Readonly<Record<string, readonly string[]>>;
}

/** Body of the topic-list requests, RocketMQ `TopicList`. */
export interface TopicList {
  /** Topic names. */
  readonly topicList: readonly string[];
}

/**
 * Parse a GET_BROKER_CLUSTER_INFO body.
 *
 * @param body The response body.
 * @returns The cluster info, or an error.
 */
export function parseClusterInfo(body: Uint8Array | string | undefined): JsonResult<ClusterInfo> {
  const parsed = parseJsonLenient(body);
  if (!parsed.ok) return { ok: false, error: `ClusterInfo: ${parsed.error}` };
  const v = parsed.value as Record<string, unknown> | null;
  const brokers = v?.brokerAddrTable ?? {};
  const clusters = v?.clusterAddrTable ?? {};
  if (typeof brokers !== "object" || brokers === null || typeof clusters !== "object") {
    return { ok: false, error: "ClusterInfo: brokerAddrTable/clusterAddrTable are not objects" };
  }
  for (const [name, data] of Object.entries(brokers as Record<string, unknown>)) {
    const d = data as Record<string, unknown> | null;
    if (typeof d?.brokerAddrs !== "object" || d.brokerAddrs === null) {
      return { ok: false, error: `ClusterInfo: broker ${name} has no brokerAddrs` };
    }
  }
  for (const [name, list] of Object.entries((clusters ?? {}) as Record<string, unknown>)) {
    if (!Array.isArray(list)) {
      return { ok: false, error: `ClusterInfo: cluster ${name} not a list` };
    }
  }
  return {
    ok: true,
    value: {
      brokerAddrTable: brokers as Record<string, BrokerData>,
      clusterAddrTable: clusters as Record<string, string[]>,
    },
  };
}

/**
 * Parse a topic-list body.
 *
 * @param body The response body.
 * @returns The list, or an error.
 */
export function parseTopicList(body: Uint8Array | string | undefined): JsonResult<TopicList> {
  const parsed = parseJsonLenient(body);
  if (!parsed.ok) return { ok: false, error: `TopicList: ${parsed.error}` };
  const list = (parsed.value as Record<string, unknown> | null)?.topicList;
  if (!Array.isArray(list)) return { ok: false, error: "TopicList: topicList is not an array" };
  return { ok: true, value: { topicList: list.map(String) } };
}

/**
 * Parse a `KVTable` body (`{"table": {key: value}}`).
 *
 * @param body The body.
 * @returns The table, or an error.
 */
export function parseKvTable(
  body: Uint8Array | string | undefined,
): JsonResult<Readonly<Record<string, string>>> {
  const parsed = parseJsonLenient(body);
  if (!parsed.ok) return { ok: false, error: `KVTable: ${parsed.error}` };
  const table = (parsed.value as Record<string, unknown> | null)?.table ?? {};
  if (typeof table !== "object" || table === null) {
    return { ok: false, error: "KVTable: table is not an object" };
  }
  return { ok: true, value: table as Record<string, string> };
}
