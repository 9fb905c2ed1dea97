/**
 * What the name server's request controllers share.
 *
 * The name server speaks the same remoting protocol as the broker, so it
 * reuses the broker's transport vocabulary (`Channel`, `RequestHandler`,
 * `RequestError`) from `broker/api/broker_context.ts`.
 *
 * @module
 */

import type { KvConfigTable } from "../domain/kv_config_table.ts";
import type { RouteInfoManager } from "../domain/route_info_manager.ts";

export {
  type BrokerResponse,
  type Channel,
  decodeHeader,
  type RequestHandler,
  success,
} from "../../broker/api/broker_context.ts";

/** A structured log sink. */
export type NamesrvLog = (event: Readonly<Record<string, unknown>>) => void;

/** The name server's object graph, built by the composition root. */
export interface NamesrvContext {
  /** Route tables. */
  readonly routes: RouteInfoManager;
  /** KV config. */
  readonly kv: KvConfigTable;
  /** Structured log. */
  readonly log: NamesrvLog;
}
