/**
 * The name server's route tables (RocketMQ `RouteInfoManager`, spec §9.1–9.3).
 *
 * @module
 */

import type { BrokerData, QueueData, TopicConfig } from "../../client/protocol/heartbeat.ts";
import {
  type DataVersion,
  dataVersionEquals,
  type RegisterBrokerBody,
} from "../../client/protocol/register_broker_body.ts";

/** What the name server knows about one registered broker address. */
export interface BrokerLiveInfo {
  /** Cluster name. */
  readonly clusterName: string;
  /** Broker name. */
  readonly brokerName: string;
  /** Broker id (0 = master). */
  readonly brokerId: number;
  /** `ip:port`. */
  readonly brokerAddr: string;
  /** Epoch ms of the last registration, data-version query or heartbeat. */
  lastUpdateMs: number;
  /** The broker is removed when silent this long, ms. */
  heartbeatTimeoutMs: number;
  /** The data version of its last full registration. */
  dataVersion: DataVersion;
  /** The connection it registered on; its close removes the broker at once. */
  readonly channelId: string;
  /** HA address (slaves of this master connect there). */
  readonly haServerAddr: string;
}

/** A REGISTER_BROKER request, decoded. */
export interface BrokerRegistration {
  /** Cluster name. */
  readonly clusterName: string;
  /** `ip:port`. */
  readonly brokerAddr: string;
  /** Broker name. */
  readonly brokerName: string;
  /** 0 = master. */
  readonly brokerId: number;
  /** HA address. */
  readonly haServerAddr: string;
  /** Liveness timeout, ms; undefined = the name server's default. */
  readonly heartbeatTimeoutMs?: number;
  /** Topic table and data version. */
  readonly body: RegisterBrokerBody;
  /** The connection the request came on. */
  readonly channelId: string;
}

/** What REGISTER_BROKER answers: a slave learns its master. */
export interface RegisterBrokerResult {
  /** The master's address (slaves only, when a master is registered). */
  readonly masterAddr?: string;
  /** The master's HA address (slaves only). */
  readonly haServerAddr?: string;
}

/** A topic's route (RocketMQ `TopicRouteData` without the KV part). */
export interface TopicRoute {
  /** Queue data per broker, sorted by broker name. */
  readonly queueDatas: QueueData[];
  /** The brokers hosting the topic. */
  readonly brokerDatas: BrokerData[];
}

/** Identity of a broker address in the live table. */
export interface BrokerKey {
  /** Cluster name. */
  readonly clusterName: string;
  /** `ip:port`. */
  readonly brokerAddr: string;
  /** Broker name. */
  readonly brokerName: string;
  /** Broker id. */
  readonly brokerId: number;
}

interface MutableBrokerData {
  readonly cluster: string;
  readonly brokerName: string;
  readonly brokerAddrs: Map<number, string>;
}

function liveKey(clusterName: string, brokerAddr: string): string {
  return `${clusterName}\u0001${brokerAddr}`;
}

/**
 * topic → queue data per broker, broker name → addresses, cluster → broker
 * names, and the live-broker table.
 *
 * Lives on the name server's main thread (single-threaded, so no lock).
 * Depends only on a clock. Invariants: every broker name in
 * `clusterAddrTable` has a `brokerAddrTable` entry with at least one address;
 * every topic has at least one queue datum; `#brokerTopics` indexes exactly
 * the (broker, topic) pairs of `topicQueueTable`; `version` grows on each change
 * of what routes show (callers cache encoded routes by it).
 */
export class RouteInfoManager {
  readonly #topicQueueTable = new Map<string, Map<string, QueueData>>();
  /** Broker name → the topics it has queue data in (so a broker's changes touch only its topics). */
  readonly #brokerTopics = new Map<string, Set<string>>();
  readonly #brokerAddrTable = new Map<string, MutableBrokerData>();
  readonly #clusterAddrTable = new Map<string, Set<string>>();
  readonly #brokerLiveTable = new Map<string, BrokerLiveInfo>();
  readonly #nowMs: () => number;
  readonly #defaultTimeoutMs: number;
  #version = 0;

