/**
 * The power-loss simulation: a seeded random workload against
 * `LocalMessageStore` (the same domain code the Worker store runs) on a
 * `SimDisk` that forgets what was not synced, with power cuts at random file
 * operations. After every cut the store is recovered and checked:
 *
 * 1. Every put acknowledged `PUT_OK` under `sync` flush is readable at its
 *    QueueOffset with its CommitLog offset and bytes (unless retention has
 *    since deleted its segment, or its topic was deleted).
 * 2. Nothing that was never sent appears: every readable record carries an id
 *    the workload sent, to that topic and queue.
 * 3. QueueOffsets are contiguous from each queue's min to its max, and the
 *    next put to a queue gets exactly its max offset.
 * 4. Committed consumer offsets never point past a queue's end, and offsets
 *    whose persist was acknowledged survive.
 * 5. Acknowledged topic creations and deletions (the `topics` config
 *    document) survive; a persist in flight at the cut leaves the old or the
 *    new document, never neither.
 * 6. Timer messages (topic `rmq_sys_wheel_timer`) and transaction halves and
 *    outcomes (`RMQ_SYS_TRANS_HALF_TOPIC`, the committed message and its
 *    `RMQ_SYS_TRANS_OP_HALF_TOPIC` op record) are puts like any other: their
 *    acknowledged copies are checked by (1).
 *
 * Cuts also land inside recovery itself (open after a cut). Everything is
 * driven by one seed; a failure names it and replays exactly.
 *
 * @module
 */

import { decodeRecord, MessageSysFlag } from "../../client/protocol/message_record.ts";
import { encodeProperties } from "../../client/protocol/properties.ts";
import {
  defaultStoreConfig,
  FsConfigFiles,
  LocalMessageStore,
  type MessageStoreConfig,
  type MessageToPut,
  type PutMessageResult,
} from "../../store/mod.ts";
import { PowerCut, SimDisk, type SimDiskMode, SimRandom } from "../_helpers/sim_disk.ts";
import { simConfigDisk, SimStoreFileSystem } from "../_helpers/sim_store_fs.ts";

/** Options of one simulation run. */
export interface PowerLossOptions {
  /** Seed of the workload and the disk. */
  readonly seed: number;
  /** Power cuts to make. */
  readonly cuts: number;
  /** Disk rules (default strict). */
  readonly mode?: SimDiskMode;
  /** Operations between cuts, at most (default 40). */
  readonly opsPerCutMax?: number;
  /** Debug output of every step and cut. */
  readonly trace?: (line: string) => void;
}

/** What a run did. */
export interface PowerLossReport {
  readonly seed: number;
  readonly cuts: number;
  readonly cutsInRecovery: number;
  readonly acknowledged: number;
  readonly checkedMessages: number;
  readonly diskOps: number;
  readonly dirSyncs: number;
}

const TIMER_TOPIC = "rmq_sys_wheel_timer";
const HALF_TOPIC = "RMQ_SYS_TRANS_HALF_TOPIC";
const OP_TOPIC = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
const USER_TOPICS = ["TopicA", "TopicB", "TopicC", "TopicD"];
const QUEUES = 3;
const GROUPS = ["g1", "g2"];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Acked {
  readonly topic: string;
  readonly queueId: number;
  readonly queueOffset: number;
  readonly commitLogOffset: number;
  readonly body: string;
}

/** The workload's knowledge of what must be true. */
interface Model {
  /** Every id ever handed to the store, with where it went. */
  readonly sent: Map<string, { topic: string; queueId: number }>;
  /** Acknowledged under sync flush (PUT_OK). */
  readonly acked: Map<string, Acked>;
  /** Topics as the workload sees them. */
  live: Set<string>;
  /** Last topics document whose persist returned. */
  topicsAcked: string | undefined;
  /** Topics document being persisted when the power went. */
  topicsPending: string | undefined;
  /** Consumer offsets committed (monotonic per key). */
  readonly committed: Map<string, number>;
  /** Consumer offsets whose persist returned. */
  persisted: Map<string, number>;
}

