/**
 * Subscription groups: UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200, body =
 * SubscriptionGroupConfig JSON), GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201) and
 * DELETE_SUBSCRIPTIONGROUP (207).
 *
 * @module
 */

import { parseJsonLenient } from "../../client/protocol/heartbeat.ts";
import { deleteSubscriptionGroupRequestHeader } from "../../client/protocol/ops_headers.ts";
import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type { MessageStore } from "../../store/mod.ts";
import {
  parseSubscriptionGroupConfig,
  type SubscriptionGroupTable,
} from "../domain/subscription_group_table.ts";
import {
  type BrokerResponse,
  decodeHeader,
  RequestError,
  type RequestHandler,
  success,
} from "./broker_context.ts";

/** Handlers of the subscription group requests. */
export class SubscriptionGroupController {
  readonly #groups: SubscriptionGroupTable;
  readonly #store: Pick<MessageStore, "deleteConsumerOffsets">;

  /**
   * @param groups The table.
   * @param store For `cleanOffset` on delete.
   */
  constructor(
    groups: SubscriptionGroupTable,
    store: Pick<MessageStore, "deleteConsumerOffsets">,
  ) {
    this.#groups = groups;
    this.#store = store;
  }

  /**
   * The handlers of this controller.
   *
   * @returns Request code and handler pairs.
   */
  handlers(): [number, RequestHandler][] {
    return [
      [RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, (r) => this.update(r)],
      [RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG, (r) => this.all(r)],
      [RequestCode.DELETE_SUBSCRIPTIONGROUP, (r) => this.delete(r)],
    ];
  }

  /**
   * Create or replace a group's settings; persisted before answering.
   *
   * @param request The request.
   * @returns SUCCESS.
   */
  async update(request: RemotingCommand): Promise<BrokerResponse> {
    const json = parseJsonLenient(request.body);
    const parsed = json.ok ? parseSubscriptionGroupConfig(json.value) : json;
    if (!parsed.ok) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot update subscription group: ${parsed.error}`,
      );
    }
    await this.#groups.put(parsed.config);
    return success(request);
  }

  /**
   * Every group as RocketMQ's SubscriptionGroupWrapper JSON.
   *
   * @param request The request.
   * @returns SUCCESS with the JSON body.
   */
  all(request: RemotingCommand): BrokerResponse {
    return success(request, {}, new TextEncoder().encode(this.#groups.toJson()));
  }

  /**
   * Remove a group's settings (and its offsets with `cleanOffset`).
   *
   * @param request The request.
   * @returns SUCCESS, or SUBSCRIPTION_GROUP_NOT_EXIST.
   */
  async delete(request: RemotingCommand): Promise<BrokerResponse> {
    const header = decodeHeader(deleteSubscriptionGroupRequestHeader, request);
    const existed = await this.#groups.delete(header.groupName);
    if (header.cleanOffset === true) this.#store.deleteConsumerOffsets(header.groupName);
    if (!existed) {
      throw new RequestError(
        ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST,
        `Subscription group ${header.groupName} does not exist`,
      );
    }
    return success(request);
  }
}
