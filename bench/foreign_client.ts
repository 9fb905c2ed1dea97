/**
 * A minimal pipelining RocketMQ remoting client for the foreign-client
 * benchmark. It puts on the wire what the Apache RocketMQ Java client puts
 * there, not what this project's client sends:
 *
 * - SEND_MESSAGE_V2 (310), one message per request, a JSON header as
 *   fastjson writes it (keys in alphabetical order, `extFields` with the
 *   one-letter V2 names `a`..`n`, properties with `\u0001`/`\u0002`
 *   separators escaped as `\u0001`/`\u0002`), `language: "JAVA"`;
 * - PULL_MESSAGE (11) with the Java push consumer's fields and flags
 *   (commit offset, suspend, subscription; `*` subscription).
 *
 * The send frames are made from one template with fixed-width opaque,
 * born timestamp, queue id and UNIQ_KEY patched in place, so the client's
 * own CPU stays small next to the broker's. Requests issued while handling
 * one socket read leave in one write, as a Netty client's flushes do under
 * load.
 *
 * @module
 */

import { FrameDecoder, type RemotingCommand } from "../client/protocol/remoting_command.ts";

const encoder = new TextEncoder();

/** Opaques are kept at 8 digits so the template's width never changes. */
const OPAQUE_BASE = 10_000_000;
const OPAQUE_SPAN = 89_999_999;

/** Escape a string as fastjson does for the remoting header (control characters as \uXXXX). */
function jsonString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (c < 0x20) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += ch;
  }
  return out + '"';
}

/** A header as fastjson writes a RemotingCommand: keys sorted, extFields sorted. */
function javaHeader(code: number, opaque: string, extFields: Record<string, string>): string {
  const ext = Object.keys(extFields).sort().map((k) =>
    `${jsonString(k)}:${jsonString(extFields[k])}`
  )
    .join(",");
  return `{"code":${code},"extFields":{${ext}},"flag":0,"language":"JAVA","opaque":${opaque},` +
    `"serializeTypeCurrentRPC":"JSON","version":453}`;
}

/** One frame: length, header length (JSON form), header, body. */
function frame(header: string, body: Uint8Array): Uint8Array {
  const headerBytes = encoder.encode(header);
  const out = new Uint8Array(8 + headerBytes.length + body.length);
  const view = new DataView(out.buffer);
  view.setInt32(0, 4 + headerBytes.length + body.length);
  view.setInt32(4, headerBytes.length); // serialize type 0 (JSON) in the top byte
  out.set(headerBytes, 8);
  out.set(body, 8 + headerBytes.length);
  return out;
}

/** Write ASCII digits of `value`, `width` wide, zero-padded, at `at`. */
function patchDigits(bytes: Uint8Array, at: number, width: number, value: number): void {
  for (let i = width - 1; i >= 0; i--) {
    bytes[at + i] = 0x30 + (value % 10);
    value = Math.floor(value / 10);
  }
}

const HEX = encoder.encode("0123456789ABCDEF");

/** The SEND_MESSAGE_V2 template and the offsets of its patched fields. */
interface SendTemplate {
  readonly bytes: Uint8Array;
  readonly opaqueAt: number;
  readonly bornAt: number;
  readonly queueAt: number;
  readonly uniqAt: number;
}

function sendTemplate(topic: string, producerGroup: string, body: Uint8Array): SendTemplate {
  const opaque = "O".repeat(8);
  const born = "B".repeat(13);
  const uniq = "7F000001" + "U".repeat(24);
  const properties = `TAGS\u0001TagA\u0002WAIT\u0001true\u0002UNIQ_KEY\u0001${uniq}\u0002`;
  const header = javaHeader(310, opaque, {
    a: producerGroup,
    b: topic,
    c: "TBW102",
    d: "4",
    e: "Q",
    f: "0",
    g: born,
    h: "0",
    i: properties,
    j: "0",
    k: "false",
    m: "false",
    n: "broker-a",
  });
  const bytes = frame(header, body);
  const text = new TextDecoder().decode(bytes.subarray(8, bytes.length - body.length));
  return {
    bytes,
    opaqueAt: 8 + text.indexOf(opaque),
    bornAt: 8 + text.indexOf(born),
    queueAt: 8 + text.indexOf('"e":"Q"') + 5,
    uniqAt: 8 + text.indexOf(uniq) + 8,
  };
}

/** Called with each response; its body views a reused buffer, valid only during the call. */
export type ResponseHandler = (response: RemotingCommand) => void;

