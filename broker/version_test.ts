import assert from "node:assert/strict";
import { BROKER_VERSION } from "./version.ts";

Deno.test("BROKER_VERSION equals the package version in deno.json", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.equal(BROKER_VERSION, config.version);
});
