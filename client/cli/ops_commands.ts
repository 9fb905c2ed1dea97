/**
 * The admin CLI's operations commands (dispatched from `admin_cli.ts`):
 * subscription groups, broker config, statsAll, message queries, consuming
 * messages for inspection, and ACL accounts. Tables by default; `--json`
 * prints the same data as JSON for scripts.
 *
 * @module
 */

import { createAdmin } from "../admin.ts";
import type { ReceivedMessage } from "../message.ts";
import { createOpsAdmin } from "../ops_admin.ts";
import type { SessionCredentials } from "../protocol/acl_signature.ts";
import { DEFAULT_ENDPOINT, formatTable, parseOptions } from "./admin_cli.ts";

/** Usage lines of the operations commands, appended to the CLI's help. */
export const OPS_USAGE = `Operations commands (add --json for JSON output):
  updateSubGroup -g GROUP [-q RETRY_MAX_TIMES] [-r RETRY_QUEUE_NUMS] [-s CONSUME_ENABLE]
                 [-d BROADCAST_ENABLE] [-o ORDERLY]   create or update a subscription group
  deleteSubGroup -g GROUP [--clean-offset true]       delete a subscription group
  subGroupList                                        list subscription groups
  getBrokerConfig                                     the broker's options in force
  updateBrokerConfig -k KEY -v VALUE                  change a run-time changeable option
  statsAll [-t TOPIC]                                 per topic and group: TPS, totals, lag
  queryMsgByKey -t TOPIC -k KEY                       messages with that key
  queryMsgByUniqueKey -t TOPIC -i UNIQ_KEY            the message with that unique id
  consumeMessage -t TOPIC [-q QUEUE] [-o OFFSET | -s BEGIN_MS] [-e END_MS] [-c 32]
                                                      read messages without committing
  updateAclConfig -a ACCESS_KEY -s SECRET_KEY [-w WHITE_ADDR] [-m ADMIN] [-i DEFAULT_TOPIC_PERM]
                  [-u DEFAULT_GROUP_PERM] [-t topicA=PUB,topicB=SUB] [-g groupA=SUB]
                                                      create or update an ACL account
  deleteAclConfig -a ACCESS_KEY                       delete an ACL account
  getAclConfig                                        ACL white list and accounts (secrets masked)
Credentials when the broker has ACL on: --ak ACCESS_KEY --sk SECRET_KEY`;

const COMMANDS = new Set([
  "updateSubGroup",
  "deleteSubGroup",
  "subGroupList",
  "getBrokerConfig",
  "updateBrokerConfig",
  "statsAll",
  "queryMsgByKey",
  "queryMsgByUniqueKey",
  "consumeMessage",
  "updateAclConfig",
  "deleteAclConfig",
  "getAclConfig",
]);

/**
 * Credentials from `--ak` / `--sk`, if both are given.
 *
 * @param options Parsed options.
 * @returns The credentials, or undefined.
 * @throws {TypeError} If only one of the two is given.
 */
export function cliCredentials(options: Record<string, string>): SessionCredentials | undefined {
  if (options.ak === undefined && options.sk === undefined) return undefined;
  if (options.ak === undefined || options.sk === undefined) {
    throw new TypeError("Give both --ak ACCESS_KEY and --sk SECRET_KEY");
  }
  return { accessKey: options.ak, secretKey: options.sk };
}

function need(options: Record<string, string>, name: string, what: string): string {
  const value = options[name];
  if (value === undefined) throw new TypeError(`Missing -${name} ${what}`);
  return value;
}

function int(options: Record<string, string>, name: string): number | undefined {
  const text = options[name];
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text)) {
    throw new TypeError(`Option -${name} must be an integer, got "${text}"`);
  }
  return Number(text);
}

function bool(options: Record<string, string>, name: string): boolean | undefined {
  const text = options[name];
  if (text === undefined) return undefined;
  if (text !== "true" && text !== "false") {
    throw new TypeError(`Option -${name} must be true or false, got "${text}"`);
  }
  return text === "true";
}

