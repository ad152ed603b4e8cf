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
 * not there), and the service's bundle thread where `withBundleThread` took
 * it out of the threads it is counted with.
 */
export type ThreadCpu = Record<ThreadKind, number> & { bundles?: number };

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
 * its own. The service starts one, the bundle thread (VERIFY_THREAD), which
 * is counted with the compaction thread here; `withBundleThread` takes it
 * out, from what the service's metrics say it used.
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

/** `cpu` with the bundle thread's `ms` (the service's `keyproof_bundle_thread_cpu_seconds_total`) taken out of the compaction thread's. */
export function withBundleThread(cpu: ThreadCpu | null, ms: number): ThreadCpu | null {
  if (!cpu || !Number.isFinite(ms)) return cpu;
  return { ...cpu, compaction: cpu.compaction - ms, bundles: ms };
}

/**
 * `after - before`, per event, as one line: "main 231, LevelDB pool 90,
 * compaction 140, V8 75 µs of CPU an event", and ", bundle thread 600" before
 * the unit where both name the bundle thread's time.
 */
export function cpuPerEvent(before: ThreadCpu | null, after: ThreadCpu | null, events: number, unit = "an event"): string {
  if (!before || !after || events <= 0) return "";
  const us = (a: number, b: number): string => (((b - a) * 1000) / events).toFixed(0);
  const kind = (k: ThreadKind): string => us(before[k], after[k]);
  const bundles = before.bundles !== undefined && after.bundles !== undefined ? `, bundle thread ${us(before.bundles, after.bundles)}` : "";
  return `main ${kind("main")}, LevelDB pool ${kind("pool")}, compaction ${kind("compaction")}, V8 ${kind("v8")}${bundles} µs of CPU ${unit}`;
}