function config(sync: boolean): MessageStoreConfig {
  const never = 1_000_000_000;
  return defaultStoreConfig("sim", {
    commitLogSegmentBytes: 2048,
    consumeQueueSegmentUnits: 8,
    flushMode: sync ? "sync" : "async",
    flushIntervalMs: never,
    flushConsumeQueueIntervalMs: never,
    persistConsumerOffsetIntervalMs: never,
    fileReservedTimeHours: 0.001,
    deleteWhenHours: Array.from({ length: 24 }, (_, h) => h),
    checkCrcOnRecover: true,
    messageIndexEnable: true,
    indexSlotsPerFile: 16,
    indexEntriesPerFile: 24,
  });
}

function message(
  topic: string,
  queueId: number,
  id: string,
  padding: number,
  extra: { sysFlag?: number; preparedTransactionOffset?: number; props?: Record<string, string> } =
    {},
): MessageToPut {
  return {
    topic,
    queueId,
    flag: 0,
    body: encoder.encode(id + "|" + "x".repeat(padding)),
    properties: encodeProperties({ KEYS: id, ...(extra.props ?? {}) }),
    sysFlag: extra.sysFlag ?? 0,
    bornTimestamp: 1_700_000_000_000,
    bornHost: { ip: new Uint8Array([10, 0, 0, 1]), port: 40000 },
    reconsumeTimes: 0,
    preparedTransactionOffset: extra.preparedTransactionOffset ?? 0,
  };
}

function idOf(body: Uint8Array): string {
  const text = decoder.decode(body);
  return text.slice(0, text.indexOf("|"));
}

/** One simulated machine: a disk, a store on it, and the workload's model. */
class Simulation {
  readonly seed: number;
  readonly random: SimRandom;
  readonly disk: SimDisk;
  readonly model: Model = {
    sent: new Map(),
    acked: new Map(),
    live: new Set(),
    topicsAcked: undefined,
    topicsPending: undefined,
    committed: new Map(),
    persisted: new Map(),
  };
  store: LocalMessageStore | undefined;
  sync = true;
  #nextId = 0;
  checked = 0;
  cutsInRecovery = 0;
  /** Debug output (set `SIM_TRACE=1` in the soak tool). */
  trace: ((line: string) => void) | undefined;

  constructor(seed: number, mode: SimDiskMode) {
    this.seed = seed;
    this.random = new SimRandom(seed);
    this.disk = new SimDisk(mode, seed);
  }

  fail(what: string): never {
    throw new Error(
      `power-loss simulation failed (seed ${this.seed}, mode ${this.disk.mode}, cut ${this.disk.stats.cuts}): ${what}`,
    );
  }

  /** Open a store on the current boot; true when it opened (a cut may land inside recovery). */
  async boot(): Promise<boolean> {
    this.sync = this.random.chance(0.8);
    const store = new LocalMessageStore(config(this.sync), {
      clock: { nowMs: () => this.disk.nowMs },
      fileSystem: new SimStoreFileSystem(this.disk),
      configFiles: new FsConfigFiles("sim", simConfigDisk(this.disk)),
      diskUsedRatio: () => 0.1,
      diskFreeBytes: () => Infinity,
    });
    try {
      await store.open();
    } catch (error) {
      if (this.disk.dead === undefined) throw error;
      await store.close().catch(() => {});
      return false;
    }
    this.store = store;
    return true;
  }

  /** Cut the power, boot again until recovery completes, then check every invariant. */
  async cutAndRecover(): Promise<void> {
    await this.store?.close().catch(() => {});
    this.store = undefined;
    this.trace?.(`power cut: ${this.disk.dead ?? "between operations"}`);
    this.disk.powerCut();
    for (;;) {
      if (this.random.chance(0.15)) this.disk.armCut(1 + this.random.int(30));
      if (await this.boot()) break;
      this.cutsInRecovery++;
      this.disk.powerCut();
    }
    this.disk.armCut(Infinity);
    try {
      await this.check();
    } catch (error) {
      if ((error as Error).message.startsWith("power-loss simulation failed")) throw error;
      this.fail(`check threw: ${(error as Error).message}`);
    }
  }

