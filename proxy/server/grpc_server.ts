/**
 * The gRPC server of the front: `@grpc/grpc-js` (Deno.serve cannot send
 * HTTP/2 trailers) serving `apache.rocketmq.v2.MessagingService` with the
 * generated `@bufbuild/protobuf` types, through a ServiceDefinition built
 * from the service descriptor (no proto-loader, no reflection at run time).
 *
 * Owns the listening socket and the open calls. Receive limit: a full
 * 4 MiB body plus envelope is accepted (grpc-js' default 4 MiB is not
 * enough); server keepalive pings find dead clients on the long-lived
 * Telemetry streams (the official clients send none).
 *
 * @module
 */

import { type DescMethod, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { type CallContext, parsePeer } from "../api/call_context.ts";
import type { MessagingFront } from "../api/messaging_front.ts";
import { parseAuthorization } from "../domain/authorization.ts";
import type { TelemetryWriter } from "../domain/client_sessions.ts";
import { MessagingService, type TelemetryCommand } from "../domain/protocol.ts";

/** Largest request accepted, bytes: a 4 MiB body plus envelope. */
export const GRPC_RECEIVE_BYTES_MAX = 4 * 1024 * 1024 + 256 * 1024;
/** Largest response sent, bytes. */
export const GRPC_SEND_BYTES_MAX = 16 * 1024 * 1024;
/** Server keepalive ping interval, ms. */
export const GRPC_KEEPALIVE_TIME_MS = 60_000;
/** Wait for a keepalive ping's answer, ms. */
export const GRPC_KEEPALIVE_TIMEOUT_MS = 20_000;

/** Build the grpc-js ServiceDefinition of MessagingService from its descriptor. */
export function messagingServiceDefinition(): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of MessagingService.methods) {
    const kind = method.methodKind;
    definition[method.localName] = {
      path: `/${MessagingService.typeName}/${method.name}`,
      originalName: method.name,
      requestStream: kind === "client_streaming" || kind === "bidi_streaming",
      responseStream: kind === "server_streaming" || kind === "bidi_streaming",
      requestSerialize: (value: unknown) => bytes(toBinary(method.input, value as never)),
      requestDeserialize: (buffer: Buffer) => fromBinary(method.input, buffer),
      responseSerialize: (value: unknown) => bytes(toBinary(method.output, value as never)),
      responseDeserialize: (buffer: Buffer) => fromBinary(method.output, buffer),
    };
  }
  return definition as grpc.ServiceDefinition;
}

