/**
 * Test helpers for consuming with the real client: bounded takes from a
 * consumer's iterator.
 *
 * @module
 */

import type { ReceivedMessage } from "../../client/message.ts";

/**
 * Take `n` messages from an iterator, rejecting after `timeoutMs`.
 *
 * @param iterator A consumer's `messages()` iterator.
 * @param n How many to take.
 * @param timeoutMs Bound on the whole wait.
 * @param onMessage Called for each message before the next is requested
 *   (e.g. to `reconsumeLater` it); return false to not count it.
 * @returns The messages taken.
 * @throws {Error} If fewer than `n` arrive in time.
 */
export async function take(
  iterator: AsyncIterator<ReceivedMessage>,
  n: number,
  timeoutMs = 10_000,
  onMessage?: (message: ReceivedMessage) => Promise<boolean | void> | boolean | void,
): Promise<ReceivedMessage[]> {
  const out: ReceivedMessage[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`got ${out.length} of ${n} messages`)), timeoutMs);
  });
  try {
    while (out.length < n) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done) break;
      const keep = onMessage === undefined
        ? true
        : await Promise.race([onMessage(next.value), timeout]);
      if (keep !== false) out.push(next.value);
    }
  } finally {
    clearTimeout(timer);
  }
  return out;
}

/**
 * Wait until `predicate` holds, polling every 20 ms, for at most `timeoutMs`.
 *
 * @param predicate The condition.
 * @param what Description for the error.
 * @param timeoutMs Bound.
 * @throws {Error} If the condition does not hold in time.
 */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await predicate())) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
