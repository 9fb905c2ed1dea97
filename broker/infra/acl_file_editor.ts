/**
 * Changes accounts in the ACL file for admin requests: reads the YAML (or
 * JSON) document, edits `accounts`, validates the result as a whole, writes
 * it to a temporary file and renames it over the original (atomic), then
 * hands the new config to the validator at once (the watcher would see the
 * change within a second anyway). Edits run one at a time.
 *
 * @module
 */

import { parse, stringify } from "yaml";
import {
  type AclAccountStore,
  type AclChangeResult,
  parsePlainAclConfig,
  type PlainAccessConfig,
  type PlainAclConfig,
} from "../domain/acl/plain_acl_config.ts";

/** Writes account changes into the ACL file. */
export class AclFileEditor implements AclAccountStore {
  readonly #path: string;
  readonly #applied: (config: PlainAclConfig) => void;
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * @param path The ACL file.
   * @param applied Receives the new config after each successful change.
   */
  constructor(path: string, applied: (config: PlainAclConfig) => void) {
    this.#path = path;
    this.#applied = applied;
  }

  /** @inheritdoc */
  upsert(account: PlainAccessConfig): Promise<AclChangeResult> {
    return this.#edit((accounts) => {
      const entry: Record<string, unknown> = {
        accessKey: account.accessKey,
        secretKey: account.secretKey,
        whiteRemoteAddress: account.whiteRemoteAddress ?? "",
        admin: account.admin ?? false,
        defaultTopicPerm: account.defaultTopicPerm ?? "DENY",
        defaultGroupPerm: account.defaultGroupPerm ?? "SUB",
        topicPerms: [...(account.topicPerms ?? [])],
        groupPerms: [...(account.groupPerms ?? [])],
      };
      const at = accounts.findIndex((a) => a.accessKey === account.accessKey);
      if (at === -1) accounts.push(entry);
      else accounts[at] = entry;
      return undefined;
    });
  }

  /** @inheritdoc */
  remove(accessKey: string): Promise<AclChangeResult> {
    return this.#edit((accounts) => {
      const at = accounts.findIndex((a) => a.accessKey === accessKey);
      if (at === -1) return `No ACL account for accessKey ${accessKey}`;
      accounts.splice(at, 1);
      return undefined;
    });
  }

  /** @inheritdoc */
  async read(): Promise<{ globalWhiteAddrs: string[]; accounts: PlainAccessConfig[] }> {
    const document = parse(await Deno.readTextFile(this.#path)) as Record<string, unknown> ?? {};
    return {
      globalWhiteAddrs: (document.globalWhiteRemoteAddresses as string[] | undefined) ?? [],
      accounts: (document.accounts as PlainAccessConfig[] | undefined) ?? [],
    };
  }

  #edit(
    change: (accounts: Record<string, unknown>[]) => string | undefined,
  ): Promise<AclChangeResult> {
    const run = async (): Promise<AclChangeResult> => {
      let document: Record<string, unknown>;
      try {
        document = (parse(await Deno.readTextFile(this.#path)) ?? {}) as Record<string, unknown>;
      } catch (error) {
        return { ok: false, error: `Cannot read ACL file ${this.#path}: ${(error as Error).name}` };
      }
      const accounts = Array.isArray(document.accounts)
        ? document.accounts as Record<string, unknown>[]
        : [];
      const problem = change(accounts);
      if (problem !== undefined) return { ok: false, error: problem };
      document.accounts = accounts;
      const parsed = parsePlainAclConfig(document);
      if (!parsed.ok) return { ok: false, error: parsed.error };
      const temp = `${this.#path}.tmp`;
      await Deno.writeTextFile(temp, stringify(document));
      await Deno.rename(temp, this.#path);
      this.#applied(parsed.config);
      return { ok: true };
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => {});
    return next;
  }
}
