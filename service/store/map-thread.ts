/**
 * The map updated on a thread of its own (map-worker.ts): the ledger's side.
 * Under a flat-out write load the event loop, which serves HTTP and
 * sequences the log, was busy over 90 % of the time while the machine was a
 * quarter idle, and the map's prefetch, hashing and node cache were about
 * two fifths of its work (docs/figures.md, thirty-first and thirty-second
 * sessions). A group's keys and state hashes go to the thread in one buffer;
 * its root and packed records come back in another, and the ledger adds the
 * records to its batch as it would its own.
 *
 * Should the thread fail, the groups it was updating and every later one
 * are refused, as after a failed write: the groups staged on it are lost
 * with it, so the map cannot go on without a restart, which resumes from
 * what is durable.
 */
import { Worker } from "node:worker_threads";
import { KeyProofError } from "../core/errors.js";
import type { MapUpdate } from "../core/map/sparse-map.js";
import { errorText } from "../chain/redact.js";
import type { ChainedBatch, MapStore } from "./map-store.js";
import { addPackedOps, type MapUpdater, type PreparedMap } from "./map-updater.js";
import { threadCpuSeconds, workerEntry, workerReady, type WorkerStart } from "./os-thread.js";
import { writesStopped } from "./storage-errors.js";

export interface MapWorkerData {
  dir: string;
  /** Nodes the thread's cache holds (MapStore's default when absent). */
  cacheSize: number | undefined;
}

export type ToMapWorker =
  { type: "update"; id: number; updates: Uint8Array; rev: bigint } | { type: "settle"; id: number } | { type: "close" };

export type FromMapWorker =
  | WorkerStart
  | { type: "updated"; id: number; root: Uint8Array; ops: Uint8Array }
  | { type: "refused"; id: number; message: string; code: string | undefined }
  | { type: "closed" };

interface ThreadMap extends PreparedMap {
  id: number;
  ops: Uint8Array;
}

interface Asked {
  resolve: (p: ThreadMap) => void;
  reject: (e: unknown) => void;
}

export class MapThread implements MapUpdater {
  private readonly asked = new Map<number, Asked>();
  private nextId = 0;
  private broken: KeyProofError | null = null;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly worker: Worker,
    /** The ledger's own store of the map: which sizes keep their history. */
    private readonly map: MapStore,
    private readonly tid: number | null,
  ) {}

  /** Starts the thread on the store a ledger of this process writes in `dir`; resolves once it is ready. */
  static async start(map: MapStore, data: MapWorkerData): Promise<MapThread> {
    const { url, execArgv } = workerEntry(import.meta.url, "map-worker");
    const worker = new Worker(url, { ...(execArgv ? { execArgv } : {}), workerData: data satisfies MapWorkerData });
    let tid: number | null;
    try {
      tid = await workerReady(worker, "the map thread");
    } catch (e) {
      await worker.terminate();
      throw e;
    }
    const thread = new MapThread(worker, map, tid);
    worker.on("message", (m: FromMapWorker) => thread.received(m));
    worker.on("error", (e) => thread.fail(new Error(`the map thread failed: ${errorText(e)}`)));
    worker.on("exit", (code) => thread.fail(new Error(`the map thread exited (${code})`)));
    return thread;
  }

  /** Why the thread can update no more (it failed), or null. */
  get failure(): KeyProofError | null {
    return this.broken;
  }

  update(updates: MapUpdate[], rev: bigint): Promise<ThreadMap> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closing) return Promise.reject(new Error("the map thread is closed"));
    const packed = new Uint8Array(updates.length * 64);
    updates.forEach((u, i) => {
      packed.set(u.key, i * 64);
      packed.set(u.stateHash, i * 64 + 32);
    });
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.asked.set(id, { resolve, reject });
      this.post({ type: "update", id, updates: packed, rev }, [packed.buffer]);
    });
  }

  addOps(batch: ChainedBatch, p: PreparedMap): void {
    addPackedOps(batch, (p as ThreadMap).ops, this.map.newestKeptSize);
  }

  settle(p: PreparedMap): void {
    this.post({ type: "settle", id: (p as ThreadMap).id });
  }

  cpuSeconds(): number | null {
    return this.broken ? null : threadCpuSeconds(this.tid);
  }

  /** Stops the thread once the ledger has nothing more for it (after its last batch). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.broken) return;
      const closed = new Promise<void>((resolve) => {
        this.worker.on("message", (m: FromMapWorker) => m.type === "closed" && resolve());
        this.worker.once("exit", () => resolve());
      });
      this.post({ type: "close" });
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
      await this.worker.terminate();
    })();
    return this.closing;
  }

  private post(m: ToMapWorker, transfer?: ArrayBuffer[]): void {
    if (!this.broken) this.worker.postMessage(m, transfer);
  }

  private received(m: FromMapWorker): void {
    if (m.type !== "updated" && m.type !== "refused") return;
    const a = this.asked.get(m.id);
    if (!a) return;
    this.asked.delete(m.id);
    if (m.type === "updated") a.resolve({ id: m.id, root: m.root, ops: m.ops });
    // LevelDB's own failures keep their code: the sequencer tells a failed read from a bug by it.
    else a.reject(Object.assign(new Error(m.message), m.code === undefined ? {} : { code: m.code }));
  }

  private fail(cause: Error): void {
    if (this.broken || this.closing) return;
    this.broken = writesStopped(cause);
    for (const [id, a] of this.asked) {
      this.asked.delete(id);
      a.reject(this.broken);
    }
  }
}
