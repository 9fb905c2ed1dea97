/**
 * Process accounting for benchmarks, read from Linux `/proc`: CPU time of a
 * process and of each of its threads, and resident memory. Every reader
 * returns `undefined` where `/proc` is unavailable.
 *
 * @module
 */

/** Clock ticks per second of `/proc/<pid>/stat` times (Linux `CLK_TCK`). */
const CLOCK_TICKS_PER_SEC = 100;

/** utime + stime of one `/proc/.../stat` line, ms, and the command name. */
function parseStat(stat: string): { name: string; cpuMs: number } {
  const open = stat.indexOf("(");
  const close = stat.lastIndexOf(")");
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(close + 2).split(" ");
  return {
    name: stat.slice(open + 1, close),
    cpuMs: (Number(fields[11]) + Number(fields[12])) * 1000 / CLOCK_TICKS_PER_SEC,
  };
}

/**
 * CPU time (user + system, all threads) a process has used, ms.
 *
 * @param pid Process id, or `"self"`.
 * @returns Milliseconds, or undefined without `/proc`.
 */
export function cpuTimeMs(pid: number | "self"): number | undefined {
  try {
    return parseStat(Deno.readTextFileSync(`/proc/${pid}/stat`)).cpuMs;
  } catch {
    return undefined;
  }
}

/**
 * CPU time of each thread of a process, ms, keyed `name/tid`.
 *
 * @param pid Process id.
 * @returns Per-thread milliseconds, or undefined without `/proc`.
 */
export function threadCpuMs(pid: number): Map<string, number> | undefined {
  try {
    const out = new Map<string, number>();
    for (const entry of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        const { name, cpuMs } = parseStat(
          Deno.readTextFileSync(`/proc/${pid}/task/${entry.name}/stat`),
        );
        out.set(`${name}/${entry.name}`, cpuMs);
      } catch { /* the thread exited */ }
    }
    return out;
  } catch {
    return undefined;
  }
}

/**
 * Resident set size of a process, MB.
 *
 * @param pid Process id.
 * @returns Megabytes (10^6 bytes), or undefined without `/proc`.
 */
export function rssMb(pid: number | "self"): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match === null ? undefined : Math.round(Number(match[1]) * 1024 / 1e6);
  } catch {
    return undefined;
  }
}

/**
 * Start measuring a process's CPU; the returned function gives µs per
 * message since the start, in total and for each thread that used at least
 * 2 % of the total (per-thread figures name the thread `name/tid`).
 *
 * @param pid Process id.
 * @returns A function of the message count.
 */
export function cpuMeter(
  pid: number,
): (messages: number) => { cpuUsPerMsg?: number; threadsUsPerMsg?: Record<string, number> } {
  const total0 = cpuTimeMs(pid);
  const threads0 = threadCpuMs(pid);
  return (messages) => {
    const total1 = cpuTimeMs(pid);
    const threads1 = threadCpuMs(pid);
    if (total0 === undefined || total1 === undefined) return {};
    const totalMs = total1 - total0;
    const out: { cpuUsPerMsg?: number; threadsUsPerMsg?: Record<string, number> } = {
      cpuUsPerMsg: round2(totalMs * 1000 / messages),
    };
    if (threads0 !== undefined && threads1 !== undefined) {
      const perThread: Record<string, number> = {};
      for (const [key, ms] of threads1) {
        const used = ms - (threads0.get(key) ?? 0);
        if (used > 0 && used >= totalMs * 0.02) perThread[key] = round2(used * 1000 / messages);
      }
      out.threadsUsPerMsg = perThread;
    }
    return out;
  };
}

function round2(value: number): number {
  return Number(value.toFixed(2));
}

/**
 * The p-th quantile of sorted values (nearest rank, floor).
 *
 * @param sorted Values in ascending order.
 * @param p Quantile in [0, 1].
 * @returns The value.
 */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}
