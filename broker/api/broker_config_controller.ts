/**
 * Broker configuration and statistics: GET_BROKER_CONFIG (26, properties
 * text), UPDATE_BROKER_CONFIG (25, properties text; run-time changeable
 * options only) and VIEW_BROKER_STATS_DATA (315, BrokerStatsData JSON for
 * `statsAll`).
 *
 * @module
 */

import { viewBrokerStatsDataRequestHeader } from "../../client/protocol/ops_headers.ts";
import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import {
  configToProperties,
  parseProperties,
  type RuntimeBrokerConfig,
} from "../domain/runtime_config.ts";
import type { BrokerStats } from "../metrics/broker_stats.ts";
import {
  type BrokerResponse,
  decodeHeader,
  RequestError,
  type RequestHandler,
  success,
} from "./broker_context.ts";

/** Handlers of the broker config and stats requests. */
export class BrokerConfigController {
  readonly #config: RuntimeBrokerConfig;
  readonly #stats: BrokerStats;
  readonly #log: (event: Readonly<Record<string, unknown>>) => void;

  /**
   * @param config The run-time config holder.
   * @param stats The windowed stats.
   * @param log Where config changes are reported.
   */
  constructor(
    config: RuntimeBrokerConfig,
    stats: BrokerStats,
    log: (event: Readonly<Record<string, unknown>>) => void,
  ) {
    this.#config = config;
    this.#stats = stats;
    this.#log = log;
  }

  /**
   * The handlers of this controller.
   *
   * @returns Request code and handler pairs.
   */
  handlers(): [number, RequestHandler][] {
    return [
      [RequestCode.GET_BROKER_CONFIG, (r) => this.get(r)],
      [RequestCode.UPDATE_BROKER_CONFIG, (r) => this.update(r)],
      [RequestCode.VIEW_BROKER_STATS_DATA, (r) => this.stats(r)],
    ];
  }

  /**
   * The config in force as `key=value` lines.
   *
   * @param request The request.
   * @returns SUCCESS with the text body.
   */
  get(request: RemotingCommand): BrokerResponse {
    const text = configToProperties(this.#config.current);
    return success(request, {}, new TextEncoder().encode(text));
  }

  /**
   * Change run-time changeable options from a `key=value` body.
   *
   * @param request The request.
   * @returns SUCCESS, or INVALID_PARAMETER naming the bad key.
   */
  update(request: RemotingCommand): BrokerResponse {
    const changes = parseProperties(new TextDecoder().decode(request.body ?? new Uint8Array()));
    const result = this.#config.update(changes);
    if (!result.ok) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot update broker config: ${result.error}`,
      );
    }
    this.#log({ event: "broker_config_updated", changes });
    return success(request);
  }

  /**
   * Windowed stats of one key.
   *
   * @param request The request.
   * @returns SUCCESS with BrokerStatsData JSON.
   */
  stats(request: RemotingCommand): BrokerResponse {
    const header = decodeHeader(viewBrokerStatsDataRequestHeader, request);
    const data = this.#stats.get(header.statsName, header.statsKey);
    if (data === undefined) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Unknown stats name ${header.statsName}; known: TOPIC_PUT_NUMS, TOPIC_PUT_SIZE, GROUP_GET_NUMS, GROUP_GET_SIZE`,
      );
    }
    return success(request, {}, new TextEncoder().encode(JSON.stringify(data)));
  }
}
