/**
 * `deno task admin <command> [options]`: a small mqadmin for one broker.
 *
 * Commands: topicList, updateTopic, deleteTopic, topicStatus,
 * consumerProgress, consumerConnection, resetOffsetByTime, findMsg, queryMsgById, sendMessage, peekMessage, dlqList, dlqResend. Common
 * option: `-n host:port`
 * (default 127.0.0.1:10911). Exits 1 with a message on any error.
 *
 * @module
 */

import { createAdmin } from "../admin.ts";
import { createProducer } from "../producer.ts";
import { createTransactionProducer } from "../transaction_producer.ts";
import type { Message } from "../message.ts";
import { MQClientError } from "../errors.ts";
import { CLUSTER_USAGE, isNameServer, runClusterCommand } from "./cluster_cli.ts";
import { HA_USAGE, runHaCommand } from "./ha_commands.ts";
import { cliCredentials, OPS_USAGE, runOpsCommand } from "./ops_commands.ts";
import { CONSUMER_COMMANDS, CONSUMER_USAGE, runConsumerCommand } from "./consumer_commands.ts";

/** Default broker address of the CLI. */
export const DEFAULT_ENDPOINT = "127.0.0.1:10911";

const USAGE = `Usage: deno task admin <command> [options]

Commands:
  topicList                              list topics with queue counts and perm
  updateTopic -t TOPIC [-r 4] [-w 4] [-p 6]  create or update a topic
  deleteTopic -t TOPIC                   delete a topic
  topicStatus -t TOPIC                   min/max offset per queue
${CONSUMER_USAGE}
  findMsg -k ID_OR_KEY [-t TOPIC]        where is my message? by msgId, offsetMsgId or key
  queryMsgById -i OFFSET_MSG_ID          show one message
  sendMessage -t TOPIC -b BODY [--tags T] [--keys K] [--props k=v,k2=v2]
              [--delay-ms MS | --deliver-at ISO_OR_MS | --delay-level 1..18]
              [--group MESSAGE_GROUP] [--transaction commit|rollback]
                                         send one message (delayed, FIFO or transactional)
  peekMessage -t TOPIC [-q QUEUE] [-o FROM_OFFSET] [-m 32] [--tags EXPR | --sql EXPR]
                                         read messages without consuming, filtered by the broker
  dlqList -g GROUP [-m 32] [-o FROM_OFFSET]   list the group's dead letters (%DLQ%GROUP)
  dlqResend -g GROUP (-o OFFSET | -i OFFSET_MSG_ID) [--to origin|retry]
                                         re-send a dead letter to its topic (or %RETRY%GROUP)

${CLUSTER_USAGE}

Options:
  -n host:port   broker address (default ${DEFAULT_ENDPOINT}); a name server for cluster commands
  -h, --help     this text`;

/**
 * Format rows as an aligned text table.
 *
 * @param header Column titles.
 * @param rows Cell values.
 * @returns The table, one line per row, columns separated by two spaces.
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly unknown[])[],
): string {
  const cells = [header, ...rows].map((r) => r.map((c) => String(c)));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

/**
 * Parse `-x value` / `--name value` options.
 *
 * @param args Arguments after the command.
 * @returns Option values by name (without dashes).
 * @throws {TypeError} On an option without a value.
 */
export function parseOptions(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("-")) throw new TypeError(`Unexpected argument "${arg}"`);
    const name = arg.replace(/^--?/, "");
    if (name === "h" || name === "help") {
      out.help = "true";
      continue;
    }
    const value = args[i + 1];
    if (value === undefined) throw new TypeError(`Option ${arg} needs a value`);
    out[name] = value;
    i++;
  }
  return out;
}

/** `k=v,k2=v2` into a property map. */
function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new TypeError(`Option --props wants k=v pairs, got "${pair}"`);
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}

/** An ISO date-time or epoch milliseconds. */
function parseTime(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) {
    throw new TypeError(`Option --deliver-at wants a date or epoch ms, got "${text}"`);
  }
  return ms;
}

/** Properties without the system ones, for compact listings. */
function userProperties(properties: Readonly<Record<string, string>>): Record<string, string> {
  const system = new Set(["UNIQ_KEY", "CLUSTER", "TAGS", "KEYS", "WAIT"]);
  return Object.fromEntries(Object.entries(properties).filter(([k]) => !system.has(k)));
}

function truncate(text: string, chars: number): string {
  return text.length <= chars ? text : text.slice(0, chars - 1) + "…";
}

function required(options: Record<string, string>, name: string, what: string): string {
  const value = options[name];
  if (value === undefined) throw new TypeError(`Missing -${name} ${what}`);
  return value;
}

function int(options: Record<string, string>, name: string, fallback: number): number {
  const text = options[name];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value)) {
    throw new TypeError(`Option -${name} must be an integer, got "${text}"`);
  }
  return value;
}

