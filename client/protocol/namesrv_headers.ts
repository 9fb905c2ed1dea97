/**
 * Custom headers of the name-server requests (spec §2.7, §9): what brokers
 * send to register themselves and what clients and admin tools send to read
 * routes, cluster info and the KV config.
 *
 * Field names are RocketMQ's own (`RegisterBrokerRequestHeader`,
 * `QueryDataVersionRequestHeader`, `GetKVConfigRequestHeader`, ...), so a
 * RocketMQ broker or client can talk to our name server and ours to theirs.
 *
 * @module
 */

import { defineCodec, type HeaderCodec } from "./headers.ts";

/** Header of REGISTER_BROKER (103). The body is a `RegisterBrokerBody` (see `register_broker_body.ts`). */
export interface RegisterBrokerRequestHeader {
  /** Broker name (the replica group). */
  readonly brokerName: string;
  /** `ip:port` clients use. */
  readonly brokerAddr: string;
  /** Cluster the broker belongs to. */
  readonly clusterName: string;
  /** `ip:port` of the HA service (slaves connect there). */
  readonly haServerAddr: string;
  /** 0 = master, > 0 = slave. */
  readonly brokerId: number;
  /** The broker is dropped when silent this long, ms (default 120,000). */
  readonly heartbeatTimeoutMillis?: number;
  /** Acting-master mode (not used here). */
  readonly enableActingMaster?: boolean;
  /** The body is the compressed (deflate) form. */
  readonly compressed?: boolean;
  /** `crc32(body) & 0x7fffffff`; 0 = unchecked. */
  readonly bodyCrc32?: number;
}

/** Codec of {@linkcode RegisterBrokerRequestHeader}. */
export const registerBrokerRequestHeader: HeaderCodec<RegisterBrokerRequestHeader> = defineCodec(
  "RegisterBrokerRequestHeader",
  [
    ["brokerName", "string", true],
    ["brokerAddr", "string", true],
    ["clusterName", "string", true],
    ["haServerAddr", "string", true],
    ["brokerId", "long", true],
    ["heartbeatTimeoutMillis", "long", false],
    ["enableActingMaster", "bool", false],
    ["compressed", "bool", false],
    ["bodyCrc32", "int", false],
  ],
);

/** Response header of REGISTER_BROKER: where a slave finds its master. */
export interface RegisterBrokerResponseHeader {
  /** The master's HA address (slaves only). */
  readonly haServerAddr?: string;
  /** The master's address (slaves only). */
  readonly masterAddr?: string;
}

/** Codec of {@linkcode RegisterBrokerResponseHeader}. */
export const registerBrokerResponseHeader: HeaderCodec<RegisterBrokerResponseHeader> = defineCodec(
  "RegisterBrokerResponseHeader",
  [
    ["haServerAddr", "string", false],
    ["masterAddr", "string", false],
  ],
);

/** Header of UNREGISTER_BROKER (104) and QUERY_DATA_VERSION (322): which broker. */
export interface BrokerIdentityHeader {
  /** Broker name. */
  readonly brokerName: string;
  /** `ip:port`. */
  readonly brokerAddr: string;
  /** Cluster name. */
  readonly clusterName: string;
  /** Broker id (0 = master). */
  readonly brokerId: number;
}

/** Codec of {@linkcode BrokerIdentityHeader} (RocketMQ `UnRegisterBrokerRequestHeader`, `QueryDataVersionRequestHeader`). */
export const brokerIdentityHeader: HeaderCodec<BrokerIdentityHeader> = defineCodec(
  "BrokerIdentityHeader",
  [
    ["brokerName", "string", true],
    ["brokerAddr", "string", true],
    ["clusterName", "string", true],
    ["brokerId", "long", true],
  ],
);

/** Response header of QUERY_DATA_VERSION: whether the broker must send a full registration. */
export interface QueryDataVersionResponseHeader {
  /** True when the name server's copy differs from the broker's data version (or is missing). */
  readonly changed: boolean;
}

/** Codec of {@linkcode QueryDataVersionResponseHeader}. */
export const queryDataVersionResponseHeader: HeaderCodec<QueryDataVersionResponseHeader> =
  defineCodec("QueryDataVersionResponseHeader", [["changed", "bool", true]]);

