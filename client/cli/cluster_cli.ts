/**
 * The admin CLI's cluster commands, which talk to name servers (`-n
 * host:port;host:port`, default 127.0.0.1:9876): clusterList, topicRoute,
 * brokerStatus, updateTopic -c, deleteTopic -c, and topicList /
 * consumerProgress when `-n` is a name server.
 *
 * @module
 */

import { BrokerClient } from "../broker_client.ts";
import { ClusterAdmin } from "../cluster_admin.ts";
import { MQConnectionClosedError } from "../errors.ts";
import { parseNameServerList } from "../name_server_client.ts";
import type { SessionCredentials } from "../protocol/acl_signature.ts";
import { RequestCode } from "../protocol/request_code.ts";
import { ResponseCode } from "../protocol/response_code.ts";

/** Default name-server address of the cluster commands. */
export const DEFAULT_NAMESRV = "127.0.0.1:9876";

/** Usage lines of the cluster commands (appended to the CLI's usage). */
export const CLUSTER_USAGE = `Cluster commands (-n is a name server, default ${DEFAULT_NAMESRV}):
  clusterList                            clusters, brokers and their addresses
  topicRoute -t TOPIC                    the topic's queues and brokers
  brokerStatus -b host:port              a broker's runtime counters
  updateTopic -t TOPIC -c CLUSTER [-r 4] [-w 4] [-p 6]
                                         create or update the topic on every master of the cluster
  deleteTopic -t TOPIC -c CLUSTER        delete it from the cluster and the name servers
  topicList [-c CLUSTER]                 topics known to the name servers
  consumerProgress -g GROUP [-t TOPIC]   progress across every broker`;

/**
 * Whether an address answers as a name server (GET_BROKER_CLUSTER_INFO is
 * supported there and not on a broker).
 *
 * @param addr The first address of `-n`.
 * @param credentials `--ak`/`--sk`, for a name server with ACL on.
 * @returns True for a name server.
 */
export async function isNameServer(
  addr: string,
  credentials?: SessionCredentials,
): Promise<boolean> {
  await using client = new BrokerClient({ endpoint: addr, requestTimeoutMs: 3_000, credentials });
  try {
    const response = await client.request(RequestCode.GET_BROKER_CLUSTER_INFO);
    return response.code === ResponseCode.SUCCESS;
  } catch (error) {
    if (error instanceof MQConnectionClosedError) return false;
    throw error;
  }
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

function required(options: Record<string, string>, name: string, what: string): string {
  const value = options[name];
  if (value === undefined) throw new TypeError(`Missing -${name} ${what}`);
  return value;
}

/**
 * Run a cluster command, if `command` is one (given its options).
 *
 * @param command The command name.
 * @param options Parsed options.
 * @param print Output sink.
 * @param formatTable The CLI's table formatter.
 * @param credentials `--ak`/`--sk`: every request is signed with them.
 * @returns The exit code, or undefined when this is not a cluster command
 *   (e.g. `topicList` with `-n` naming a broker).
 */
export async function runClusterCommand(
  command: string,
  options: Record<string, string>,
  print: (text: string) => void,
  formatTable: (header: readonly string[], rows: readonly (readonly unknown[])[]) => string,
  credentials?: SessionCredentials,
): Promise<number | undefined> {
  const always = ["clusterList", "topicRoute", "brokerStatus"].includes(command) ||
    ((command === "updateTopic" || command === "deleteTopic") && options.c !== undefined);
  const maybe = command === "topicList" || command === "consumerProgress";
  if (!always && !maybe) return undefined;
  const nameServer = options.n ?? DEFAULT_NAMESRV;
  if (!always) {
    const first = parseNameServerList(nameServer)[0];
    if (options.n === undefined || !(await isNameServer(first, credentials))) {
      return undefined;
    }
  }
  await using admin = new ClusterAdmin({ nameServer, credentials });
  switch (command) {
    case "clusterList": {
      const info = await admin.clusterInfo();
      const rows: unknown[][] = [];
      for (const [cluster, names] of Object.entries(info.clusterAddrTable).sort()) {
        for (const name of [...names].sort()) {
          const addrs = info.brokerAddrTable[name]?.brokerAddrs ?? {};
          for (const [id, addr] of Object.entries(addrs)) rows.push([cluster, name, id, addr]);
        }
      }
      print(formatTable(["Cluster", "Broker", "BrokerId", "Address"], rows));
      return 0;
    }
    case "topicRoute": {
      const topic = required(options, "t", "TOPIC");
      const route = await admin.topicRoute(topic);
      const addrs = new Map(route.brokerDatas.map((d) => [d.brokerName, d.brokerAddrs["0"] ?? ""]));
      print(formatTable(
        ["Broker", "Address", "Read", "Write", "Perm"],
        route.queueDatas.map((q) => [
          q.brokerName,
          addrs.get(q.brokerName) ?? "",
          q.readQueueNums,
          q.writeQueueNums,
          q.perm,
        ]),
      ));
      return 0;
    }
    case "brokerStatus": {
      const table = await admin.brokerStatus(required(options, "b", "BROKER_ADDRESS"));
      print(formatTable(["Key", "Value"], Object.entries(table).sort()));
      return 0;
    }
    case "updateTopic": {
      const topic = required(options, "t", "TOPIC");
      const masters = await admin.createTopic(topic, options.c, {
        readQueueNums: int(options, "r", 4),
        writeQueueNums: int(options, "w", 4),
        perm: int(options, "p", 6),
      });
      print(`Topic ${topic} created or updated on ${masters.map((m) => m.brokerName).join(", ")}`);
      return 0;
    }
    case "deleteTopic": {
      const topic = required(options, "t", "TOPIC");
      const masters = await admin.deleteTopic(topic, options.c);
      print(`Topic ${topic} deleted from ${masters.map((m) => m.brokerName).join(", ")}`);
      return 0;
    }
    case "topicList": {
      const topics = await admin.topicList(options.c);
      print(formatTable(["Topic"], topics.map((t) => [t])));
      return 0;
    }
    case "consumerProgress": {
      const group = required(options, "g", "GROUP");
      const progress = await admin.consumerProgress(group, options.t);
      print(formatTable(
        ["Topic", "Broker", "Queue", "BrokerOffset", "ConsumerOffset", "Lag"],
        [
          ...progress.queues.map((q) => [
            q.topic,
            q.brokerName,
            q.queueId,
            q.brokerOffset,
            q.consumerOffset,
            q.lag,
          ]),
          ["Total", "", "", "", "", progress.totalLag],
        ],
      ));
      return 0;
    }
  }
  return undefined;
}
