/**
 * ACL account requests: UPDATE_AND_CREATE_ACL_CONFIG (50),
 * DELETE_ACL_CONFIG (51) and GET_BROKER_CLUSTER_ACL_CONFIG (54). All need an
 * admin account (checked by the ACL guard before they arrive). With access
 * control off they answer that it is off. Secrets are never returned.
 *
 * @module
 */

import {
  createAccessConfigRequestHeader,
  deleteAccessConfigRequestHeader,
} from "../../client/protocol/ops_headers.ts";
import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type { AclAccountStore } from "../domain/acl/plain_acl_config.ts";
import {
  type BrokerResponse,
  decodeHeader,
  RequestError,
  type RequestHandler,
  success,
} from "./broker_context.ts";

/** What a secret is shown as. */
export const MASKED_SECRET = "****";

/** Handlers of the ACL account requests. */
export class AclController {
  readonly #accounts: AclAccountStore | undefined;

  /** @param accounts The ACL file's accounts, undefined when access control is off. */
  constructor(accounts: AclAccountStore | undefined) {
    this.#accounts = accounts;
  }

  /**
   * The handlers of this controller.
   *
   * @returns Request code and handler pairs.
   */
  handlers(): [number, RequestHandler][] {
    return [
      [RequestCode.UPDATE_AND_CREATE_ACL_CONFIG, (r) => this.upsert(r)],
      [RequestCode.DELETE_ACL_CONFIG, (r) => this.remove(r)],
      [RequestCode.GET_BROKER_CLUSTER_ACL_CONFIG, (r) => this.list(r)],
    ];
  }

  /**
   * Create or replace an account; in force when answered.
   *
   * @param request The request.
   * @returns SUCCESS, or INVALID_PARAMETER with the reason.
   */
  async upsert(request: RemotingCommand): Promise<BrokerResponse> {
    const h = decodeHeader(createAccessConfigRequestHeader, request);
    const split = (text: string | undefined) =>
      (text ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
    const result = await this.#store().upsert({
      accessKey: h.accessKey,
      secretKey: h.secretKey,
      whiteRemoteAddress: h.whiteRemoteAddress,
      admin: h.admin,
      defaultTopicPerm: h.defaultTopicPerm,
      defaultGroupPerm: h.defaultGroupPerm,
      topicPerms: split(h.topicPerms),
      groupPerms: split(h.groupPerms),
    });
    if (!result.ok) {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, `Cannot update ACL: ${result.error}`);
    }
    return success(request);
  }

  /**
   * Remove an account.
   *
   * @param request The request.
   * @returns SUCCESS, or INVALID_PARAMETER for an unknown key.
   */
  async remove(request: RemotingCommand): Promise<BrokerResponse> {
    const h = decodeHeader(deleteAccessConfigRequestHeader, request);
    const result = await this.#store().remove(h.accessKey);
    if (!result.ok) {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, `Cannot delete ACL: ${result.error}`);
    }
    return success(request);
  }

  /**
   * The white list and accounts, secrets masked.
   *
   * @param request The request.
   * @returns SUCCESS with `{"globalWhiteAddrs": [...], "plainAccessConfigs": [...]}`.
   */
  async list(request: RemotingCommand): Promise<BrokerResponse> {
    const { globalWhiteAddrs, accounts } = await this.#store().read();
    const plainAccessConfigs = accounts.map((a) => ({ ...a, secretKey: MASKED_SECRET }));
    const body = JSON.stringify({ globalWhiteAddrs, plainAccessConfigs });
    return success(request, {}, new TextEncoder().encode(body));
  }

  #store(): AclAccountStore {
    if (this.#accounts === undefined) {
      throw new RequestError(
        ResponseCode.SYSTEM_ERROR,
        "Access control is off on this broker (start it with --acl-file)",
      );
    }
    return this.#accounts;
  }
}
