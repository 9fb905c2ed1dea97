/**
 * The brokers a client talks to (a small RocketMQ `MQClientInstance`): one
 * reconnecting channel per broker, found by broker name from the routes, and
 * where routes come from — the name servers, or a standalone broker itself.
 *
 * @module
 */

import type { SessionCredentials } from "./protocol/acl_signature.ts";
import { BrokerClient } from "./broker_client.ts";
import type { RemotingCommand } from "./protocol/remoting_command.ts";
import { MQClientError } from "./errors.ts";
import { NameServerClient } from "./name_server_client.ts";
import type { TopicRouteData } from "./protocol/heartbeat.ts";
import { fetchTopicRoute } from "./topic_route.ts";

/** Where a client finds its brokers: `endpoint` (one standalone broker) or `nameServer`. */
export interface BrokerPoolOptions {
  /** A standalone broker, `host:port`. */
  readonly endpoint?: string;
  /** Name servers, `host:port;host:port`. */
  readonly nameServer?: string;
  /** Default request timeout of every channel, ms. */
  readonly requestTimeoutMs?: number;
  /** Broker-initiated request handler, on every broker channel (told which channel). */
  readonly onRequest?: (
    request: RemotingCommand,
    client: BrokerClient,
  ) => RemotingCommand | undefined | Promise<RemotingCommand | undefined>;
  /**
   * Called for each broker channel once it is first used and after every
   * reconnect (e.g. to send the client's heartbeat). Errors are ignored.
   */
  readonly onBrokerConnect?: (client: BrokerClient) => Promise<void>;
  /** ACL credentials; every request on every broker channel is signed with them. */
  readonly credentials?: SessionCredentials;
}

/**
 * Broker channels by broker name. With `endpoint`, every broker name maps to
 * that one channel and routes are asked of the broker (today's standalone
 * mode); with `nameServer`, routes come from the name servers and each
 * broker's master address (`brokerAddrs["0"]`) gets its own channel. Lives
 * on the caller's event loop. Invariant: at most one channel per address.
 */
export class BrokerPool {
  readonly #options: BrokerPoolOptions;
  readonly #nameServer: NameServerClient | undefined;
  readonly #standalone: BrokerClient | undefined;
  /** Broker name → master address, from the latest routes. */
  readonly #masters = new Map<string, string>();
  /** Address → channel. */
  readonly #clients = new Map<string, BrokerClient>();

