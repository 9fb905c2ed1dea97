/**
 * What brokers send the name server: REGISTER_BROKER (103), UNREGISTER_BROKER
 * (104), QUERY_DATA_VERSION (322) and BROKER_HEARTBEAT (904).
 *
 * @module
 */

import { createResponse, type RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { encodeJsonBody } from "../../client/protocol/heartbeat.ts";
import {
  brokerHeartbeatRequestHeader,
  brokerIdentityHeader,
  ORDER_TOPIC_CONFIG_NAMESPACE,
  queryDataVersionResponseHeader,
  registerBrokerRequestHeader,
  registerBrokerResponseHeader,
} from "../../client/protocol/namesrv_headers.ts";
import {
  bodyCrc32,
  checkDataVersion,
  decodeRegisterBrokerBody,
} from "../../client/protocol/register_broker_body.ts";
import { parseJsonLenient } from "../../client/protocol/heartbeat.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import {
  type BrokerResponse,
  type Channel,
  decodeHeader,
  type NamesrvContext,
  type RequestHandler,
  success,
} from "./namesrv_context.ts";

/**
 * Broker registration and liveness. A malformed or CRC-failing body answers
 * SYSTEM_ERROR with the reason (RocketMQ's code for these) and changes nothing.
 */
export class BrokerRequestController {
  readonly #ctx: NamesrvContext;

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
      [RequestCode.REGISTER_BROKER, (r, c) => this.registerBroker(r, c)],
      [RequestCode.UNREGISTER_BROKER, (r) => this.unregisterBroker(r)],
      [RequestCode.QUERY_DATA_VERSION, (r) => this.queryDataVersion(r)],
      [RequestCode.BROKER_HEARTBEAT, (r) => this.brokerHeartbeat(r)],
    ];
  }

  /**
   * REGISTER_BROKER: JSON or compressed body, CRC checked when `bodyCrc32` ≠ 0.
   *
   * @param request The request.
   * @param channel The broker's connection (its close removes the broker).
   * @returns SUCCESS with `masterAddr`/`haServerAddr` (slaves) and the
   *   ORDER_TOPIC_CONFIG KV table as body, or SYSTEM_ERROR for a bad body.
   */
  registerBroker(request: RemotingCommand, channel: Channel): BrokerResponse {
    const h = decodeHeader(registerBrokerRequestHeader, request);
    const body = request.body ?? new Uint8Array(0);
    if (h.bodyCrc32 !== undefined && h.bodyCrc32 !== 0) {
      const actual = bodyCrc32(body);
      if (actual !== h.bodyCrc32) {
        return createResponse(
          request,
          ResponseCode.SYSTEM_ERROR,
          `Cannot register broker ${h.brokerName} (${h.brokerAddr}): crc32 not match, header says ${h.bodyCrc32}, body has ${actual}`,
        );
      }
    }
    const decoded = decodeRegisterBrokerBody(body, h.compressed === true);
    if (!decoded.ok) {
      return createResponse(
        request,
        ResponseCode.SYSTEM_ERROR,
        `Cannot register broker ${h.brokerName} (${h.brokerAddr}): ${decoded.error}`,
      );
    }
    const result = this.#ctx.routes.registerBroker({
      clusterName: h.clusterName,
      brokerAddr: h.brokerAddr,
      brokerName: h.brokerName,
      brokerId: h.brokerId,
      haServerAddr: h.haServerAddr,
      heartbeatTimeoutMs: h.heartbeatTimeoutMillis,
      body: decoded.value,
      channelId: channel.id,
    });
    this.#ctx.log({
      event: "broker_registered",
      cluster: h.clusterName,
      broker: h.brokerName,
      brokerId: h.brokerId,
      addr: h.brokerAddr,
      topics: Object.keys(decoded.value.topicConfigTable).length,
      compressed: h.compressed === true,
    });
    return success(
      request,
      registerBrokerResponseHeader.encode(result),
      encodeJsonBody({ table: this.#ctx.kv.namespace(ORDER_TOPIC_CONFIG_NAMESPACE) }),
    );
  }

  /**
   * UNREGISTER_BROKER: remove the address from every table.
   *
   * @param request The request.
   * @returns SUCCESS (also when the broker was not registered).
   */
  unregisterBroker(request: RemotingCommand): BrokerResponse {
    const h = decodeHeader(brokerIdentityHeader, request);
    const removed = this.#ctx.routes.unregisterBroker(h);
    this.#ctx.log({
      event: "broker_unregistered",
      broker: h.brokerName,
      addr: h.brokerAddr,
      removed,
    });
    return success(request);
  }

  /**
   * QUERY_DATA_VERSION: body = the broker's `DataVersion`; answers `changed`
   * and the version the name server holds.
   *
   * @param request The request.
   * @returns SUCCESS, or SYSTEM_ERROR for a malformed body.
   */
  queryDataVersion(request: RemotingCommand): BrokerResponse {
    const h = decodeHeader(brokerIdentityHeader, request);
    const parsed = parseJsonLenient(request.body);
    const version = parsed.ok ? checkDataVersion(parsed.value) : parsed.error;
    if (typeof version === "string") {
      return createResponse(
        request,
        ResponseCode.SYSTEM_ERROR,
        `Cannot query data version of ${h.brokerAddr}: ${version}`,
      );
    }
    const { changed, current } = this.#ctx.routes.queryDataVersion(
      h.clusterName,
      h.brokerAddr,
      version,
    );
    return success(
      request,
      queryDataVersionResponseHeader.encode({ changed }),
      current === undefined ? undefined : encodeJsonBody(current),
    );
  }

  /**
   * BROKER_HEARTBEAT: refresh liveness.
   *
   * @param request The request.
   * @returns SUCCESS, or SYSTEM_ERROR when the broker is not registered (it must register).
   */
  brokerHeartbeat(request: RemotingCommand): BrokerResponse {
    const h = decodeHeader(brokerHeartbeatRequestHeader, request);
    if (!this.#ctx.routes.heartbeat(h.clusterName, h.brokerAddr, h.heartbeatTimeoutMills)) {
      return createResponse(
        request,
        ResponseCode.SYSTEM_ERROR,
        `Broker ${h.brokerAddr} of cluster ${h.clusterName} is not registered`,
      );
    }
    return success(request);
  }
}
