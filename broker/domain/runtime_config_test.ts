import assert from "node:assert/strict";
import { BROKER_CONFIG_DEFAULTS } from "../config.ts";
import { configToProperties, parseProperties, RuntimeBrokerConfig } from "./runtime_config.ts";

Deno.test("RuntimeBrokerConfig.update() changes run-time options and validates the whole", () => {
  const runtime = new RuntimeBrokerConfig(BROKER_CONFIG_DEFAULTS);
  const ok = runtime.update({ autoCreateTopicEnable: "true", pullMessagesMax: "64" });
  assert.deepEqual(ok, { ok: true, changed: ["autoCreateTopicEnable", "pullMessagesMax"] });
  assert.equal(runtime.current.autoCreateTopicEnable, true);
  assert.equal(runtime.current.pullMessagesMax, 64);

  const restart = runtime.update({ port: "1" });
  assert.ok(!restart.ok && /needs a restart/.test(restart.error));
  const unknown = runtime.update({ nope: "1" });
  assert.ok(!unknown.ok && /Unknown broker option "nope"/.test(unknown.error));
  const bad = runtime.update({ pullMessagesMax: "lots" });
  assert.ok(!bad.ok && /not a int/.test(bad.error));
  // The relation defaultTopicQueueNums <= topicQueueNumsMax holds across one update.
  const relation = runtime.update({ topicQueueNumsMax: "2" });
  assert.ok(!relation.ok && /defaultTopicQueueNums/.test(relation.error));
  assert.equal(runtime.current.topicQueueNumsMax, BROKER_CONFIG_DEFAULTS.topicQueueNumsMax);
});

Deno.test("configToProperties() and parseProperties() round-trip key=value text", () => {
  const text = configToProperties(BROKER_CONFIG_DEFAULTS);
  assert.match(text, /^brokerName=broker-a$/m);
  const parsed = parseProperties(`# comment\n${text}\n  spaced = value \n`);
  assert.equal(parsed.port, "10911");
  assert.equal(parsed.spaced, "value");
});
