import assert from "node:assert/strict";
import { FsConfigFiles } from "./fs_config_files.ts";

Deno.test("FsConfigFiles.persist() runs concurrent writes of one document one after another; the last wins", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmq_config_files_" });
  try {
    const files = new FsConfigFiles(dir);
    // A timer's periodic persist and shutdown's final one used to race on the same `.tmp` file.
    const writes = Array.from({ length: 8 }, (_, i) => files.persist("offsets", `{"n":${i}}`));
    await Promise.all(writes);
    assert.equal(await files.load("offsets"), `{"n":7}`);
    assert.equal(await Deno.readTextFile(`${dir}/config/offsets.json.bak`), `{"n":6}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FsConfigFiles.persist() rejects a name that is not a plain word", async () => {
  const files = new FsConfigFiles("/nonexistent");
  await assert.rejects(() => files.persist("../etc", "{}"), TypeError);
});
