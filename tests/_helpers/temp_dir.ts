/**
 * Temporary directories for tests, removed on dispose.
 *
 * @module
 */

/** A temporary directory that removes itself (recursively) on `await using`. */
export interface TempDir extends AsyncDisposable {
  /** Absolute path. */
  readonly path: string;
}

/**
 * Create a fresh temporary directory.
 *
 * @param prefix Name prefix.
 * @returns The directory; dispose it to delete it.
 */
export async function makeTempDir(prefix = "rmq_test_"): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}
