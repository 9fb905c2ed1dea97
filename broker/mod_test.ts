import assert from "node:assert/strict";
import * as mod from "./mod.ts";

Deno.test("broker/mod.ts exports exactly the public broker API", () => {
  assert.deepEqual(Object.keys(mod).sort(), [
    "BROKER_CONFIG_DEFAULTS",
    "BROKER_OPTIONS",
    "Broker",
    "brokerHelpText",
    "loadBrokerConfig",
    "validateBrokerConfig",
  ]);
});