/** Header of BROKER_HEARTBEAT (904): a lightweight "still alive". */
export interface BrokerHeartbeatRequestHeader {
  /** Cluster name. */
  readonly clusterName: string;
  /** `ip:port`. */
  readonly brokerAddr: string;
  /** Broker name. */
  readonly brokerName: string;
  /** Broker id. */
  readonly brokerId?: number;
  /** New liveness timeout, ms (RocketMQ's field name keeps its typo). */
  readonly heartbeatTimeoutMills?: number;
}

/** Codec of {@linkcode BrokerHeartbeatRequestHeader}. */
export const brokerHeartbeatRequestHeader: HeaderCodec<BrokerHeartbeatRequestHeader> = defineCodec(
  "BrokerHeartbeatRequestHeader",
  [
    ["clusterName", "string", true],
    ["brokerAddr", "string", true],
    ["brokerName", "string", true],
    ["brokerId", "long", false],
    ["heartbeatTimeoutMills", "long", false],
  ],
);

/** Header of GET_TOPICS_BY_CLUSTER (224). */
export interface GetTopicsByClusterRequestHeader {
  /** Cluster name. */
  readonly cluster: string;
}

/** Codec of {@linkcode GetTopicsByClusterRequestHeader}. */
export const getTopicsByClusterRequestHeader: HeaderCodec<GetTopicsByClusterRequestHeader> =
  defineCodec("GetTopicsByClusterRequestHeader", [["cluster", "string", true]]);

/** Header of DELETE_TOPIC_IN_NAMESRV (216). */
export interface DeleteTopicFromNamesrvRequestHeader {
  /** Topic name. */
  readonly topic: string;
  /** Only this cluster's brokers lose the topic; absent = every broker. */
  readonly clusterName?: string;
}

/** Codec of {@linkcode DeleteTopicFromNamesrvRequestHeader}. */
export const deleteTopicFromNamesrvRequestHeader: HeaderCodec<
  DeleteTopicFromNamesrvRequestHeader
> = defineCodec("DeleteTopicFromNamesrvRequestHeader", [
  ["topic", "string", true],
  ["clusterName", "string", false],
]);

/** Header of REGISTER_TOPIC_IN_NAMESRV (217); the body is a `TopicRouteData` with the queue data. */
export interface RegisterTopicRequestHeader {
  /** Topic name. */
  readonly topic: string;
}

/** Codec of {@linkcode RegisterTopicRequestHeader}. */
export const registerTopicRequestHeader: HeaderCodec<RegisterTopicRequestHeader> = defineCodec(
  "RegisterTopicRequestHeader",
  [["topic", "string", true]],
);

/** Header of PUT_KV_CONFIG (100). */
export interface PutKvConfigRequestHeader {
  /** Namespace, e.g. `ORDER_TOPIC_CONFIG`. */
  readonly namespace: string;
  /** Key. */
  readonly key: string;
  /** Value. */
  readonly value: string;
}

/** Codec of {@linkcode PutKvConfigRequestHeader}. */
export const putKvConfigRequestHeader: HeaderCodec<PutKvConfigRequestHeader> = defineCodec(
  "PutKVConfigRequestHeader",
  [
    ["namespace", "string", true],
    ["key", "string", true],
    ["value", "string", true],
  ],
);

/** Header of GET_KV_CONFIG (101) and DELETE_KV_CONFIG (102). */
export interface KvConfigKeyHeader {
  /** Namespace. */
  readonly namespace: string;
  /** Key. */
  readonly key: string;
}

/** Codec of {@linkcode KvConfigKeyHeader}. */
export const kvConfigKeyHeader: HeaderCodec<KvConfigKeyHeader> = defineCodec(
  "GetKVConfigRequestHeader",
  [
    ["namespace", "string", true],
    ["key", "string", true],
  ],
);

/** Response header of GET_KV_CONFIG. */
export interface GetKvConfigResponseHeader {
  /** The value. */
  readonly value?: string;
}

/** Codec of {@linkcode GetKvConfigResponseHeader}. */
export const getKvConfigResponseHeader: HeaderCodec<GetKvConfigResponseHeader> = defineCodec(
  "GetKVConfigResponseHeader",
  [["value", "string", false]],
);

/** KV namespace whose entries (topic → `brokerName:queueNums;...`) make a topic "ordered". */
export const ORDER_TOPIC_CONFIG_NAMESPACE = "ORDER_TOPIC_CONFIG";
