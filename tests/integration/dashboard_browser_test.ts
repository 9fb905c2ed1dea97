/**
 * Goal: the dashboard works in a real browser against a live broker: every page loads, a topic
 * is created through the form, TPS moves after the real producer sends, a message is found by
 * key, an offset is reset, and the console shows no errors. Method: the scenario in
 * `tests/_helpers/dashboard_browser_driver.ts` runs in its own Deno process (playwright-core
 * needs permissions the test runner does not grant) driving headless Debian Chromium.
 */

import assert from "node:assert/strict";

Deno.test("Dashboard in headless Chromium: every page, create topic, TPS, search by key, reset offset", async () => {
  const driver = new URL("../_helpers/dashboard_browser_driver.ts", import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", driver],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stderr) + new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, `browser scenario failed:\n${text}`);
});
