/**
 * Durable ingest rate of the ledger store, proof times and sizes, and LevelDB
 * bytes per event. Run: npm run bench:ingest -- [total events] [events per batch] [clients]
 * (defaults: 1,000,000, 10,000 and 2). Batches are issue + sell pairs; each
 * client submits its next batch once the previous one is durable, as an HTTP
 * client does. Every group commit is one synced LevelDB write. As the
 * service's anchorer would, a size is chosen for anchoring every
 * ANCHOR_INTERVAL's default 30 s, so the map's history is kept for it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { benchArgs } from "./lib/args.js";
import { bytesUnder } from "./lib/disk.js";
import { benchCode, fillLedger, openBenchLedger, progress, settle } from "./lib/fill.js";
import { machineLine } from "./lib/machine.js";
import { cpuPerEvent, threadCpu, withOwnThreads } from "./lib/threads.js";

const [total, perBatch, clients] = benchArgs(
  "bench:ingest",
  "Durable ingest rate of the ledger store (issue + sell pairs), proof times and sizes, LevelDB bytes per event.",
  [
    { name: "events", description: "events to append", default: 1_000_000 },
    { name: "per-batch", description: "events per submission", default: 10_000 },
    { name: "clients", description: "concurrent clients", default: 2 },
  ],
) as [number, number, number];
/** How often a size is chosen for anchoring during the fill (ANCHOR_INTERVAL's default). */
const ANCHOR_EVERY_MS = 30_000;
const dir = mkdtempSync(path.join(os.tmpdir(), "keyproof-bench-"));
// Before the work: the machine's speed today, printed with the figures.
const speed = machineLine();
const ledger = await openBenchLedger({ dir, origin: "bench.keyproof/log" });

// The map's thread is counted with LevelDB's compaction thread by /proc's order: taken out by what the ledger says.
const mapMs = (): number => (ledger.mapThreadCpuSeconds() ?? NaN) * 1000;
const threadsBefore = withOwnThreads(threadCpu(process.pid), { map: mapMs() });
let chosenAt = performance.now();
const { appended, seconds } = await fillLedger(ledger, {
  total,
  perBatch,
  clients,
  afterBatch: async (l) => {
    if (performance.now() - chosenAt < ANCHOR_EVERY_MS) return;
    chosenAt = performance.now();
    await l.checkpointToAnchor();
  },
  onProgress: (n, s) => progress(`${n} events, ${(n / s).toFixed(0)} events/s`),
});
const threads = cpuPerEvent(threadsBefore, withOwnThreads(threadCpu(process.pid), { map: mapMs() }), appended);
if (process.stderr.isTTY) process.stderr.write("\n");

// An anchoring cycle: the service keeps the map of the size it anchors, then
// one more batch lands; bundles are made against the anchored size.
const anchored = (await ledger.checkpointToAnchor()).size;
ledger.keepMapView(anchored);
const more = Array.from({ length: perBatch }, (_, i) => ({ type: "issue", code: benchCode(total + i), sku: "sku-1" }));
await ledger.submit({ actor: "acme", requests: more });

// Proofs are timed on the loaded store, once LevelDB has finished compacting it.
process.stderr.write(`LevelDB settled after ${(await settle(ledger.db)).toFixed(0)} s\n`);
const size = ledger.size;
const samples = 1000;
let tInc = 0;
let tMap = 0;
let tMapOld = 0;
let incBytes = 0;
let mapBytes = 0;
const keys: string[] = [];
for (let i = 0; i < samples; i++) {
  const index = BigInt(Math.floor(Math.random() * Number(size)));
  const t = performance.now();
  const proof = await ledger.log.inclusionProof(index, size);
  tInc += performance.now() - t;
  incBytes += proof.length * 32;
  const entry = JSON.parse(await ledger.entry(index)) as { key?: string };
  if (entry.key) keys.push(entry.key);
}
// Against the newest checkpoint (GET /v1/keys), the anchored one (bundles),
// then the anchored one without its view, as after a restart (from the history).
let tMapKept = 0;
for (const key of keys) {
  let t = performance.now();
  const p = await ledger.mapProof(key, size);
  tMap += performance.now() - t;
  mapBytes += p.siblings.length * 32 + 64;
  t = performance.now();
  await ledger.mapProof(key, anchored);
  tMapKept += performance.now() - t;
}
ledger.releaseMapView(anchored);
for (const key of keys) {
  const t = performance.now();
  await ledger.mapProof(key, anchored);
  tMapOld += performance.now() - t;
}
await ledger.close();
const bytes = bytesUnder(dir);
rmSync(dir, { recursive: true, force: true });

console.log(`machine:                    ${speed}`);
console.log(`events appended:            ${appended} in batches of ${perBatch} from ${clients} concurrent client(s)`);
console.log(`durable ingest:             ${(appended / seconds).toFixed(0)} events/s (${seconds.toFixed(1)} s)`);
if (threads) console.log(`CPU by thread:              ${threads}`);
console.log(`inclusion proof at ${size}: ${(tInc / samples).toFixed(3)} ms mean, ${(incBytes / samples).toFixed(0)} bytes`);
console.log(`map proof at ${size}:       ${(tMap / keys.length).toFixed(3)} ms mean, ${(mapBytes / keys.length).toFixed(0)} bytes`);
console.log(`map proof at ${anchored} (anchored, kept view): ${(tMapKept / keys.length).toFixed(3)} ms mean`);
console.log(`map proof at ${anchored} (anchored, no view: history): ${(tMapOld / keys.length).toFixed(3)} ms mean`);
console.log(`LevelDB bytes per event:    ${(bytes / appended).toFixed(0)}`);
