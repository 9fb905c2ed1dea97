/**
 * The store's own small assertion, for programmer errors (broken invariants).
 *
 * Operating conditions are never asserted: they are returned as results.
 * Assertions are paired around I/O (check a record before append, again after
 * read), so a bug shows up next to its cause.
 *
 * @module
 */

/** Thrown when an invariant of the store does not hold: a bug, never an operating condition. */
export class AssertionError extends Error {
  /**
   * Build an assertion error.
   *
   * @param message What did not hold.
   */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

/**
 * Assert an invariant.
 *
 * @param condition Must be truthy.
 * @param message What the invariant says, or a function building the message lazily.
 * @throws {AssertionError} If `condition` is falsy.
 */
export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new AssertionError(typeof message === "function" ? message() : message);
  }
}
