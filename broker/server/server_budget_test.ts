import assert from "node:assert/strict";
import { type BudgetMember, ServerBudget } from "./server_budget.ts";

/** A member whose close() releases its bytes, as a TcpChannel does. */
function member(
  budget: ServerBudget,
  bytes: number,
): BudgetMember & { closed: boolean; woken: number } {
  const m = {
    outputBytes: 0,
    closed: false,
    woken: 0,
    close() {
      if (m.closed) return;
      m.closed = true;
      const held = m.outputBytes;
      m.outputBytes = 0;
      budget.addOutput(-held);
    },
    wake() {
      m.woken++;
    },
  };
  budget.join(m);
  m.outputBytes = bytes;
  budget.addOutput(bytes);
  return m;
}

Deno.test("ServerBudget closes the largest holder of output when the total is over its limit", () => {
  const budget = new ServerBudget(1000, 1000);
  const small = member(budget, 100);
  const large = member(budget, 600);
  assert.equal(budget.outputBytes, 700);
  const third = member(budget, 400); // 1100 > 1000: the largest (600) goes
  assert.deepEqual([small.closed, large.closed, third.closed], [false, true, false]);
  assert.equal(budget.outputBytes, 500);
});

Deno.test("ServerBudget pauses requests over the total and wakes members when back under", () => {
  const budget = new ServerBudget(1000, 1000);
  const a = member(budget, 0);
  budget.addRequest(800);
  assert.equal(budget.requestsAllowed, true);
  budget.addRequest(300);
  assert.equal(budget.requestsAllowed, false);
  budget.addRequest(-300);
  assert.equal(budget.requestsAllowed, true);
  assert.equal(a.woken, 1);
  assert.equal(budget.requestBytes, 800);
});
