/**
 * Registers the broker with every name server (spec §9.2): at start, every
 * `registerIntervalMs` (asking QUERY_DATA_VERSION first so an unchanged
 * table is not re-sent), at once after any topic change, and unregisters on
 * shutdown.
 *
 * @module
 */

import { BrokerClient } from "../../client/broker_client.ts";
import type { SessionCredentials } from "../../client/protocol/acl_signature.ts";
import type { TopicConfig } from "../../client/protocol/heartbeat.ts";
import {
  brokerIdentityHeader,
  queryDataVersionResponseHeader,
  registerBrokerRequestHeader,
  registerBrokerResponseHeader,
} from "../../client/protocol/namesrv_headers.ts";
import {
  bodyCrc32,
  type DataVersion,
  encodeRegisterBrokerBody,
} from "../../client/protocol/register_broker_body.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";

/** Topic tables at least this large register in the compressed (deflate) form. */
export const REGISTER_COMPRESS_TOPICS_MIN = 100;
/** Longest wait for one name server's answer, ms (RocketMQ: 24 s; shorter so shutdown stays quick). */
export const REGISTER_TIMEOUT_MS = 6_000;
/** Longest wait for UNREGISTER_BROKER answers on shutdown, ms. */
export const UNREGISTER_TIMEOUT_MS = 1_000;
/**
 * First wait before registering again with a name server whose connection
 * closed or whose registration failed, ms; it doubles per failure up to
 * `registerIntervalMs` (a restarted name server has empty tables).
 */
export const REREGISTER_DELAY_MS = 1_000;

/** What the registrar reads from the broker. */
export interface RegistrarSource {
  /** Every topic to advertise (the auto-create template included when enabled). */
  topics(): readonly TopicConfig[];
  /** The table's current data version. */
  dataVersion(): DataVersion;
}

/** Options of {@linkcode NamesrvRegistrar}. */
export interface NamesrvRegistrarOptions {
  /** Name-server addresses. */
  readonly namesrvAddrs: readonly string[];
  /** Cluster name. */
  readonly clusterName: string;
  /** Broker name. */
  readonly brokerName: string;
  /** Broker id (0 = master). */
  readonly brokerId: number;
  /** Advertised `ip:port`. */
  readonly brokerAddr: string;
  /** Time between registrations, ms. */
  readonly registerIntervalMs: number;
  /** The topic table. */
  readonly source: RegistrarSource;
  /** Structured log. */
  readonly log: (event: Readonly<Record<string, unknown>>) => void;
  /** ACL credentials every name-server request is signed with (for name servers with ACL on). */
  readonly credentials?: SessionCredentials;
  /** This broker's HA address (default: its port + 1). */
  readonly haServerAddr?: string;
  /** HA: called with the master's addresses a name server names in its answer (slaves). */
  readonly onMaster?: (masterAddr: string, haServerAddr: string) => void;
}

/**
 * One channel per name server, each registered independently (a name server
 * that is down does not delay the others). Lives on the broker's main
 * thread. Invariant: at most one registration round runs at a time; a change
 * during a round schedules exactly one more.
 */
export class NamesrvRegistrar {
  readonly #options: NamesrvRegistrarOptions;
  readonly #clients: BrokerClient[];
  /** Connections already watched for their close. */
  readonly #watched = new WeakSet<object>();
  /** Pending re-registration per name server, and its next back-off. */
  readonly #retries = new Map<BrokerClient, ReturnType<typeof setTimeout>>();
  readonly #backoffMs = new Map<BrokerClient, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #round: Promise<void> | undefined;
  #again = false;
  #againForce = false;
  #closed = false;

