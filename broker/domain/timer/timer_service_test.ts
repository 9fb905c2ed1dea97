/**
 * TimerMessageService against a real LocalMessageStore in a temp dir, with a
 * manual clock: time moves only when a test says so, and each test awaits
 * the service going idle instead of sleeping.
 */

import assert from "node:assert/strict";
import { decodeRecord } from "../../../client/protocol/message_record.ts";
import { decodeProperties, encodeProperties } from "../../../client/protocol/properties.ts";
import { makeTempDir } from "../../../tests/_helpers/temp_dir.ts";
import {
  TIMER_LOG_ENTRY_BYTES,
  TIMER_LOG_PATH,
  TimerLog,
} from "../../../store/domain/timer/timer_log.ts";
import { TimerWheel } from "../../../store/domain/timer/timer_wheel.ts";
import { FsStoreFileSystem } from "../../../store/infra/fs_segment.ts";
import {
  defaultStoreConfig,
  LocalMessageStore,
  type MessageStore,
  type MessageToPut,
  type PutMessageResult,
} from "../../../store/mod.ts";
import type { CancelTimer, Clock } from "../clock.ts";
import { TimerMessageService, type TimerMessageServiceOptions } from "./timer_service.ts";
import { TIMER_TOPIC, transformTimerMessage } from "./timer_transform.ts";

/** Start time: 50 ms into a 100 ms tick. */
const T0 = 1_700_000_000_050;
const PRECISION_MS = 100;
const SLOT_COUNT = 64; // window 6.4 s

class ManualClock implements Clock {
  now: number;
  readonly #timers = new Map<number, { at: number; callback: () => void }>();
  #seq = 0;

  constructor(now: number) {
    this.now = now;
  }

  nowMs(): number {
    return this.now;
  }

  schedule(callback: () => void, delayMs: number): CancelTimer {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.now + delayMs, callback });
    return () => this.#timers.delete(id);
  }

  /** Move time to `now + ms` and fire every timer due by then. */
  advance(ms: number): void {
    this.now += ms;
    for (const [id, timer] of [...this.#timers]) {
      if (timer.at <= this.now) {
        this.#timers.delete(id);
        timer.callback();
      }
    }
  }

  /** Forget every timer (a crashed process's timers die with it). */
  clear(): void {
    this.#timers.clear();
  }
}

interface Harness {
  readonly store: MessageStore;
  readonly service: TimerMessageService;
  readonly wheel: TimerWheel;
  /** Advance the clock and wait for the service to finish what that triggered. */
  advance(ms: number): Promise<void>;
  /** Graceful stop: service (checkpoint), then store. */
  close(): Promise<void>;
  /** Stop without a timer checkpoint (as SIGKILL would), then close the store files. */
  crash(): Promise<void>;
}

async function open(
  dataDir: string,
  clock: ManualClock,
  options: TimerMessageServiceOptions = {},
  wrap: (store: MessageStore) => MessageStore = (s) => s,
): Promise<Harness> {
  const local = new LocalMessageStore(
    defaultStoreConfig(dataDir, {
      commitLogSegmentBytes: 256 * 1024,
      consumeQueueSegmentUnits: 1024,
      flushMode: "async",
      deleteWhenHours: [],
    }),
    { clock, diskUsedRatio: () => 0.1 },
  );
  await local.open();
  const store = wrap(local);
  const fs = new FsStoreFileSystem(dataDir);
  const wheel = new TimerWheel(
    new TimerLog(fs.segments(TIMER_LOG_PATH), 256 * TIMER_LOG_ENTRY_BYTES),
    fs,
    {
      precisionMs: PRECISION_MS,
      slotCount: SLOT_COUNT,
    },
  );
  const service = new TimerMessageService(store, wheel, clock, { retryDelayMs: 500, ...options });
  await service.start();
  return {
    store,
    service,
    wheel,
    async advance(ms) {
      clock.advance(ms);
      await service.whenIdle();
    },
    async close() {
      try {
        await service.close();
      } finally {
        await local.close();
      }
    },
    async crash() {
      clock.clear();
      await service.whenIdle();
      wheel.log.close(); // pending TimerLog bytes are lost with the process
      await local.close();
    },
  };
}

let uniq = 0;

async function send(
  store: MessageStore,
  clock: Clock,
  properties: Record<string, string>,
  topic = "T",
): Promise<string> {
  const key = `U${++uniq}`;
  const message: MessageToPut = {
    topic,
    queueId: 1,
    flag: 0,
    body: new TextEncoder().encode(`body-${key}`),
    properties: encodeProperties({ UNIQ_KEY: key, TAGS: "t", ...properties }),
    sysFlag: 0,
    bornTimestamp: clock.nowMs(),
    bornHost: { ip: new Uint8Array([127, 0, 0, 1]), port: 5000 },
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  };
  const transformed = transformTimerMessage(message, clock.nowMs());
  assert.equal(transformed.kind, "scheduled");
  const result = await store.putMessage((transformed as { message: MessageToPut }).message);
  assert.equal(result.status, "PUT_OK");
  return key;
}

