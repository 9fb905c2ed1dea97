/**
 * QueryRoute, QueryAssignment, Heartbeat and NotifyClientTermination: the
 * client's view of where topics live, and its session upkeep.
 *
 * @module
 */

import { create } from "@bufbuild/protobuf";
import type { BackendTopic } from "../domain/backend.ts";
import {
  AddressScheme,
  type Broker,
  BrokerSchema,
  type Endpoints,
  EndpointsSchema,
  type HeartbeatRequest,
  type HeartbeatResponse,
  HeartbeatResponseSchema,
  MessageQueueSchema,
  MessageType,
  type NotifyClientTerminationRequest,
  type NotifyClientTerminationResponse,
  NotifyClientTerminationResponseSchema,
  Permission,
  type QueryAssignmentRequest,
  type QueryAssignmentResponse,
  QueryAssignmentResponseSchema,
  type QueryRouteRequest,
  type QueryRouteResponse,
  QueryRouteResponseSchema,
} from "../domain/protocol.ts";
import { Code, okStatus, status } from "../domain/status.ts";
import { qualifiedName } from "../domain/namespace.ts";
import type { CallContext } from "./call_context.ts";
import type { FrontContext } from "./front_context.ts";

/** Message types a topic accepts, from its declared type. */
export function acceptedTypes(topic: BackendTopic): MessageType[] {
  switch (topic.messageType) {
    case "NORMAL":
      return [MessageType.NORMAL];
    case "FIFO":
      return [MessageType.FIFO];
    case "DELAY":
      return [MessageType.DELAY];
    case "TRANSACTION":
      return [MessageType.TRANSACTION];
    default:
      return [MessageType.NORMAL, MessageType.FIFO, MessageType.DELAY, MessageType.TRANSACTION];
  }
}

/** Route and session RPCs. */
export class RouteActivity {
  readonly #ctx: FrontContext;
  /** Called after each QueryRoute so the telemetry activity can re-push Settings. */
  readonly #afterRoute: (clientId: string) => void;

  /**
   * @param ctx The front's context.
   * @param afterRoute Hook run after each answered QueryRoute.
   */
  constructor(ctx: FrontContext, afterRoute: (clientId: string) => void) {
    this.#ctx = ctx;
    this.#afterRoute = afterRoute;
  }

  /** QueryRoute: every queue of the topic on each of its brokers (queue 0 always among them). */
  async queryRoute(request: QueryRouteRequest, call: CallContext): Promise<QueryRouteResponse> {
    const name = qualifiedName(request.topic, call.namespace);
    if (call.clientId !== "") this.#ctx.sessions.touch(call.clientId, this.#ctx.nowMs());
    const topic = name === "" ? undefined : await this.#ctx.backend.topic(name);
    if (name === "") {
      return create(QueryRouteResponseSchema, {
        status: status(Code.ILLEGAL_TOPIC, "topic is empty"),
      });
    }
    if (topic === undefined) {
      return create(QueryRouteResponseSchema, {
        status: status(Code.TOPIC_NOT_FOUND, `topic ${name} does not exist`),
      });
    }
    const accept = acceptedTypes(topic);
    const messageQueues = [];
    for (const share of topic.brokers) {
      const broker = this.#broker(request.endpoints, share.name);
      const queues = Math.max(share.readQueueNums, share.writeQueueNums, 1);
      for (let id = 0; id < queues; id++) {
        const read = share.readable && id < share.readQueueNums;
        const write = share.writeable && id < share.writeQueueNums;
        messageQueues.push(create(MessageQueueSchema, {
          topic: request.topic,
          id,
          permission: read && write
            ? Permission.READ_WRITE
            : read
            ? Permission.READ
            : write
            ? Permission.WRITE
            : Permission.NONE,
          broker,
          acceptMessageTypes: accept,
        }));
      }
    }
    if (call.clientId !== "") this.#afterRoute(call.clientId);
    return create(QueryRouteResponseSchema, { status: okStatus(), messageQueues });
  }

  /**
   * QueryAssignment: one assignment per broker (this one); the pop service
   * spreads the work over its queues (queue id −1 = any queue).
   */
  async queryAssignment(
    request: QueryAssignmentRequest,
    call: CallContext,
  ): Promise<QueryAssignmentResponse> {
    const name = qualifiedName(request.topic, call.namespace);
    const topic = name === "" ? undefined : await this.#ctx.backend.topic(name);
    if (call.clientId !== "") this.#ctx.sessions.touch(call.clientId, this.#ctx.nowMs());
    if (topic === undefined) {
      return create(QueryAssignmentResponseSchema, {
        status: status(Code.TOPIC_NOT_FOUND, `topic ${name} does not exist`),
      });
    }
    if (qualifiedName(request.group, call.namespace) === "") {
      return create(QueryAssignmentResponseSchema, {
        status: status(Code.ILLEGAL_CONSUMER_GROUP, "group is empty"),
      });
    }
    return create(QueryAssignmentResponseSchema, {
      status: okStatus(),
      assignments: topic.brokers.filter((b) => b.readable).map((share) => ({
        messageQueue: create(MessageQueueSchema, {
          topic: request.topic,
          id: -1,
          permission: Permission.READ_WRITE,
          broker: this.#broker(request.endpoints, share.name),
          acceptMessageTypes: acceptedTypes(topic),
        }),
      })),
    });
  }

  /** Heartbeat: keeps the client's session (and its group) alive. */
  heartbeat(request: HeartbeatRequest, call: CallContext): HeartbeatResponse {
    if (call.clientId === "") {
      return create(HeartbeatResponseSchema, {
        status: status(Code.CLIENT_ID_REQUIRED, "x-mq-client-id is missing"),
      });
    }
    const session = this.#ctx.sessions.touch(call.clientId, this.#ctx.nowMs());
    const group = qualifiedName(request.group, call.namespace);
    if (group !== "") session.group = group;
    return create(HeartbeatResponseSchema, { status: okStatus() });
  }

  /** NotifyClientTermination: the client is going away; forget its session. */
  notifyClientTermination(
    _request: NotifyClientTerminationRequest,
    call: CallContext,
  ): NotifyClientTerminationResponse {
    if (call.clientId !== "") this.#ctx.sessions.remove(call.clientId);
    return create(NotifyClientTerminationResponseSchema, { status: okStatus() });
  }

  #broker(requested: Endpoints | undefined, name: string): Broker {
    // Local mode: the client reaches this broker the way it reached the access point.
    const endpoints = requested !== undefined && requested.addresses.length > 0
      ? requested
      : create(EndpointsSchema, {
        scheme: AddressScheme.IPv4,
        addresses: [this.#ctx.advertised()],
      });
    return create(BrokerSchema, { name, id: 0, endpoints });
  }
}
