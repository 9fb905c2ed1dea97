/**
 * Generates the typed protobuf code of `apache.rocketmq.v2` into `proxy/gen/`
 * (or the directory given with `--out`), from the `.proto` files that ship in
 * the pinned npm package `rocketmq-client-nodejs`, with the pinned generator:
 * `@bufbuild/buf` running the `@bufbuild/protoc-gen-es` plugin
 * (`target=ts`, `import_extension=ts`).
 *
 * Run: `deno task proto`. `proxy/gen_test.ts` runs it into a temp dir and
 * checks the committed code is byte-for-byte what the generator writes.
 *
 * @module
 */

import { join, normalize } from "node:path";

/** The pinned package versions (keep in step with deno.json's imports). */
export const PROTO_PACKAGE = "npm:rocketmq-client-nodejs@1.0.8";
/** The pinned buf CLI. */
export const BUF = "npm:@bufbuild/buf@1.75.0";
/** The pinned protoc-gen-es plugin. */
export const PROTOC_GEN_ES = "npm:@bufbuild/protoc-gen-es@2.17.0";
/** The protos generated (the client never uses admin.proto). */
export const PROTO_FILES = [
  "apache/rocketmq/v2/definition.proto",
  "apache/rocketmq/v2/service.proto",
];

const root = normalize(join(new URL(".", import.meta.url).pathname, ".."));

async function run(args: string[], cwd = root): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    const err = new TextDecoder().decode(output.stderr);
    throw new Error(`deno ${args.join(" ")} failed: ${err.trim().slice(-2000)}`);
  }
  return text;
}

/**
 * Find the `proto/` directory of the pinned client package (node_modules
 * first, then Deno's npm cache), caching the package first.
 *
 * @returns The absolute path of the directory that holds `apache/`.
 */
export async function findProtoRoot(): Promise<string> {
  const local = join(root, "node_modules", "rocketmq-client-nodejs", "proto");
  try {
    if (Deno.statSync(join(local, PROTO_FILES[0])).isFile) return local;
  } catch {
    // Not installed locally: use Deno's npm cache.
  }
  await run(["cache", PROTO_PACKAGE]);
  const info = JSON.parse(await run(["info", "--json"])) as { npmCache: string };
  const [name, version] = PROTO_PACKAGE.slice("npm:".length).split("@");
  return join(info.npmCache, "registry.npmjs.org", name, version, "proto");
}

/**
 * Run the generator.
 *
 * @param outDir Where the `apache/rocketmq/v2/*_pb.ts` files go.
 */
export async function generate(outDir: string): Promise<void> {
  const protoRoot = await findProtoRoot();
  const template = JSON.stringify({
    version: "v2",
    plugins: [{
      local: [Deno.execPath(), "run", "--allow-read", "--allow-env", PROTOC_GEN_ES],
      out: outDir,
      opt: ["target=ts", "import_extension=ts"],
    }],
  });
  const args = ["run", "-A", BUF, "generate", protoRoot, "--template", template];
  for (const file of PROTO_FILES) args.push("--path", join(protoRoot, file));
  await run(args);
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--out");
  const outDir = at >= 0 ? Deno.args[at + 1] : join(root, "proxy", "gen");
  await generate(outDir);
  console.log(`generated ${PROTO_FILES.join(", ")} into ${outDir}`);
}
