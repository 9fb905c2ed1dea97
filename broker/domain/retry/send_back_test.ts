import assert from "node:assert/strict";
import {
  decodeProperties,
  encodeProperties,
  MessageConst,
} from "../../../client/protocol/properties.ts";
import type { MessageToPut, PutMessageResult } from "../../../store/mod.ts";
import { ManualClock, openTestStore, readQueue } from "../transaction/_test_support.ts";
import { TIMER_TOPIC } from "../timer/timer_transform.ts";
import type { TopicConfig } from "../topic_config.ts";
import {
  createTimerAwarePut,
  dlqTopicOf,
  retryTopicOf,
  SendBackService,
  type SendBackServiceOptions,
} from "./send_back.ts";

function memoryTopics() {
  const table = new Map<string, TopicConfig>();
  let puts = 0;
  return {
    table,
    get puts() {
      return puts;
    },
    get: (topic: string) => table.get(topic),
    put: (config: TopicConfig) => {
      puts++;
      table.set(config.topicName, config);
      return Promise.resolve();
    },
  };
}

function original(reconsumeTimes = 0, extra: Record<string, string> = {}): MessageToPut {
  return {
    topic: "Orders",
    queueId: 2,
    flag: 7,
    body: new TextEncoder().encode("order-1"),
    properties: encodeProperties({
      [MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX]: "UNIQ1",
      [MessageConst.TAGS]: "created",
      [MessageConst.KEYS]: "k1",
      ...extra,
    }),
    sysFlag: 0,
    bornTimestamp: 1_700_000_000_000,
    bornHost: { ip: new Uint8Array([10, 0, 0, 9]), port: 5555 },
    reconsumeTimes,
    preparedTransactionOffset: 0,
  };
}

async function setUp(options: Partial<SendBackServiceOptions> = {}) {
  const clock = new ManualClock();
  const handle = await openTestStore(clock);
  const topics = memoryTopics();
  const service = new SendBackService({
    store: handle.store,
    put: (m) => handle.store.putMessage(m),
    topics,
    ...options,
  });
  const putOriginal = async (m: MessageToPut): Promise<number> => {
    const result: PutMessageResult = await handle.store.putMessage(m);
    assert.equal(result.status, "PUT_OK");
    return (result as { commitLogOffset: number }).commitLogOffset;
  };
  return {
    clock,
    handle,
    topics,
    service,
    putOriginal,
    [Symbol.asyncDispose]: () => handle[Symbol.asyncDispose](),
  };
}

Deno.test("SendBackService.sendBack() stores a retry copy with RETRY_TOPIC, reconsumeTimes+1 and level 3+n", async () => {
  await using t = await setUp();
  const offset = await t.putOriginal(original(2));
  const result = await t.service.sendBack({ commitLogOffset: offset, group: "cg", delayLevel: 0 });
  assert.equal(result.status, "PUT_OK");
  assert.ok(result.status === "PUT_OK");
  assert.equal(result.target, "RETRY");
  assert.equal(result.topic, "%RETRY%cg");
  assert.equal(result.delayLevel, 5);
  const config = t.topics.get(retryTopicOf("cg"))!;
  assert.equal(config.readQueueNums, 1);
  assert.equal(config.writeQueueNums, 1);
  assert.equal(config.perm, 6);
  const [copy] = await readQueue(t.handle.store, "%RETRY%cg", 0);
  assert.equal(copy.reconsumeTimes, 3);
  assert.equal(new TextDecoder().decode(copy.body), "order-1");
  assert.equal(copy.flag, 7);
  assert.equal(copy.bornTimestamp, 1_700_000_000_000);
  assert.deepEqual([...copy.bornHost.ip], [10, 0, 0, 9]);
  const props = decodeProperties(copy.properties);
  assert.equal(props.get(MessageConst.RETRY_TOPIC), "Orders");
  assert.equal(props.get(MessageConst.ORIGIN_MESSAGE_ID), "UNIQ1");
  assert.equal(props.get(MessageConst.UNIQ_CLIENT_MESSAGE_ID_KEYIDX), "UNIQ1");
  assert.equal(props.get(MessageConst.TAGS), "created");
  assert.equal(props.get(MessageConst.DELAY_TIME_LEVEL), "5");
});

