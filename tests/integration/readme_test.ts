/**
 * Goal: the README's configuration tables stay true to the code. Method: every broker option
 * must appear in README.md's broker table with its flag and its default value, and every
 * name-server option in the name-server table (between the `namesrv-options` markers).
 */

import assert from "node:assert/strict";
import { BROKER_CONFIG_DEFAULTS, BROKER_OPTIONS } from "../../broker/config.ts";
import { NAMESRV_CONFIG_DEFAULTS, NAMESRV_OPTIONS } from "../../namesrv/config.ts";

const NAMESRV_START = "<!-- namesrv-options -->";
const NAMESRV_END = "<!-- /namesrv-options -->";

function optionRows(text: string): Map<string, string> {
  return new Map(
    text.split("\n").filter((l) => l.startsWith("| `--")).map((l) => {
      const cells = l.split("|").map((c) => c.trim());
      return [cells[1].replaceAll("`", ""), cells[3].replaceAll("`", "")];
    }),
  );
}

function checkTable(
  rows: Map<string, string>,
  options: readonly { readonly key: string; readonly flag: string }[],
  defaults: Readonly<Record<string, unknown>>,
): void {
  for (const option of options) {
    assert.ok(rows.has(option.flag), `README is missing ${option.flag}`);
    const value = defaults[option.key];
    if (value !== "" && value !== undefined) {
      assert.equal(rows.get(option.flag), String(value), `README default of ${option.flag}`);
    }
  }
}

async function readmeParts(): Promise<{ broker: string; namesrv: string }> {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const start = readme.indexOf(NAMESRV_START);
  const end = readme.indexOf(NAMESRV_END);
  assert.ok(start >= 0 && end > start, "README has the name-server options table markers");
  return {
    broker: readme.slice(0, start) + readme.slice(end),
    namesrv: readme.slice(start, end),
  };
}

Deno.test("README lists every broker option with its default", async () => {
  const { broker } = await readmeParts();
  checkTable(
    optionRows(broker),
    BROKER_OPTIONS,
    BROKER_CONFIG_DEFAULTS as unknown as Record<string, unknown>,
  );
});

Deno.test("README lists every name-server option with its default", async () => {
  const { namesrv } = await readmeParts();
  checkTable(
    optionRows(namesrv),
    NAMESRV_OPTIONS,
    NAMESRV_CONFIG_DEFAULTS as unknown as Record<string, unknown>,
  );
});
