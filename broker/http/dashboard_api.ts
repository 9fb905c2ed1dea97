/**
 * The dashboard's JSON API under `/api/` (documented in docs/http_api.md).
 *
 * Reads go straight to the broker's state; writes (create, update and delete
 * topics, reset offsets, resend dead letters) call the same domain objects
 * the remoting admin requests use. Every answer is JSON; bad input answers
 * 400 with `{ "error": "..." }`, unknown things 404.
 *
 * @module
 */

import { createOffsetMessageId } from "../../client/protocol/message_id.ts";
import {
  checkTopicName,
  checkTopicNotReserved,
  createTopicConfig,
  DLQ_TOPIC_PREFIX,
  PERM_READ_WRITE,
  RESERVED_TOPICS,
  RETRY_TOPIC_PREFIX,
} from "../domain/topic_config.ts";
import {
  type BrokerMetricsSource,
  groupLags,
  storeTimestampAt,
} from "../metrics/broker_metrics.ts";
import { MessageSearch } from "./message_search.ts";
import { ClusterView } from "./cluster_view.ts";
import { BROKER_VERSION } from "../version.ts";
import { HISTORY_SAMPLE_INTERVAL_MS, TpsHistory } from "./tps_history.ts";

/** Request body limit of the API, bytes. */
export const API_BODY_BYTES_MAX = 64 * 1024;

class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Serves `/api/*`; owns the TPS history sampler. */
export class DashboardApi {
  readonly #source: BrokerMetricsSource;
  readonly #history: TpsHistory;
  readonly #search: MessageSearch;
  readonly #cluster: ClusterView;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #startedMs: number;

