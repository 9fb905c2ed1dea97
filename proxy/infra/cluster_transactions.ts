/**
 * Transactional messages in the gRPC front's cluster mode. A half message
 * records its topic as producer group (gRPC producers have none), so the
 * front registers itself on a broker as a producer of that group (HEART_BEAT,
 * renewed every {@linkcode PRODUCER_HEARTBEAT_INTERVAL_MS}) before it sends
 * the first half message of the topic there; the broker's transaction checks
 * (CHECK_TRANSACTION_STATE) then reach the front, which hands them to a gRPC
 * producer of the topic over Telemetry. END_TRANSACTION goes to the broker
 * the transaction id names.
 *
 * @module
 */

import type { BrokerPool } from "../../client/broker_pool.ts";
import { sendProducerHeartbeat } from "../../client/client_registration.ts";
import {
  checkTransactionStateRequestHeader,
  endTransactionRequestHeader,
  TransactionState,
} from "../../client/protocol/headers.ts";
import { decodeRecord } from "../../client/protocol/message_record.ts";
import type { RemotingCommand } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import type {
  BackendEndTransaction,
  BackendEndTransactionResult,
  TransactionCheck,
} from "../domain/backend.ts";

/** How often the front renews its producer registrations, ms (brokers drop silent ones after 120 s). */
export const PRODUCER_HEARTBEAT_INTERVAL_MS = 30_000;

/** Hands a broker's transaction check to a gRPC producer; false when none is connected. */
export type TransactionCheckHandler = (group: string, check: TransactionCheck) => boolean;

/** Transaction support of the cluster backend. */
export class ClusterTransactions {
  readonly #pool: BrokerPool;
  readonly #clientId = `grpc-proxy@${crypto.randomUUID()}`;
  /** `broker\0group` pairs this front is registered for. */
  readonly #registered = new Map<string, Promise<void>>();
  readonly #timer: ReturnType<typeof setInterval>;
  /** Broker address (`ip:port`) → broker name, from routes. */
  readonly #names = new Map<string, string>();
  /** Set by the composition root: where checks go. */
  onCheck: TransactionCheckHandler | undefined;

  /** @param pool Broker channels by name. */
  constructor(pool: BrokerPool) {
    this.#pool = pool;
    this.#timer = setInterval(() => this.#renew(), PRODUCER_HEARTBEAT_INTERVAL_MS);
  }

  /**
   * Remember which broker has which address (checks name the store host only).
   *
   * @param name Broker name.
   * @param addr Its master's `ip:port`.
   */
  learnBroker(name: string, addr: string): void {
    this.#names.set(addr, name);
  }

  /**
   * Register as producer of `group` on `broker`, once.
   *
   * @param broker Broker name.
   * @param group Producer group (the topic).
   */
  ensureProducer(broker: string, group: string): Promise<void> {
    const key = `${broker}\u0000${group}`;
    let registered = this.#registered.get(key);
    if (registered === undefined) {
      registered = sendProducerHeartbeat(this.#pool.client(broker), this.#clientId, group);
      this.#registered.set(key, registered);
      registered.catch(() => this.#registered.delete(key));
    }
    return registered;
  }

  #renew(): void {
    for (const key of this.#registered.keys()) {
      const [broker, group] = key.split("\u0000");
      sendProducerHeartbeat(this.#pool.client(broker), this.#clientId, group).catch(() => {});
    }
  }

  /**
   * END_TRANSACTION (two-way) to the broker holding the half message.
   *
   * @param request What to end.
   * @returns The outcome.
   */
  async end(request: BackendEndTransaction): Promise<BackendEndTransactionResult> {
    if (request.brokerName === undefined) {
      return { status: "NOT_FOUND", remark: "transaction_id names no broker" };
    }
    try {
      const response = await this.#pool.client(request.brokerName).request(
        RequestCode.END_TRANSACTION,
        endTransactionRequestHeader.encode({
          topic: request.topic,
          producerGroup: request.producerGroup,
          tranStateTableOffset: request.halfQueueOffset,
          commitLogOffset: request.commitLogOffset,
          commitOrRollback: request.commit ? TransactionState.COMMIT : TransactionState.ROLLBACK,
          fromTransactionCheck: request.fromCheck,
          msgId: request.messageId,
        }),
      );
      if (response.code === ResponseCode.SUCCESS) return { status: "OK" };
      return { status: "INVALID", remark: response.remark ?? `code ${response.code}` };
    } catch (error) {
      return { status: "ERROR", remark: (error as Error).message };
    }
  }

  /**
   * Broker-initiated requests on the front's channels: CHECK_TRANSACTION_STATE.
   *
   * @param request The request.
   * @returns No response (the check is oneway).
   */
  handle(request: RemotingCommand): undefined {
    if (request.code !== RequestCode.CHECK_TRANSACTION_STATE || request.body === undefined) return;
    const header = checkTransactionStateRequestHeader.decode(request.extFields);
    if (!header.ok) return;
    let record;
    try {
      record = decodeRecord(request.body);
    } catch {
      return;
    }
    const ip = record.storeHost.ip;
    const addr = `${ip.length === 4 ? Array.from(ip).join(".") : ""}:${record.storeHost.port}`;
    this.onCheck?.(record.topic, {
      record: request.body,
      commitLogOffset: header.header.commitLogOffset,
      halfQueueOffset: header.header.tranStateTableOffset,
      brokerName: this.#names.get(addr),
    });
  }

  /** Stop renewing registrations. */
  close(): void {
    clearInterval(this.#timer);
  }
}
