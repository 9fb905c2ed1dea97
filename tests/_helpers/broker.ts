/**
 * Test helpers: a real broker on port 0 in a temp dir, and a tiny raw
 * remoting connection for talking to it with hand-built commands.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Broker } from "../../broker/broker.ts";
import { encodeProperties } from "../../client/protocol/properties.ts";
import { RequestCode } from "../../client/protocol/request_code.ts";
import { ResponseCode } from "../../client/protocol/response_code.ts";
import { BROKER_CONFIG_DEFAULTS, type BrokerConfig } from "../../broker/config.ts";
import {
  createRequest,
  encodeCommand,
  FrameDecoder,
  isResponse,
  type RemotingCommand,
} from "../../client/protocol/remoting_command.ts";

/** A broker started for a test; dispose it (or call `close()`) to stop it and delete its data. */
export interface TestBroker extends AsyncDisposable {
  /** The real port. */
  readonly port: number;
  /** The broker's temp data directory. */
  readonly dataDir: string;
  /** The running broker. */
  readonly broker: Broker;
  /** Stop the broker and remove its data directory (unless `keepDataDir`). */
  close(): Promise<void>;
}

/** Extra options of {@linkcode startTestBroker}. */
export interface TestBrokerOptions {
  /** Reuse this data dir (e.g. for restart tests); it is then not deleted on close. */
  readonly dataDir?: string;
  /** Keep the data dir after close. */
  readonly keepDataDir?: boolean;
}

/**
 * Start a real broker on 127.0.0.1, port 0, in a fresh temp dir, with small
 * segments and async flush unless overridden.
 *
 * @param overrides Config fields to change.
 * @param options Data dir handling.
 * @returns The running broker; `await using` it.
 */
