/**
 * RocketMQ remoting request codes (the `code` of a request header).
 *
 * Numbers are RocketMQ's own, so a client written from RocketMQ's protocol
 * documents can talk to this broker.
 *
 * @module
 */

/** Request codes by name. */
export const RequestCode = Object.freeze(
  {
    SEND_MESSAGE: 10,
    PULL_MESSAGE: 11,
    QUERY_MESSAGE: 12,
    QUERY_BROKER_OFFSET: 13,
    QUERY_CONSUMER_OFFSET: 14,
    UPDATE_CONSUMER_OFFSET: 15,
    UPDATE_AND_CREATE_TOPIC: 17,
    UPDATE_AND_CREATE_TOPIC_LIST: 18,
    GET_ALL_TOPIC_CONFIG: 21,
    SEARCH_OFFSET_BY_TIMESTAMP: 29,
    GET_MAX_OFFSET: 30,
    GET_MIN_OFFSET: 31,
    GET_EARLIEST_MSG_STORETIME: 32,
    VIEW_MESSAGE_BY_ID: 33,
    HEART_BEAT: 34,
    UNREGISTER_CLIENT: 35,
    CONSUMER_SEND_MSG_BACK: 36,
    END_TRANSACTION: 37,
    GET_CONSUMER_LIST_BY_GROUP: 38,
    CHECK_TRANSACTION_STATE: 39,
    NOTIFY_CONSUMER_IDS_CHANGED: 40,
    LOCK_BATCH_MQ: 41,
    UNLOCK_BATCH_MQ: 42,
    GET_ALL_CONSUMER_OFFSET: 43,
    GET_ALL_DELAY_OFFSET: 45,
    PUT_KV_CONFIG: 100,
    GET_KV_CONFIG: 101,
    DELETE_KV_CONFIG: 102,
    REGISTER_BROKER: 103,
    UNREGISTER_BROKER: 104,
    GET_ROUTEINFO_BY_TOPIC: 105,
    GET_BROKER_CLUSTER_INFO: 106,
    UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: 200,
    GET_ALL_SUBSCRIPTIONGROUP_CONFIG: 201,
    GET_ALL_TOPIC_LIST_FROM_NAMESERVER: 206,
    DELETE_SUBSCRIPTIONGROUP: 207,
    DELETE_TOPIC_IN_BROKER: 215,
    DELETE_TOPIC_IN_NAMESRV: 216,
    REGISTER_TOPIC_IN_NAMESRV: 217,
    SEND_MESSAGE_V2: 310,
    SEND_BATCH_MESSAGE: 320,
    QUERY_DATA_VERSION: 322,
    SEND_REPLY_MESSAGE: 324,
    SEND_REPLY_MESSAGE_V2: 325,
    LITE_PULL_MESSAGE: 361,
    RECALL_MESSAGE: 370,
    QUERY_ASSIGNMENT: 400,
    BROKER_HEARTBEAT: 904,
    POP_MESSAGE: 200050,
    ACK_MESSAGE: 200051,
    PEEK_MESSAGE: 200052,
    CHANGE_MESSAGE_INVISIBLETIME: 200053,
    NOTIFICATION: 200054,
    POLLING_INFO: 200055,
    BATCH_ACK_MESSAGE: 200151,
  } as const,
);

/** A known request code number. */
export type RequestCode = typeof RequestCode[keyof typeof RequestCode];

const REQUEST_NAMES = new Map<number, string>(
  Object.entries(RequestCode).map(([name, code]) => [code, name]),
);

/**
 * The name of a request code, for logs and errors.
 *
 * @param code A request code number.
 * @returns Its RocketMQ name, or `UNKNOWN(<code>)`.
 */
export function requestCodeName(code: number): string {
  return REQUEST_NAMES.get(code) ?? `UNKNOWN(${code})`;
}