/**
 * Run one CLI command.
 *
 * @param argv Command and options.
 * @param print Output sink (one call per block of text).
 * @returns The process exit code.
 */
export async function runAdminCli(
  argv: readonly string[],
  print: (text: string) => void = console.log,
): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    print(`${USAGE}\n\n${OPS_USAGE}\n\n${HA_USAGE}`);
    return command === undefined ? 1 : 0;
  }
  const ops = await runOpsCommand(argv, print);
  if (ops !== undefined) return ops;
  const options = parseOptions(rest);
  if (options.help !== undefined) {
    print(`${USAGE}\n\n${OPS_USAGE}\n\n${HA_USAGE}`);
    return 0;
  }
  const credentials = cliCredentials(options);
  const cluster = await runClusterCommand(command, options, print, formatTable, credentials);
  if (cluster !== undefined) return cluster;
  const ha = await runHaCommand(command, options, print);
  if (ha !== undefined) return ha;
  const endpoint = options.n ?? DEFAULT_ENDPOINT;
  switch (command) {
    case "sendMessage": {
      const message: Message = {
        topic: required(options, "t", "TOPIC"),
        body: required(options, "b", "BODY"),
        tags: options.tags,
        keys: options.keys,
        properties: options.props === undefined ? undefined : parseProperties(options.props),
        messageGroup: options.group,
        delayMs: options["delay-ms"] === undefined ? undefined : int(options, "delay-ms", 0),
        delayLevel: options["delay-level"] === undefined
          ? undefined
          : int(options, "delay-level", 0),
        deliverAt: options["deliver-at"] === undefined
          ? undefined
          : parseTime(options["deliver-at"]),
      };
      let result;
      const decision = options.transaction;
      if (decision !== undefined) {
        if (decision !== "commit" && decision !== "rollback") {
          throw new TypeError(`Option --transaction must be commit or rollback, got "${decision}"`);
        }
        const state = decision === "commit" ? "COMMIT" : "ROLLBACK";
        await using producer = await createTransactionProducer({
          endpoint,
          group: "rmq_admin_tx",
          checker: () => state,
        });
        result = await producer.sendInTransaction(message, () => state);
      } else {
        const viaNameServer = options.n !== undefined &&
          await isNameServer(endpoint.split(";")[0], credentials);
        await using producer = await createProducer(
          viaNameServer ? { nameServer: endpoint, credentials } : { endpoint, credentials },
        );
        result = await producer.send(message);
      }
      print(formatTable(["Field", "Value"], [
        ["status", result.status],
        ["msgId", result.msgId],
        ["offsetMsgId", result.offsetMsgId],
        ["queue", `${result.queue.topic}/${result.queue.brokerName}/${result.queue.queueId}`],
        ["queueOffset", result.queueOffset],
        ...(decision === undefined ? [] : [["transaction", decision]]),
      ]));
      return 0;
    }
  }
  await using admin = await createAdmin({ endpoint, credentials });
  if (CONSUMER_COMMANDS.has(command)) {
    return await runConsumerCommand(admin, command, options, print, formatTable);
  }
  switch (command) {
    case "topicList": {
      const topics = await admin.listTopics();
      print(formatTable(
        ["Topic", "Read", "Write", "Perm"],
        topics.map((t) => [t.topicName, t.readQueueNums, t.writeQueueNums, t.perm]),
      ));
      return 0;
    }
    case "updateTopic": {
      const topic = required(options, "t", "TOPIC");
      await admin.createTopic(topic, {
        readQueueNums: int(options, "r", 4),
        writeQueueNums: int(options, "w", 4),
        perm: int(options, "p", 6),
      });
      print(`Topic ${topic} created or updated`);
      return 0;
    }
    case "deleteTopic": {
      const topic = required(options, "t", "TOPIC");
      await admin.deleteTopic(topic);
      print(`Topic ${topic} deleted`);
      return 0;
    }
    case "topicStatus": {
      const topic = required(options, "t", "TOPIC");
      const status = await admin.topicStatus(topic);
      print(formatTable(
        ["Broker", "Queue", "MinOffset", "MaxOffset"],
        status.map((s) => [s.queue.brokerName, s.queue.queueId, s.minOffset, s.maxOffset]),
      ));
      return 0;
    }
    case "peekMessage": {
      const topic = required(options, "t", "TOPIC");
      if (options.tags !== undefined && options.sql !== undefined) {
        throw new TypeError("Use either --tags or --sql, not both");
      }
      const filter = options.sql !== undefined
        ? { type: "SQL92" as const, expression: options.sql }
        : options.tags !== undefined
        ? { type: "TAG" as const, expression: options.tags }
        : undefined;
      const messages = await admin.peekMessages(topic, int(options, "q", 0), {
        fromOffset: options.o === undefined ? undefined : int(options, "o", 0),
        max: int(options, "m", 32),
        filter,
      });
      print(formatTable(
        ["QueueOffset", "MsgId", "Tags", "Keys", "StoreTime", "Properties", "Body"],
        messages.map((m) => [
          m.queueOffset,
          m.msgId,
          m.tags ?? "",
          m.keys.join(" "),
          new Date(m.storeTimestamp).toISOString(),
          truncate(JSON.stringify(userProperties(m.properties)), 40),
          truncate(m.text(), 30),
        ]),
      ));
      return 0;
    }
    case "findMsg": {
      const idOrKey = required(options, "k", "ID_OR_KEY");
      const messages = await admin.findMessages(idOrKey, options.t);
      if (messages.length === 0) {
        print(`No message with id or key "${idOrKey}"${options.t ? ` in ${options.t}` : ""}`);
        return 1;
      }
      for (const m of messages) {
        print(formatTable(["Field", "Value"], [
          ["topic", m.topic],
          ["queueId", m.queueId],
          ["queueOffset", m.queueOffset],
          ["commitLogOffset", m.commitLogOffset],
          ["msgId", m.msgId],
          ["offsetMsgId", m.offsetMsgId],
          ["storeTimestamp", new Date(m.storeTimestamp).toISOString()],
          ["bornTimestamp", new Date(m.bornTimestamp).toISOString()],
          ["tags", m.tags ?? ""],
          ["keys", m.keys.join(" ")],
          ["reconsumeTimes", m.reconsumeTimes],
          ["properties", JSON.stringify(m.properties)],
        ]));
      }
      return 0;
    }
    case "queryMsgById": {
      const id = required(options, "i", "OFFSET_MSG_ID");
      const m = await admin.viewMessage(id);
      print(formatTable(["Field", "Value"], [
        ["topic", m.topic],
        ["msgId", m.msgId],
        ["offsetMsgId", m.offsetMsgId],
        ["tags", m.tags ?? ""],
        ["keys", m.keys.join(" ")],
        ["queueId", m.queueId],
        ["queueOffset", m.queueOffset],
        ["commitLogOffset", m.commitLogOffset],
        ["bornTimestamp", new Date(m.bornTimestamp).toISOString()],
        ["storeTimestamp", new Date(m.storeTimestamp).toISOString()],
        ["reconsumeTimes", m.reconsumeTimes],
        ["properties", JSON.stringify(m.properties)],
        ["body", m.text()],
      ]));
      return 0;
    }
    case "dlqList": {
      const group = required(options, "g", "GROUP");
      const from = options.o === undefined ? undefined : int(options, "o", 0);
      const messages = await admin.listDlqMessages(group, {
        max: int(options, "m", 32),
        fromOffset: from,
      });
      print(formatTable(
        ["Offset", "MsgId", "OriginTopic", "Reconsume", "StoreTime", "OffsetMsgId", "Body"],
        messages.map((m) => [
          m.queueOffset,
          m.msgId,
          m.properties.DLQ_ORIGIN_TOPIC ?? "",
          m.reconsumeTimes,
          new Date(m.storeTimestamp).toISOString(),
          m.offsetMsgId,
          truncate(m.text(), 40),
        ]),
      ));
      return 0;
    }
    case "dlqResend": {
      const group = required(options, "g", "GROUP");
      const to = options.to ?? "origin";
      if (to !== "origin" && to !== "retry") {
        throw new TypeError(`Option --to must be origin or retry, got "${to}"`);
      }
      const which = options.i ?? (options.o === undefined ? undefined : int(options, "o", 0));
      if (which === undefined) throw new TypeError("Missing -o OFFSET or -i OFFSET_MSG_ID");
      const result = await admin.resendDlqMessage(group, which, { target: to });
      print(formatTable(["Field", "Value"], [
        ["topic", result.topic],
        ["msgId", result.msgId],
        ["offsetMsgId", result.offsetMsgId],
        ["queueId", result.queueId],
        ["queueOffset", result.queueOffset],
      ]));
      return 0;
    }
    default:
      throw new TypeError(`Unknown command "${command}"; run with --help for the list`);
  }
}

if (import.meta.main) {
  try {
    Deno.exitCode = await runAdminCli(Deno.args);
  } catch (error) {
    const kind = error instanceof MQClientError || error instanceof TypeError ||
        error instanceof RangeError
      ? ""
      : "unexpected ";
    const message = error instanceof Error ? error.message : String(error);
    const cause = error instanceof Error && error.cause instanceof Error
      ? ` (${error.cause.message})`
      : "";
    console.error(`Error: ${kind}${message}${cause}`);
    Deno.exitCode = 1;
  }
}
