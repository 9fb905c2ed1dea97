/**
 * How a client makes itself known to the broker: heartbeats register a
 * producer group (so the broker can reach it, e.g. for transaction
 * check-backs), and UNREGISTER_CLIENT says goodbye on close.
 *
 * @module
 */

import type { BrokerClient } from "./broker_client.ts";
import { unregisterClientRequestHeader } from "./protocol/headers.ts";
import { encodeJsonBody, type HeartbeatData } from "./protocol/heartbeat.ts";
import { RequestCode } from "./protocol/request_code.ts";

/** Longest wait for the broker to acknowledge UNREGISTER_CLIENT on close, ms. */
export const UNREGISTER_TIMEOUT_MS = 1_000;

/**
 * Register a producer group with a heartbeat.
 *
 * @param client The broker channel.
 * @param clientId This client's id.
 * @param group Producer group.
 * @param signal Aborts the wait.
 * @throws {MQBrokerError} If the broker refuses the heartbeat.
 */
export async function sendProducerHeartbeat(
  client: BrokerClient,
  clientId: string,
  group: string,
  signal?: AbortSignal,
): Promise<void> {
  const data: HeartbeatData = {
    clientID: clientId,
    producerDataSet: [{ groupName: group }],
    consumerDataSet: [],
  };
  await client.invoke(RequestCode.HEART_BEAT, {}, encodeJsonBody(data), { signal });
}

/**
 * Unregister from the broker (best effort, bounded by `UNREGISTER_TIMEOUT_MS`),
 * then close the connection. The broker also forgets a client whose
 * connection closes, so a failed unregister is not an error.
 *
 * @param client The broker channel.
 * @param clientId This client's id.
 * @param groups The producer or consumer group being left.
 */
export async function unregisterAndClose(
  client: BrokerClient,
  clientId: string,
  groups: { readonly producerGroup?: string; readonly consumerGroup?: string },
): Promise<void> {
  try {
    await client.request(
      RequestCode.UNREGISTER_CLIENT,
      unregisterClientRequestHeader.encode({ clientID: clientId, ...groups }),
      undefined,
      { timeoutMs: UNREGISTER_TIMEOUT_MS },
    );
  } catch {
    // Best effort (see above).
  }
  await client.close();
}
