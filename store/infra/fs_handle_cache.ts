/**
 * `FsHandleCache`: a bounded, least-recently-used set of open segment file
 * descriptors, one per thread (LevelDB's table cache is the model).
 *
 * A segment (`FsSegment`) opens its descriptor on first use and registers it
 * here; when more than `handlesMax` are open, the least recently used one is
 * closed. The segment object stays valid and reopens on its next use. A
 * writer's bytes are in the page cache once `pwrite` returns (segments keep no
 * user-space buffer), and on Linux `fdatasync` of any descriptor of a file
 * flushes all of that file's dirty pages, so closing an idle writer loses
 * nothing and its next `flush` reopens it if needed.
 *
 * Running out of descriptors (EMFILE/ENFILE) while opening is never the end:
 * the cache closes its least recently used half and retries once; only then
 * does the open fail, with a `TooManyOpenFilesError` the caller answers as
 * busy for that one request.
 *
 * Lives in one thread (store worker, dispatch worker or main thread); never
 * shared.
 *
 * @module
 */

/** Default descriptors per store thread when the broker sets no limit. */
export const HANDLES_PER_THREAD_DEFAULT = 256;
/** Smallest useful cache: the active CommitLog segment, a reader or two, the index. */
export const HANDLES_PER_THREAD_MIN = 8;

/** Thrown when a segment cannot be opened even after closing cached descriptors. */
export class TooManyOpenFilesError extends Error {
  /**
   * @param path The file that could not be opened.
   * @param cause The EMFILE/ENFILE error.
   */
  constructor(path: string, cause: unknown) {
    super(
      `Cannot open ${path}: too many open files (${
        (cause as Error)?.message ?? cause
      }); raise the limit with \`ulimit -n\` or lower --open-files-max`,
      { cause },
    );
    this.name = "TooManyOpenFilesError";
  }
}

/** Something holding a cached descriptor: it releases it when told. */
export interface CachedHandle {
  /** Close the descriptor (the object stays usable and reopens on demand). */
  releaseHandle(): void;
}

function isTooManyOpenFiles(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === "EMFILE" || code === "ENFILE" ||
    /too many open files/i.test((error as Error)?.message ?? "");
}

/** The per-thread LRU of open segment descriptors. */
export class FsHandleCache {
  /** Most descriptors kept open at once. */
  readonly handlesMax: number;
  /** Insertion order is recency: the first entry is the least recently used. */
  readonly #open = new Set<CachedHandle>();
  #evictions = 0;

  /** @param handlesMax Most descriptors open at once (at least `HANDLES_PER_THREAD_MIN`). */
  constructor(handlesMax: number = HANDLES_PER_THREAD_DEFAULT) {
    this.handlesMax = Math.max(HANDLES_PER_THREAD_MIN, Math.floor(handlesMax));
  }

  /** Descriptors open now. */
  get size(): number {
    return this.#open.size;
  }

  /** Descriptors closed to make room so far. */
  get evictions(): number {
    return this.#evictions;
  }

  /**
   * Open a descriptor for `owner`, making room first.
   *
   * @param owner The handle being opened (registered as most recently used).
   * @param path File path, for the error.
   * @param open Opens the descriptor.
   * @returns The descriptor.
   * @throws {TooManyOpenFilesError} If EMFILE persists after closing half the cache.
   * @throws {Error} Any other open failure, unchanged.
   */
  open(owner: CachedHandle, path: string, open: () => number): number {
    while (this.#open.size >= this.handlesMax) this.#evictOne();
    let fd: number;
    try {
      fd = open();
    } catch (error) {
      if (!isTooManyOpenFiles(error)) throw error;
      // Other descriptors (sockets, other threads) took the room: give back half and retry once.
      for (let n = Math.ceil(this.#open.size / 2); n > 0; n--) this.#evictOne();
      try {
        fd = open();
      } catch (again) {
        if (isTooManyOpenFiles(again)) throw new TooManyOpenFilesError(path, again);
        throw again;
      }
    }
    this.#open.add(owner);
    return fd;
  }

  /**
   * Mark a handle most recently used.
   *
   * @param owner An open handle.
   */
  touch(owner: CachedHandle): void {
    // Delete + add moves it to the end; skip when it already is the newest.
    this.#open.delete(owner);
    this.#open.add(owner);
  }

  /**
   * Forget a handle its owner closed.
   *
   * @param owner The handle.
   */
  forget(owner: CachedHandle): void {
    this.#open.delete(owner);
  }

  #evictOne(): void {
    const oldest = this.#open.values().next();
    if (oldest.done) return;
    this.#open.delete(oldest.value);
    this.#evictions++;
    oldest.value.releaseHandle();
  }
}

/** Descriptors a broker needs besides segment files (sockets, config files, directories), estimated. */
export const OTHER_FILES_RESERVE = 256;

/**
 * The process's soft limit on open files, from `/proc/self/limits` (Linux).
 *
 * @returns The limit, or undefined where it cannot be read (or is unlimited).
 */
export function openFilesLimit(): number | undefined {
  try {
    const text = Deno.readTextFileSync("/proc/self/limits");
    const match = /^Max open files\s+(\d+)/m.exec(text);
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/**
 * A warning when the file limit is below what the store's handle cache and
 * the broker's sockets need, with the command that raises it.
 *
 * @param openFilesMax The store's descriptor budget.
 * @param limit The process limit (default: read it).
 * @returns The warning, or undefined when the limit suffices or is unknown.
 */
export function openFilesWarning(
  openFilesMax: number,
  limit: number | undefined = openFilesLimit(),
): string | undefined {
  const need = openFilesMax + OTHER_FILES_RESERVE;
  if (limit === undefined || limit >= need) return undefined;
  return `open file limit is ${limit}, below the ${need} the store's handle cache (--open-files-max ${openFilesMax}) and connections need: raise it with \`ulimit -n ${need}\` (or LimitNOFILE=${need} for systemd), or lower --open-files-max`;
}
