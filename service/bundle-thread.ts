/**
 * Where evidence bundles are built. A verification reads some 35 LevelDB
 * records and folds two proofs, and the HTTP stack around it costs about as
 * much again; on the service's one event loop, the two together are what
 * bounded `POST /v1/verify` (docs/figures.md). A second core builds the
 * bundles instead: a worker thread holding a read replica of the ledger
 * (bundle-worker.ts), while the event loop keeps HTTP, the rate limit and the
 * writes.
 *
 * The replica follows the ledger's updates (`Ledger.follow`), so it proves
 * against a checkpoint the ledger has published. Should the thread fail, its
 * requests and every later one are built on the calling thread, as before.
 */
import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import { buildBundle, type LogInfo } from "./bundle.js";
import { errorText } from "./chain/redact.js";
import { KeyProofError, type ErrorBody } from "./core/errors.js";
import type { Ledger } from "./store/ledger.js";
import type { LatestCheckpoint, LedgerReads, LedgerUpdate } from "./store/ledger-reads.js";
import { threadCpuSeconds, workerEntry, workerReady, type WorkerStart } from "./store/os-thread.js";
import { isStorageError, readRefused } from "./store/storage-errors.js";

/** Builds a code's evidence bundle (SPEC §9), as the JSON text a client gets. */
export interface BundleMaker {
  bundle(code: string, log: LogInfo): Promise<string>;
  /** CPU seconds a thread of its own has used (the service's metrics), where it has one and the OS tells. */
  cpuSeconds?(): number | null;
}

/** Bundles built on the calling thread. */
export function bundlesInThread(ledger: LedgerReads): BundleMaker {
  return { bundle: async (code, log) => JSON.stringify(await buildBundle(ledger, log, code)) };
}

export interface BundleWorkerData {
  dir: string;
  pepper: Uint8Array;
  latest: LatestCheckpoint;
}

export type ToBundleWorker =
  { type: "update"; update: LedgerUpdate } | { type: "bundle"; id: number; code: string; log: LogInfo } | { type: "close" };

export type BundleReply =
  | { type: "bundle"; id: number; json: string }
  | { type: "bundle"; id: number; error: ErrorBody }
  /** Anything else that went wrong: logged, and a 500 (or a 503 when LevelDB failed). */
  | { type: "bundle"; id: number; fault: string; storage: boolean };

/** The worker's answer to request `id`: the bundle, or what went wrong building it. */
export async function replyOf(id: number, build: () => Promise<string>): Promise<BundleReply> {
  try {
    return { type: "bundle", id, json: await build() };
  } catch (e) {
    if (e instanceof KeyProofError) return { type: "bundle", id, error: { code: e.code, message: e.message } };
    return { type: "bundle", id, fault: errorText(e), storage: isStorageError(e) };
  }
}

/** The bundle a reply holds, or what the caller is to throw: the error the service's own thread would have thrown. */
export function outcomeOf(reply: BundleReply): { json: string } | { error: Error } {
  if ("json" in reply) return { json: reply.json };
  if ("error" in reply) return { error: new KeyProofError(reply.error.code, reply.error.message) };
  return { error: reply.storage ? readRefused(new Error(reply.fault)) : new Error(reply.fault) };
}

type FromBundleWorker = BundleReply | WorkerStart | { type: "closed" };

interface Asked {
  code: string;
  log: LogInfo;
  resolve: (json: string) => void;
  reject: (e: unknown) => void;
}

export class BundleThread implements BundleMaker {
  private readonly asked = new Map<number, Asked>();
  private nextId = 0;
  private failed = false;
  private closing: Promise<void> | null = null;
  private readonly inThread: BundleMaker;

  private constructor(
    private readonly worker: Worker,
    private readonly unfollow: () => void,
    ledger: Ledger,
    private readonly log: Logger,
    /** The thread's id in the OS (Linux), for its CPU time. */
    private readonly tid: number | null,
  ) {
    this.inThread = bundlesInThread(ledger);
  }

  /** Starts the thread on the store `ledger` holds in `dir`; resolves once it answers. */
  static async start(ledger: Ledger, o: { dir: string; pepper: Uint8Array; log: Logger }): Promise<BundleThread> {
    const { url, execArgv } = workerEntry(import.meta.url, "bundle-worker");
    const worker = new Worker(url, {
      ...(execArgv ? { execArgv } : {}),
      workerData: { dir: o.dir, pepper: o.pepper, latest: ledger.checkpoint } satisfies BundleWorkerData,
    });
    // Followed from before the replica reads anything: no update falls between.
    const unfollow = ledger.follow((update) => worker.postMessage({ type: "update", update } satisfies ToBundleWorker));
    let tid: number | null;
    try {
      tid = await workerReady(worker, "the bundle thread");
    } catch (e) {
      unfollow();
      await worker.terminate();
      throw e;
    }
    const thread = new BundleThread(worker, unfollow, ledger, o.log, tid);
    worker.on("message", (m: FromBundleWorker) => thread.received(m));
    worker.on("error", (e) => thread.fail(`the bundle thread failed: ${errorText(e)}`));
    worker.on("exit", (code) => thread.fail(`the bundle thread exited (${code})`));
    return thread;
  }

  bundle(code: string, log: LogInfo): Promise<string> {
    if (this.failed || this.closing) return this.inThread.bundle(code, log);
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.asked.set(id, { code, log, resolve, reject });
      this.worker.postMessage({ type: "bundle", id, code, log } satisfies ToBundleWorker);
    });
  }

  cpuSeconds(): number | null {
    return this.failed ? null : threadCpuSeconds(this.tid);
  }

  private received(m: FromBundleWorker): void {
    if (m.type !== "bundle") return;
    const a = this.asked.get(m.id);
    if (!a) return;
    this.asked.delete(m.id);
    const outcome = outcomeOf(m);
    if ("json" in outcome) a.resolve(outcome.json);
    else a.reject(outcome.error);
  }

  /** The thread is gone: what it was asked is built here, and so is everything after. */
  private fail(why: string): void {
    if (this.failed) return;
    this.failed = true;
    this.unfollow();
    if (!this.closing) this.log.error(`${why}: evidence bundles are built on the service's main thread from now on`);
    for (const [id, a] of this.asked) {
      this.asked.delete(id);
      this.inThread.bundle(a.code, a.log).then(a.resolve, a.reject);
    }
  }

  /** Lets the thread finish what it was asked (5 s at most), close its replica, and stop. Call before the ledger closes. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.unfollow();
      if (this.failed) return;
      const deadline = Date.now() + 5000;
      while (this.asked.size > 0 && Date.now() < deadline) await sleep(5);
      const closed = new Promise<void>((resolve) => {
        this.worker.on("message", (m: FromBundleWorker) => m.type === "closed" && resolve());
        this.worker.once("exit", () => resolve());
      });
      this.worker.postMessage({ type: "close" } satisfies ToBundleWorker);
      await Promise.race([closed, sleep(5000)]);
      await this.worker.terminate();
    })();
    return this.closing;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
