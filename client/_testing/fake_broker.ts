/**
 * A tiny scripted TCP peer that speaks the remoting frame format, for unit
 * tests of the client that do not need a real broker. Test-only.
 *
 * @module
 */

import {
  createResponse,
  encodeCommand,
  FrameDecoder,
  isOneway,
  isResponse,
  type RemotingCommand,
} from "../protocol/remoting_command.ts";

/** What the fake does with one request: a response, nothing (stay silent), or a raw byte string. */
export type FakeReply = RemotingCommand | undefined | Uint8Array;

/** A connection the fake accepted. */
export interface FakePeer {
  /** Send a command (e.g. a broker-initiated request) to the client. */
  send(command: RemotingCommand): Promise<void>;
  /** Close the socket. */
  close(): void;
}

/** A running fake broker. */
export interface FakeBroker extends AsyncDisposable {
  /** The `127.0.0.1:port` endpoint. */
  readonly endpoint: string;
  /** Every request received, in order. */
  readonly requests: RemotingCommand[];
  /** Every responses the client sent back (to broker-initiated requests). */
  readonly responses: RemotingCommand[];
  /** Resolves with the first accepted connection. */
  readonly firstPeer: Promise<FakePeer>;
  /** Stop listening and close all accepted connections. */
  close(): Promise<void>;
}

/**
 * Start a fake broker on 127.0.0.1 port 0.
 *
 * @param handler Maps each request to a reply.
 * @returns The running fake.
 */
export function startFakeBroker(
  handler: (request: RemotingCommand, peer: FakePeer) => FakeReply | Promise<FakeReply>,
): FakeBroker {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const loops: Promise<void>[] = [];
  const requests: RemotingCommand[] = [];
  const responses: RemotingCommand[] = [];
  let resolveFirst!: (peer: FakePeer) => void;
  const firstPeer = new Promise<FakePeer>((resolve) => (resolveFirst = resolve));

  async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.length) at += await conn.write(bytes.subarray(at));
  }

  async function serve(conn: Deno.Conn): Promise<void> {
    const peer: FakePeer = {
      send: (command) => writeAll(conn, encodeCommand(command)),
      close: () => {
        try {
          conn.close();
        } catch { /* already closed */ }
      },
    };
    resolveFirst(peer);
    const decoder = new FrameDecoder();
    try {
      while (true) {
        const n = await conn.read(decoder.writable());
        if (n === null) break;
        decoder.commit(n);
        for (let cmd = decoder.next(); cmd !== undefined; cmd = decoder.next()) {
          if (cmd.body !== undefined) cmd.body = cmd.body.slice();
          if (isResponse(cmd)) {
            responses.push(cmd);
            continue;
          }
          requests.push(cmd);
          const reply = await handler(cmd, peer);
          if (reply === undefined || isOneway(cmd)) continue;
          await writeAll(conn, reply instanceof Uint8Array ? reply : encodeCommand(reply));
        }
      }
    } catch {
      // Socket closed under us: the test is tearing down.
    } finally {
      conns.delete(conn);
      peer.close();
    }
  }

  const acceptLoop = (async () => {
    try {
      for await (const conn of listener) {
        conns.add(conn);
        loops.push(serve(conn));
      }
    } catch {
      // Listener closed.
    }
  })();

  const port = (listener.addr as Deno.NetAddr).port;
  return {
    endpoint: `127.0.0.1:${port}`,
    requests,
    responses,
    firstPeer,
    async close() {
      try {
        listener.close();
      } catch { /* closed */ }
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* closed */ }
      }
      await acceptLoop;
      await Promise.all(loops);
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}

/**
 * A success response echoing the request's opaque.
 *
 * @param request The request.
 * @param extFields Response header fields.
 * @param body Response body.
 * @returns The response.
 */
export function ok(
  request: RemotingCommand,
  extFields: Record<string, string | number | boolean | undefined> = {},
  body?: Uint8Array,
): RemotingCommand {
  return createResponse(request, 0, undefined, extFields, body);
}
