/**
 * Telemetry: the long-lived bidirectional stream of each client. The client
 * opens it with its Settings; the front answers with the completed Settings
 * (backoff policy, body limit, long polling) and later pushes commands on it
 * (transaction checks).
 *
 * Works around the official Node.js client's startup race (grpc-compat.md,
 * pitfall 1): Settings are pushed again shortly after each QueryRoute of the
 * same client, which is harmless because the client's sync is idempotent.
 *
 * @module
 */

import { create } from "@bufbuild/protobuf";
import type { Duration } from "@bufbuild/protobuf/wkt";
import { decodeRecord } from "../../client/protocol/message_record.ts";
import type { TransactionCheck } from "../domain/backend.ts";
import type { ClientSession, TelemetryWriter } from "../domain/client_sessions.ts";
import { toGrpcMessage } from "../domain/message_mapping.ts";
import {
  ClientType,
  type RetryPolicy,
  RetryPolicySchema,
  type Settings,
  SettingsSchema,
  type TelemetryCommand,
  TelemetryCommandSchema,
} from "../domain/protocol.ts";
import { okStatus } from "../domain/status.ts";
import { encodeTransactionId } from "../domain/transaction_id.ts";
import { qualifiedName } from "../domain/namespace.ts";
import type { CallContext } from "./call_context.ts";
import { type FrontContext, SETTINGS_REPUSH_DELAY_MS } from "./front_context.ts";

/** Producer send attempts advertised (RocketMQ's proxy default). */
export const PRODUCER_SEND_ATTEMPTS = 3;
/** Shortest long polling a consumer is given, ms. */
export const LONG_POLLING_MIN_MS = 5_000;
/** Longest long polling a push consumer is given, ms. */
export const LONG_POLLING_MAX_MS = 20_000;
/** Messages a push consumer asks for per receive. */
export const RECEIVE_BATCH_SIZE = 32;

/** A Duration from ms. */
export function durationFromMs(ms: number): Duration {
  return {
    $typeName: "google.protobuf.Duration",
    seconds: BigInt(Math.floor(ms / 1000)),
    nanos: (ms % 1000) * 1_000_000,
  };
}

/** ms of a Duration. */
export function durationMs(duration: Duration): number {
  return Number(duration.seconds) * 1000 + Math.floor(duration.nanos / 1_000_000);
}

/** The Telemetry stream handling and server-initiated commands. */
export class TelemetryActivity {
  readonly #ctx: FrontContext;
  #checkTurn = 0;

  /** @param ctx The front's context. */
  constructor(ctx: FrontContext) {
    this.#ctx = ctx;
  }

  /**
   * A Telemetry stream opened.
   *
   * @param call The call.
   * @param writer Writes to the client.
   * @returns Handlers for the client's commands and the stream's end.
   */
  open(
    call: CallContext,
    writer: TelemetryWriter,
  ): { command(command: TelemetryCommand): void; end(): void } {
    const clientId = call.clientId;
    return {
      command: (command) => {
        if (command.command.case !== "settings") return; // stack traces, verify results: logged by nobody
        const session = this.#ctx.sessions.touch(clientId, this.#ctx.nowMs());
        session.writer = writer;
        session.namespace = call.namespace;
        const reply = this.#complete(command.command.value, session);
        session.settings = reply;
        writer.write(create(TelemetryCommandSchema, {
          status: okStatus(),
          command: { case: "settings", value: reply },
        }));
      },
      end: () => this.#ctx.sessions.detach(clientId, writer),
    };
  }

