/**
 * Header codecs of the operations requests: subscription groups, broker
 * stats and ACL accounts (field names as RocketMQ's request headers).
 *
 * @module
 */

import { defineCodec, type HeaderCodec } from "./headers.ts";

/** Header of DELETE_SUBSCRIPTIONGROUP (207). */
export interface DeleteSubscriptionGroupRequestHeader {
  /** The group. */
  readonly groupName: string;
  /** Also forget the group's committed offsets. */
  readonly cleanOffset?: boolean;
}

/** DELETE_SUBSCRIPTIONGROUP (207) header codec. */
export const deleteSubscriptionGroupRequestHeader: HeaderCodec<
  DeleteSubscriptionGroupRequestHeader
> = defineCodec("DeleteSubscriptionGroupRequestHeader", [
  ["groupName", "string", true],
  ["cleanOffset", "bool", false],
]);

/** Header of VIEW_BROKER_STATS_DATA (315). */
export interface ViewBrokerStatsDataRequestHeader {
  /** `TOPIC_PUT_NUMS`, `TOPIC_PUT_SIZE`, `GROUP_GET_NUMS` or `GROUP_GET_SIZE`. */
  readonly statsName: string;
  /** Topic, or `topic@group`. */
  readonly statsKey: string;
}

/** VIEW_BROKER_STATS_DATA (315) header codec. */
export const viewBrokerStatsDataRequestHeader: HeaderCodec<ViewBrokerStatsDataRequestHeader> =
  defineCodec("ViewBrokerStatsDataRequestHeader", [
    ["statsName", "string", true],
    ["statsKey", "string", true],
  ]);

/** Header of UPDATE_AND_CREATE_ACL_CONFIG (50): one account; perms lists are comma-separated. */
export interface CreateAccessConfigRequestHeader {
  readonly accessKey: string;
  readonly secretKey: string;
  readonly whiteRemoteAddress?: string;
  readonly defaultTopicPerm?: string;
  readonly defaultGroupPerm?: string;
  readonly admin?: boolean;
  /** `topicA=PUB,topicB=SUB`. */
  readonly topicPerms?: string;
  /** `groupA=SUB`. */
  readonly groupPerms?: string;
}

/** UPDATE_AND_CREATE_ACL_CONFIG (50) header codec. */
export const createAccessConfigRequestHeader: HeaderCodec<CreateAccessConfigRequestHeader> =
  defineCodec("CreateAccessConfigRequestHeader", [
    ["accessKey", "string", true],
    ["secretKey", "string", true],
    ["whiteRemoteAddress", "string", false],
    ["defaultTopicPerm", "string", false],
    ["defaultGroupPerm", "string", false],
    ["admin", "bool", false],
    ["topicPerms", "string", false],
    ["groupPerms", "string", false],
  ]);

/** Header of DELETE_ACL_CONFIG (51). */
export interface DeleteAccessConfigRequestHeader {
  readonly accessKey: string;
}

/** DELETE_ACL_CONFIG (51) header codec. */
export const deleteAccessConfigRequestHeader: HeaderCodec<DeleteAccessConfigRequestHeader> =
  defineCodec("DeleteAccessConfigRequestHeader", [["accessKey", "string", true]]);