  /** @param source The broker's state. */
  constructor(source: BrokerMetricsSource) {
    this.#source = source;
    this.#history = new TpsHistory(source);
    this.#search = new MessageSearch(
      source.store,
      (offset) => createOffsetMessageId(source.storeHost, offset),
    );
    this.#cluster = new ClusterView(source, () => this.#history.current().tpsIn);
    this.#timer = setInterval(() => this.#history.sample(), HISTORY_SAMPLE_INTERVAL_MS);
    this.#startedMs = source.nowMs();
  }

  /** The TPS history (tests sample it directly). */
  get history(): TpsHistory {
    return this.#history;
  }

  /** Stop the sampler and close the cluster page's connections. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#cluster.close();
  }

  /**
   * Answer one API request.
   *
   * @param request The HTTP request.
   * @param url Its parsed URL.
   * @returns The JSON response.
   */
  async handle(request: Request, url: URL): Promise<Response> {
    try {
      const body = await this.#route(request, url);
      return Response.json(body);
    } catch (error) {
      if (error instanceof ApiError) {
        return Response.json({ error: error.message }, { status: error.status });
      }
      throw error;
    }
  }

  async #route(request: Request, url: URL): Promise<unknown> {
    const parts = url.pathname.split("/").slice(2).map(decodeURIComponent);
    const method = request.method;
    const q = url.searchParams;
    switch (
      `${method} ${parts[0]}${parts.length > 1 ? "/" : ""}${parts.length > 2 ? parts[2] : ""}`
    ) {
      case "GET broker":
        return this.#broker();
      case "GET cluster":
        return await this.#cluster.brokers();
      case "GET history":
        return { intervalMs: HISTORY_SAMPLE_INTERVAL_MS, points: this.#history.points() };
      case "GET topics":
        return this.#topics();
      case "POST topics":
        return await this.#putTopic(await jsonBody(request));
      case "GET topics/":
        return await this.#topic(parts[1]);
      case "DELETE topics/":
        return await this.#deleteTopic(parts[1]);
      case "GET groups":
        return await this.#groups();
      case "GET groups/":
        return await this.#group(parts[1]);
      case "POST groups/reset":
        return await this.#resetOffset(parts[1], await jsonBody(request));
      case "GET acl":
        return this.#aclFailures();
      case "GET messages":
        return await this.#messages(q);
      case "POST messages/":
      case "POST messages":
        if (parts[1] === "resend") return await this.#resend(await jsonBody(request));
        break;
    }
    throw new ApiError(404, `No API ${method} ${url.pathname}`);
  }

  #broker() {
    const s = this.#source;
    const stats = s.store.stats();
    const { tpsIn, tpsOut } = this.#history.current();
    return {
      brokerName: s.config.brokerName,
      clusterName: s.config.clusterName,
      role: s.haStatus?.().role ?? "MASTER",
      address: s.address,
      version: BROKER_VERSION,
      uptimeMs: s.nowMs() - this.#startedMs,
      tpsIn,
      tpsOut,
      totals: s.remoting.totals(),
      diskUsedRatio: stats.diskUsedRatio,
      storeBytes: stats.commitLogMaxOffset - stats.commitLogMinOffset,
      flushBehindBytes: Math.max(0, stats.commitLogMaxOffset - stats.commitLogFlushedOffset),
      dispatchBehindBytes: Math.max(0, stats.commitLogMaxOffset - stats.dispatchedOffset),
      writeRefused: stats.writeRefused,
      connections: s.connectionCount(),
      replication: this.#replication(),
    };
  }

  /** A master's largest slave lag (bytes) and slaves in sync; null without HA slaves. */
  #replication(): { lagBytes: number; slaves: number; inSync: number } | null {
    const ha = this.#source.haStatus?.();
    if (ha === undefined || ha.role === "SLAVE" || ha.slaves.length === 0) return null;
    return {
      lagBytes: Math.max(...ha.slaves.map((slave) => slave.lagBytes)),
      slaves: ha.slaves.length,
      inSync: ha.slaves.filter((slave) => slave.inSync).length,
    };
  }

  #aclFailures() {
    const acl = this.#source.acl;
    if (acl === undefined) return { enabled: false, deniedTotal: 0, recent: [] };
    return {
      enabled: true,
      accounts: acl.validator.accountCount,
      deniedTotal: acl.failures.total,
      recent: acl.failures.recent().reverse(),
    };
  }

  #topics() {
    return this.#source.topics.list().map((t) => ({
      topic: t.topicName,
      readQueueNums: t.readQueueNums,
      writeQueueNums: t.writeQueueNums,
      perm: t.perm,
      messageType: t.attributes["message.type"] ?? "NORMAL",
      kind: t.topicName.startsWith(RETRY_TOPIC_PREFIX)
        ? "RETRY"
        : t.topicName.startsWith(DLQ_TOPIC_PREFIX)
        ? "DLQ"
        : RESERVED_TOPICS.has(t.topicName)
        ? "SYSTEM"
        : "NORMAL",
    })).sort((a, b) => a.topic.localeCompare(b.topic));
  }

  async #putTopic(body: Record<string, unknown>) {
    const topic = String(body.topic ?? "");
    const problem = checkTopicName(topic) ?? checkTopicNotReserved(topic);
    if (problem !== undefined) throw new ApiError(400, `Cannot create topic: ${problem}`);
    const existing = this.#source.topics.get(topic);
    const max = this.#source.config.topicQueueNumsMax;
    const queues = (name: string, fallback: number): number => {
      const value = body[name] === undefined ? fallback : Number(body[name]);
      if (!Number.isSafeInteger(value) || value < 1 || value > max) {
        throw new ApiError(400, `Cannot create topic: ${name} is ${body[name]}, allowed 1..${max}`);
      }
      return value;
    };
    const perm = body.perm === undefined ? (existing?.perm ?? PERM_READ_WRITE) : Number(body.perm);
    if (!Number.isSafeInteger(perm) || perm < 0 || perm > 15) {
      throw new ApiError(400, `Cannot create topic: perm is ${body.perm}, allowed 0..15`);
    }
    const defaults = existing?.readQueueNums ?? this.#source.config.defaultTopicQueueNums;
    const config = createTopicConfig(topic, {
      ...existing,
      readQueueNums: queues("readQueueNums", defaults),
      writeQueueNums: queues("writeQueueNums", existing?.writeQueueNums ?? defaults),
      perm,
    });
    await this.#source.topics.put(config);
    return { topic, created: existing === undefined };
  }

  async #topic(topic: string) {
    const config = this.#source.topics.get(topic);
    if (config === undefined) throw new ApiError(404, `No topic ${topic}`);
    const store = this.#source.store;
    const queues = [];
    const count = Math.max(config.readQueueNums, config.writeQueueNums);
    for (let queueId = 0; queueId < count; queueId++) {
      const minOffset = store.getMinOffsetInQueue(topic, queueId);
      const maxOffset = store.getMaxOffsetInQueue(topic, queueId);
      const lastStoreTimestamp = maxOffset > minOffset
        ? await storeTimestampAt(store, topic, queueId, maxOffset - 1)
        : undefined;
      queues.push({ queueId, minOffset, maxOffset, lastStoreTimestamp });
    }
    const s = this.#source;
    return {
      config,
      route: {
        queueDatas: [{
          brokerName: s.config.brokerName,
          readQueueNums: config.readQueueNums,
          writeQueueNums: config.writeQueueNums,
          perm: config.perm,
          topicSysFlag: config.topicSysFlag,
        }],
        brokerDatas: [{
          cluster: s.config.clusterName,
          brokerName: s.config.brokerName,
          brokerAddrs: { "0": s.address },
        }],
      },
      queues,
    };
  }

  async #deleteTopic(topic: string) {
    const problem = checkTopicName(topic) ?? checkTopicNotReserved(topic);
    if (problem !== undefined) throw new ApiError(400, `Cannot delete topic: ${problem}`);
    const existed = await this.#source.topics.delete(topic);
    await this.#source.store.deleteTopic(topic);
    return { topic, deleted: existed };
  }

  async #groups() {
    const lags = await groupLags(this.#source);
    const clients = this.#source.clients;
    const names = new Set([...clients.consumerGroups(), ...lags.map((l) => l.group)]);
    return [...names].sort().map((group) => {
      const mine = lags.filter((l) => l.group === group);
      const info = clients.consumerGroupInfo(group);
      return {
        group,
        messageModel: info?.messageModel ?? "",
        consumeType: info?.consumeType ?? "",
        popInFlight: this.#source.popInFlight?.(group) ?? 0,
        members: clients.consumerIds(group).length,
        topics: mine.map((l) => l.topic).sort(),
        lagMessages: mine.reduce((sum, l) => sum + l.lagMessages, 0),
        lagLatencyMs: mine.reduce((most, l) => Math.max(most, l.lagLatencyMs), 0),
      };
    });
  }

  async #group(group: string) {
    const store = this.#source.store;
    const now = this.#source.nowMs();
    const queues = [];
    for (const entry of store.listConsumerOffsets()) {
      if (entry.group !== group) continue;
      const brokerOffset = store.getMaxOffsetInQueue(entry.topic, entry.queueId);
      const lag = Math.max(0, brokerOffset - entry.offset);
      const oldest = lag > 0
        ? await storeTimestampAt(store, entry.topic, entry.queueId, entry.offset)
        : undefined;
      queues.push({
        topic: entry.topic,
        queueId: entry.queueId,
        brokerOffset,
        consumerOffset: entry.offset,
        lagMessages: lag,
        lagLatencyMs: oldest === undefined ? 0 : Math.max(0, now - oldest),
      });
    }
    queues.sort((a, b) => a.topic.localeCompare(b.topic) || a.queueId - b.queueId);
    const clients = this.#source.clients;
    const members = clients.consumerChannels(group).map((channel) => ({
      channelId: channel.id,
      remoteAddress: channel.remoteAddress,
    }));
    const info = clients.consumerGroupInfo(group);
    return {
      group,
      messageModel: info?.messageModel ?? null,
      consumeType: info?.consumeType ?? null,
      consumeFromWhere: info?.consumeFromWhere ?? null,
      popInFlight: this.#source.popInFlight?.(group) ?? 0,
      subscriptions: info?.subscriptions ?? [],
      clientIds: clients.consumerIds(group),
      members,
      queues,
    };
  }

  async #resetOffset(group: string, body: Record<string, unknown>) {
    const topic = String(body.topic ?? "");
    const timestampMs = Number(body.timestampMs);
    if (!this.#source.topics.get(topic)) throw new ApiError(404, `No topic ${topic}`);
    if (!Number.isFinite(timestampMs)) {
      throw new ApiError(
        400,
        `Cannot reset offset: timestampMs "${body.timestampMs}" is not a number`,
      );
    }
    // The broker's own reset (as INVOKE_BROKER_TO_RESET_OFFSET: pop offsets too, live members
    // told); without it (a bare source in tests), committed offsets only.
    const store = this.#source.store;
    const offsets = [];
    if (this.#source.resetOffsetByTime !== undefined) {
      const moved = await this.#source.resetOffsetByTime(group, topic, timestampMs);
      for (const [queueId, offset] of moved) offsets.push({ queueId, offset });
    } else {
      for (const { queueId } of store.listQueues().filter((q) => q.topic === topic)) {
        const offset = await store.getOffsetInQueueByTime(topic, queueId, timestampMs);
        store.commitConsumerOffset(group, topic, queueId, offset);
        offsets.push({ queueId, offset });
      }
    }
    return { group, topic, timestampMs, offsets };
  }

  async #messages(q: URLSearchParams) {
    const topic = q.get("topic") ?? undefined;
    const id = q.get("id");
    const key = q.get("key");
    if (id !== null && id !== "") return { messages: await this.#search.byId(id, topic) };
    if (topic === undefined || topic === "") {
      throw new ApiError(400, "Cannot search messages: give id, or topic with key or begin/end");
    }
    if (key !== null && key !== "") return { messages: await this.#search.byKey(topic, key) };
    const now = this.#source.nowMs();
    const begin = q.has("begin") ? Number(q.get("begin")) : now - 3_600_000;
    const end = q.has("end") ? Number(q.get("end")) : now;
    if (!Number.isFinite(begin) || !Number.isFinite(end)) {
      throw new ApiError(400, "Cannot search messages: begin and end are epoch ms");
    }
    return { messages: await this.#search.byTime(topic, begin, end) };
  }

  async #resend(body: Record<string, unknown>) {
    const offset = Number(body.commitLogOffset);
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new ApiError(
        400,
        `Cannot resend: commitLogOffset "${body.commitLogOffset}" is invalid`,
      );
    }
    const result = await this.#search.resendDeadLetter(offset);
    if (result.status !== "PUT_OK") {
      throw new ApiError(result.status === "NOT_FOUND" ? 404 : 400, result.remark);
    }
    return result;
  }
}

async function jsonBody(request: Request): Promise<Record<string, unknown>> {
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > API_BODY_BYTES_MAX) {
    throw new ApiError(413, `Request body is ${declared} bytes, limit is ${API_BODY_BYTES_MAX}`);
  }
  const text = await request.text();
  if (text.length > API_BODY_BYTES_MAX) {
    throw new ApiError(413, `Request body is ${text.length} bytes, limit is ${API_BODY_BYTES_MAX}`);
  }
  try {
    const value = JSON.parse(text === "" ? "{}" : text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value;
  } catch {
    // answered below
  }
  throw new ApiError(400, "Request body must be a JSON object");
}
