/**
 * The MessagingService RPCs, by name, over the activities: what the gRPC
 * server layer calls. Every answer carries a `Status`; a handler that throws
 * is answered with INTERNAL_ERROR and logged, never crashing the server.
 *
 * @module
 */

import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { TransactionCheck } from "../domain/backend.ts";
import type { TelemetryWriter } from "../domain/client_sessions.ts";
import { type TelemetryCommand, TelemetryCommandSchema } from "../domain/protocol.ts";
import { resourcesOf } from "./access_resources.ts";
import { Code, status } from "../domain/status.ts";
import type { CallContext } from "./call_context.ts";
import type { FrontContext } from "./front_context.ts";
import { ConsumerActivity } from "./consumer_activity.ts";
import { PullActivity } from "./pull_activity.ts";
import { RouteActivity } from "./route_activity.ts";
import { recallMessage, SendActivity } from "./send_activity.ts";
import { TelemetryActivity } from "./telemetry_activity.ts";

/** A message with a `status` field (every response of the service). */
type WithStatus = { status?: unknown };

/** A unary handler. */
type Unary = (request: never, call: CallContext) => WithStatus | Promise<WithStatus>;

/** A server-streaming handler: writes responses, resolves when the stream may end. */
type Streaming = (
  request: never,
  call: CallContext,
  write: (response: unknown) => void,
) => Promise<void>;

/** The RPCs of `apache.rocketmq.v2.MessagingService`, implemented over a backend. */
export class MessagingFront {
  readonly #ctx: FrontContext;
  readonly #route: RouteActivity;
  readonly #send: SendActivity;
  readonly #telemetry: TelemetryActivity;
  readonly #unary: Record<string, Unary>;
  readonly #streaming: Record<string, Streaming>;

  /** @param ctx The front's context. */
  constructor(ctx: FrontContext) {
    this.#ctx = ctx;
    this.#telemetry = new TelemetryActivity(ctx);
    this.#route = new RouteActivity(ctx, (id) => this.#telemetry.repushSettings(id));
    this.#send = new SendActivity(ctx);
    const route = this.#route;
    const send = this.#send;
    const pull = new PullActivity(ctx);
    const consumer = new ConsumerActivity(ctx);
    this.#unary = {
      queryRoute: (r, c) => route.queryRoute(r, c),
      heartbeat: (r, c) => route.heartbeat(r, c),
      queryAssignment: (r, c) => route.queryAssignment(r, c),
      notifyClientTermination: (r, c) => route.notifyClientTermination(r, c),
      sendMessage: (r, c) => send.sendMessage(r, c),
      endTransaction: (r, c) => send.endTransaction(r, c),
      recallMessage: (r, c) => recallMessage(ctx, r, c),
      ackMessage: (r, c) => consumer.ackMessage(r, c),
      changeInvisibleDuration: (r, c) => consumer.changeInvisibleDuration(r, c),
      forwardMessageToDeadLetterQueue: (r, c) => consumer.forwardToDeadLetterQueue(r, c),
      updateOffset: (r, c) => pull.updateOffset(r, c),
      getOffset: (r, c) => pull.getOffset(r, c),
      queryOffset: (r, c) => pull.queryOffset(r, c),
    };
    this.#streaming = {
      pullMessage: (r, c, w) => pull.pullMessage(r, c, w as never),
      receiveMessage: (r, c, w) => consumer.receiveMessage(r, c, w as never),
    };
  }

  /**
   * Answer a unary RPC.
   *
   * @param rpc The method's local name (`sendMessage`).
   * @param output The response schema.
   * @param request The decoded request.
   * @param call The call.
   * @returns The response (with a status).
   */
  async unary<Desc extends DescMessage>(
    rpc: string,
    output: Desc,
    request: unknown,
    call: CallContext,
  ): Promise<MessageShape<Desc>> {
    const refused = this.#refused(call, rpc, request);
    if (refused !== undefined) return withStatus(output, Code.FORBIDDEN, refused);
    const handler = this.#unary[rpc];
    if (handler === undefined) {
      return withStatus(
        output,
        Code.NOT_IMPLEMENTED,
        `${call.rpc} is not implemented by this broker`,
      );
    }
    try {
      return await handler(request as never, call) as MessageShape<Desc>;
    } catch (error) {
      this.#ctx.log({ event: "grpc_handler_failed", rpc: call.rpc, error: String(error) });
      return withStatus(
        output,
        Code.INTERNAL_ERROR,
        `${call.rpc} failed: ${(error as Error).message}`,
      );
    }
  }

  /**
   * Answer a server-streaming RPC (ReceiveMessage, PullMessage).
   *
   * @param rpc The method's local name.
   * @param output The response schema (its `content` oneof has a `status` case).
   * @param request The decoded request.
   * @param call The call.
   * @param write Writes one response.
   */
  async streaming<Desc extends DescMessage>(
    rpc: string,
    output: Desc,
    request: unknown,
    call: CallContext,
    write: (response: MessageShape<Desc>) => void,
  ): Promise<void> {
    const statusOnly = (code: Code, text: string) =>
      write(create(output, { content: { case: "status", value: status(code, text) } } as never));
    const refused = this.#refused(call, rpc, request);
    if (refused !== undefined) return statusOnly(Code.FORBIDDEN, refused);
    const handler = this.#streaming[rpc];
    if (handler === undefined) {
      return statusOnly(Code.NOT_IMPLEMENTED, `${call.rpc} is not implemented by this broker yet`);
    }
    try {
      await handler(request as never, call, write as (response: unknown) => void);
    } catch (error) {
      this.#ctx.log({ event: "grpc_handler_failed", rpc: call.rpc, error: String(error) });
      statusOnly(Code.INTERNAL_ERROR, `${call.rpc} failed: ${(error as Error).message}`);
    }
  }

  /**
   * A Telemetry stream opened.
   *
   * @param call The call.
   * @param writer Writes commands to the client.
   * @returns Handlers for the client's commands and the end of the stream, or
   *   undefined when access control refused the stream (it was told why; end it).
   */
  telemetry(
    call: CallContext,
    writer: TelemetryWriter,
  ): { command(command: TelemetryCommand): void; end(): void } | undefined {
    const refused = this.#refused(call, "telemetry", undefined);
    if (refused !== undefined) {
      writer.write(create(TelemetryCommandSchema, { status: status(Code.FORBIDDEN, refused) }));
      return undefined;
    }
    return this.#telemetry.open(call, writer);
  }

  /**
   * Ask a connected gRPC producer about an orphaned transaction.
   *
   * @param producerGroup The group recorded in the half message.
   * @param check The half message and its position.
   * @returns False when no gRPC producer of its topic is connected.
   */
  checkTransaction(producerGroup: string, check: TransactionCheck): boolean {
    return this.#telemetry.checkTransaction(producerGroup, check);
  }

  #refused(call: CallContext, rpc: string, request: unknown): string | undefined {
    return this.#ctx.authorize({
      rpc: call.rpc,
      authorization: call.authorization,
      rawAuthorization: call.rawAuthorization,
      peer: call.peerText,
      resources: resourcesOf(rpc, request, call.namespace),
      dateTime: call.dateTime,
      sessionToken: call.sessionToken,
    });
  }
}

function withStatus<Desc extends DescMessage>(
  output: Desc,
  code: Code,
  text: string,
): MessageShape<Desc> {
  return create(output, { status: status(code, text) } as never);
}
