import assert from "node:assert/strict";
import { KeyedHistogram, MetricsExposition } from "./exposition.ts";

Deno.test("MetricsExposition renders collected samples in the Prometheus text format", async () => {
  const metrics = new MetricsExposition({ cluster: "c1" });
  metrics.add({
    name: "demo_total",
    help: "A demo counter.",
    type: "counter",
    collect: () => [{ labels: { topic: 'a"b\\c' }, value: 3 }],
  });
  metrics.add({
    name: "demo_gauge",
    help: "Async gauge.",
    type: "gauge",
    collect: () => Promise.resolve([{ value: 1.5 }]),
  });
  const text = await metrics.text();
  assert.match(text, /^# HELP demo_total A demo counter\.$/m);
  assert.match(text, /^# TYPE demo_total counter$/m);
  // Label values are escaped; common labels are added to every sample.
  assert.match(text, /^demo_total\{topic="a\\"b\\\\c",cluster="c1"\} 3$/m);
  assert.match(text, /^demo_gauge\{cluster="c1"\} 1\.5$/m);
  assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4/);
});

Deno.test("KeyedHistogram counts cumulative buckets, sum and count per key", () => {
  const histogram = new KeyedHistogram([1, 5, 10]);
  let built = 0;
  const labels = () => {
    built++;
    return { code: "10" };
  };
  for (const value of [0.5, 3, 3, 7, 50]) histogram.observe(1, labels, value);
  assert.equal(built, 1);
  const samples = histogram.samples();
  const buckets = samples.filter((s) => s.suffix === "_bucket").map((s) => [s.labels!.le, s.value]);
  assert.deepEqual(buckets, [[1, 1], [5, 3], [10, 4], ["+Inf", 5]]);
  assert.equal(samples.find((s) => s.suffix === "_sum")!.value, 63.5);
  assert.equal(samples.find((s) => s.suffix === "_count")!.value, 5);
  assert.throws(() => new KeyedHistogram([5, 1]), RangeError);
});
