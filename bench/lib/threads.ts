/**
 * CPU time of a process by kind of thread, from Linux's /proc/<pid>/task: what
 * tells a write figure's bottleneck on a 2-core machine (the service's own
 * thread, LevelDB's, or V8's), where a profile of the main thread alone sees
 * only its own share.
 */
import { readdirSync, readFileSync } from "node:fs";

export type ThreadKind = "main" | "pool" | "compaction" | "v8";

/**
 * Milliseconds of CPU by thread kind (`threadCpu` gives null where /proc is
 * not there), and the service's own threads (bundles, map) where
 * `withOwnThreads` took them out of the threads they are counted with.
 */
export type ThreadCpu = Record<ThreadKind, number> & { bundles?: number; map?: number };

/** Linux's clock ticks a second (USER_HZ), 100 on every architecture Node runs on. */
const TICK_MS = 10;

/**
 * Reads the CPU each thread of `pid` has used so far. Threads are told apart
 * by the order they started in (thread ids grow): the thread whose id is the
 * process's is the event loop; the threads started before libuv's pool are
 * V8's and Node's own (garbage collection helpers, compilers); the first
 * UV_THREADPOOL_SIZE `libuv-worker` threads are the pool (LevelDB's reads and
 * writes); a thread started after them is LevelDB's background thread, which
 * does the compactions. It takes the name of whichever thread started it
 * (`libuv-worker`, or `node` when a read on the event loop did), so its name
 * does not tell it; its order does, in a process that starts no threads of
 * its own. The service starts two, the bundle thread (VERIFY_THREAD) and the
 * map thread (MAP_THREAD), which are counted with the compaction thread
 * here; `withOwnThreads` takes them out, from what the service's metrics
 * (or the ledger) say they used.
 */
export function threadCpu(pid: number): ThreadCpu | null {
  let tids: number[];
  try {
    tids = readdirSync(`/proc/${pid}/task`)
      .map(Number)
      .sort((a, b) => a - b);
  } catch {
    return null;
  }
  const poolSize = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const out: ThreadCpu = { main: 0, pool: 0, compaction: 0, v8: 0 };
  let poolSeen = 0;
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended meanwhile
    }
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    // After the name (which may hold spaces) come the fields from the 3rd on; utime is the 14th, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ms = (Number(fields[11]) + Number(fields[12])) * TICK_MS;
    if (tid === pid) out.main += ms;
    else if (poolSeen === 0 && name !== "libuv-worker") out.v8 += ms;
    else if (name === "libuv-worker" && poolSeen < poolSize) {
      poolSeen++;
      out.pool += ms;
    } else out.compaction += ms;
  }
  return out;
}

/**
 * `cpu` with the service's own threads' milliseconds (its metrics'
 * `keyproof_bundle_thread_cpu_seconds_total` and
 * `keyproof_map_thread_cpu_seconds_total`) taken out of the compaction
 * thread's; a thread not running (NaN) is left where it is.
 */
export function withOwnThreads(cpu: ThreadCpu | null, own: { bundles?: number; map?: number }): ThreadCpu | null {
  if (!cpu) return cpu;
  const out: ThreadCpu = { ...cpu };
  for (const k of ["bundles", "map"] as const) {
    const ms = own[k];
    if (ms === undefined || !Number.isFinite(ms)) continue;
    out.compaction -= ms;
    out[k] = ms;
  }
  return out;
}

/**
 * `after - before`, per event, as one line: "main 231, LevelDB pool 90,
 * compaction 140, V8 75 µs of CPU an event", and ", bundle thread 600" or
 * ", map thread 50" before the unit where both name that thread's time.
 */
export function cpuPerEvent(before: ThreadCpu | null, after: ThreadCpu | null, events: number, unit = "an event"): string {
  if (!before || !after || events <= 0) return "";
  // Two clocks (/proc's ticks, a thread's own metric) can leave a thread taken out slightly below zero: shown as 0, not -0.
  const us = (a: number, b: number): string => (Math.round(((b - a) * 1000) / events) || 0).toFixed(0);
  const kind = (k: ThreadKind): string => us(before[k], after[k]);
  const own = (k: "bundles" | "map", name: string): string => {
    const [a, b] = [before[k], after[k]];
    return a !== undefined && b !== undefined ? `, ${name} ${us(a, b)}` : "";
  };
  return `main ${kind("main")}, LevelDB pool ${kind("pool")}, compaction ${kind("compaction")}, V8 ${kind("v8")}${own("map", "map thread")}${own("bundles", "bundle thread")} µs of CPU ${unit}`;
}
