/**
 * Consumer commands of the admin CLI: `consumerProgress` (lag in messages
 * and in time, pop in-flight), `consumerConnection` and `resetOffsetByTime`.
 *
 * @module
 */

import type { Admin } from "../admin.ts";

/** Usage lines of these commands. */
export const CONSUMER_USAGE =
  `  consumerProgress -g GROUP [-t TOPIC]   per queue: broker offset, consumer offset, lag, lag in time;
                                         pop in-flight count
  consumerConnection -g GROUP            members, client ids, subscriptions and message model
  resetOffsetByTime -g GROUP -t TOPIC -s MS_OR_ISO
                                         move the group (and its live members) to that time`;

/** Names of these commands. */
export const CONSUMER_COMMANDS: ReadonlySet<string> = new Set([
  "consumerProgress",
  "consumerConnection",
  "resetOffsetByTime",
]);

function need(options: Record<string, string>, name: string, what: string): string {
  const value = options[name];
  if (value === undefined) throw new TypeError(`Missing -${name} ${what}`);
  return value;
}

/**
 * An epoch-ms number or an ISO date-time.
 *
 * @param text The option text.
 * @returns Epoch ms.
 * @throws {TypeError} If it is neither.
 */
export function parseTimestamp(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) {
    throw new TypeError(`Option -s wants epoch ms or an ISO date, got "${text}"`);
  }
  return ms;
}

/**
 * Run one consumer command.
 *
 * @param admin A started admin.
 * @param command The command name (one of {@linkcode CONSUMER_COMMANDS}).
 * @param options Parsed options.
 * @param print Output sink.
 * @param table Table formatter.
 * @returns The exit code.
 */
export async function runConsumerCommand(
  admin: Admin,
  command: string,
  options: Record<string, string>,
  print: (text: string) => void,
  table: (header: readonly string[], rows: readonly (readonly unknown[])[]) => string,
): Promise<number> {
  const group = need(options, "g", "GROUP");
  switch (command) {
    case "consumerProgress": {
      const stats = await admin.consumeStats(group, options.t);
      print(table(
        ["Topic", "Queue", "BrokerOffset", "ConsumerOffset", "Lag", "LagMs"],
        [
          ...stats.queues.map((
            q,
          ) => [q.topic, q.queueId, q.brokerOffset, q.consumerOffset, q.lag, q.lagMs]),
          ["Total", "", "", "", stats.totalLag, stats.maxLagMs],
        ],
      ));
      print(`Pop in-flight: ${stats.popInFlight}`);
      return 0;
    }
    case "consumerConnection": {
      const connection = await admin.consumerConnection(group);
      print(
        table(["ClientId", "Address"], connection.members.map((m) => [m.clientId, m.clientAddr])),
      );
      print(table(
        ["Topic", "Type", "Expression"],
        connection.subscriptions.map((s) => [s.topic, s.expressionType, s.expression]),
      ));
      print(
        `ConsumeType: ${connection.consumeType}  MessageModel: ${connection.messageModel}  ConsumeFromWhere: ${connection.consumeFromWhere}`,
      );
      return 0;
    }
    case "resetOffsetByTime": {
      const topic = need(options, "t", "TOPIC");
      const offsets = await admin.resetOffsetByTime(
        group,
        topic,
        parseTimestamp(need(options, "s", "TIME")),
      );
      print(table(["Queue", "NewOffset"], [...offsets].sort((a, b) => a[0] - b[0])));
      return 0;
    }
    default:
      throw new TypeError(`Unknown consumer command "${command}"`);
  }
}