function bytes(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

function header(metadata: grpc.Metadata, name: string): string | undefined {
  const values = metadata.get(name);
  return values.length === 0 ? undefined : String(values[0]);
}

function callContext(
  method: DescMethod,
  call: { metadata: grpc.Metadata; getPeer(): string; getDeadline(): grpc.Deadline },
  signal: AbortSignal,
): CallContext {
  const metadata = call.metadata;
  const authorization = header(metadata, "authorization");
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  return {
    rpc: method.name,
    clientId: header(metadata, "x-mq-client-id") ?? "",
    namespace: header(metadata, "x-mq-namespace") ?? "",
    language: header(metadata, "x-mq-language") ?? "",
    peer: parsePeer(call.getPeer()),
    authorization: authorization === undefined ? undefined : parseAuthorization(authorization),
    rawAuthorization: authorization,
    peerText: call.getPeer().replace(/^ipv[46]:/, ""),
    dateTime: header(metadata, "x-mq-date-time"),
    sessionToken: header(metadata, "x-mq-session-token"),
    deadlineMs: Number.isFinite(deadlineMs) && deadlineMs > 0 ? deadlineMs : Infinity,
    signal,
  };
}

/** A running gRPC server. */
export class GrpcServer {
  readonly #server: grpc.Server;
  readonly #port: number;
  /** Abort controllers of the calls in flight. */
  readonly #aborts: Set<AbortController>;
  #closing: Promise<void> | undefined;

  private constructor(server: grpc.Server, port: number, aborts: Set<AbortController>) {
    this.#server = server;
    this.#port = port;
    this.#aborts = aborts;
  }

  /**
   * Listen and serve.
   *
   * @param host Address to listen on.
   * @param port Port; 0 picks a free one.
   * @param front The RPC implementations.
   * @returns The running server.
   * @throws If the port cannot be bound.
   */
  static async start(host: string, port: number, front: MessagingFront): Promise<GrpcServer> {
    const server = new grpc.Server({
      "grpc.max_receive_message_length": GRPC_RECEIVE_BYTES_MAX,
      "grpc.max_send_message_length": GRPC_SEND_BYTES_MAX,
      "grpc.keepalive_time_ms": GRPC_KEEPALIVE_TIME_MS,
      "grpc.keepalive_timeout_ms": GRPC_KEEPALIVE_TIMEOUT_MS,
      // Channelz bookkeeping per call costs CPU nobody reads here.
      "grpc.enable_channelz": 0,
    });
    const aborts = new Set<AbortController>();
    const track = (): AbortController => {
      const controller = new AbortController();
      aborts.add(controller);
      return controller;
    };
    const untrack = (controller: AbortController) => aborts.delete(controller);
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const method of MessagingService.methods) {
      const rpc = method.localName;
      if (method.methodKind === "unary") {
        implementation[rpc] = (
          call: grpc.ServerUnaryCall<unknown, unknown>,
          callback: grpc.sendUnaryData<unknown>,
        ) => {
          const controller = track();
          // grpc-js reports "cancelled" after finished calls too: abort only live ones.
          call.on("cancelled", () => aborts.has(controller) && controller.abort());
          front.unary(
            rpc,
            method.output,
            call.request,
            callContext(method, call, controller.signal),
          )
            .then((response) => callback(null, response))
            .catch((error) => callback({ code: grpc.status.INTERNAL, details: String(error) }))
            .finally(() => untrack(controller));
        };
      } else if (method.methodKind === "server_streaming") {
        implementation[rpc] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
          const controller = track();
          // grpc-js reports "cancelled" after finished calls too: abort only live ones.
          call.on("cancelled", () => aborts.has(controller) && controller.abort());
          const write = (response: unknown) => {
            if (!call.cancelled && !call.destroyed) call.write(response);
          };
          front.streaming(
            rpc,
            method.output,
            call.request,
            callContext(method, call, controller.signal),
            write,
          ).finally(() => {
            untrack(controller);
            if (!call.cancelled && !call.destroyed) call.end();
          });
        };
      } else {
        implementation[rpc] = (
          call: grpc.ServerDuplexStream<TelemetryCommand, TelemetryCommand>,
        ) => {
          const controller = track();
          const writer: TelemetryWriter = {
            write(command) {
              if (call.cancelled || call.destroyed || call.writableEnded) return false;
              call.write(command);
              return true;
            },
            get closed() {
              return call.cancelled || call.destroyed || call.writableEnded;
            },
          };
          const stream = front.telemetry(callContext(method, call, controller.signal), writer);
          if (stream === undefined) {
            untrack(controller);
            call.end();
            return;
          }
          let ended = false;
          const end = () => {
            if (ended) return;
            ended = true;
            untrack(controller);
            stream.end();
          };
          call.on("data", (command: TelemetryCommand) => stream.command(command));
          call.on("end", () => {
            end();
            if (!call.writableEnded) call.end();
          });
          call.on("error", end);
          call.on("cancelled", end);
          controller.signal.addEventListener("abort", () => {
            end();
            if (!call.writableEnded) call.end();
          });
        };
      }
    }
    server.addService(messagingServiceDefinition(), implementation);
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(
        `${host.includes(":") ? `[${host}]` : host}:${port}`,
        grpc.ServerCredentials.createInsecure(),
        (error, actual) => (error ? reject(error) : resolve(actual)),
      );
    });
    return new GrpcServer(server, bound, aborts);
  }

  /** The port the server listens on (the real one when started with port 0). */
  get port(): number {
    return this.#port;
  }

  /**
   * Stop: refuse new calls, end held calls and streams, wait for the rest
   * (at most `graceMs`), then force the remaining connections closed.
   *
   * @param graceMs Longest wait for in-flight calls.
   */
  close(graceMs = 5_000): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const controller of this.#aborts) controller.abort();
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, graceMs);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.#closing;
  }
}
