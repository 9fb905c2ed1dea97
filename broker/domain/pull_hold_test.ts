import assert from "node:assert/strict";
import type { CancelTimer, Clock } from "./clock.ts";
import { PullHoldService, type ResumeReason } from "./pull_hold.ts";

/** A clock whose timers fire only when the test advances it. */
class ManualClock implements Clock {
  #now = 0;
  #timers = new Set<{ at: number; fn: () => void }>();
  nowMs(): number {
    return this.#now;
  }
  schedule(callback: () => void, delayMs: number): CancelTimer {
    const timer = { at: this.#now + delayMs, fn: callback };
    this.#timers.add(timer);
    return () => this.#timers.delete(timer);
  }
  advance(ms: number): void {
    this.#now += ms;
    for (const timer of [...this.#timers]) {
      if (timer.at <= this.#now) {
        this.#timers.delete(timer);
        timer.fn();
      }
    }
  }
  get pending(): number {
    return this.#timers.size;
  }
}

function request(overrides: Partial<Parameters<PullHoldService["hold"]>[0]> = {}) {
  return { topic: "T", queueId: 0, queueOffset: 5, channelId: "c1", timeoutMs: 1000, ...overrides };
}

Deno.test("PullHoldService resumes a held pull once when an arrival passes its offset", () => {
  const clock = new ManualClock();
  const hold = new PullHoldService(clock, 10);
  const reasons: ResumeReason[] = [];
  assert.equal(hold.hold(request(), (r) => reasons.push(r)), "HELD");
  hold.notifyArrival("T", 0, 5, 0); // max 5: offset 5 still not available
  hold.notifyArrival("T", 1, 9, 0); // other queue
  hold.notifyArrival("U", 0, 9, 0); // other topic
  assert.deepEqual(reasons, []);
  hold.notifyArrival("T", 0, 6, 0);
  hold.notifyArrival("T", 0, 7, 0);
  assert.deepEqual(reasons, ["ARRIVAL"]);
  assert.equal(hold.size, 0);
  assert.equal(clock.pending, 0, "the timeout timer is cancelled");
});

Deno.test("PullHoldService skips arrivals whose tag fails the pre-check", () => {
  const hold = new PullHoldService(new ManualClock(), 10);
  const reasons: ResumeReason[] = [];
  hold.hold(request({ matchesTagsCode: (code) => code === 42 }), (r) => reasons.push(r));
  hold.notifyArrival("T", 0, 6, 7);
  assert.deepEqual(reasons, []);
  hold.notifyArrival("T", 0, 7, 42);
  assert.deepEqual(reasons, ["ARRIVAL"]);
});

Deno.test("PullHoldService resumes with TIMEOUT when the hold expires", () => {
  const clock = new ManualClock();
  const hold = new PullHoldService(clock, 10);
  const reasons: ResumeReason[] = [];
  hold.hold(request({ timeoutMs: 100 }), (r) => reasons.push(r));
  clock.advance(99);
  assert.deepEqual(reasons, []);
  clock.advance(1);
  assert.deepEqual(reasons, ["TIMEOUT"]);
  hold.notifyArrival("T", 0, 100, 0);
  assert.deepEqual(reasons, ["TIMEOUT"]);
});

Deno.test("PullHoldService drops a closed channel's pulls and refuses beyond its limit", () => {
  const clock = new ManualClock();
  const hold = new PullHoldService(clock, 2);
  const reasons: ResumeReason[] = [];
  hold.hold(request({ channelId: "a" }), (r) => reasons.push(r));
  hold.hold(request({ channelId: "b" }), (r) => reasons.push(r));
  assert.equal(hold.hold(request({ channelId: "c" }), () => {}), "FULL");
  hold.dropChannel("a");
  assert.equal(hold.size, 1);
  hold.wakeQueue("T", 0, 6);
  assert.deepEqual(reasons, ["ARRIVAL"]);
  clock.advance(5000);
  assert.deepEqual(reasons, ["ARRIVAL"]);
});

Deno.test("PullHoldService.close() resumes everything with SHUTDOWN and refuses new holds", () => {
  const hold = new PullHoldService(new ManualClock(), 10);
  const reasons: ResumeReason[] = [];
  hold.hold(request(), (r) => reasons.push(r));
  hold.hold(request({ queueId: 3 }), (r) => reasons.push(r));
  hold.close();
  assert.deepEqual(reasons, ["SHUTDOWN", "SHUTDOWN"]);
  assert.equal(hold.hold(request(), () => {}), "CLOSED");
});
