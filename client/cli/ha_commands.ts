/**
 * HA commands of `deno task admin`: `haStatus -n host:port` asks a broker for
 * its role and, on a master, every slave's acked offset and lag
 * (GET_BROKER_HA_STATUS, 907; the body is the broker's JSON `HaStatus`);
 * `promote -n host:port` turns a slave into a master (HA_PROMOTE_TO_MASTER, 920).
 *
 * @module
 */

import { BrokerClient } from "../broker_client.ts";
import { RequestCode } from "../protocol/request_code.ts";

/** Usage lines of the HA commands. */
export const HA_USAGE = `HA commands (-n is a broker, host:port):
  haStatus -n host:port                  role, max offset, each slave's acked offset and lag
  promote -n host:port [-r ASYNC_MASTER|SYNC_MASTER]
                                         manual failover: the slave at host:port becomes master`;

/**
 * Run an HA command.
 *
 * @param command Command name.
 * @param options Parsed `-x value` options.
 * @param print Output sink.
 * @returns The exit code, or undefined when `command` is not an HA command.
 */
export async function runHaCommand(
  command: string,
  options: Record<string, string>,
  print: (text: string) => void,
): Promise<number | undefined> {
  if (command !== "haStatus" && command !== "promote") return undefined;
  const endpoint = options.n ?? "127.0.0.1:10911";
  await using client = new BrokerClient({ endpoint, requestTimeoutMs: 5_000 });
  if (command === "promote") {
    await client.invoke(RequestCode.HA_PROMOTE_TO_MASTER, { role: options.r ?? "ASYNC_MASTER" });
    print(`${endpoint} is now master`);
    return 0;
  }
  const response = await client.invoke(RequestCode.GET_BROKER_HA_STATUS);
  const status = JSON.parse(new TextDecoder().decode(response.body ?? new Uint8Array()));
  print(JSON.stringify(status, null, 2));
  return 0;
}
