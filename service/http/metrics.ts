/** The service's Prometheus metrics (GET /metrics), in a registry of its own. */
import { performance } from "node:perf_hooks";
import client from "prom-client";
import type { BundleMaker } from "../bundle-thread.js";
import type { Ledger } from "../store/ledger.js";

export interface Metrics {
  registry: client.Registry;
  /** POST /v1/verify answers, by result (found, an error code in lower case, rate_limited). */
  verify: client.Counter<"result">;
}

/** Registers the metrics, and counts the ledger's durable groups from now on. */
export function createMetrics(ledger: Ledger, bundles?: BundleMaker): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const events = new client.Counter({ name: "keyproof_events_appended_total", help: "Events appended to the log", registers: [registry] });
  const batch = new client.Histogram({
    name: "keyproof_batch_events",
    help: "Events per group commit",
    buckets: [1, 10, 100, 1000, 10000, 50000],
    registers: [registry],
  });
  const writes = new client.Histogram({
    name: "keyproof_batch_write_seconds",
    help: "Time of each synced LevelDB write of the group commit (one fsync)",
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const verify = new client.Counter({
    name: "keyproof_verify_requests_total",
    help: "POST /v1/verify requests",
    labelNames: ["result"],
    registers: [registry],
  });
  new client.Gauge({
    name: "keyproof_anchor_lag_entries",
    help: "Entries not yet covered by a confirmed anchor",
    registers: [registry],
    collect() {
      this.set(Number(ledger.size) - (ledger.anchors.newestConfirmedSize() ?? 0));
    },
  });
  // LevelDB's own memory sits outside V8's heap, in the process's resident
  // set: its memtables and the block cache, which fills only with reads of
  // table files past the thousand LevelDB maps (store/open-db.ts).
  new client.Gauge({
    name: "keyproof_store_memory_bytes",
    help: "LevelDB's memtables and block cache (its approximate-memory-usage)",
    registers: [registry],
    collect() {
      const v = storeProperty(ledger, "leveldb.approximate-memory-usage");
      if (v !== null) this.set(v);
    },
  });
  new client.Gauge({
    name: "keyproof_store_table_files",
    help: "LevelDB table files, all levels (past 1,000, reads of the rest go through the block cache)",
    registers: [registry],
    collect() {
      let files = 0;
      for (let level = 0; level < LEVELDB_LEVELS; level++) {
        const v = storeProperty(ledger, `leveldb.num-files-at-level${level}`);
        if (v === null) return;
        files += v;
      }
      this.set(files);
    },
  });
  // The event loop's time at work (Node's event-loop utilization): its rate
  // is the loop's busy fraction, which sets the write queue's tail better
  // than the lag's maximum does (docs/figures.md, "What holds the event
  // loop"). prom-client exports only the lag.
  runningTotal(
    registry,
    "keyproof_event_loop_busy_seconds_total",
    "Time the event loop spent running callbacks (not waiting for I/O or timers)",
    () => performance.eventLoopUtilization().active / 1000,
  );
  if (bundles?.cpuSeconds) {
    runningTotal(
      registry,
      "keyproof_bundle_thread_cpu_seconds_total",
      "CPU time of the thread that builds verification bundles (VERIFY_THREAD=on, Linux)",
      bundles.cpuSeconds.bind(bundles),
    );
  }
  if (ledger.mapThreadCpuSeconds() !== null) {
    runningTotal(
      registry,
      "keyproof_map_thread_cpu_seconds_total",
      "CPU time of the thread that updates the sparse Merkle map (MAP_THREAD=on, Linux)",
      () => ledger.mapThreadCpuSeconds(),
    );
  }
  ledger.onBatch = (b) => {
    events.inc(b.events);
    batch.observe(b.events);
  };
  ledger.onWrite = (ms) => writes.observe(ms / 1000);
  return { registry, verify };
}

/** A counter whose total is read where it is kept (null: not known now, the last total stands). */
function runningTotal(registry: client.Registry, name: string, help: string, read: () => number | null): void {
  new client.Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const total = read();
      if (total === null) return;
      this.reset();
      this.inc(total);
    },
  });
}

/** LevelDB's levels of table files (its kNumLevels), each with its own file count property. */
const LEVELDB_LEVELS = 7;

/** A numeric LevelDB property, or null once the store is closed. */
function storeProperty(ledger: Ledger, name: string): number | null {
  if (ledger.db.status !== "open") return null;
  const v = Number(ledger.db.getProperty(name));
  return Number.isFinite(v) ? v : null;
}
