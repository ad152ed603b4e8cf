/**
 * The service's worker threads: where a worker's file is, and a thread's
 * identity and CPU time in the OS (Linux's /proc, for the service's
 * metrics; elsewhere both are null).
 */
import { readFileSync, readlinkSync } from "node:fs";
import type { Worker } from "node:worker_threads";

/** The calling thread's id in the OS (`<pid>/task/<tid>`). */
export function ownThreadId(): number | null {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    return Number.isSafeInteger(tid) ? tid : null;
  } catch {
    return null;
  }
}

/** CPU seconds the thread `tid` of this process has used. */
export function threadCpuSeconds(tid: number | null): number | null {
  if (tid === null) return null;
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    // After the name (which may hold spaces), utime and stime are the 12th and 13th fields, in ticks of 1/100 s.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/**
 * A worker's file `name` beside the module at `from` (its `import.meta.url`):
 * `.ts` when the service runs from its sources, and the worker then loads
 * them as this thread does (a loader hook is not inherited by a worker).
 */
export function workerEntry(from: string, name: string): { url: URL; execArgv?: string[] } {
  if (!from.endsWith(".ts")) return { url: new URL(`./${name}.js`, from) };
  return { url: new URL(`./${name}.ts`, from), execArgv: ["--import", import.meta.resolve("tsx/esm")] };
}

/** What a worker of the service says first: it is ready (with its thread id), or it could not open what it works on. */
export type WorkerStart = { type: "ready"; tid: number | null } | { type: "failed"; message: string };

/**
 * The thread id a worker of the service gives once it is ready; rejects,
 * naming it as `what` ("the map thread"), when it could not start or it
 * errs or exits first. Only its own listeners are taken off again:
 * removeAllListeners would take the Worker's own, which start its port.
 */
export async function workerReady(worker: Worker, what: string): Promise<number | null> {
  let first!: (m: { type: string }) => void;
  let failed!: (e: unknown) => void;
  const exited = (code: number): void => failed(new Error(`${what} exited (${code}) before it was ready`));
  try {
    return await new Promise<number | null>((resolve, reject) => {
      first = (m) => {
        const start = m as WorkerStart;
        if (start.type === "ready") resolve(start.tid);
        else reject(new Error(`${what} could not open the ledger: ${start.type === "failed" ? start.message : m.type}`));
      };
      failed = reject;
      worker.once("message", first).once("error", failed).once("exit", exited);
    });
  } finally {
    worker.off("message", first).off("error", failed).off("exit", exited);
  }
}
