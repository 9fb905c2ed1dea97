/**
 * Goal: the README's configuration table stays true to the code. Method: every broker option
 * must appear in README.md with its flag and its default value.
 */

import assert from "node:assert/strict";
import { BROKER_CONFIG_DEFAULTS, BROKER_OPTIONS } from "../../broker/config.ts";

Deno.test("README lists every broker option with its default", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const rows = new Map(
    readme.split("\n").filter((l) => l.startsWith("| `--")).map((l) => {
      const cells = l.split("|").map((c) => c.trim());
      return [cells[1].replaceAll("`", ""), cells[3].replaceAll("`", "")];
    }),
  );
  for (const option of BROKER_OPTIONS) {
    assert.ok(rows.has(option.flag), `README is missing ${option.flag}`);
    const value = (BROKER_CONFIG_DEFAULTS as unknown as Record<string, unknown>)[option.key];
    if (value !== "" && value !== undefined) {
      assert.equal(rows.get(option.flag), String(value), `README default of ${option.flag}`);
    }
  }
});