  async check(): Promise<void> {
    const store = this.store!;
    const m = this.model;
    // 5. Topics document.
    const topics = await store.loadConfig("topics");
    if (topics !== m.topicsAcked && topics !== m.topicsPending) {
      this.fail(
        `topics document is ${topics}, expected ${m.topicsAcked} or ${m.topicsPending ?? "-"}`,
      );
    }
    m.topicsAcked = topics;
    m.topicsPending = undefined;
    m.live = new Set(topics === undefined ? [] : JSON.parse(topics) as string[]);
    const minCommitLog = store.stats().commitLogMinOffset;
    // 1. Acknowledged puts.
    for (const [id, a] of m.acked) {
      if (a.commitLogOffset < minCommitLog) {
        m.acked.delete(id);
        continue;
      }
      const got = await store.getMessage({
        group: "check",
        topic: a.topic,
        queueId: a.queueId,
        queueOffset: a.queueOffset,
        maxCount: 1,
      });
      const found = got.messages[0];
      if (got.status !== "FOUND" || found === undefined) {
        this.fail(
          `acknowledged ${id} (${a.topic}/${a.queueId}@${a.queueOffset}, log ${a.commitLogOffset}) is ${got.status}; queue ${got.minOffset}..${got.maxOffset}, log min ${minCommitLog}`,
        );
      }
      const record = decodeRecord(found.record);
      if (
        found.commitLogOffset !== a.commitLogOffset || decoder.decode(record.body) !== a.body ||
        record.topic !== a.topic || record.queueId !== a.queueId
      ) {
        this.fail(`acknowledged ${id} reads back different bytes at ${a.queueOffset}`);
      }
      this.checked++;
    }
    // 2 and 3. Every queue: contiguous offsets, only sent records.
    for (const { topic, queueId } of store.listQueues()) {
      const min = store.getMinOffsetInQueue(topic, queueId);
      const max = store.getMaxOffsetInQueue(topic, queueId);
      let next = min;
      while (next < max) {
        const got = await store.getMessage({
          group: "check",
          topic,
          queueId,
          queueOffset: next,
          maxCount: 32,
        });
        if (got.status !== "FOUND" || got.messages.length === 0) {
          this.fail(`${topic}/${queueId} offset ${next} of ${min}..${max} is ${got.status}`);
        }
        for (const found of got.messages) {
          const record = decodeRecord(found.record);
          const id = idOf(record.body);
          const sent = m.sent.get(id);
          if (sent === undefined || sent.topic !== topic || sent.queueId !== queueId) {
            this.fail(`${topic}/${queueId}@${found.queueOffset} holds ${id}, never sent there`);
          }
          if (found.queueOffset !== next || record.queueOffset !== next) {
            this.fail(`${topic}/${queueId}: expected offset ${next}, read ${found.queueOffset}`);
          }
          next++;
        }
      }
    }
    // 4. Consumer offsets.
    const queues = new Set(store.listQueues().map((q) => `${q.topic}/${q.queueId}`));
    for (const entry of store.listConsumerOffsets()) {
      const max = store.getMaxOffsetInQueue(entry.topic, entry.queueId);
      if (queues.has(`${entry.topic}/${entry.queueId}`) && entry.offset > max) {
        this.fail(
          `consumer offset ${entry.group}@${entry.topic}/${entry.queueId} = ${entry.offset} is past the queue's end ${max}`,
        );
      }
    }
    for (const [key, offset] of m.persisted) {
      const [group, topic, queueId] = key.split("/");
      const loaded = store.queryConsumerOffset(group, topic, Number(queueId)) ?? -1;
      // Offsets past a queue's recovered end are pulled back to it (never past the end).
      const expected = queues.has(`${topic}/${queueId}`)
        ? Math.min(offset, store.getMaxOffsetInQueue(topic, Number(queueId)))
        : offset;
      if (loaded < expected) {
        this.fail(`persisted consumer offset ${key} = ${offset} loads as ${loaded}`);
      }
    }
    m.committed.clear();
    for (const entry of store.listConsumerOffsets()) {
      m.committed.set(`${entry.group}/${entry.topic}/${entry.queueId}`, entry.offset);
    }
    m.persisted = new Map(m.committed);
  }

