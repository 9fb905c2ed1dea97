/**
 * Index micro-benchmark: `IndexService.dispatch` CPU per record, as the
 * dispatch worker runs it (one UNIQ_KEY per record, `commit` after every
 * round of `round` records, `flush` every 150,000 (the worker's 1 s at
 * about 150k records/s), default geometry, a real file under a temp dir).
 *
 * Run: `deno run -A bench/index_bench.ts [records] [round]`
 *
 * @module
 */

import { cpuUsage } from "node:process";
import { IndexService } from "../store/domain/index_service.ts";
import { FsStoreFileSystem } from "../store/infra/fs_store_file_system.ts";
import type { DispatchRequest } from "../store/domain/dispatch.ts";

const records = Number(Deno.args[0] ?? 500_000);
const round = Number(Deno.args[1] ?? 256);
const dir = Deno.makeTempDirSync({ prefix: "rmq-index-bench-" });
try {
  const index = new IndexService(new FsStoreFileSystem(dir), { writable: true });
  index.load(0);
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  const base = "7F0000010F2A18B4AAC2";
  // Keys as the dispatcher sees them: slices of a decoded properties string.
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const uniqKey = (i: number) => {
    const key = base + hex(i).slice(-12).padStart(12, "0");
    return decoder.decode(encoder.encode(`UNIQ_KEY\u0001${key}\u0002`)).slice(9, 9 + key.length);
  };
  const requests: DispatchRequest[] = [];
  for (let i = 0; i < records; i++) {
    requests.push({
      topic: "BenchTopic",
      queueId: i & 3,
      commitLogOffset: i * 1124,
      size: 1124,
      tagsCode: 0,
      storeTimestamp: 1_764_900_000_000 + (i >> 8),
      queueOffset: i >> 2,
      keys: undefined,
      uniqKey: uniqKey(i),
      sysFlag: 0,
      preparedTransactionOffset: 0,
      properties: "",
    } as DispatchRequest);
  }
  const start = cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < records; i++) {
    index.dispatch(requests[i]);
    if ((i + 1) % round === 0) index.commit();
    // The dispatch worker flushes once a second; at ~150k records/s.
    if ((i + 1) % 150_000 === 0) index.flush();
  }
  index.commit();
  const cpu = cpuUsage(start);
  const ms = performance.now() - t0;
  index.flush();
  index.close();
  console.log(JSON.stringify({
    case: "index_dispatch",
    records,
    round,
    wallUsPerRecord: Number((ms * 1000 / records).toFixed(3)),
    cpuUsPerRecord: Number(((cpu.user + cpu.system) / records).toFixed(3)),
  }));
} finally {
  Deno.removeSync(dir, { recursive: true });
}
