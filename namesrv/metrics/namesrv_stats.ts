/**
 * The name server's own counters: broker registrations, unregistrations and
 * route queries answered, and brokers removed because they went silent or
 * their connection closed.
 *
 * Counting costs a comparison and an addition per request: the dispatch
 * wrapper looks at the request code and the response code only. Lives on the
 * main thread, read at scrape time.
 *
 * @module
 */

import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type { Dispatch } from "../../broker/metrics/remoting_metrics.ts";
import type { BrokerResponse } from "../api/namesrv_context.ts";

/** Why a broker address left the route tables without unregistering. */
export type BrokerRemovalReason = "expired" | "connection_closed";

/** Totals since the name server started. */
export class NamesrvStats {
  /** Successful REGISTER_BROKER requests (first registrations and periodic ones). */
  registrations = 0;
  /** Successful UNREGISTER_BROKER requests. */
  unregistrations = 0;
  /** GET_ROUTEINFO_BY_TOPIC requests answered with a route. */
  routeQueriesFound = 0;
  /** GET_ROUTEINFO_BY_TOPIC requests answered TOPIC_NOT_EXIST. */
  routeQueriesNotFound = 0;
  /** Broker addresses removed by the liveness scan. */
  expiredBrokers = 0;
  /** Broker addresses removed because their connection closed. */
  connectionClosedBrokers = 0;

  /**
   * Count brokers removed from the route tables.
   *
   * @param reason Why they were removed.
   * @param count How many addresses.
   */
  brokersRemoved(reason: BrokerRemovalReason, count: number): void {
    if (reason === "expired") this.expiredBrokers += count;
    else this.connectionClosedBrokers += count;
  }

  /**
   * Wrap a dispatch function so registrations and route queries are counted.
   *
   * @param dispatch The dispatch to wrap.
   * @returns A dispatch with the same behaviour.
   */
  wrap(dispatch: Dispatch): Dispatch {
    return (request, channel) => {
      const result = dispatch(request, channel);
      const code = request.code;
      if (
        code !== RequestCode.REGISTER_BROKER && code !== RequestCode.UNREGISTER_BROKER &&
        code !== RequestCode.GET_ROUTEINFO_BY_TOPIC
      ) {
        return result;
      }
      if (result instanceof Promise) {
        return result.then((response) => {
          this.#count(code, response);
          return response;
        });
      }
      this.#count(code, result);
      return result;
    };
  }

  #count(code: number, response: BrokerResponse | undefined): void {
    const responseCode = response?.code;
    if (code === RequestCode.GET_ROUTEINFO_BY_TOPIC) {
      if (responseCode === ResponseCode.SUCCESS) this.routeQueriesFound++;
      else if (responseCode === ResponseCode.TOPIC_NOT_EXIST) this.routeQueriesNotFound++;
    } else if (responseCode === ResponseCode.SUCCESS) {
      if (code === RequestCode.REGISTER_BROKER) this.registrations++;
      else this.unregistrations++;
    }
  }
}