  newId(): string {
    return `${this.seed}-${this.#nextId++}`;
  }

  record(result: PutMessageResult, messages: readonly MessageToPut[], ids: string[]): void {
    if (result.status !== "PUT_OK" || !this.sync) return;
    messages.forEach((msg, i) => {
      this.model.acked.set(ids[i], {
        topic: msg.topic,
        queueId: msg.queueId,
        queueOffset: result.queueOffset + i,
        commitLogOffset: result.commitLogOffsets[i],
        body: decoder.decode(msg.body),
      });
    });
  }

  async put(topic: string, queueId: number, count: number): Promise<PutMessageResult> {
    const store = this.store!;
    const ids: string[] = [];
    const messages: MessageToPut[] = [];
    for (let i = 0; i < count; i++) {
      const id = this.newId();
      ids.push(id);
      this.model.sent.set(id, { topic, queueId });
      messages.push(message(topic, queueId, id, this.random.int(700)));
    }
    const expected = store.getMaxOffsetInQueue(topic, queueId);
    const result = count === 1
      ? await store.putMessage(messages[0])
      : await store.putMessages(messages);
    this.trace?.(
      `put ${topic}/${queueId} x${count}: ${result.status} ${
        "queueOffset" in result
          ? `@${result.queueOffset} log ${result.commitLogOffset}`
          : result.remark
      } max now ${store.getMaxOffsetInQueue(topic, queueId)}`,
    );
    if (
      result.status === "PUT_OK" && result.queueOffset !== expected && this.disk.dead === undefined
    ) {
      this.fail(`put to ${topic}/${queueId} got offset ${result.queueOffset}, max was ${expected}`);
    }
    this.record(result, messages, ids);
    return result;
  }

  async putOne(msg: MessageToPut, id: string): Promise<PutMessageResult> {
    this.model.sent.set(id, { topic: msg.topic, queueId: msg.queueId });
    const result = await this.store!.putMessage(msg);
    this.record(result, [msg], [id]);
    return result;
  }

  pickTopic(): string | undefined {
    const live = [...this.model.live];
    return live.length === 0 ? undefined : live[this.random.int(live.length)];
  }

  async persistTopics(): Promise<void> {
    const doc = JSON.stringify([...this.model.live].sort());
    this.model.topicsPending = doc;
    await this.store!.persistConfig("topics", doc);
    this.model.topicsAcked = doc;
    this.model.topicsPending = undefined;
  }

