/**
 * Where single-event write stalls come from, in process (no HTTP): a ledger
 * takes flat-out 100-event submissions from 4 clients, then single events
 * paced at 1,000/s (open loop: latency counts from when a request was due).
 * Prints the paced run's p50/p99/max and every V8 pause over 50 ms, so a
 * latency tail can be matched to garbage collection.
 *
 *   npm run bench:gc -- [map node cache size, default 500000] [flat-out seconds, default 20] [paced seconds, default 10]
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";
import { benchArgs } from "./lib/args.js";
import { benchCode, openBenchLedger } from "./lib/fill.js";

const [cacheSize, flatSeconds, pacedSeconds] = benchArgs(
  "bench:gc",
  "Flat-out 100-event submissions, then single events paced at 1,000/s; prints latencies and V8 pauses over 50 ms.",
  [
    { name: "cache", description: "map node cache size", default: 500_000 },
    { name: "flat-seconds", description: "seconds of flat-out submissions", default: 20 },
    { name: "paced-seconds", description: "seconds of paced single events", default: 10 },
  ],
) as [number, number, number];

const GC_KINDS: Record<number, string> = {
  1: "scavenge",
  2: "minor mark-sweep",
  4: "mark-compact",
  8: "incremental",
  16: "weak callbacks",
};
const pauses: string[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
    if (e.duration > 50)
      pauses.push(`  ${(e.startTime / 1000).toFixed(2)} s  ${e.duration.toFixed(0)} ms  ${GC_KINDS[e.detail?.kind ?? 0] ?? "gc"}`);
  }
}).observe({ entryTypes: ["gc"] });

const dir = mkdtempSync(path.join(os.tmpdir(), "keyproof-gc-"));
const ledger = await openBenchLedger({ dir, origin: "bench.keyproof/log", mapCacheSize: cacheSize });

let issued = 0;
const flatStart = performance.now();
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (performance.now() - flatStart < flatSeconds * 1000) {
      const requests = Array.from({ length: 100 }, () => ({ type: "issue", code: benchCode(issued++), sku: "sku-1" }));
      await ledger.submit({ actor: "acme", requests });
    }
  }),
);
const flatRate = issued / ((performance.now() - flatStart) / 1000);

const pacedStart = performance.now();
const latencies: number[] = [];
const pending: Promise<void>[] = [];
for (let i = 0; i < pacedSeconds * 1000; i++) {
  const due = pacedStart + i;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const request = { type: "issue", code: benchCode(issued++), sku: "sku-1" };
  pending.push(ledger.submit({ actor: "acme", requests: [request] }).then(() => void latencies.push(performance.now() - due)));
}
await Promise.all(pending);
await ledger.close();
rmSync(dir, { recursive: true, force: true });

latencies.sort((a, b) => a - b);
const at = (q: number): string => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1);
process.stdout.write(
  `map node cache:   ${cacheSize} nodes\n` +
    `flat out:         ${flatRate.toFixed(0)} events/s for ${flatSeconds} s (100 a submission, 4 clients)\n` +
    `paced 1,000/s:    p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms (${latencies.length} single events, from ${(pacedStart / 1000).toFixed(2)} s)\n` +
    `V8 pauses > 50 ms:\n${pauses.join("\n") || "  none"}\n`,
);
