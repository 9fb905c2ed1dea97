/**
 * The body of REGISTER_BROKER (spec §9.3): a broker's topic table and data
 * version, in RocketMQ's two forms.
 *
 * JSON form (`compressed` absent or false), RocketMQ `RegisterBrokerBody`:
 *
 * ```json
 * {"topicConfigSerializeWrapper": {"topicConfigTable": {"T": {...}}, "dataVersion": {...},
 *   "topicQueueMappingInfoMap": {}}, "filterServerList": []}
 * ```
 *
 * Compressed form (`compressed=true`): a zlib (deflate) stream of
 *
 * | Field                  | Bytes | Notes                                               |
 * |------------------------|-------|-----------------------------------------------------|
 * | dataVersion length     | 4     | big-endian int                                      |
 * | dataVersion            | n     | JSON `{"stateVersion","timestamp","counter"}`       |
 * | topic count            | 4     |                                                     |
 * | per topic: length      | 4     |                                                     |
 * | per topic: config      | n     | `name read write perm filterType attributesJSON`    |
 * | filter list length     | 4     |                                                     |
 * | filter list            | n     | JSON array of strings                               |
 * | mapping count          | 4     | static-topic mappings, each `int len + JSON`        |
 *
 * The request header's `bodyCrc32` (when not 0) is `crc32(body) & 0x7fffffff`
 * of the bytes as sent (compressed or not).
 *
 * @module
 */

import { crc32, deflateSync, inflateSync } from "node:zlib";
import type { JsonResult, TopicConfig } from "./heartbeat.ts";
import { parseJsonLenient } from "./heartbeat.ts";

/** RocketMQ's `DataVersion`: a broker bumps it on every change of its topic table. */
export interface DataVersion {
  /** State version (epoch of the table). */
  readonly stateVersion: number;
  /** Epoch ms of the last change. */
  readonly timestamp: number;
  /** Change counter. */
  readonly counter: number;
}

/** A decoded REGISTER_BROKER body. */
export interface RegisterBrokerBody {
  /** Every topic of the broker, by name. */
  readonly topicConfigTable: Readonly<Record<string, TopicConfig>>;
  /** The broker's data version. */
  readonly dataVersion: DataVersion;
  /** Filter servers (legacy, kept for the wire form). */
  readonly filterServerList: readonly string[];
}

/** Largest inflated size of a compressed registration, bytes (a bound against zip bombs). */
export const REGISTER_BODY_INFLATED_BYTES_MAX = 64 * 1024 * 1024;

/**
 * `crc32(bytes) & 0x7fffffff`, the value of the `bodyCrc32` header field.
 *
 * @param bytes The body as sent.
 * @returns The non-negative CRC.
 */
export function bodyCrc32(bytes: Uint8Array): number {
  return crc32(bytes) & 0x7fffffff;
}

/**
 * Two data versions are equal when all three fields are.
 *
 * @param a One version.
 * @param b The other (undefined never equals).
 * @returns Whether they are equal.
 */
export function dataVersionEquals(a: DataVersion, b: DataVersion | undefined): boolean {
  return b !== undefined && a.stateVersion === b.stateVersion && a.timestamp === b.timestamp &&
    a.counter === b.counter;
}

/**
 * Encode a registration body.
 *
 * @param body Topic table, data version, filter servers.
 * @param compressed The deflate form (what brokers with many topics send).
 * @returns The body bytes.
 */
