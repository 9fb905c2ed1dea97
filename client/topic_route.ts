/**
 * Topic routes: which broker queues a topic has, from GET_ROUTEINFO_BY_TOPIC.
 *
 * @module
 */

import type { BrokerClient } from "./broker_client.ts";
import { MQClientError } from "./errors.ts";
import { getRouteInfoRequestHeader, PermName } from "./protocol/headers.ts";
import { parseTopicRouteData, type TopicRouteData } from "./protocol/heartbeat.ts";
import { RequestCode } from "./protocol/request_code.ts";
import type { MessageQueue } from "./message.ts";

/**
 * Ask the broker for a topic's route.
 *
 * @param client The broker channel.
 * @param topic Topic name.
 * @param signal Aborts the wait.
 * @returns The route.
 * @throws {MQBrokerError} If the broker refuses (e.g. TOPIC_NOT_EXIST).
 * @throws {MQClientError} If the body cannot be parsed.
 */
export async function fetchTopicRoute(
  client: BrokerClient,
  topic: string,
  signal?: AbortSignal,
): Promise<TopicRouteData> {
  const response = await client.invoke(
    RequestCode.GET_ROUTEINFO_BY_TOPIC,
    getRouteInfoRequestHeader.encode({ topic, acceptStandardJsonOnly: true }),
    undefined,
    { signal },
  );
  const parsed = parseTopicRouteData(response.body);
  if (!parsed.ok) throw new MQClientError(`Bad route for topic ${topic}: ${parsed.error}`);
  return parsed.value;
}

function queuesOf(
  route: TopicRouteData,
  topic: string,
  pick: "readQueueNums" | "writeQueueNums",
  perm: number,
): MessageQueue[] {
  const out: MessageQueue[] = [];
  const datas = [...route.queueDatas].sort((a, b) => a.brokerName.localeCompare(b.brokerName));
  for (const data of datas) {
    if ((data.perm & perm) === 0) continue;
    for (let queueId = 0; queueId < data[pick]; queueId++) {
      out.push({ topic, brokerName: data.brokerName, queueId });
    }
  }
  return out;
}

/**
 * The queues a producer may write, in broker-name then queue-id order.
 *
 * @param route The topic route.
 * @param topic Topic name.
 * @returns Writable queues.
 */
export function writeQueues(route: TopicRouteData, topic: string): MessageQueue[] {
  return queuesOf(route, topic, "writeQueueNums", PermName.PERM_WRITE);
}

/**
 * The queues a consumer may read, in broker-name then queue-id order.
 *
 * @param route The topic route.
 * @param topic Topic name.
 * @returns Readable queues.
 */
export function readQueues(route: TopicRouteData, topic: string): MessageQueue[] {
  return queuesOf(route, topic, "readQueueNums", PermName.PERM_READ);
}