/** Every message visible in queue 1 of a topic: its properties and body text. */
async function visible(
  store: MessageStore,
  topic = "T",
): Promise<{ props: Map<string, string>; body: string }[]> {
  const out: { props: Map<string, string>; body: string }[] = [];
  let offset = 0;
  for (;;) {
    const result = await store.getMessage({
      group: "G",
      topic,
      queueId: 1,
      queueOffset: offset,
      maxCount: 1000,
    });
    if (result.status !== "FOUND") return out;
    for (const m of result.messages) {
      const record = decodeRecord(m.record);
      out.push({
        props: decodeProperties(record.properties),
        body: new TextDecoder().decode(record.body),
      });
    }
    offset = result.nextBeginOffset;
  }
}

Deno.test("TimerMessageService keeps a timer invisible until due and delivers it when due", async () => {
  await using dir = await makeTempDir();
  const clock = new ManualClock(T0);
  const h = await open(dir.path, clock);
  try {
    const key = await send(h.store, clock, { TIMER_DELAY_MS: "1000" });
    await h.service.whenIdle();
    assert.equal(h.service.stats().pending, 1);
    await h.advance(999); // 1 ms before due
    assert.deepEqual(await visible(h.store), []);
    await h.advance(1); // due: its tick has started, so it goes out now
    const got = await visible(h.store);
    assert.equal(got.length, 1);
    assert.equal(got[0].body, `body-${key}`);
    assert.equal(got[0].props.get("UNIQ_KEY"), key);
    assert.equal(got[0].props.get("TAGS"), "t");
    assert.equal(got[0].props.has("REAL_TOPIC"), false);
    assert.equal(got[0].props.has("TIMER_OUT_MS"), false);
    assert.equal(got[0].props.get("TIMER_DEQUEUE_MS"), String(T0 + 1000));
    assert.equal(got[0].props.get("TIMER_ENQUEUE_MS"), String(T0));
    assert.equal(h.service.stats().delivered, 1);
    assert.equal(h.service.stats().pending, 0);
  } finally {
    await h.close();
  }
});

Deno.test("TimerMessageService delivers delay-level messages after the level's delay", async () => {
  await using dir = await makeTempDir();
  const clock = new ManualClock(T0);
  const h = await open(dir.path, clock);
  try {
    await send(h.store, clock, { DELAY: "2" }); // 5 s
    await send(h.store, clock, { DELAY: "1" }); // 1 s
    await h.advance(1_100);
    assert.equal((await visible(h.store)).length, 1);
    await h.advance(3_800); // T0 + 4.9 s
    assert.equal((await visible(h.store)).length, 1);
    await h.advance(200);
    const got = await visible(h.store);
    assert.equal(got.length, 2);
    assert.equal(got[1].props.has("DELAY"), false);
  } finally {
    await h.close();
  }
});

Deno.test("TimerMessageService keeps a timer scheduled across a restart before it is due", async () => {
  await using dir = await makeTempDir();
  const clock = new ManualClock(T0);
  let h = await open(dir.path, clock);
  await send(h.store, clock, { TIMER_DELAY_MS: "3000" });
  await h.service.whenIdle();
  await h.close();
  h = await open(dir.path, clock);
  try {
    assert.equal(h.service.stats().pending, 1);
    await h.advance(2_000);
    assert.deepEqual(await visible(h.store), []);
    await h.advance(1_100);
    assert.equal((await visible(h.store)).length, 1);
  } finally {
    await h.close();
  }
});

Deno.test("TimerMessageService delivers at start what came due while the broker was down", async () => {
  await using dir = await makeTempDir();
  const clock = new ManualClock(T0);
  let h = await open(dir.path, clock);
  await send(h.store, clock, { TIMER_DELAY_MS: "3000" });
  await send(h.store, clock, { TIMER_DELAY_MS: "60000" });
  await h.service.whenIdle();
  await h.close();
  clock.now += 10_000;
  h = await open(dir.path, clock);
  try {
    assert.equal((await visible(h.store)).length, 1);
    assert.equal(h.service.stats().pending, 1);
    // Far beyond the window: it rolls once at start and once while catching
    // up; then it goes out at its due time, not a millisecond before.
    await h.advance(49_999);
    assert.equal(h.service.stats().rolled, 2);
    assert.equal((await visible(h.store)).length, 1);
    await h.advance(1);
    assert.equal((await visible(h.store)).length, 2);
  } finally {
    await h.close();
  }
});