export function encodeRegisterBrokerBody(
  body: RegisterBrokerBody,
  compressed: boolean,
): Uint8Array {
  const encoder = new TextEncoder();
  if (!compressed) {
    return encoder.encode(JSON.stringify({
      topicConfigSerializeWrapper: {
        topicConfigTable: body.topicConfigTable,
        dataVersion: body.dataVersion,
        topicQueueMappingInfoMap: {},
      },
      filterServerList: body.filterServerList,
    }));
  }
  const parts: Uint8Array[] = [];
  const int = (n: number): void => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, n);
    parts.push(b);
  };
  const chunk = (text: string): void => {
    const bytes = encoder.encode(text);
    int(bytes.length);
    parts.push(bytes);
  };
  chunk(JSON.stringify(body.dataVersion));
  const topics = Object.values(body.topicConfigTable);
  int(topics.length);
  for (const t of topics) {
    chunk(
      `${t.topicName} ${t.readQueueNums} ${t.writeQueueNums} ${t.perm} ${
        t.topicFilterType ?? "SINGLE_TAG"
      } ${JSON.stringify(t.attributes ?? {})}`,
    );
  }
  chunk(JSON.stringify(body.filterServerList));
  int(0);
  let length = 0;
  for (const p of parts) length += p.length;
  const raw = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    raw.set(p, at);
    at += p.length;
  }
  return new Uint8Array(deflateSync(raw, { level: 6 }));
}

/**
 * Decode and validate a registration body.
 *
 * @param bytes The body.
 * @param compressed Whether it is the deflate form.
 * @returns The body, or why it is malformed (nothing is thrown).
 */
export function decodeRegisterBrokerBody(
  bytes: Uint8Array | undefined,
  compressed: boolean,
): JsonResult<RegisterBrokerBody> {
  if (bytes === undefined || bytes.length === 0) {
    return { ok: false, error: "RegisterBrokerBody: body is empty" };
  }
  return compressed ? decodeCompressed(bytes) : decodeJson(bytes);
}

function decodeJson(bytes: Uint8Array): JsonResult<RegisterBrokerBody> {
  const parsed = parseJsonLenient(bytes);
  if (!parsed.ok) return { ok: false, error: `RegisterBrokerBody: ${parsed.error}` };
  const root = parsed.value as Record<string, unknown> | null;
  const wrapper = root?.topicConfigSerializeWrapper as Record<string, unknown> | undefined;
  if (typeof wrapper !== "object" || wrapper === null) {
    return { ok: false, error: "RegisterBrokerBody: topicConfigSerializeWrapper is missing" };
  }
  const version = checkDataVersion(wrapper.dataVersion);
  if (typeof version === "string") return { ok: false, error: version };
  const table: Record<string, TopicConfig> = {};
  const rawTable = wrapper.topicConfigTable ?? {};
  if (typeof rawTable !== "object" || rawTable === null || Array.isArray(rawTable)) {
    return { ok: false, error: "RegisterBrokerBody: topicConfigTable is not an object" };
  }
  for (const [name, raw] of Object.entries(rawTable)) {
    const config = checkTopicConfig(name, raw);
    if (typeof config === "string") return { ok: false, error: config };
    table[name] = config;
  }
  const filters = root?.filterServerList ?? [];
  if (!Array.isArray(filters)) {
    return { ok: false, error: "RegisterBrokerBody: filterServerList is not an array" };
  }
  return {
    ok: true,
    value: { topicConfigTable: table, dataVersion: version, filterServerList: filters.map(String) },
  };
}

