/**
 * A bare gRPC client of MessagingService built from the generated types, for
 * requests the official clients never send (bad input, duplicates, lite pull).
 *
 * @module
 */

import { create, type DescMessage } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { MessagingService } from "../../proxy/domain/protocol.ts";
import { messagingServiceDefinition } from "../../proxy/server/grpc_server.ts";

function inputOf(rpc: string): DescMessage {
  const method = MessagingService.methods.find((m) => m.localName === rpc);
  if (method === undefined) throw new TypeError(`no RPC ${rpc}`);
  return method.input;
}

/** A unary or server-streaming call by local RPC name. */
export interface RawClient {
  /** Call a unary RPC. */
  unary<T>(rpc: string, request: unknown): Promise<T>;
  /** Call a server-streaming RPC and collect every response. */
  stream<T>(rpc: string, request: unknown): Promise<T[]>;
  /** Close the channel. */
  close(): void;
}

/**
 * Connect a raw client.
 *
 * @param endpoint `host:port` of the gRPC front.
 * @param clientId `x-mq-client-id` to send.
 * @returns The client.
 */
export function rawClient(endpoint: string, clientId = "raw-test-client"): RawClient {
  const Client = grpc.makeGenericClientConstructor(
    messagingServiceDefinition(),
    "MessagingService",
  );
  const client = new Client(endpoint, grpc.credentials.createInsecure()) as unknown as Record<
    string,
    (...args: unknown[]) => unknown
  >;
  const metadata = () => {
    const m = new grpc.Metadata();
    m.set("x-mq-client-id", clientId);
    m.set("x-mq-protocol", "v2");
    return m;
  };
  return {
    unary<T>(rpc: string, request: unknown): Promise<T> {
      return new Promise((resolve, reject) => {
        client[rpc].call(
          client,
          create(inputOf(rpc), request as never),
          metadata(),
          { deadline: Date.now() + 10_000 },
          (error: Error | null, response: T) => (error ? reject(error) : resolve(response)),
        );
      });
    },
    stream<T>(rpc: string, request: unknown): Promise<T[]> {
      return new Promise((resolve, reject) => {
        const out: T[] = [];
        const input = create(inputOf(rpc), request as never);
        const call = client[rpc].call(client, input, metadata(), {
          deadline: Date.now() + 30_000,
        }) as grpc.ClientReadableStream<T>;
        call.on("data", (value: T) => out.push(value));
        call.on("end", () => resolve(out));
        call.on("error", reject);
      });
    },
    close() {
      (client as unknown as grpc.Client).close();
    },
  };
}
