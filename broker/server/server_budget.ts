/**
 * The memory the server holds for all connections together: unsent response
 * bytes and the bytes of requests being handled, each under a named limit.
 *
 * @module
 */

/** What a connection exposes to the shared budget. */
export interface BudgetMember {
  /** Unsent response bytes this connection holds. */
  readonly outputBytes: number;
  /** Close the connection (frees its bytes). */
  close(): void;
  /** Wake its read loop (the request limit may have room again). */
  wake(): void;
}

/**
 * Shared accounting of held bytes.
 *
 * - Output: when the unsent bytes of all connections exceed
 *   `outputBytesTotalMax`, the connection holding the most is closed (a slow
 *   or hostile reader holds the most), until the total is within the limit.
 * - Requests: while the bytes of requests being handled exceed
 *   `requestBytesTotalMax`, every connection stops dispatching new requests;
 *   they are woken when the total falls back under it.
 *
 * Invariant: `outputBytes >= 0`, `requestBytes >= 0`.
 */
export class ServerBudget {
  readonly #outputBytesTotalMax: number;
  readonly #requestBytesTotalMax: number;
  readonly #members = new Set<BudgetMember>();
  #outputBytes = 0;
  #requestBytes = 0;
  #waiting = false;

  /**
   * @param outputBytesTotalMax Most unsent response bytes, all connections, bytes.
   * @param requestBytesTotalMax Most bytes of requests in flight, all connections, bytes.
   */
  constructor(outputBytesTotalMax: number, requestBytesTotalMax: number) {
    this.#outputBytesTotalMax = outputBytesTotalMax;
    this.#requestBytesTotalMax = requestBytesTotalMax;
  }

  /** Unsent response bytes of all connections. */
  get outputBytes(): number {
    return this.#outputBytes;
  }

  /** Bytes of requests in flight on all connections. */
  get requestBytes(): number {
    return this.#requestBytes;
  }

  /** @param member A new connection. */
  join(member: BudgetMember): void {
    this.#members.add(member);
  }

  /** @param member A closed connection (its bytes must already be released). */
  leave(member: BudgetMember): void {
    this.#members.delete(member);
  }

  /**
   * Account a change of a connection's unsent output; over the total limit,
   * close the largest holders until it fits.
   *
   * @param delta Bytes added (positive) or sent or dropped (negative).
   */
  addOutput(delta: number): void {
    this.#outputBytes += delta;
    if (delta <= 0 || this.#outputBytes <= this.#outputBytesTotalMax) return;
    while (this.#outputBytes > this.#outputBytesTotalMax) {
      let largest: BudgetMember | undefined;
      for (const member of this.#members) {
        if (largest === undefined || member.outputBytes > largest.outputBytes) largest = member;
      }
      if (largest === undefined || largest.outputBytes === 0) return;
      // close() releases the member's output bytes through addOutput(-n).
      largest.close();
      this.#members.delete(largest);
    }
  }

  /** Whether a connection may dispatch another request now. */
  get requestsAllowed(): boolean {
    if (this.#requestBytes <= this.#requestBytesTotalMax) return true;
    this.#waiting = true;
    return false;
  }

  /**
   * Account a change of the bytes of requests in flight; wakes the read
   * loops when the total falls back under the limit.
   *
   * @param delta Bytes of a dispatched (positive) or completed (negative) request.
   */
  addRequest(delta: number): void {
    this.#requestBytes += delta;
    if (delta < 0 && this.#waiting && this.#requestBytes <= this.#requestBytesTotalMax) {
      this.#waiting = false;
      for (const member of this.#members) member.wake();
    }
  }
}