  /**
   * @param options `endpoint` or `nameServer`, timeouts and hooks.
   * @throws {TypeError} Unless exactly one of `endpoint` and `nameServer` is given.
   */
  constructor(options: BrokerPoolOptions) {
    if ((options.endpoint === undefined) === (options.nameServer === undefined)) {
      throw new TypeError("Cannot create client: give either endpoint or nameServer");
    }
    this.#options = options;
    if (options.nameServer !== undefined) {
      this.#nameServer = new NameServerClient(
        options.nameServer,
        undefined,
        options.credentials,
      );
    } else {
      this.#standalone = this.#channel(options.endpoint!);
    }
  }

  /** The name-server client, when routes come from name servers. */
  get nameServer(): NameServerClient | undefined {
    return this.#nameServer;
  }

  /** The standalone broker's channel, when there is no name server. */
  get standalone(): BrokerClient | undefined {
    return this.#standalone;
  }

  /**
   * A topic's route; with name servers, the brokers' addresses are learnt from it.
   *
   * @param topic Topic name.
   * @param signal Aborts the wait.
   * @returns The route.
   * @throws {MQBrokerError} TOPIC_NOT_EXIST when no broker has the topic.
   */
  async fetchRoute(topic: string, signal?: AbortSignal): Promise<TopicRouteData> {
    if (this.#standalone !== undefined) return fetchTopicRoute(this.#standalone, topic, signal);
    const route = await this.#nameServer!.topicRoute(topic, signal);
    this.learn(route);
    return route;
  }

  /**
   * Record the master addresses of a route's brokers.
   *
   * @param route A route.
   */
  learn(route: TopicRouteData): void {
    for (const data of route.brokerDatas) {
      // No master (it is down): the slave with the smallest id serves reads (spec §10.5).
      const master = data.brokerAddrs["0"] ?? readReplica(data.brokerAddrs);
      if (master !== undefined) this.#masters.set(data.brokerName, master);
    }
  }

  /**
   * Whether a broker name has a known master (publishing needs one).
   *
   * @param brokerName Broker name.
   * @returns True in standalone mode, else when a route named its master.
   */
  hasMaster(brokerName: string): boolean {
    return this.#standalone !== undefined || this.#masters.has(brokerName);
  }

  /**
   * The channel of a broker's master.
   *
   * @param brokerName Broker name (ignored in standalone mode).
   * @returns The channel.
   * @throws {MQClientError} If no route named the broker's master.
   */
  client(brokerName: string): BrokerClient {
    if (this.#standalone !== undefined) return this.#standalone;
    const addr = this.#masters.get(brokerName);
    if (addr === undefined) {
      throw new MQClientError(`Cannot reach broker ${brokerName}: no route names its master`);
    }
    return this.#channel(addr);
  }

  /**
   * The channel to an address (opened lazily, shared).
   *
   * @param addr `host:port`.
   * @returns The channel.
   */
  clientAt(addr: string): BrokerClient {
    return this.#channel(addr);
  }

  /**
   * Every channel opened so far.
   *
   * @returns The channels.
   */
  clients(): BrokerClient[] {
    return [...this.#clients.values()];
  }

  #channel(addr: string): BrokerClient {
    let client = this.#clients.get(addr);
    if (client === undefined) {
      const hook = this.#options.onBrokerConnect;
      const onRequest = this.#options.onRequest;
      const created: BrokerClient = new BrokerClient({
        endpoint: addr,
        requestTimeoutMs: this.#options.requestTimeoutMs,
        onRequest: onRequest === undefined ? undefined : (request) => onRequest(request, created),
        credentials: this.#options.credentials,
        onReconnect: hook === undefined ? undefined : () => void hook(created).catch(() => {}),
      });
      client = created;
      this.#clients.set(addr, client);
      // Standalone clients run the hook from their own start(); others on first use.
      if (hook !== undefined && this.#nameServer !== undefined) {
        void hook(created).catch(() => {});
      }
    }
    return client;
  }

  /**
   * Run `each` on every broker channel (e.g. unregister and close), then
   * close the name-server channels.
   *
   * @param each Called per channel; must close it.
   */
  async close(each: (client: BrokerClient) => Promise<void>): Promise<void> {
    await Promise.all(this.clients().map((c) => each(c).catch(() => {})));
    await this.#nameServer?.close();
  }
}

/**
 * RocketMQ's latency-fault avoidance, reduced to what matters here: a broker
 * whose send failed is avoided for `isolationMs`, unless every broker is.
 */
export class FaultAvoidance {
  readonly #isolationMs: number;
  readonly #nowMs: () => number;
  readonly #until = new Map<string, number>();

  /**
   * @param isolationMs How long a failed broker is avoided, ms.
   * @param nowMs Clock, ms.
   */
  constructor(isolationMs: number, nowMs: () => number = () => performance.now()) {
    this.#isolationMs = isolationMs;
    this.#nowMs = nowMs;
  }

  /**
   * A send to the broker failed.
   *
   * @param brokerName Broker name.
   */
  failed(brokerName: string): void {
    this.#until.set(brokerName, this.#nowMs() + this.#isolationMs);
  }

  /**
   * A send to the broker succeeded.
   *
   * @param brokerName Broker name.
   */
  succeeded(brokerName: string): void {
    if (this.#until.size > 0) this.#until.delete(brokerName);
  }

  /**
   * Whether the broker is currently avoided.
   *
   * @param brokerName Broker name.
   * @returns True while its isolation lasts.
   */
  avoided(brokerName: string): boolean {
    if (this.#until.size === 0) return false;
    const until = this.#until.get(brokerName);
    if (until === undefined) return false;
    if (until <= this.#nowMs()) {
      this.#until.delete(brokerName);
      return false;
    }
    return true;
  }
}

/** The address of the slave with the smallest broker id, if any. */
function readReplica(addrs: Readonly<Record<string, string>>): string | undefined {
  let best: number | undefined;
  for (const id of Object.keys(addrs)) {
    const n = Number(id);
    if (Number.isInteger(n) && n > 0 && (best === undefined || n < best)) best = n;
  }
  return best === undefined ? undefined : addrs[String(best)];
}