/** A pipelining connection speaking the Java client's wire forms. */
export class ForeignClient {
  readonly #conn: Deno.TcpConn;
  readonly #decoder = new FrameDecoder(64 * 1024 * 1024);
  readonly #handlers = new Map<number, ResponseHandler>();
  readonly #template: SendTemplate;
  #opaque = 0;
  #uniq = 0;
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #writing: Promise<void> | undefined;
  readonly #reading: Promise<void>;

  private constructor(conn: Deno.TcpConn, template: SendTemplate) {
    this.#conn = conn;
    this.#template = template;
    this.#reading = this.#readLoop();
  }

  /**
   * Connect to a broker.
   *
   * @param port Broker port on 127.0.0.1.
   * @param topic Topic of every send.
   * @param body Body of every send.
   * @returns The client.
   */
  static async connect(port: number, topic: string, body: Uint8Array): Promise<ForeignClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new ForeignClient(conn, sendTemplate(topic, "bench_foreign_producer", body));
  }

  #nextOpaque(): number {
    this.#opaque = (this.#opaque + 1) % OPAQUE_SPAN;
    return OPAQUE_BASE + this.#opaque;
  }

  /**
   * Queue one SEND_MESSAGE_V2 to a queue; it leaves with the other requests
   * of this tick.
   *
   * @param queueId Queue 0..9.
   * @param onResponse Called with the response.
   */
  send(queueId: number, onResponse: ResponseHandler): void {
    const t = this.#template;
    const bytes = t.bytes.slice();
    const opaque = this.#nextOpaque();
    patchDigits(bytes, t.opaqueAt, 8, opaque);
    patchDigits(bytes, t.bornAt, 13, Date.now());
    bytes[t.queueAt] = 0x30 + queueId;
    let u = this.#uniq++;
    for (let i = 23; i >= 0; i--) {
      bytes[t.uniqAt + i] = HEX[u & 0xf];
      u = Math.floor(u / 16);
    }
    this.#handlers.set(opaque, onResponse);
    this.#queue(bytes);
  }

  /**
   * Queue one PULL_MESSAGE as the Java push consumer sends it.
   *
   * @param fields Group, topic, queue, offset, batch size.
   * @param onResponse Called with the response (body valid during the call only).
   */
  pull(
    fields: { group: string; topic: string; queueId: number; queueOffset: number; max: number },
    onResponse: ResponseHandler,
  ): void {
    const opaque = this.#nextOpaque();
    const header = javaHeader(11, String(opaque), {
      consumerGroup: fields.group,
      topic: fields.topic,
      queueId: String(fields.queueId),
      queueOffset: String(fields.queueOffset),
      maxMsgNums: String(fields.max),
      sysFlag: "7", // COMMIT_OFFSET | SUSPEND | SUBSCRIPTION
      commitOffset: String(fields.queueOffset),
      suspendTimeoutMillis: "15000",
      subscription: "*",
      subVersion: "0",
      expressionType: "TAG",
      brokerName: "broker-a",
    });
    this.#handlers.set(opaque, onResponse);
    this.#queue(frame(header, new Uint8Array(0)));
  }

  #queue(bytes: Uint8Array): void {
    this.#out.push(bytes);
    this.#outBytes += bytes.length;
    if (this.#writing === undefined) this.#writing = this.#writeLoop();
  }

  async #writeLoop(): Promise<void> {
    // Let the requests of this tick join one write.
    await Promise.resolve();
    while (this.#out.length > 0) {
      const parts = this.#out;
      const all = new Uint8Array(this.#outBytes);
      let at = 0;
      for (const part of parts) {
        all.set(part, at);
        at += part.length;
      }
      this.#out = [];
      this.#outBytes = 0;
      let written = 0;
      while (written < all.length) written += await this.#conn.write(all.subarray(written));
    }
    this.#writing = undefined;
  }

  async #readLoop(): Promise<void> {
    try {
      while (true) {
        const n = await this.#conn.read(this.#decoder.writable(256 * 1024));
        if (n === null) return;
        this.#decoder.commit(n);
        for (let r = this.#decoder.next(); r !== undefined; r = this.#decoder.next()) {
          const handler = this.#handlers.get(r.opaque);
          if (handler === undefined) continue; // a broker-initiated request
          this.#handlers.delete(r.opaque);
          handler(r);
        }
      }
    } catch {
      // Closed.
    }
  }

  /** Close the connection. */
  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    await this.#reading;
  }
}

/**
 * Number of message records in a PULL_MESSAGE response body (each record
 * starts with its int32 total size).
 *
 * @param body The body, or undefined.
 * @returns The record count.
 */
export function countRecords(body: Uint8Array | undefined): number {
  if (body === undefined) return 0;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let count = 0;
  for (let at = 0; at + 4 <= body.length; at += view.getInt32(at)) {
    count++;
    if (view.getInt32(at) <= 0) break;
  }
  return count;
}
