/**
 * `DiskSpaceGuard`: refuses writes while the data disk is full, checked on
 * the write path (not on a timer), and lets them resume by themselves.
 *
 * Two triggers: free space under `reserveBytes` (probed every
 * `DISK_FREE_CHECK_BYTES` appended, so a filling disk is noticed within a few
 * megabytes), and a write that failed with ENOSPC. While full, every put is
 * refused with a remark saying so and the probe runs again at most every
 * `DISK_FULL_RECHECK_MS`; once free space is back above the reserve, puts are
 * accepted again. Reads, consumer offsets and retention never consult it.
 *
 * Lives on the thread that appends to the CommitLog.
 *
 * @module
 */

/** Default free space kept in reserve on the data disk, bytes (64 MiB). */
export const DISK_FREE_RESERVE_BYTES_DEFAULT = 64 * 1024 * 1024;
/** Bytes appended between two free-space probes while the disk is not full (16 MiB). */
export const DISK_FREE_CHECK_BYTES = 16 * 1024 * 1024;
/** Shortest time between two probes while the disk is full, ms. */
export const DISK_FULL_RECHECK_MS = 1000;

/**
 * Whether an error (or one of its causes) is ENOSPC.
 *
 * @param error Any thrown value.
 * @returns True for "no space left on device".
 */
export function isNoSpace(error: unknown): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = (e as { code?: string }).code;
    const message = (e as Error).message ?? "";
    if (code === "ENOSPC" || /no space left|ENOSPC|os error 28/i.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Whether an error (or one of its causes) is running out of file descriptors
 * even after the handle cache made room (`TooManyOpenFilesError`).
 *
 * @param error Any thrown value.
 * @returns True for EMFILE/ENFILE that the cache could not absorb.
 */
export function isTooManyOpenFiles(error: unknown): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if ((e as Error).name === "TooManyOpenFilesError") return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The write-path disk-full switch. */
export class DiskSpaceGuard {
  readonly #freeBytes: () => number;
  readonly #reserveBytes: number;
  readonly #nowMs: () => number;
  #full: string | undefined;
  #probedAtMs = -Infinity;
  #probedAtOffset = -Infinity;

  /**
   * @param freeBytes Probe: bytes free on the data disk (for the store; Infinity if unknown).
   * @param reserveBytes Refuse writes below this much free space.
   * @param nowMs Clock.
   */
  constructor(freeBytes: () => number, reserveBytes: number, nowMs: () => number) {
    this.#freeBytes = freeBytes;
    this.#reserveBytes = reserveBytes;
    this.#nowMs = nowMs;
  }

  /** Why writes are refused now, or undefined. */
  get full(): string | undefined {
    return this.#full;
  }

  #probe(): void {
    let free: number;
    try {
      free = this.#freeBytes();
    } catch {
      return; // An unreadable probe never blocks writes.
    }
    if (free < this.#reserveBytes) {
      this.#full = `disk is full: ${Math.max(0, Math.floor(free / 1048576))} MiB free, below the ${
        Math.floor(this.#reserveBytes / 1048576)
      } MiB reserve; writes resume when space is freed`;
    } else {
      this.#full = undefined;
    }
  }

  /**
   * Before an append: probe when due, and say whether to refuse.
   *
   * @param writtenOffset The CommitLog's written offset (probes every `DISK_FREE_CHECK_BYTES`).
   * @returns The refusal remark, or undefined to go ahead.
   */
  check(writtenOffset: number): string | undefined {
    const now = this.#nowMs();
    if (this.#full !== undefined) {
      if (now - this.#probedAtMs < DISK_FULL_RECHECK_MS) return this.#full;
    } else if (writtenOffset - this.#probedAtOffset < DISK_FREE_CHECK_BYTES) {
      return undefined;
    }
    this.#probedAtMs = now;
    this.#probedAtOffset = writtenOffset;
    this.#probe();
    return this.#full;
  }

  /**
   * A write failed for lack of space: refuse until a probe finds room.
   *
   * @param error The error (its message goes into the remark).
   */
  markFull(error: unknown): void {
    this.#full = `disk is full: ${
      (error as Error)?.message ?? error
    }; writes resume when space is freed`;
    this.#probedAtMs = this.#nowMs();
  }
}