  /**
   * @param nowMs Clock, epoch ms.
   * @param defaultTimeoutMs Liveness timeout of brokers that name none, ms.
   */
  constructor(nowMs: () => number, defaultTimeoutMs: number) {
    this.#nowMs = nowMs;
    this.#defaultTimeoutMs = defaultTimeoutMs;
  }

  /** Grows on every change of routes or cluster membership. */
  get version(): number {
    return this.#version;
  }

  /** Registered broker addresses. */
  get liveBrokerCount(): number {
    return this.#brokerLiveTable.size;
  }

  /** Topics with at least one queue. */
  get topicCount(): number {
    return this.#topicQueueTable.size;
  }

  /**
   * REGISTER_BROKER: add the broker to its cluster and address table, refresh
   * its liveness, and — for a master whose data version changed or that
   * registers first — replace its queue data with the registered topic table
   * (topics it no longer has lose its queues).
   *
   * @param r The registration.
   * @returns The master's addresses for a slave.
   */
  registerBroker(r: BrokerRegistration): RegisterBrokerResult {
    let names = this.#clusterAddrTable.get(r.clusterName);
    if (names === undefined) this.#clusterAddrTable.set(r.clusterName, names = new Set());
    names.add(r.brokerName);
    let data = this.#brokerAddrTable.get(r.brokerName);
    let first = false;
    if (data === undefined) {
      data = { cluster: r.clusterName, brokerName: r.brokerName, brokerAddrs: new Map() };
      this.#brokerAddrTable.set(r.brokerName, data);
      first = true;
    }
    // The same address under another id (a slave promoted to master) is replaced.
    for (const [id, addr] of data.brokerAddrs) {
      if (addr === r.brokerAddr && id !== r.brokerId) data.brokerAddrs.delete(id);
    }
    const previousAddr = data.brokerAddrs.get(r.brokerId);
    data.brokerAddrs.set(r.brokerId, r.brokerAddr);
    first ||= previousAddr === undefined;
    const key = liveKey(r.clusterName, r.brokerAddr);
    const previous = this.#brokerLiveTable.get(key);
    if (
      r.brokerId === 0 && (first || !dataVersionEquals(r.body.dataVersion, previous?.dataVersion))
    ) {
      this.#replaceQueueData(r.brokerName, r.body.topicConfigTable);
    }
    this.#brokerLiveTable.set(key, {
      clusterName: r.clusterName,
      brokerName: r.brokerName,
      brokerId: r.brokerId,
      brokerAddr: r.brokerAddr,
      lastUpdateMs: this.#nowMs(),
      heartbeatTimeoutMs: r.heartbeatTimeoutMs ?? this.#defaultTimeoutMs,
      dataVersion: r.body.dataVersion,
      channelId: r.channelId,
      haServerAddr: r.haServerAddr,
    });
    this.#version++;
    if (r.brokerId === 0) return {};
    const masterAddr = data.brokerAddrs.get(0);
    if (masterAddr === undefined) return {};
    return {
      masterAddr,
      haServerAddr: this.#brokerLiveTable.get(liveKey(r.clusterName, masterAddr))?.haServerAddr,
    };
  }

  #replaceQueueData(brokerName: string, table: Readonly<Record<string, TopicConfig>>): void {
    for (const topic of [...(this.#brokerTopics.get(brokerName) ?? [])]) {
      if (!Object.hasOwn(table, topic)) this.#removeQueueData(topic, brokerName);
    }
    for (const config of Object.values(table)) {
      this.putQueueData(config.topicName, {
        brokerName,
        readQueueNums: config.readQueueNums,
        writeQueueNums: config.writeQueueNums,
        perm: config.perm,
        topicSysFlag: config.topicSysFlag ?? 0,
      });
    }
  }

  /**
   * Set one broker's queue data of a topic (REGISTER_TOPIC_IN_NAMESRV and registrations).
   *
   * @param topic Topic name.
   * @param queueData The broker's queues.
   */
  putQueueData(topic: string, queueData: QueueData): void {
    let queues = this.#topicQueueTable.get(topic);
    if (queues === undefined) this.#topicQueueTable.set(topic, queues = new Map());
    queues.set(queueData.brokerName, queueData);
    let topics = this.#brokerTopics.get(queueData.brokerName);
    if (topics === undefined) this.#brokerTopics.set(queueData.brokerName, topics = new Set());
    topics.add(topic);
    this.#version++;
  }

  #removeQueueData(topic: string, brokerName: string): void {
    const queues = this.#topicQueueTable.get(topic);
    if (queues !== undefined && queues.delete(brokerName) && queues.size === 0) {
      this.#topicQueueTable.delete(topic);
    }
    const topics = this.#brokerTopics.get(brokerName);
    topics?.delete(topic);
    if (topics?.size === 0) this.#brokerTopics.delete(brokerName);
  }

  /**
   * QUERY_DATA_VERSION: whether a full registration is needed. An unchanged
   * broker counts as alive (its timestamp is refreshed).
   *
   * @param clusterName Cluster.
   * @param brokerAddr Address.
   * @param version The broker's current data version.
   * @returns `changed`, and the version the name server holds (if any).
   */
  queryDataVersion(
    clusterName: string,
    brokerAddr: string,
    version: DataVersion,
  ): { changed: boolean; current?: DataVersion } {
    const live = this.#brokerLiveTable.get(liveKey(clusterName, brokerAddr));
    if (live === undefined) return { changed: true };
    const changed = !dataVersionEquals(version, live.dataVersion);
    if (!changed) live.lastUpdateMs = this.#nowMs();
    return { changed, current: live.dataVersion };
  }

  /**
   * BROKER_HEARTBEAT: refresh a registered broker's liveness.
   *
   * @param clusterName Cluster.
   * @param brokerAddr Address.
   * @param timeoutMs A new timeout, ms, if given.
   * @returns False when the broker is not registered (it must register).
   */
  heartbeat(clusterName: string, brokerAddr: string, timeoutMs?: number): boolean {
    const live = this.#brokerLiveTable.get(liveKey(clusterName, brokerAddr));
    if (live === undefined) return false;
    live.lastUpdateMs = this.#nowMs();
    if (timeoutMs !== undefined && timeoutMs > 0) live.heartbeatTimeoutMs = timeoutMs;
    return true;
  }

  /**
   * UNREGISTER_BROKER (and expiry, and connection close): remove the address;
   * a broker name left without addresses leaves its cluster and every topic,
   * and a topic left without queues disappears.
   *
   * @param b The broker address to remove.
   * @returns Whether anything was removed.
   */
  unregisterBroker(b: BrokerKey): boolean {
    let removed = this.#brokerLiveTable.delete(liveKey(b.clusterName, b.brokerAddr));
    const data = this.#brokerAddrTable.get(b.brokerName);
    if (data !== undefined) {
      for (const [id, addr] of data.brokerAddrs) {
        if (addr === b.brokerAddr && (id === b.brokerId || b.brokerId < 0)) {
          data.brokerAddrs.delete(id);
          removed = true;
        }
      }
      if (data.brokerAddrs.size === 0) {
        this.#brokerAddrTable.delete(b.brokerName);
        const names = this.#clusterAddrTable.get(data.cluster);
        names?.delete(b.brokerName);
        if (names?.size === 0) this.#clusterAddrTable.delete(data.cluster);
        for (const topic of [...(this.#brokerTopics.get(b.brokerName) ?? [])]) {
          this.#removeQueueData(topic, b.brokerName);
        }
      }
    }
    if (removed) this.#version++;
    return removed;
  }

  /**
   * Remove every broker registered on a closed connection.
   *
   * @param channelId The connection.
   * @returns The removed brokers.
   */
  channelClosed(channelId: string): BrokerKey[] {
    const gone = [...this.#brokerLiveTable.values()].filter((l) => l.channelId === channelId);
    for (const live of gone) this.unregisterBroker(live);
    return gone;
  }

  /**
   * Remove every broker silent for longer than its timeout.
   *
   * @returns The removed brokers.
   */
  scanNotActiveBroker(): BrokerKey[] {
    const now = this.#nowMs();
    const gone = [...this.#brokerLiveTable.values()].filter((l) =>
      l.lastUpdateMs + l.heartbeatTimeoutMs < now
    );
    for (const live of gone) this.unregisterBroker(live);
    return gone;
  }

  /**
   * GET_ROUTEINFO_BY_TOPIC: the topic's queues and the brokers that host them.
   *
   * @param topic Topic name.
   * @returns The route, or undefined when no broker has the topic.
   */
  topicRoute(topic: string): TopicRoute | undefined {
    const queues = this.#topicQueueTable.get(topic);
    if (queues === undefined || queues.size === 0) return undefined;
    const queueDatas = [...queues.values()].sort((a, b) => a.brokerName < b.brokerName ? -1 : 1);
    const brokerDatas: BrokerData[] = [];
    for (const q of queueDatas) {
      const data = this.#brokerAddrTable.get(q.brokerName);
      if (data !== undefined) brokerDatas.push(toBrokerData(data));
    }
    return { queueDatas, brokerDatas };
  }

  /**
   * GET_BROKER_CLUSTER_INFO.
   *
   * @returns Broker addresses by name and broker names by cluster.
   */
  clusterInfo(): {
    brokerAddrTable: Record<string, BrokerData>;
    clusterAddrTable: Record<string, string[]>;
  } {
    const brokerAddrTable: Record<string, BrokerData> = {};
    for (const [name, data] of this.#brokerAddrTable) brokerAddrTable[name] = toBrokerData(data);
    const clusterAddrTable: Record<string, string[]> = {};
    for (const [cluster, names] of this.#clusterAddrTable) {
      clusterAddrTable[cluster] = [...names].sort();
    }
    return { brokerAddrTable, clusterAddrTable };
  }

  /**
   * Every topic, sorted.
   *
   * @returns Topic names.
   */
  allTopics(): string[] {
    return [...this.#topicQueueTable.keys()].sort();
  }

  /**
   * Topics with queues on a broker of the cluster.
   *
   * @param clusterName Cluster.
   * @returns Topic names, sorted.
   */
  topicsByCluster(clusterName: string): string[] {
    const names = this.#clusterAddrTable.get(clusterName);
    if (names === undefined) return [];
    const out: string[] = [];
    for (const [topic, queues] of this.#topicQueueTable) {
      for (const name of queues.keys()) {
        if (names.has(name)) {
          out.push(topic);
          break;
        }
      }
    }
    return out.sort();
  }

  /**
   * DELETE_TOPIC_IN_NAMESRV: drop a topic's queues (of one cluster's brokers, or all).
   *
   * @param topic Topic name.
   * @param clusterName Only this cluster's brokers, when given.
   * @returns Whether the topic had queues to drop.
   */
  deleteTopic(topic: string, clusterName?: string): boolean {
    const queues = this.#topicQueueTable.get(topic);
    if (queues === undefined) return false;
    const names = clusterName === undefined
      ? [...queues.keys()]
      : [...(this.#clusterAddrTable.get(clusterName) ?? [])];
    for (const name of names) this.#removeQueueData(topic, name);
    this.#version++;
    return true;
  }

  /**
   * Whether a broker name is registered.
   *
   * @param brokerName Broker name.
   * @returns True when it has at least one address.
   */
  hasBroker(brokerName: string): boolean {
    return this.#brokerAddrTable.has(brokerName);
  }

  /**
   * The live table, for status output.
   *
   * @returns A snapshot of every registered address.
   */
  liveBrokers(): BrokerLiveInfo[] {
    return [...this.#brokerLiveTable.values()].map((l) => ({ ...l }));
  }
}

function toBrokerData(data: MutableBrokerData): BrokerData {
  const brokerAddrs: Record<string, string> = {};
  for (const [id, addr] of [...data.brokerAddrs].sort((a, b) => a[0] - b[0])) {
    brokerAddrs[String(id)] = addr;
  }
  return { cluster: data.cluster, brokerName: data.brokerName, brokerAddrs };
}
