/**
 * Checks the project's layering rules (see docs/adr/0001-layering.md) by reading
 * import specifiers. Run: `deno run --allow-read tools/check_layers.ts`.
 * Exits 1 and lists every violation found.
 *
 * Rules, for non-test source files:
 * - `client/` imports nothing outside `client/`; `mod.ts` imports only `client/`.
 * - `store/` never imports `broker/`, and imports from `client/` only the shared
 *   wire/disk kernel `client/protocol/`.
 * - `namesrv/` never imports the store, and from `broker/` only the remoting
 *   transport (`broker/server/remoting_server.ts`, `request_router.ts`), the
 *   options loader and process lifecycle (`broker/server/option_loader.ts`,
 *   `server_process.ts`), `broker/api/broker_context.ts` and the plain-ACL files it reuses (guard,
 *   validator, rules types, config, failure log, file loader) and the metrics
 *   exposition, RPC latency wrapper and HTTP Host guard; from `client/`
 *   only `client/protocol/`.
 * - `broker/` reaches the store only through `store/mod.ts`, and the gRPC front only
 *   through `proxy/mod.ts`; `proxy/` imports only itself and `client/protocol/`, except
 *   `proxy/infra/` (cluster mode), which may use the remoting client in `client/`.
 * - Inside a module, `server -> api -> domain <- infra`: domain imports no
 *   api/server/infra, api imports no server.
 * - Domain code touches no `Deno.*`, `Worker`, `SharedArrayBuffer` or `Atomics`.
 *
 * @module
 */

import { dirname, join, normalize, relative } from "node:path";

const root = normalize(join(dirname(new URL(import.meta.url).pathname), ".."));
const SOURCE_DIRS = ["client", "store", "broker", "registry", "namesrv", "proxy"];
/** The broker files the name server shares: the remoting transport, its handler vocabulary, plain ACL and metrics. */
const NAMESRV_SHARED_BROKER_FILES = new Set([
  "broker/server/remoting_server.ts",
  "broker/server/request_router.ts",
  "broker/server/option_loader.ts",
  "broker/server/server_process.ts",
  "broker/api/broker_context.ts",
  // Plain ACL, reused as is by the name server's `--acl-file` (its rules are its own).
  "broker/api/acl_guard.ts",
  "broker/domain/acl/access_resources.ts",
  "broker/domain/acl/access_validator.ts",
  "broker/domain/acl/acl_failure_log.ts",
  "broker/domain/acl/plain_acl_config.ts",
  "broker/infra/acl_file.ts",
  // Metrics: the exposition and the per-request RPC latency wrapper, and the HTTP Host guard.
  "broker/metrics/exposition.ts",
  "broker/metrics/remoting_metrics.ts",
  "broker/http/request_guard.ts",
]);
const IMPORT_RE =
  /(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
const WORKER_URL_RE = /new URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g;
const PLATFORM_RE = /\b(Deno\.|new Worker\b|SharedArrayBuffer\b|Atomics\.)/;

function* walk(dir: string): Generator<string> {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walk(path);
    else if (entry.isFile && path.endsWith(".ts")) yield path;
  }
}

function isTest(rel: string): boolean {
  return rel.endsWith("_test.ts") || rel.includes("/testdata/") || rel.includes("_test_");
}

function layerOf(rel: string): string | undefined {
  const parts = rel.split("/");
  return ["server", "api", "domain", "infra"].find((layer) => parts[1] === layer);
}

function check(rel: string, source: string, problems: string[]): void {
  // Imports inside comments (JSDoc examples) are not imports.
  const text = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const module = rel.split("/")[0];
  const layer = layerOf(rel);
  const targets: string[] = [];
  for (const match of text.matchAll(IMPORT_RE)) targets.push(match[1] ?? match[2]);
  for (const match of text.matchAll(WORKER_URL_RE)) targets.push(match[1]);
  for (const spec of targets) {
    if (!spec.startsWith(".")) continue;
    const target = relative(root, normalize(join(root, dirname(rel), spec)));
    const targetModule = target.split("/")[0];
    const targetLayer = layerOf(target);
    const where = `${rel} imports ${target}`;
    if (rel === "mod.ts" && targetModule !== "client") {
      problems.push(`${where}: mod.ts may import only client/`);
    }
    if (module === "client" && targetModule !== "client") {
      problems.push(`${where}: client/ imports nothing outside client/`);
    }
    if (module === "store" && targetModule === "broker") {
      problems.push(`${where}: the store never imports the broker`);
    }
    if (module === "store" && targetModule === "client" && !target.startsWith("client/protocol/")) {
      problems.push(`${where}: the store may import only client/protocol/ from client/`);
    }
    if (
      module === "proxy" && targetModule !== "proxy" && !target.startsWith("client/protocol/") &&
      !(layer === "infra" && targetModule === "client")
    ) {
      problems.push(`${where}: proxy/ imports only itself and client/protocol/ (infra: client/)`);
    }
    if (module === "broker" && targetModule === "proxy" && target !== "proxy/mod.ts") {
      problems.push(`${where}: the broker reaches the gRPC front only through proxy/mod.ts`);
    }
    if (module === "broker" && targetModule === "store" && target !== "store/mod.ts") {
      problems.push(`${where}: the broker reaches the store only through store/mod.ts`);
    }
    if (module === "namesrv" && targetModule === "store") {
      problems.push(`${where}: the name server never imports the store`);
    }
    if (
      module === "namesrv" && targetModule === "broker" && !NAMESRV_SHARED_BROKER_FILES.has(target)
    ) {
      problems.push(`${where}: the name server shares only the broker's remoting transport`);
    }
    if (
      module === "namesrv" && targetModule === "client" && !target.startsWith("client/protocol/")
    ) {
      problems.push(`${where}: the name server may import only client/protocol/ from client/`);
    }
    if (targetModule === module && layer !== undefined && targetLayer !== undefined) {
      if (layer === "domain" && targetLayer !== "domain") {
        problems.push(`${where}: domain code imports no ${targetLayer} code`);
      }
      if (layer === "api" && targetLayer === "server") {
        problems.push(`${where}: api code imports no server code`);
      }
    }
  }
  if (layer === "domain") {
    const hit = text.match(PLATFORM_RE);
    if (hit) {
      problems.push(`${rel}: domain code uses ${hit[1].trim()} (move it to infra behind a port)`);
    }
  }
}

const problems: string[] = [];
let files = 0;
for (const dir of [...SOURCE_DIRS.map((d) => join(root, d)), join(root, "mod.ts")]) {
  const paths = dir.endsWith(".ts") ? [dir] : [...walk(dir)];
  for (const path of paths) {
    const rel = relative(root, path);
    if (isTest(rel)) continue;
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch {
      continue;
    }
    files++;
    check(rel, text, problems);
  }
}
if (problems.length > 0) {
  console.error(`Layering check failed: ${problems.length} problem(s) in ${files} files`);
  for (const problem of problems) console.error(`  ${problem}`);
  Deno.exit(1);
}
console.log(`Layering check passed: ${files} files`);
