/**
 * Operations requests for admin tools: subscription groups, broker config,
 * broker stats, ACL accounts, offsets by time and the group/topic map. Kept
 * beside `Admin` (which owns topics, progress and messages) so each stays
 * readable; both speak to one broker over their own connection.
 *
 * @module
 */

import { BrokerClient } from "./broker_client.ts";
import { MQClientError } from "./errors.ts";
import type { SessionCredentials } from "./protocol/acl_signature.ts";
import { parseConsumerOffsetTable } from "./protocol/heartbeat.ts";
import { offsetResponseHeader, searchOffsetRequestHeader } from "./protocol/headers.ts";
import {
  createAccessConfigRequestHeader,
  deleteAccessConfigRequestHeader,
  deleteSubscriptionGroupRequestHeader,
  viewBrokerStatsDataRequestHeader,
} from "./protocol/ops_headers.ts";
import { RequestCode } from "./protocol/request_code.ts";

/** Options of {@linkcode createOpsAdmin}. */
export interface OpsAdminOptions {
  /** Broker address, `host:port`. */
  readonly endpoint: string;
  /** Per-request timeout, ms. Default 3000. */
  readonly requestTimeoutMs?: number;
  /** ACL credentials; every request is signed with them. */
  readonly credentials?: SessionCredentials;
}

/** A subscription group's settings (RocketMQ `SubscriptionGroupConfig`). */
export interface SubscriptionGroup {
  readonly groupName: string;
  readonly consumeEnable?: boolean;
  readonly consumeBroadcastEnable?: boolean;
  readonly consumeMessageOrderly?: boolean;
  readonly consumeFromMinEnable?: boolean;
  readonly retryQueueNums?: number;
  /** Attempts before the DLQ; -1 = the broker default. */
  readonly retryMaxTimes?: number;
  readonly brokerId?: number;
  readonly whichBrokerWhenConsumeSlowly?: number;
  readonly notifyConsumerIdsChangedEnable?: boolean;
}

/** One window of broker stats. */
export interface StatsWindow {
  readonly sum: number;
  readonly tps: number;
  readonly avgpt: number;
}

/** RocketMQ's `BrokerStatsData`. */
export interface BrokerStatsData {
  readonly statsMinute: StatsWindow;
  readonly statsHour: StatsWindow;
  readonly statsDay: StatsWindow;
}

/** An ACL account as sent to the broker. */
export interface AclAccount {
  readonly accessKey: string;
  readonly secretKey: string;
  readonly whiteRemoteAddress?: string;
  readonly admin?: boolean;
  readonly defaultTopicPerm?: string;
  readonly defaultGroupPerm?: string;
  /** `["topicA=PUB", "topicB=PUB|SUB"]`. */
  readonly topicPerms?: readonly string[];
  readonly groupPerms?: readonly string[];
}

const decoder = new TextDecoder();

function json<T>(body: Uint8Array | undefined, what: string): T {
  try {
    return JSON.parse(decoder.decode(body ?? new Uint8Array())) as T;
  } catch (error) {
    throw new MQClientError(`Bad ${what} from broker: ${(error as Error).message}`);
  }
}

/** Operations requests to one broker. Create with {@linkcode createOpsAdmin}. */
export class OpsAdmin implements AsyncDisposable {
  readonly #client: BrokerClient;