  /** One random step of the workload. */
  async step(): Promise<void> {
    const store = this.store!;
    const r = this.random.next();
    this.trace?.(`step r=${r.toFixed(3)} ops=${this.disk.stats.ops}`);
    const topic = this.pickTopic();
    const queueId = this.random.int(QUEUES);
    if (r < 0.3) {
      if (topic !== undefined) await this.put(topic, queueId, 1);
    } else if (r < 0.4) {
      if (topic !== undefined) await this.put(topic, queueId, 2 + this.random.int(3));
    } else if (r < 0.48) {
      // Concurrent puts share one group flush.
      const live = [...this.model.live];
      if (live.length > 0) {
        await Promise.all(
          [0, 1, 2].map(() =>
            this.put(live[this.random.int(live.length)], this.random.int(QUEUES), 1)
          ),
        );
      }
    } else if (r < 0.52) {
      const id = this.newId();
      await this.putOne(
        message(TIMER_TOPIC, 0, id, this.random.int(100), {
          props: { TIMER_OUT_MS: String(this.disk.nowMs + 5000), REAL_TOPIC: "TopicA" },
        }),
        id,
      );
    } else if (r < 0.56) {
      if (topic === undefined) return;
      const halfId = this.newId();
      const half = await this.putOne(
        message(HALF_TOPIC, 0, halfId, this.random.int(100), { props: { REAL_TOPIC: topic } }),
        halfId,
      );
      if (half.status !== "PUT_OK" && half.status !== "FLUSH_DISK_TIMEOUT") return;
      const commitId = this.newId();
      await this.putOne(
        message(topic, queueId, commitId, 10, {
          sysFlag: MessageSysFlag.TRANSACTION_COMMIT_TYPE,
          preparedTransactionOffset: half.commitLogOffset,
        }),
        commitId,
      );
      const opId = this.newId();
      await this.putOne(message(OP_TOPIC, 0, opId, 0, { props: { TAGS: "d" } }), opId);
    } else if (r < 0.64) {
      if (topic === undefined) return;
      const group = GROUPS[this.random.int(GROUPS.length)];
      const key = `${group}/${topic}/${queueId}`;
      const max = store.getMaxOffsetInQueue(topic, queueId);
      const from = this.model.committed.get(key) ?? 0;
      if (max <= from) return;
      const offset = from + 1 + this.random.int(max - from);
      store.commitConsumerOffset(group, topic, queueId, offset);
      this.model.committed.set(key, offset);
    } else if (r < 0.72) {
      const snapshot = new Map(this.model.committed);
      await store.flush();
      this.model.persisted = snapshot;
    } else if (r < 0.76) {
      const name = USER_TOPICS[this.random.int(USER_TOPICS.length)];
      if (this.model.live.has(name)) return;
      this.model.live.add(name);
      await this.persistTopics();
    } else if (r < 0.78) {
      if (topic === undefined) return;
      // From the moment the delete starts, the topic's messages and offsets may be gone.
      this.model.live.delete(topic);
      for (const [id, a] of this.model.acked) if (a.topic === topic) this.model.acked.delete(id);
      for (const map of [this.model.committed, this.model.persisted]) {
        for (const key of [...map.keys()]) if (key.split("/")[1] === topic) map.delete(key);
      }
      await store.deleteTopic(topic);
      await this.persistTopics();
    } else if (r < 0.84) {
      store.runRetention();
    } else {
      this.disk.nowMs += this.random.int(1500);
    }
  }
}

/**
 * Run the simulation.
 *
 * @param options Seed, cuts, mode.
 * @returns Counters.
 * @throws {Error} Naming the seed, when an invariant breaks.
 */
export async function runPowerLossSimulation(options: PowerLossOptions): Promise<PowerLossReport> {
  const sim = new Simulation(options.seed, options.mode ?? "strict");
  const opsMax = options.opsPerCutMax ?? 40;
  sim.trace = options.trace;
  while (!(await sim.boot())) sim.disk.powerCut();
  try {
    await simulate(sim, options.cuts, opsMax);
  } finally {
    await sim.store?.close().catch(() => {});
  }
  return {
    seed: options.seed,
    cuts: sim.disk.stats.cuts,
    cutsInRecovery: sim.cutsInRecovery,
    acknowledged: sim.model.acked.size,
    checkedMessages: sim.checked,
    diskOps: sim.disk.stats.ops,
    dirSyncs: sim.disk.stats.dirSyncs,
  };
}

async function simulate(sim: Simulation, cuts: number, opsMax: number): Promise<void> {
  for (let cut = 0; cut < cuts; cut++) {
    // Arm a cut a few file operations ahead; run the workload until it lands.
    sim.disk.armCut(1 + sim.random.int(opsMax * 3));
    for (let i = 0; i < opsMax * 4 && sim.disk.dead === undefined; i++) {
      try {
        await sim.step();
      } catch (error) {
        if (error instanceof PowerCut || sim.disk.dead !== undefined) break;
        throw new Error(`seed ${sim.seed}: workload step failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    await sim.cutAndRecover();
  }
}
