import assert from "node:assert/strict";
import { AclFileWatcher, readAclFile } from "./acl_file.ts";
import type { PlainAclConfig } from "../domain/acl/plain_acl_config.ts";

const GOOD = `accounts:
  - accessKey: RocketMQ
    secretKey: "12345678"
    defaultTopicPerm: PUB
`;

Deno.test("readAclFile() reads YAML and JSON; errors never quote the file's text", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.yml`, GOOD);
    const yaml = await readAclFile(`${dir}/a.yml`);
    assert.ok(yaml.ok);
    assert.equal(yaml.config.accounts.get("RocketMQ")?.secretKey, "12345678");

    await Deno.writeTextFile(
      `${dir}/a.json`,
      JSON.stringify({ accounts: [{ accessKey: "RocketMQ", secretKey: "12345678" }] }),
    );
    assert.ok((await readAclFile(`${dir}/a.json`)).ok);

    await Deno.writeTextFile(`${dir}/bad.yml`, "accounts: [ {accessKey: x, secretKey: SECRET-TEXT");
    const bad = await readAclFile(`${dir}/bad.yml`);
    assert.ok(!bad.ok);
    assert.doesNotMatch(bad.error, /SECRET-TEXT/);

    const missing = await readAclFile(`${dir}/none.yml`);
    assert.ok(!missing.ok);
    assert.match(missing.error, /Cannot read ACL file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AclFileWatcher reloads a changed file and keeps the last good config on a broken edit", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/acl.yml`;
  await Deno.writeTextFile(path, GOOD);
  const reloaded: PlainAclConfig[] = [];
  const events: Readonly<Record<string, unknown>>[] = [];
  let wake = () => {};
  const watcher = await AclFileWatcher.start({
    path,
    reloadCheckIntervalMs: 20,
    onReload: (config) => {
      reloaded.push(config);
      wake();
    },
    log: (event) => {
      events.push(event);
      wake();
    },
  });
  const next = (what: (e: Readonly<Record<string, unknown>>) => boolean) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no reload event")), 10_000);
      wake = () => {
        if (events.some(what)) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
  try {
    const ok = next((e) => e.event === "acl_reloaded");
    await Deno.writeTextFile(path, GOOD.replace("PUB", "SUB") + "    admin: true\n");
    await ok;
    assert.equal(reloaded.length, 1);
    assert.equal(reloaded[0].accounts.get("RocketMQ")?.admin, true);

    const failed = next((e) => e.event === "acl_reload_failed");
    await Deno.writeTextFile(path, "accounts: [ {accessKey: broken, secretKey: HIDDEN-1234");
    await failed;
    assert.equal(reloaded.length, 1);
    assert.doesNotMatch(JSON.stringify(events), /HIDDEN-1234/);
  } finally {
    watcher.close();
    await Deno.remove(dir, { recursive: true });
  }
});