  /** @param options Endpoint, timeout, credentials. */
  constructor(options: OpsAdminOptions) {
    this.#client = new BrokerClient({
      endpoint: options.endpoint,
      requestTimeoutMs: options.requestTimeoutMs,
      credentials: options.credentials,
    });
  }

  /**
   * Create or replace a subscription group.
   *
   * @param group The settings (omitted fields take RocketMQ's defaults).
   * @throws {MQBrokerError} If the broker refuses (bad field, no permission).
   */
  async updateSubscriptionGroup(group: SubscriptionGroup): Promise<void> {
    const body = new TextEncoder().encode(JSON.stringify(group));
    await this.#client.invoke(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, {}, body);
  }

  /**
   * Delete a subscription group.
   *
   * @param group Group name.
   * @param cleanOffset Also drop its committed offsets.
   * @throws {MQBrokerError} SUBSCRIPTION_GROUP_NOT_EXIST, or another refusal.
   */
  async deleteSubscriptionGroup(group: string, cleanOffset = false): Promise<void> {
    await this.#client.invoke(
      RequestCode.DELETE_SUBSCRIPTIONGROUP,
      deleteSubscriptionGroupRequestHeader.encode({ groupName: group, cleanOffset }),
    );
  }

  /**
   * Every subscription group.
   *
   * @returns The groups, by name.
   */
  async listSubscriptionGroups(): Promise<SubscriptionGroup[]> {
    const response = await this.#client.invoke(RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG);
    const wrapper = json<{ subscriptionGroupTable?: Record<string, SubscriptionGroup> }>(
      response.body,
      "subscription groups",
    );
    return Object.values(wrapper.subscriptionGroupTable ?? {});
  }

  /**
   * The broker's config in force.
   *
   * @returns Option keys to values (as text).
   */
  async getBrokerConfig(): Promise<Record<string, string>> {
    const response = await this.#client.invoke(RequestCode.GET_BROKER_CONFIG);
    const out: Record<string, string> = {};
    for (const line of decoder.decode(response.body ?? new Uint8Array()).split("\n")) {
      const eq = line.indexOf("=");
      if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
    }
    return out;
  }

  /**
   * Change run-time changeable options.
   *
   * @param changes Option keys to new values.
   * @throws {MQBrokerError} INVALID_PARAMETER naming an option that cannot change or a bad value.
   */
  async updateBrokerConfig(changes: Readonly<Record<string, string>>): Promise<void> {
    const text = Object.entries(changes).map(([k, v]) => `${k}=${v}`).join("\n");
    await this.#client.invoke(
      RequestCode.UPDATE_BROKER_CONFIG,
      {},
      new TextEncoder().encode(text),
    );
  }

  /**
   * Windowed stats of one key.
   *
   * @param statsName `TOPIC_PUT_NUMS`, `TOPIC_PUT_SIZE`, `GROUP_GET_NUMS` or `GROUP_GET_SIZE`.
   * @param statsKey Topic, or `topic@group`.
   * @returns Minute, hour and day windows.
   */
  async viewBrokerStats(statsName: string, statsKey: string): Promise<BrokerStatsData> {
    const response = await this.#client.invoke(
      RequestCode.VIEW_BROKER_STATS_DATA,
      viewBrokerStatsDataRequestHeader.encode({ statsName, statsKey }),
    );
    return json<BrokerStatsData>(response.body, "stats");
  }

  /**
   * Which consumer groups have committed offsets on which topics.
   *
   * @returns Topic to group names.
   */
  async groupsByTopic(): Promise<Map<string, string[]>> {
    const response = await this.#client.invoke(RequestCode.GET_ALL_CONSUMER_OFFSET);
    const table = parseConsumerOffsetTable(response.body);
    if (!table.ok) throw new MQClientError(`Bad consumer offset table: ${table.error}`);
    const out = new Map<string, string[]>();
    for (const key of Object.keys(table.value.offsetTable)) {
      const at = key.lastIndexOf("@");
      const topic = key.slice(0, at);
      out.set(topic, [...(out.get(topic) ?? []), key.slice(at + 1)]);
    }
    return out;
  }

  /**
   * The first queue offset stored at or after a time.
   *
   * @param topic Topic.
   * @param queueId Queue.
   * @param timestampMs Epoch ms.
   * @returns The offset.
   */
  async searchOffset(topic: string, queueId: number, timestampMs: number): Promise<number> {
    const response = await this.#client.invoke(
      RequestCode.SEARCH_OFFSET_BY_TIMESTAMP,
      searchOffsetRequestHeader.encode({ topic, queueId, timestamp: timestampMs }),
    );
    const decoded = offsetResponseHeader.decode(response.extFields);
    if (!decoded.ok) throw new MQClientError(`Bad offset response: ${decoded.error}`);
    return decoded.header.offset;
  }

  /**
   * Create or replace an ACL account (needs an admin account).
   *
   * @param account The account.
   */
  async updateAclAccount(account: AclAccount): Promise<void> {
    await this.#client.invoke(
      RequestCode.UPDATE_AND_CREATE_ACL_CONFIG,
      createAccessConfigRequestHeader.encode({
        accessKey: account.accessKey,
        secretKey: account.secretKey,
        whiteRemoteAddress: account.whiteRemoteAddress,
        admin: account.admin,
        defaultTopicPerm: account.defaultTopicPerm,
        defaultGroupPerm: account.defaultGroupPerm,
        topicPerms: account.topicPerms?.join(","),
        groupPerms: account.groupPerms?.join(","),
      }),
    );
  }

  /**
   * Delete an ACL account (needs an admin account).
   *
   * @param accessKey The account's key.
   */
  async deleteAclAccount(accessKey: string): Promise<void> {
    await this.#client.invoke(
      RequestCode.DELETE_ACL_CONFIG,
      deleteAccessConfigRequestHeader.encode({ accessKey }),
    );
  }

  /**
   * The ACL white list and accounts (secrets masked).
   *
   * @returns The white list and accounts.
   */
  async listAclAccounts(): Promise<
    { globalWhiteAddrs: string[]; plainAccessConfigs: AclAccount[] }
  > {
    const response = await this.#client.invoke(RequestCode.GET_BROKER_CLUSTER_ACL_CONFIG);
    return json(response.body, "ACL config");
  }

  /** Close the connection. */
  close(): Promise<void> {
    return this.#client.close();
  }

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Create an operations admin for one broker (connects on first request).
 *
 * @param options Endpoint, timeout, credentials.
 * @returns The admin.
 */
export function createOpsAdmin(options: OpsAdminOptions): OpsAdmin {
  return new OpsAdmin(options);
}