  /**
   * Push the last Settings again to a client, shortly (after a QueryRoute).
   *
   * @param clientId The client.
   */
  repushSettings(clientId: string): void {
    this.#ctx.schedule(() => {
      const session = this.#ctx.sessions.get(clientId);
      if (session?.writer === undefined || session.settings === undefined) return;
      session.writer.write(create(TelemetryCommandSchema, {
        status: okStatus(),
        command: { case: "settings", value: session.settings },
      }));
    }, SETTINGS_REPUSH_DELAY_MS);
  }

  /**
   * Ask a producer of the message's topic about an orphaned transaction
   * (RecoverOrphanedTransactionCommand); it answers with EndTransaction.
   *
   * @param producerGroup The group recorded in the half message (the topic, for gRPC producers).
   * @param check The half message and its position.
   * @returns False when no gRPC producer of the topic is connected.
   */
  checkTransaction(producerGroup: string, check: TransactionCheck): boolean {
    let record;
    try {
      record = decodeRecord(check.record);
    } catch {
      return false;
    }
    let producers = this.#ctx.sessions.producersOf(record.topic);
    if (producers.length === 0 && producerGroup !== record.topic) {
      producers = this.#ctx.sessions.producersOf(producerGroup);
    }
    if (producers.length === 0) return false;
    const session = producers[this.#checkTurn++ % producers.length];
    this.#checkTurn %= 0x4000_0000;
    return session.writer!.write(create(TelemetryCommandSchema, {
      command: {
        case: "recoverOrphanedTransactionCommand",
        value: {
          message: toGrpcMessage(record, { namespace: session.namespace }),
          transactionId: encodeTransactionId(check),
        },
      },
    }));
  }

  /** The client's Settings completed with the server's part. */
  #complete(sent: Settings, session: ClientSession): Settings {
    const reply = create(SettingsSchema, {
      clientType: sent.clientType,
      accessPoint: sent.accessPoint,
      requestTimeout: sent.requestTimeout,
      userAgent: sent.userAgent,
      metric: { on: false },
    });
    if (sent.pubSub.case === "publishing") {
      const publishing = sent.pubSub.value;
      session.topics = new Set(publishing.topics.map((t) => qualifiedName(t, session.namespace)));
      reply.backoffPolicy = exponential(PRODUCER_SEND_ATTEMPTS, 10, 1_000);
      reply.pubSub = {
        case: "publishing",
        value: {
          $typeName: "apache.rocketmq.v2.Publishing",
          topics: publishing.topics,
          maxBodySize: this.#ctx.bodyBytesMax,
          validateMessageType: publishing.validateMessageType,
        },
      };
    } else if (sent.pubSub.case === "subscription") {
      const subscription = sent.pubSub.value;
      const group = qualifiedName(subscription.group, session.namespace);
      session.group = group;
      const policy = this.#ctx.backend.groupRetryPolicy(
        group,
        subscription.subscriptions.map((entry) => qualifiedName(entry.topic, session.namespace)),
      );
      const asked = subscription.longPollingTimeout === undefined
        ? LONG_POLLING_MAX_MS
        : durationMs(subscription.longPollingTimeout);
      const maxPoll = sent.clientType === ClientType.PUSH_CONSUMER
        ? LONG_POLLING_MAX_MS
        : Math.max(asked, LONG_POLLING_MIN_MS);
      reply.backoffPolicy = exponential(policy.maxDeliveryAttempts, 1_000, 60_000);
      reply.pubSub = {
        case: "subscription",
        value: {
          ...subscription,
          fifo: policy.fifo,
          receiveBatchSize: RECEIVE_BATCH_SIZE,
          longPollingTimeout: durationFromMs(
            Math.min(Math.max(asked, LONG_POLLING_MIN_MS), maxPoll),
          ),
        },
      };
    }
    return reply;
  }
}

function exponential(maxAttempts: number, initialMs: number, maxMs: number): RetryPolicy {
  return create(RetryPolicySchema, {
    maxAttempts,
    strategy: {
      case: "exponentialBackoff",
      value: {
        $typeName: "apache.rocketmq.v2.ExponentialBackoff",
        initial: durationFromMs(initialMs),
        max: durationFromMs(maxMs),
        multiplier: 2,
      },
    },
  });
}
