/**
 * Test helpers for the gRPC front: a broker started in-process with its gRPC
 * port on, topics created over remoting, and a logger for the official
 * Node.js client that writes nothing (its default writes under `~/logs`).
 *
 * @module
 */

import { createAdmin } from "../../mod.ts";
import type { Admin } from "../../client/admin.ts";
import type { BrokerConfig } from "../../broker/config.ts";
import { startTestBroker, type TestBroker } from "../_helpers/broker.ts";
import { freePort } from "../_helpers/free_port.ts";

/** A logger for the official client that keeps errors for the test to show. */
export function quietLogger(errors: unknown[] = []) {
  const drop = () => {};
  return {
    trace: drop,
    debug: drop,
    info: drop,
    warn: drop,
    error: (...args: unknown[]) => void errors.push(args),
  };
}

/** A broker with the gRPC front on, and an admin client. */
export interface GrpcTestEnv extends AsyncDisposable {
  /** The broker. */
  readonly broker: TestBroker;
  /** `127.0.0.1:<grpc port>`, the official clients' `endpoints`. */
  readonly grpcEndpoint: string;
  /** `127.0.0.1:<remoting port>`. */
  readonly remotingEndpoint: string;
  /** Admin over remoting (topics). */
  readonly admin: Admin;
  /** Create topics with `queues` read and write queues. */
  createTopics(topics: readonly string[], queues?: number): Promise<void>;
}

/**
 * Start a broker in-process with the gRPC front on a free port.
 *
 * @param overrides Broker config changes.
 * @returns The environment; `await using` it.
 */
export async function startGrpcEnv(overrides: Partial<BrokerConfig> = {}): Promise<GrpcTestEnv> {
  const broker = await startTestBroker({ grpcPort: freePort(), ...overrides });
  const remotingEndpoint = `127.0.0.1:${broker.port}`;
  const admin = await createAdmin({ endpoint: remotingEndpoint });
  const close = async () => {
    await admin.close();
    await broker.close();
  };
  return {
    broker,
    grpcEndpoint: `127.0.0.1:${broker.broker.grpcPort}`,
    remotingEndpoint,
    admin,
    async createTopics(topics, queues = 4) {
      for (const topic of topics) {
        await admin.createTopic(topic, { readQueueNums: queues, writeQueueNums: queues });
      }
    },
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Race a promise against a bound.
 *
 * @param promise The work.
 * @param ms Bound.
 * @param what Description for the error.
 * @returns The work's value.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
