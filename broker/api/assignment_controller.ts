/**
 * QUERY_ASSIGNMENT (400) and SET_MESSAGE_REQUEST_MODE (401): server-side
 * assignment over remoting (JSON bodies as RocketMQ's
 * `QueryAssignmentRequestBody` / `QueryAssignmentResponseBody` /
 * `SetMessageRequestModeRequestBody`).
 *
 * @module
 */

import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import {
  type AssignmentQuery,
  assignQueuesFor,
  type RequestModeTable,
} from "../domain/pop/assignment.ts";
import { isReadable } from "../domain/topic_config.ts";
import {
  type BrokerContext,
  type BrokerResponse,
  RequestError,
  type RequestHandler,
  success,
} from "./broker_context.ts";

function parseBody<T>(request: RemotingCommand, verb: string): T {
  try {
    return JSON.parse(new TextDecoder().decode(request.body ?? new Uint8Array()));
  } catch {
    throw new RequestError(ResponseCode.INVALID_PARAMETER, `Cannot ${verb}: body is not JSON`);
  }
}

/** Server-side assignment. */
export class AssignmentController {
  readonly #ctx: BrokerContext;
  readonly #modes: RequestModeTable;

  /**
   * @param ctx The broker's object graph.
   * @param modes The request-mode table.
   */
  constructor(ctx: BrokerContext, modes: RequestModeTable) {
    this.#ctx = ctx;
    this.#modes = modes;
  }

  /** @returns Request code and handler pairs. */
  handlers(): [number, RequestHandler][] {
    return [
      [RequestCode.QUERY_ASSIGNMENT, (r) => this.#query(r)],
      [RequestCode.SET_MESSAGE_REQUEST_MODE, (r) => this.#setMode(r)],
    ];
  }

  #query(request: RemotingCommand): BrokerResponse {
    const body = parseBody<AssignmentQuery>(request, "query assignment");
    if (typeof body?.topic !== "string" || typeof body.consumerGroup !== "string") {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        "Cannot query assignment: body needs topic and consumerGroup",
      );
    }
    const topic = this.#ctx.topics.get(body.topic);
    if (topic === undefined || !isReadable(topic.perm)) {
      throw new RequestError(
        ResponseCode.TOPIC_NOT_EXIST,
        `Cannot query assignment: topic ${body.topic} does not exist or is not readable`,
      );
    }
    const brokerName = this.#ctx.config.brokerName;
    const queues = Array.from(
      { length: topic.readQueueNums },
      (_, queueId) => ({ topic: body.topic, brokerName, queueId }),
    );
    const assignments = assignQueuesFor(
      { ...body, clientId: String(body.clientId ?? "") },
      queues,
      this.#ctx.clients.consumerIds(body.consumerGroup),
      this.#modes.get(body.topic, body.consumerGroup),
    );
    return success(
      request,
      {},
      new TextEncoder().encode(JSON.stringify({ messageQueueAssignments: assignments })),
    );
  }

  #setMode(request: RemotingCommand): BrokerResponse {
    const body = parseBody<
      { topic?: string; consumerGroup?: string; mode?: string; popShareQueueNum?: number }
    >(request, "set message request mode");
    if (
      typeof body?.topic !== "string" || typeof body.consumerGroup !== "string" ||
      (body.mode !== "PULL" && body.mode !== "POP")
    ) {
      throw new RequestError(
        ResponseCode.INVALID_PARAMETER,
        "Cannot set message request mode: body needs topic, consumerGroup and mode PULL or POP",
      );
    }
    this.#modes.set(body.topic, body.consumerGroup, {
      mode: body.mode,
      popShareQueueNum: Number(body.popShareQueueNum ?? 0) || 0,
    });
    return success(request);
  }
}