function messageRow(m: ReceivedMessage) {
  return {
    topic: m.topic,
    queueId: m.queueId,
    queueOffset: m.queueOffset,
    msgId: m.msgId,
    offsetMsgId: m.offsetMsgId,
    tags: m.tags ?? "",
    keys: m.keys.join(" "),
    storeTime: new Date(m.storeTimestamp).toISOString(),
    body: m.text(),
  };
}

/**
 * Run an operations command if `argv` names one.
 *
 * @param argv Command and options.
 * @param print Output sink.
 * @returns The exit code, or undefined when the command is not an operations command.
 */
export async function runOpsCommand(
  argv: readonly string[],
  print: (text: string) => void,
): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (command === undefined || !COMMANDS.has(command)) return undefined;
  const asJson = rest.includes("--json");
  const options = parseOptions(rest.filter((a) => a !== "--json"));
  const endpoint = options.n ?? DEFAULT_ENDPOINT;
  const credentials = cliCredentials(options);
  const out = (rows: readonly Record<string, unknown>[], empty = "(none)") => {
    if (asJson) print(JSON.stringify(rows, null, 2));
    else if (rows.length === 0) print(empty);
    else print(formatTable(Object.keys(rows[0]), rows.map((r) => Object.values(r))));
  };
  const done = (text: string, value: Record<string, unknown>) => {
    print(asJson ? JSON.stringify(value) : text);
    return 0;
  };
  await using ops = createOpsAdmin({ endpoint, credentials });
  switch (command) {
    case "updateSubGroup": {
      const groupName = need(options, "g", "GROUP");
      const existing = (await ops.listSubscriptionGroups()).find((g) => g.groupName === groupName);
      const group = {
        ...existing,
        groupName,
        ...(int(options, "q") === undefined ? {} : { retryMaxTimes: int(options, "q") }),
        ...(int(options, "r") === undefined ? {} : { retryQueueNums: int(options, "r") }),
        ...(bool(options, "s") === undefined ? {} : { consumeEnable: bool(options, "s") }),
        ...(bool(options, "d") === undefined ? {} : { consumeBroadcastEnable: bool(options, "d") }),
        ...(bool(options, "o") === undefined ? {} : { consumeMessageOrderly: bool(options, "o") }),
      };
      await ops.updateSubscriptionGroup(group);
      return done(`Subscription group ${groupName} created or updated`, group);
    }
    case "deleteSubGroup": {
      const group = need(options, "g", "GROUP");
      await ops.deleteSubscriptionGroup(group, options["clean-offset"] === "true");
      return done(`Subscription group ${group} deleted`, { groupName: group, deleted: true });
    }
    case "subGroupList": {
      const groups = await ops.listSubscriptionGroups();
      out(groups.map((g) => ({
        group: g.groupName,
        consumeEnable: g.consumeEnable,
        broadcast: g.consumeBroadcastEnable,
        orderly: g.consumeMessageOrderly,
        retryQueueNums: g.retryQueueNums,
        retryMaxTimes: g.retryMaxTimes,
      })));
      return 0;
    }
    case "getBrokerConfig": {
      const config = await ops.getBrokerConfig();
      if (asJson) print(JSON.stringify(config, null, 2));
      else print(formatTable(["Key", "Value"], Object.entries(config)));
      return 0;
    }
    case "updateBrokerConfig": {
      const key = need(options, "k", "KEY");
      const value = need(options, "v", "VALUE");
      await ops.updateBrokerConfig({ [key]: value });
      return done(`Broker option ${key} set to ${value}`, { [key]: value });
    }
    case "statsAll": {
      await using admin = await createAdmin({ endpoint, credentials });
      const topics = (await admin.listTopics()).filter((t) =>
        options.t === undefined
          ? !/^(%|rmq_sys_|RMQ_SYS_|TBW102|SCHEDULE_TOPIC)/.test(t.topicName)
          : t.topicName === options.t
      );
      const groups = await ops.groupsByTopic();
      const rows: Record<string, unknown>[] = [];
      for (const topic of topics) {
        const put = await ops.viewBrokerStats("TOPIC_PUT_NUMS", topic.topicName);
        const consumers = groups.get(topic.topicName) ?? [];
        for (const group of consumers.length === 0 ? [""] : consumers) {
          const get = group === ""
            ? undefined
            : await ops.viewBrokerStats("GROUP_GET_NUMS", `${topic.topicName}@${group}`);
          const lag = group === ""
            ? ""
            : (await admin.consumerProgress(group, topic.topicName)).totalLag;
          rows.push({
            topic: topic.topicName,
            group,
            accumulation: lag,
            inTps: put.statsMinute.tps.toFixed(2),
            outTps: get === undefined ? "" : get.statsMinute.tps.toFixed(2),
            inMsgDay: put.statsDay.sum,
            outMsgDay: get?.statsDay.sum ?? "",
          });
        }
      }
      out(rows, "No topics");
      return 0;
    }
    case "queryMsgByKey":
    case "queryMsgByUniqueKey": {
      const topic = need(options, "t", "TOPIC");
      const key = command === "queryMsgByKey"
        ? need(options, "k", "KEY")
        : need(options, "i", "UNIQ_KEY");
      await using admin = await createAdmin({ endpoint, credentials });
      let found = await admin.findMessages(key, topic);
      if (command === "queryMsgByUniqueKey") found = found.filter((m) => m.msgId === key);
      else found = found.filter((m) => m.keys.includes(key));
      out(
        found.map(messageRow),
        `No message with ${command === "queryMsgByKey" ? "key" : "unique key"} ${key} in ${topic}`,
      );
      return found.length === 0 ? 1 : 0;
    }
    case "consumeMessage": {
      const topic = need(options, "t", "TOPIC");
      const count = int(options, "c") ?? 32;
      const begin = int(options, "s");
      const end = int(options, "e");
      await using admin = await createAdmin({ endpoint, credentials });
      const queues = options.q !== undefined
        ? [int(options, "q")!]
        : (await admin.topicStatus(topic)).map((s) => s.queue.queueId);
      const rows = [];
      for (const queueId of queues) {
        if (rows.length >= count) break;
        const fromOffset = int(options, "o") ??
          (begin === undefined ? undefined : await ops.searchOffset(topic, queueId, begin));
        const messages = await admin.peekMessages(topic, queueId, {
          fromOffset,
          max: count - rows.length,
        });
        for (const m of messages) {
          if (end !== undefined && m.storeTimestamp > end) break;
          rows.push(messageRow(m));
        }
      }
      out(rows, `No messages in ${topic}`);
      return 0;
    }
    case "updateAclConfig": {
      const split = (text: string | undefined) =>
        text === undefined ? undefined : text.split(",").filter((s) => s !== "");
      const account = {
        accessKey: need(options, "a", "ACCESS_KEY"),
        secretKey: need(options, "s", "SECRET_KEY"),
        whiteRemoteAddress: options.w,
        admin: bool(options, "m"),
        defaultTopicPerm: options.i,
        defaultGroupPerm: options.u,
        topicPerms: split(options.t),
        groupPerms: split(options.g),
      };
      await ops.updateAclAccount(account);
      return done(`ACL account ${account.accessKey} created or updated`, {
        accessKey: account.accessKey,
        updated: true,
      });
    }
    case "deleteAclConfig": {
      const accessKey = need(options, "a", "ACCESS_KEY");
      await ops.deleteAclAccount(accessKey);
      return done(`ACL account ${accessKey} deleted`, { accessKey, deleted: true });
    }
    case "getAclConfig": {
      const acl = await ops.listAclAccounts();
      if (asJson) {
        print(JSON.stringify(acl, null, 2));
        return 0;
      }
      print(`Global white list: ${acl.globalWhiteAddrs.join(", ") || "(none)"}`);
      out(
        acl.plainAccessConfigs.map((a) => ({
          accessKey: a.accessKey,
          admin: a.admin ?? false,
          white: a.whiteRemoteAddress ?? "",
          defaultTopicPerm: a.defaultTopicPerm ?? "",
          defaultGroupPerm: a.defaultGroupPerm ?? "",
          topicPerms: (a.topicPerms ?? []).join(" "),
          groupPerms: (a.groupPerms ?? []).join(" "),
        })),
        "No accounts",
      );
      return 0;
    }
  }
  return undefined;
}