export async function startTestBroker(
  overrides: Partial<BrokerConfig> = {},
  options: TestBrokerOptions = {},
): Promise<TestBroker> {
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "rmq_broker_test_" });
  const keep = options.keepDataDir ?? options.dataDir !== undefined;
  const config: BrokerConfig = {
    ...BROKER_CONFIG_DEFAULTS,
    port: 0,
    dataDir,
    flush: "async",
    commitLogSegmentBytes: 1024 * 1024,
    consumeQueueSegmentUnits: 1024,
    shutdownTimeoutMs: 2000,
    grpcPort: 0,
    ...overrides,
  };
  let broker: Broker;
  try {
    broker = await Broker.start({ config });
  } catch (error) {
    if (!keep) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    throw error;
  }
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    closing ??= (async () => {
      await broker.close();
      if (!keep) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    })();
  return {
    port: broker.port,
    dataDir,
    broker,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Default bound on any wait in {@linkcode TestConnection}, ms. */
export const TEST_WAIT_MS = 10_000;

/**
 * A raw remoting connection: send hand-built commands, await responses by
 * opaque, and collect the requests the broker sends (notifications).
 */
export class TestConnection implements AsyncDisposable {
  readonly #conn: Deno.TcpConn;
  readonly #pending = new Map<number, (response: RemotingCommand | Error) => void>();
  readonly #requests: RemotingCommand[] = [];
  #requestWaiters: (() => void)[] = [];
  #nextOpaque = 1;
  #closed = false;
  /** Resolves when the broker closes the connection (or `close()` is called). */
  readonly closed: Promise<void>;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.closed = this.#readLoop();
  }

  /**
   * Connect to a broker on 127.0.0.1.
   *
   * @param port The broker's port.
   * @returns The connection.
   */
  static async connect(port: number): Promise<TestConnection> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new TestConnection(conn);
  }

  /**
   * Send a request and await its response.
   *
   * @param code Request code.
   * @param extFields Header fields.
   * @param body Optional body.
   * @param timeoutMs Bound on the wait.
   * @returns The response.
   */
  request(
    code: number,
    extFields: Readonly<Record<string, string | number | boolean | undefined>> = {},
    body?: Uint8Array,
    timeoutMs = TEST_WAIT_MS,
  ): Promise<RemotingCommand> {
    const opaque = this.#nextOpaque++;
    const command = createRequest(code, opaque, extFields, body);
    return this.send(command, timeoutMs);
  }

  /**
   * Send a prepared command and await the response with its opaque.
   *
   * @param command The request.
   * @param timeoutMs Bound on the wait.
   * @returns The response.
   */
  send(command: RemotingCommand, timeoutMs = TEST_WAIT_MS): Promise<RemotingCommand> {
    const response = new Promise<RemotingCommand>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(command.opaque);
        reject(new Error(`No response to opaque ${command.opaque} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(command.opaque, (r) => {
        clearTimeout(timer);
        if (r instanceof Error) reject(r);
        else resolve(r);
      });
    });
    this.writeRaw(encodeCommand(command)).catch(() => {});
    return response;
  }

  /**
   * Write raw bytes (for malformed-frame tests).
   *
   * @param bytes Anything.
   */
  async writeRaw(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) written += await this.#conn.write(bytes.subarray(written));
  }

  /** A fresh opaque for a hand-built command. */
  nextOpaque(): number {
    return this.#nextOpaque++;
  }

  /**
   * Wait for the next request the broker sends to this connection.
   *
   * @param timeoutMs Bound on the wait.
   * @returns The request.
   */
  async nextBrokerRequest(timeoutMs = TEST_WAIT_MS): Promise<RemotingCommand> {
    const deadline = Date.now() + timeoutMs;
    while (this.#requests.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0 || this.#closed) throw new Error("No request from the broker in time");
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#requestWaiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return this.#requests.shift()!;
  }

  /** Requests received from the broker and not yet taken. */
  get brokerRequestCount(): number {
    return this.#requests.length;
  }

  /** Close the connection. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#conn.close();
      } catch { /* already closed */ }
    }
    await this.closed;
  }

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #readLoop(): Promise<void> {
    const decoder = new FrameDecoder();
    try {
      while (true) {
        const n = await this.#conn.read(decoder.writable());
        if (n === null) break;
        decoder.commit(n);
        let command: RemotingCommand | undefined;
        while ((command = decoder.next()) !== undefined) {
          if (command.body !== undefined) command.body = command.body.slice();
          if (isResponse(command)) {
            const resolve = this.#pending.get(command.opaque);
            this.#pending.delete(command.opaque);
            resolve?.(command);
          } else {
            this.#requests.push(command);
            const waiters = this.#requestWaiters;
            this.#requestWaiters = [];
            for (const wake of waiters) wake();
          }
        }
      }
    } catch {
      // Closed by either side.
    } finally {
      this.#closed = true;
      try {
        this.#conn.close();
      } catch { /* already closed */ }
      for (const wake of this.#requestWaiters) wake();
      for (const settle of this.#pending.values()) settle(new Error("Connection closed"));
      this.#pending.clear();
    }
  }
}

const te = new TextEncoder();

/** SEND_MESSAGE_V2 header fields. */
export function sendV2Fields(
  topic: string,
  queueId: number,
  properties: Record<string, string> = {},
): Record<string, string | number> {
  return {
    a: "PG",
    b: topic,
    c: "TBW102",
    d: 4,
    e: queueId,
    f: 0,
    g: Date.now(),
    h: 0,
    i: encodeProperties(properties),
    j: 0,
  };
}

/** PULL_MESSAGE header fields. */
export function pullFields(
  topic: string,
  queueId: number,
  queueOffset: number,
  extra: Record<string, string | number> = {},
): Record<string, string | number> {
  return {
    consumerGroup: "CG",
    topic,
    queueId,
    queueOffset,
    maxMsgNums: 32,
    sysFlag: 0,
    commitOffset: 0,
    suspendTimeoutMillis: 0,
    subVersion: 0,
    ...extra,
  };
}

/** Create a topic through UPDATE_AND_CREATE_TOPIC and assert SUCCESS. */
export async function createTopic(conn: TestConnection, topic: string, queues = 4): Promise<void> {
  const response = await conn.request(RequestCode.UPDATE_AND_CREATE_TOPIC, {
    topic,
    defaultTopic: "TBW102",
    readQueueNums: queues,
    writeQueueNums: queues,
    perm: 6,
    topicFilterType: "SINGLE_TAG",
    order: false,
  });
  assert.equal(response.code, ResponseCode.SUCCESS, response.remark);
}

/** Encode a SEND_BATCH_MESSAGE body (spec §2.11). */
export function batchBody(
  messages: { body: string; properties: Record<string, string> }[],
): Uint8Array {
  const parts = messages.map((m) => {
    const body = te.encode(m.body);
    const props = te.encode(encodeProperties(m.properties));
    const size = 20 + body.length + 2 + props.length;
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    view.setInt32(0, size);
    view.setInt32(12, 0);
    view.setInt32(16, body.length);
    out.set(body, 20);
    view.setInt16(20 + body.length, props.length);
    out.set(props, 22 + body.length);
    return out;
  });
  const total = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    total.set(p, at);
    at += p.length;
  }
  return total;
}
