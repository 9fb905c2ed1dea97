/**
 * A bounded, rate-limited record of denied requests.
 *
 * Keeps the last {@linkcode ACL_FAILURES_KEPT} denials in memory (for the
 * dashboard and admin tools) and writes at most
 * {@linkcode ACL_FAILURE_LOGS_PER_WINDOW} log lines per
 * {@linkcode ACL_FAILURE_LOG_WINDOW_MS}; denials beyond that are counted and
 * reported in one summary line when the next window opens. Entries carry the
 * access key (a public name), the peer and the remark — never a secret or a
 * signature.
 *
 * @module
 */

/** Denials kept in memory. */
export const ACL_FAILURES_KEPT = 100;
/** Log lines per window. */
export const ACL_FAILURE_LOGS_PER_WINDOW = 20;
/** Length of a rate-limit window, ms. */
export const ACL_FAILURE_LOG_WINDOW_MS = 60_000;

/** One denial. */
export interface AclFailure {
  readonly timeMs: number;
  readonly remoteAddress: string;
  readonly requestCode: number;
  readonly accessKey: string | undefined;
  readonly remark: string;
}

/** Where log lines go. */
export type AclLogSink = (event: Readonly<Record<string, unknown>>) => void;

/** Bounded, rate-limited denial log. */
export class AclFailureLog {
  readonly #log: AclLogSink;
  readonly #nowMs: () => number;
  readonly #kept: AclFailure[] = [];
  #windowStartMs = -Infinity;
  #loggedInWindow = 0;
  #suppressed = 0;
  #total = 0;

  /**
   * @param log Log sink.
   * @param nowMs Clock, epoch ms.
   */
  constructor(log: AclLogSink, nowMs: () => number) {
    this.#log = log;
    this.#nowMs = nowMs;
  }

  /** Denials since start. */
  get total(): number {
    return this.#total;
  }

  /**
   * Record a denial.
   *
   * @param failure What was denied, minus the time.
   */
  record(failure: Omit<AclFailure, "timeMs">): void {
    const timeMs = this.#nowMs();
    this.#total++;
    this.#kept.push({ timeMs, ...failure });
    if (this.#kept.length > ACL_FAILURES_KEPT) this.#kept.shift();
    if (timeMs - this.#windowStartMs >= ACL_FAILURE_LOG_WINDOW_MS) {
      if (this.#suppressed > 0) {
        this.#log({ event: "acl_denied_suppressed", count: this.#suppressed });
      }
      this.#windowStartMs = timeMs;
      this.#loggedInWindow = 0;
      this.#suppressed = 0;
    }
    if (this.#loggedInWindow < ACL_FAILURE_LOGS_PER_WINDOW) {
      this.#loggedInWindow++;
      this.#log({ event: "acl_denied", ...failure });
    } else {
      this.#suppressed++;
    }
  }

  /**
   * The kept denials, oldest first.
   *
   * @returns A copy.
   */
  recent(): AclFailure[] {
    return [...this.#kept];
  }
}
