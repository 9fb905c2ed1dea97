/**
 * The {@linkcode TransactionCheckSender} over live producer connections:
 * sends CHECK_TRANSACTION_STATE (39, oneway) to one producer of a group.
 *
 * @module
 */

import {
  type CheckTransactionStateRequestHeader,
  checkTransactionStateRequestHeader,
} from "../../client/protocol/headers.ts";
import { createRequest } from "../../client/protocol/remoting_command.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import type { TransactionCheckSender } from "../domain/transaction/transaction_check_service.ts";
import type { Channel } from "./broker_context.ts";

/**
 * Sends check requests to a live channel of the producer group, rotating
 * over the group's channels so one busy producer does not get every check.
 */
export class ChannelTransactionCheckSender implements TransactionCheckSender {
  readonly #producerChannels: (group: string) => readonly Channel[];
  readonly #nextOpaque: () => number;
  #turn = 0;

  /**
   * Build the sender.
   *
   * @param producerChannels The live connections of a producer group (the
   *   broker's client registry).
   * @param nextOpaque Opaque of the next broker-initiated request.
   */
  constructor(producerChannels: (group: string) => readonly Channel[], nextOpaque: () => number) {
    this.#producerChannels = producerChannels;
    this.#nextOpaque = nextOpaque;
  }

  /**
   * Send CHECK_TRANSACTION_STATE to one open channel of `group`.
   *
   * @param group Producer group.
   * @param header Request header.
   * @param body The half record with the real topic and queue.
   * @returns False when the group has no open channel.
   */
  send(group: string, header: CheckTransactionStateRequestHeader, body: Uint8Array): boolean {
    const open = this.#producerChannels(group).filter((channel) => !channel.closed);
    if (open.length === 0) return false;
    const channel = open[this.#turn++ % open.length];
    this.#turn %= 0x4000_0000;
    channel.send(
      createRequest(
        RequestCode.CHECK_TRANSACTION_STATE,
        this.#nextOpaque(),
        checkTransactionStateRequestHeader.encode(header),
        body,
        true,
      ),
    );
    return true;
  }
}