  /** @param options Name servers, identity, interval, topic source and log. */
  constructor(options: NamesrvRegistrarOptions) {
    this.#options = options;
    this.#clients = options.namesrvAddrs.map((endpoint) =>
      new BrokerClient({
        endpoint,
        requestTimeoutMs: REGISTER_TIMEOUT_MS,
        credentials: options.credentials,
      })
    );
  }

  /**
   * Register with every name server now and start the periodic rounds.
   *
   * @returns Resolves after the first round (failures are logged, not thrown).
   */
  async start(): Promise<void> {
    await this.registerAll(true);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      void this.registerAll(false).finally(() => this.#schedule());
    }, this.#options.registerIntervalMs);
  }

  /**
   * Run a registration round (or queue one after the round in progress).
   *
   * @param force Send the full registration without asking QUERY_DATA_VERSION.
   * @returns Resolves when the round (and any queued one) ends; never rejects.
   */
  registerAll(force: boolean): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#round !== undefined) {
      this.#again = true;
      this.#againForce ||= force;
      return this.#round;
    }
    this.#round = (async () => {
      let nextForce = force;
      do {
        this.#again = false;
        const f = nextForce;
        nextForce = this.#againForce;
        this.#againForce = false;
        await Promise.all(this.#clients.map((client) => this.#registerOne(client, f)));
      } while (this.#again && !this.#closed);
      this.#round = undefined;
    })();
    return this.#round;
  }

  /** A topic changed: register everywhere at once. */
  topicsChanged(): void {
    void this.registerAll(true);
  }

  async #registerOne(client: BrokerClient, force: boolean): Promise<void> {
    const o = this.#options;
    const identity = brokerIdentityHeader.encode({
      brokerName: o.brokerName,
      brokerAddr: o.brokerAddr,
      clusterName: o.clusterName,
      brokerId: o.brokerId,
    });
    try {
      const dataVersion = o.source.dataVersion();
      if (!force) {
        const answer = await client.invoke(
          RequestCode.QUERY_DATA_VERSION,
          identity,
          new TextEncoder().encode(JSON.stringify(dataVersion)),
        );
        const h = queryDataVersionResponseHeader.decode(answer.extFields);
        if (h.ok && !h.header.changed) return;
      }
      const topics = o.source.topics();
      const table: Record<string, TopicConfig> = {};
      for (const t of topics) table[t.topicName] = t;
      const compressed = topics.length >= REGISTER_COMPRESS_TOPICS_MIN;
      const body = encodeRegisterBrokerBody(
        { topicConfigTable: table, dataVersion, filterServerList: [] },
        compressed,
      );
      const [host, port] = splitAddr(o.brokerAddr);
      const registered = await client.invoke(
        RequestCode.REGISTER_BROKER,
        registerBrokerRequestHeader.encode({
          brokerName: o.brokerName,
          brokerAddr: o.brokerAddr,
          clusterName: o.clusterName,
          haServerAddr: o.haServerAddr ?? `${host}:${port + 1}`,
          brokerId: o.brokerId,
          compressed,
          bodyCrc32: bodyCrc32(body),
        }),
        body,
      );
      const master = registerBrokerResponseHeader.decode(registered.extFields);
      if (master.ok && master.header.masterAddr) {
        o.onMaster?.(master.header.masterAddr, master.header.haServerAddr ?? "");
      }
      this.#backoffMs.delete(client);
      await this.#watch(client);
    } catch (error) {
      if (this.#closed) return;
      o.log({
        event: "namesrv_register_failed",
        namesrv: client.endpoint,
        error: String((error as Error)?.message ?? error),
      });
      this.#retrySoon(client);
    }
  }

  /** Register with one name server again after its back-off (one pending retry per server). */
  #retrySoon(client: BrokerClient): void {
    if (this.#closed || this.#retries.has(client)) return;
    const delayMs = this.#backoffMs.get(client) ?? REREGISTER_DELAY_MS;
    this.#backoffMs.set(client, Math.min(delayMs * 2, this.#options.registerIntervalMs));
    this.#retries.set(
      client,
      setTimeout(() => {
        this.#retries.delete(client);
        void this.#registerOne(client, true);
      }, delayMs),
    );
  }

  /** When the name server's connection closes, register with it again soon. */
  async #watch(client: BrokerClient): Promise<void> {
    const connection = await client.connection();
    if (this.#watched.has(connection)) return;
    this.#watched.add(connection);
    void connection.closed.then(() => this.#retrySoon(client));
  }

  /**
   * Stop the rounds, unregister from every name server (bounded wait) and
   * close the channels.
   *
   * @returns Resolves when done; never rejects.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const timer of this.#retries.values()) clearTimeout(timer);
    await this.#round?.catch(() => {});
    const o = this.#options;
    const identity = brokerIdentityHeader.encode({
      brokerName: o.brokerName,
      brokerAddr: o.brokerAddr,
      clusterName: o.clusterName,
      brokerId: o.brokerId,
    });
    await Promise.all(this.#clients.map(async (client) => {
      try {
        const r = await client.request(RequestCode.UNREGISTER_BROKER, identity, undefined, {
          timeoutMs: UNREGISTER_TIMEOUT_MS,
        });
        if (r.code !== ResponseCode.SUCCESS) {
          o.log({ event: "namesrv_unregister_failed", namesrv: client.endpoint, code: r.code });
        }
      } catch (error) {
        o.log({
          event: "namesrv_unregister_failed",
          namesrv: client.endpoint,
          error: String((error as Error)?.message ?? error),
        });
      }
      await client.close();
    }));
  }
}

function splitAddr(addr: string): [string, number] {
  const colon = addr.lastIndexOf(":");
  return [addr.slice(0, colon), Number(addr.slice(colon + 1))];
}
