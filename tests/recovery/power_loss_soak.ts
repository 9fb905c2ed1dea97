/**
 * Soak tool for the power-loss simulation: `deno task soak --seed N --cuts M
 * [--runs R] [--mode strict|ordered] [--trace]`. Runs R consecutive seeds
 * from N (default 1), each with M power cuts, and prints each failure with
 * its seed; `--runs 1 --trace` replays one seed step by step.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { runPowerLossSimulation } from "./power_loss_sim.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seed: { type: "string", default: "1" },
    cuts: { type: "string", default: "100" },
    runs: { type: "string", default: "1" },
    mode: { type: "string", default: "strict" },
    trace: { type: "boolean", default: false },
  },
});
const seed = Number(values.seed);
const runs = Number(values.runs);
const cuts = Number(values.cuts);
const mode = values.mode === "ordered" ? "ordered" : "strict";
const started = performance.now();
let failures = 0;
let totalCuts = 0;
let checked = 0;
for (let s = seed; s < seed + runs; s++) {
  try {
    const report = await runPowerLossSimulation({
      seed: s,
      cuts,
      mode,
      trace: values.trace ? (line) => console.log(line) : undefined,
    });
    totalCuts += report.cuts;
    checked += report.checkedMessages;
  } catch (error) {
    failures++;
    console.error((error as Error).message);
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(
  `soak ${mode}: seeds ${seed}..${
    seed + runs - 1
  }, ${totalCuts} power cuts, ${checked} acknowledged messages checked, ${failures} failed seeds, ${
    seconds.toFixed(1)
  } s`,
);
Deno.exit(failures === 0 ? 0 : 1);
