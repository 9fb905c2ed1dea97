/**
 * LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42): queue locks for orderly consumers.
 *
 * @module
 */

import {
  encodeJsonBody,
  type LockBatchRequestBody,
  parseLockBatchRequestBody,
} from "../../client/protocol/heartbeat.ts";
import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import {
  LOCK_BATCH_QUEUES_MAX,
  type LockedQueue,
  type RebalanceLockManager,
} from "../domain/rebalance_lock_manager.ts";
import { checkGroupName } from "../domain/topic_config.ts";
import {
  type BrokerResponse,
  RequestError,
  type RequestHandler,
  success,
} from "./broker_context.ts";

/**
 * Answers the lock requests of orderly push consumers (spec §2.7, §8.2).
 *
 * Header: common fields only. Request body JSON `{consumerGroup, clientId,
 * onlyThisBroker, mqSet:[{topic, brokerName, queueId}]}`; the lock response
 * body is `{lockOKMQSet:[...]}` (the queues the caller now owns); the unlock
 * response has no body. This is a single broker, so `onlyThisBroker` changes
 * nothing. Depends on a shared {@linkcode RebalanceLockManager}.
 */
export class LockController {
  readonly #locks: RebalanceLockManager;

  /** @param locks The broker's lock table. */
  constructor(locks: RebalanceLockManager) {
    this.#locks = locks;
  }

  /**
   * The handlers of this controller.
   *
   * @returns Request code and handler pairs.
   */
  handlers(): [number, RequestHandler][] {
    return [
      [RequestCode.LOCK_BATCH_MQ, (r) => this.lock(r)],
      [RequestCode.UNLOCK_BATCH_MQ, (r) => this.unlock(r)],
    ];
  }

  /**
   * LOCK_BATCH_MQ: lock or renew queues for the caller.
   *
   * @param request The request.
   * @returns SUCCESS with `{lockOKMQSet}`.
   * @throws {RequestError} INVALID_PARAMETER on a bad body.
   */
  lock(request: RemotingCommand): BrokerResponse {
    const body = this.#parse(request, "lock");
    const locked = this.#locks.tryLockBatch(body.consumerGroup, body.clientId, queuesOf(body));
    return success(request, {}, encodeJsonBody({ lockOKMQSet: locked }));
  }

  /**
   * UNLOCK_BATCH_MQ: release the caller's locks on the named queues.
   *
   * @param request The request.
   * @returns SUCCESS.
   * @throws {RequestError} INVALID_PARAMETER on a bad body.
   */
  unlock(request: RemotingCommand): BrokerResponse {
    const body = this.#parse(request, "unlock");
    this.#locks.unlockBatch(body.consumerGroup, body.clientId, queuesOf(body));
    return success(request);
  }

  #parse(request: RemotingCommand, action: string): LockBatchRequestBody {
    const parsed = parseLockBatchRequestBody(request.body);
    if (!parsed.ok) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot ${action} queues: ${parsed.error}`,
      );
    }
    const body = parsed.value;
    const problem = checkGroupName(body.consumerGroup);
    if (problem !== undefined) {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, `Cannot ${action} queues: ${problem}`);
    }
    if (body.clientId === "") {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot ${action} queues: clientId is empty`,
      );
    }
    if (body.mqSet.length > LOCK_BATCH_QUEUES_MAX) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        `Cannot ${action} queues: mqSet has ${body.mqSet.length} queues, limit is ${LOCK_BATCH_QUEUES_MAX}`,
      );
    }
    return body;
  }
}

function queuesOf(body: LockBatchRequestBody): LockedQueue[] {
  return body.mqSet.map((q) => ({ topic: q.topic, brokerName: q.brokerName, queueId: q.queueId }));
}