Deno.test("TimerMessageService recovers timers from the timer queue after a crash with no checkpoint", async () => {
  await using dir = await makeTempDir();
  const clock = new ManualClock(T0);
  let h = await open(dir.path, clock);
  await send(h.store, clock, { TIMER_DELAY_MS: "2000" });
  await send(h.store, clock, { TIMER_DELAY_MS: "5000" });
  await h.service.whenIdle();
  await h.crash();
  clock.now += 3_000;
  h = await open(dir.path, clock);
  try {
    // The late timer goes out at once; the other stays scheduled.
    assert.equal((await visible(h.store)).length, 1);
    assert.equal(h.service.stats().pending, 1);
    await h.advance(2_000);
    assert.equal((await visible(h.store)).length, 2);
  } finally {
    await h.close();
  }
});

Deno.test("TimerMessageService redelivers after a crash between delivery and checkpoint (at-least-once)", async () => {
  await using dir = await makeTempDir();
  const clock = new ManualClock(T0);
  let h = await open(dir.path, clock, { checkpointIntervalMs: 60_000 });
  const key = await send(h.store, clock, { TIMER_DELAY_MS: "1000" });
  await h.service.whenIdle();
  await h.service.close(); // checkpoint: enqueued, not delivered
  await h.crash();
  h = await open(dir.path, clock, { checkpointIntervalMs: 60_000 });
  await h.advance(1_100);
  assert.equal((await visible(h.store)).length, 1);
  await h.crash(); // no checkpoint after the delivery
  h = await open(dir.path, clock);
  try {
    const got = await visible(h.store);
    assert.equal(got.length, 2);
    assert.deepEqual(got.map((m) => m.props.get("UNIQ_KEY")), [key, key]);
  } finally {
    await h.close();
  }
});

Deno.test("TimerMessageService rolls timers beyond the window and delivers them on time", async () => {
  await using dir = await makeTempDir();
  const clock = new ManualClock(T0);
  const h = await open(dir.path, clock);
  try {
    const windowMs = SLOT_COUNT * PRECISION_MS;
    await send(h.store, clock, { TIMER_DELAY_MS: String(3 * windowMs + 500) });
    await h.service.whenIdle();
    for (let elapsed = 0; elapsed < 3 * windowMs; elapsed += 500) await h.advance(500);
    assert.deepEqual(await visible(h.store), []);
    assert.ok(h.service.stats().rolled >= 2, `rolled ${h.service.stats().rolled}`);
    await h.advance(600);
    const got = await visible(h.store);
    assert.equal(got.length, 1);
    assert.equal(got[0].props.has("TIMER_ROLL_TIMES"), false);
    assert.equal(h.service.stats().pending, 0);
  } finally {
    await h.close();
  }
});

Deno.test("TimerMessageService delivers many timers of one slot, each once", async () => {
  await using dir = await makeTempDir();
  const clock = new ManualClock(T0);
  const h = await open(dir.path, clock, { deliverBatchMessages: 16, enqueueBatchMessages: 32 });
  try {
    const keys = new Set<string>();
    for (let i = 0; i < 300; i++) {
      keys.add(await send(h.store, clock, { TIMER_DELIVER_MS: String(T0 + 2_020 + (i % 50)) }));
    }
    await send(h.store, clock, { TIMER_DELIVER_MS: String(T0 + 2_020) }, "Other");
    await h.service.whenIdle();
    assert.equal(h.service.stats().pending, 301);
    await h.advance(2_150); // past the end of the second tick

    const got = await visible(h.store);
    assert.equal(got.length, 300);
    assert.deepEqual(new Set(got.map((m) => m.props.get("UNIQ_KEY"))), keys);
    assert.equal((await visible(h.store, "Other")).length, 1);
  } finally {
    await h.close();
  }
});