function decodeCompressed(bytes: Uint8Array): JsonResult<RegisterBrokerBody> {
  let raw: Uint8Array;
  try {
    raw = inflateSync(bytes, { maxOutputLength: REGISTER_BODY_INFLATED_BYTES_MAX });
  } catch (error) {
    return {
      ok: false,
      error: `RegisterBrokerBody: cannot inflate the compressed body: ${(error as Error).message}`,
    };
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let at = 0;
  const int = (what: string): number => {
    if (at + 4 > raw.length) throw new RangeError(`truncated at ${what} (offset ${at})`);
    const n = view.getInt32(at);
    at += 4;
    if (n < 0) throw new RangeError(`negative ${what} ${n} (offset ${at - 4})`);
    return n;
  };
  const text = (what: string): string => {
    const n = int(`${what} length`);
    if (at + n > raw.length) throw new RangeError(`truncated ${what} (offset ${at})`);
    const out = decoder.decode(raw.subarray(at, at + n));
    at += n;
    return out;
  };
  try {
    const versionJson = parseJsonLenient(text("dataVersion"));
    if (!versionJson.ok) throw new RangeError(`dataVersion: ${versionJson.error}`);
    const version = checkDataVersion(versionJson.value);
    if (typeof version === "string") throw new RangeError(version);
    const count = int("topic count");
    const table: Record<string, TopicConfig> = {};
    for (let i = 0; i < count; i++) {
      const line = text(`topic ${i}`);
      const config = parseTopicConfigLine(line);
      if (typeof config === "string") throw new RangeError(config);
      table[config.topicName] = config;
    }
    const filters = parseJsonLenient(text("filterServerList"));
    if (!filters.ok || !Array.isArray(filters.value)) {
      throw new RangeError("filterServerList is not a JSON array");
    }
    // Static-topic mappings (count, then each as length + JSON) are read past and not kept.
    const mappings = int("mapping count");
    for (let i = 0; i < mappings; i++) text(`mapping ${i}`);
    return {
      ok: true,
      value: {
        topicConfigTable: table,
        dataVersion: version,
        filterServerList: (filters.value as unknown[]).map(String),
      },
    };
  } catch (error) {
    return { ok: false, error: `RegisterBrokerBody: ${(error as Error).message}` };
  }
}

/** Parse RocketMQ's `TopicConfig.encode()` line: `name read write perm filterType [attributesJSON]`. */
function parseTopicConfigLine(line: string): TopicConfig | string {
  const fields: string[] = [];
  let rest = line;
  for (let i = 0; i < 5; i++) {
    const space = rest.indexOf(" ");
    if (space === -1) {
      fields.push(rest);
      rest = "";
      break;
    }
    fields.push(rest.slice(0, space));
    rest = rest.slice(space + 1);
  }
  if (fields.length < 5) return `topic config "${line}" has fewer than 5 fields`;
  const [topicName, read, write, perm, topicFilterType] = fields;
  let attributes: Record<string, string> = {};
  if (rest.trim() !== "") {
    const parsed = parseJsonLenient(rest);
    if (!parsed.ok || typeof parsed.value !== "object" || parsed.value === null) {
      return `topic config "${topicName}" has bad attributes`;
    }
    attributes = parsed.value as Record<string, string>;
  }
  return checkTopicConfig(topicName, {
    topicName,
    readQueueNums: Number(read),
    writeQueueNums: Number(write),
    perm: Number(perm),
    topicFilterType,
    attributes,
  });
}

function checkTopicConfig(name: string, raw: unknown): TopicConfig | string {
  if (typeof raw !== "object" || raw === null) return `topic config "${name}" is not an object`;
  const r = raw as Record<string, unknown>;
  if (name === "") return "a topic config has an empty name";
  for (const key of ["readQueueNums", "writeQueueNums", "perm"]) {
    const v = r[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      return `topic config "${name}": ${key} is not a non-negative integer`;
    }
  }
  return {
    topicName: name,
    readQueueNums: r.readQueueNums as number,
    writeQueueNums: r.writeQueueNums as number,
    perm: r.perm as number,
    topicFilterType: typeof r.topicFilterType === "string" ? r.topicFilterType : "SINGLE_TAG",
    topicSysFlag: typeof r.topicSysFlag === "number" ? r.topicSysFlag : 0,
    order: r.order === true,
    attributes: (r.attributes ?? {}) as Record<string, string>,
  };
}

/**
 * Validate a `DataVersion` JSON value.
 *
 * @param raw The parsed JSON.
 * @returns The version, or an error text.
 */
export function checkDataVersion(raw: unknown): DataVersion | string {
  if (typeof raw !== "object" || raw === null) return "dataVersion is missing";
  const r = raw as Record<string, unknown>;
  const num = (v: unknown): number | undefined =>
    typeof v === "number" && Number.isFinite(v) ? v : undefined;
  const stateVersion = num(r.stateVersion ?? 0);
  const timestamp = num(r.timestamp);
  const counter = num(r.counter);
  if (stateVersion === undefined || timestamp === undefined || counter === undefined) {
    return "dataVersion needs numeric stateVersion, timestamp and counter";
  }
  return { stateVersion, timestamp, counter };
}
