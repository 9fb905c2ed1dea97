/**
 * Loads the plain ACL file (YAML or JSON: JSON is YAML 1.2, so one parser,
 * npm `yaml`, reads both) and reloads it when it changes.
 *
 * Change detection polls the file's modification time and size every
 * `reloadCheckIntervalMs` (watching the file itself misses editors that
 * replace it). A reload that fails to read or parse keeps the previous
 * config and logs the problem — the message names the field, never a secret.
 *
 * @module
 */

import { parse } from "yaml";
import { parsePlainAclConfig, type PlainAclConfig } from "../domain/acl/plain_acl_config.ts";

/** Default time between checks of the ACL file for changes, ms. */
export const ACL_RELOAD_CHECK_INTERVAL_MS = 1_000;
/** Largest ACL file read, bytes. */
export const ACL_FILE_BYTES_MAX = 16 * 1024 * 1024;

/** Outcome of {@linkcode readAclFile}. */
export type ReadAclResult =
  | { readonly ok: true; readonly config: PlainAclConfig }
  | { readonly ok: false; readonly error: string };

/**
 * Read and parse an ACL file.
 *
 * @param path The file.
 * @returns The config, or why not.
 */
export async function readAclFile(path: string): Promise<ReadAclResult> {
  let text: string;
  try {
    const info = await Deno.stat(path);
    if (info.size > ACL_FILE_BYTES_MAX) {
      return {
        ok: false,
        error: `ACL file ${path} is ${info.size} bytes, limit is ${ACL_FILE_BYTES_MAX}`,
      };
    }
    text = await Deno.readTextFile(path);
  } catch (error) {
    return { ok: false, error: `Cannot read ACL file ${path}: ${(error as Error).message}` };
  }
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    // The parser's message quotes the offending line, which may hold a secret: keep only its position.
    const pos = (error as { linePos?: { line: number; col: number }[] }).linePos?.[0];
    const where = pos === undefined ? "" : ` at line ${pos.line}, column ${pos.col}`;
    return { ok: false, error: `Cannot parse ACL file ${path}${where}` };
  }
  const parsed = parsePlainAclConfig(document);
  return parsed.ok ? parsed : { ok: false, error: `Invalid ACL file ${path}: ${parsed.error}` };
}

/** Options of {@linkcode AclFileWatcher.start}. */
export interface AclFileWatcherOptions {
  /** The ACL file. */
  readonly path: string;
  /** Called with each successfully reloaded config. */
  readonly onReload: (config: PlainAclConfig) => void;
  /** Structured log sink. */
  readonly log: (event: Readonly<Record<string, unknown>>) => void;
  /** Time between change checks, ms. Default {@linkcode ACL_RELOAD_CHECK_INTERVAL_MS}. */
  readonly reloadCheckIntervalMs?: number;
}

/** Polls the ACL file and reloads it on change; `close()` stops it. */
export class AclFileWatcher {
  readonly #options: AclFileWatcherOptions;
  readonly #timer: ReturnType<typeof setInterval>;
  #stamp: string;
  #checking = false;

  private constructor(options: AclFileWatcherOptions, stamp: string) {
    this.#options = options;
    this.#stamp = stamp;
    this.#timer = setInterval(
      () => void this.#check(),
      options.reloadCheckIntervalMs ?? ACL_RELOAD_CHECK_INTERVAL_MS,
    );
  }

  /**
   * Start watching a file already loaded once.
   *
   * @param options File, callback, log and interval.
   * @returns The watcher.
   */
  static async start(options: AclFileWatcherOptions): Promise<AclFileWatcher> {
    return new AclFileWatcher(options, await stampOf(options.path));
  }

  /** Stop watching. */
  close(): void {
    clearInterval(this.#timer);
  }

  async #check(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      const stamp = await stampOf(this.#options.path);
      if (stamp === this.#stamp) return;
      this.#stamp = stamp;
      const result = await readAclFile(this.#options.path);
      if (result.ok) {
        this.#options.onReload(result.config);
        this.#options.log({
          event: "acl_reloaded",
          path: this.#options.path,
          accounts: result.config.accounts.size,
        });
      } else {
        this.#options.log({ event: "acl_reload_failed", error: result.error });
      }
    } finally {
      this.#checking = false;
    }
  }
}

async function stampOf(path: string): Promise<string> {
  try {
    const info = await Deno.stat(path);
    return `${info.mtime?.getTime()}:${info.size}:${info.ino}`;
  } catch {
    return "missing";
  }
}