Deno.test("TimerMessageService retries a refused delivery and never drops it", async () => {
  await using dir = await makeTempDir();
  const clock = new ManualClock(T0);
  let refuse = true;
  const h = await open(dir.path, clock, {}, (store) =>
    new Proxy(store, {
      get(target, name) {
        const value = Reflect.get(target, name, target);
        if (name === "putMessage" || name === "putMessages") {
          return (m: MessageToPut | MessageToPut[]): Promise<PutMessageResult> => {
            const topic = Array.isArray(m) ? m[0].topic : m.topic;
            if (refuse && topic !== TIMER_TOPIC) {
              return Promise.resolve({ status: "OS_PAGE_CACHE_BUSY", remark: "busy" });
            }
            return value.call(target, m);
          };
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    }));
  try {
    await send(h.store, clock, { TIMER_DELAY_MS: "1000" });
    await h.advance(1_100);
    assert.deepEqual(await visible(h.store), []);
    assert.equal(h.service.stats().retries, 1);
    assert.equal(h.service.stats().pending, 1);
    refuse = false;
    await h.advance(400); // before the retry time
    assert.deepEqual(await visible(h.store), []);
    await h.advance(200);
    assert.equal((await visible(h.store)).length, 1);
    assert.equal(h.service.stats().pending, 0);
  } finally {
    await h.close();
  }
});

Deno.test("TimerMessageService holds many pending timers in a wheel of fixed size", async () => {
  await using dir = await makeTempDir();
  const clock = new ManualClock(T0);
  const h = await open(dir.path, clock);
  try {
    const before = h.wheel.slotMemoryBytes;
    for (let i = 0; i < 1_000; i++) {
      await send(h.store, clock, { TIMER_DELAY_MS: String(1_000 + i * 37) });
    }
    await h.service.whenIdle();
    assert.equal(h.service.stats().pending, 1_000);
    assert.equal(h.wheel.slotMemoryBytes, before);
    assert.equal(before, SLOT_COUNT * 20);
  } finally {
    await h.close();
  }
});

Deno.test("TimerMessageService delivers the timers of a started tick as each comes due, in due order", async () => {
  await using dir = await makeTempDir();
  const clock = new ManualClock(T0); // 50 ms into a tick
  const h = await open(dir.path, clock);
  try {
    // One tick (T0 + 1_950 .. T0 + 2_049), linked in this order: due +10, +60, +30.
    const k10 = await send(h.store, clock, { TIMER_DELIVER_MS: String(T0 + 1_960) });
    const k60 = await send(h.store, clock, { TIMER_DELIVER_MS: String(T0 + 2_010) });
    const k30 = await send(h.store, clock, { TIMER_DELIVER_MS: String(T0 + 1_980) });
    await h.service.whenIdle();
    await h.advance(1_959);
    assert.deepEqual(await visible(h.store), []);
    await h.advance(1); // T0 + 1_960
    assert.deepEqual((await visible(h.store)).map((m) => m.props.get("UNIQ_KEY")), [k10]);
    await h.advance(20); // T0 + 1_980
    assert.deepEqual((await visible(h.store)).map((m) => m.props.get("UNIQ_KEY")), [k10, k30]);
    // The slot is walked newest first (+30, +60, +10): +30 is its head and is
    // consumed; +10 waits behind +60 until that one is done.
    assert.equal(h.service.stats().pending, 2);
    assert.equal(h.service.stats().delivered, 2);
    await h.advance(29); // T0 + 2_009
    assert.equal((await visible(h.store)).length, 2);
    await h.advance(1); // T0 + 2_010
    const got = await visible(h.store);
    assert.deepEqual(got.map((m) => m.props.get("UNIQ_KEY")), [k10, k30, k60]);
    assert.deepEqual(
      got.map((m) => m.props.get("TIMER_DEQUEUE_MS")),
      [T0 + 1_960, T0 + 1_980, T0 + 2_010].map(String),
    );
    assert.equal(h.service.stats().pending, 0);
    // A timer sent into the running tick goes out when due, too.
    const late = await send(h.store, clock, { TIMER_DELIVER_MS: String(T0 + 2_030) });
    await h.service.whenIdle();
    await h.advance(19);
    assert.equal((await visible(h.store)).length, 3);
    await h.advance(1);
    assert.equal((await visible(h.store)).at(-1)?.props.get("UNIQ_KEY"), late);
  } finally {
    await h.close();
  }
});

Deno.test("TimerMessageService redelivers the delivered part of a tick after a crash inside it", async () => {
  await using dir = await makeTempDir();
  const clock = new ManualClock(T0);
  let h = await open(dir.path, clock, { checkpointIntervalMs: 10 });
  const first = await send(h.store, clock, { TIMER_DELIVER_MS: String(T0 + 1_960) });
  const second = await send(h.store, clock, { TIMER_DELIVER_MS: String(T0 + 2_040) });
  await h.service.whenIdle();
  await h.advance(1_980); // the first is out, the tick is not over
  assert.equal((await visible(h.store)).length, 1);
  await h.advance(20); // a checkpoint inside the tick
  assert.ok(h.service.stats().checkpoints > 0);
  await h.crash();
  clock.now = T0 + 2_100;
  h = await open(dir.path, clock);
  try {
    const keys = (await visible(h.store)).map((m) => m.props.get("UNIQ_KEY"));
    // At-least-once: the first goes out again, the second once; nothing is lost.
    assert.deepEqual(keys.toSorted(), [first, first, second].toSorted());
    assert.equal(h.service.stats().pending, 0);
  } finally {
    await h.close();
  }
});