Deno.test("SendBackService.sendBack() of a retried message keeps its RETRY_TOPIC and ORIGIN_MESSAGE_ID", async () => {
  await using t = await setUp();
  const first = await t.putOriginal(original(0));
  await t.service.sendBack({ commitLogOffset: first, group: "cg", delayLevel: 1 });
  const [retry] = await readQueue(t.handle.store, "%RETRY%cg", 0);
  const again = await t.service.sendBack({
    commitLogOffset: retry.commitLogOffset,
    group: "cg",
    delayLevel: 2,
  });
  assert.ok(again.status === "PUT_OK" && again.delayLevel === 2 && again.reconsumeTimes === 2);
  const [, second] = await readQueue(t.handle.store, "%RETRY%cg", 0);
  const props = decodeProperties(second.properties);
  assert.equal(props.get(MessageConst.RETRY_TOPIC), "Orders");
  assert.equal(props.get(MessageConst.ORIGIN_MESSAGE_ID), "UNIQ1");
  assert.equal(props.get(MessageConst.DELAY_TIME_LEVEL), "2");
  assert.equal(t.topics.puts, 1, "the retry topic is created once");
});

Deno.test("SendBackService.sendBack() dead-letters after max reconsume times, from the header or the group", async () => {
  await using t = await setUp({ groupRetryMaxTimes: (g) => (g === "strict" ? 1 : undefined) });
  const offset = await t.putOriginal(original(2, { [MessageConst.DELAY_TIME_LEVEL]: "3" }));
  // Header limit 3: 2 attempts so far, so one more retry.
  const retry = await t.service.sendBack({
    commitLogOffset: offset,
    group: "cg",
    delayLevel: 0,
    maxReconsumeTimes: 3,
  });
  assert.ok(retry.status === "PUT_OK" && retry.target === "RETRY");
  // Header limit 2: reached.
  const dlq = await t.service.sendBack({
    commitLogOffset: offset,
    group: "cg",
    delayLevel: 0,
    maxReconsumeTimes: 2,
  });
  assert.ok(
    dlq.status === "PUT_OK" && dlq.target === "DLQ" && dlq.topic === "%DLQ%cg" &&
      dlq.delayLevel === 0,
  );
  // Group setting 1, no header limit.
  const strict = await t.service.sendBack({
    commitLogOffset: offset,
    group: "strict",
    delayLevel: 0,
  });
  assert.ok(strict.status === "PUT_OK" && strict.target === "DLQ");
  const [dead] = await readQueue(t.handle.store, dlqTopicOf("cg"), 0);
  const props = decodeProperties(dead.properties);
  assert.equal(props.get(MessageConst.DLQ_ORIGIN_TOPIC), "Orders");
  assert.equal(props.get(MessageConst.DLQ_ORIGIN_MESSAGE_ID), "UNIQ1");
  assert.equal(props.has(MessageConst.DELAY_TIME_LEVEL), false, "no delay into the DLQ");
  assert.equal(dead.reconsumeTimes, 3);
  assert.equal(t.topics.get("%DLQ%cg")!.readQueueNums, 1);
});

Deno.test("SendBackService.sendBack() with a negative level goes straight to the DLQ", async () => {
  await using t = await setUp();
  const offset = await t.putOriginal(original(0));
  const result = await t.service.sendBack({ commitLogOffset: offset, group: "cg", delayLevel: -1 });
  assert.ok(result.status === "PUT_OK" && result.target === "DLQ");
});

Deno.test("SendBackService.sendBack() answers MESSAGE_NOT_FOUND for an offset with no message", async () => {
  await using t = await setUp();
  const result = await t.service.sendBack({ commitLogOffset: 1 << 20, group: "cg", delayLevel: 0 });
  assert.equal(result.status, "MESSAGE_NOT_FOUND");
});

Deno.test("createTimerAwarePut() schedules a DELAY-level retry through the timer topic", async () => {
  await using t = await setUp();
  const service = new SendBackService({
    store: t.handle.store,
    put: createTimerAwarePut((m) => t.handle.store.putMessage(m), () => t.clock.nowMs()),
    topics: t.topics,
  });
  const offset = await t.putOriginal(original(0));
  const result = await service.sendBack({ commitLogOffset: offset, group: "cg", delayLevel: 1 });
  assert.ok(result.status === "PUT_OK");
  assert.deepEqual(
    await readQueue(t.handle.store, "%RETRY%cg", 0),
    [],
    "not visible before it is due",
  );
  const [timer] = await readQueue(t.handle.store, TIMER_TOPIC, 0);
  const props = decodeProperties(timer.properties);
  assert.equal(props.get(MessageConst.REAL_TOPIC), "%RETRY%cg");
});
