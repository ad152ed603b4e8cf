/**
 * The ledger's start-up over a long-anchored log: how long the anchor
 * records' index takes to load with the stored index and without it (as a
 * directory written before it was stored, or after a write that deleted it),
 * alternately in one run, so their ratio is measured on the same machine at
 * the same time.
 *
 *   npm run bench:anchor-index -- [records, default 1,000,000]
 *
 * A log anchored every 30 s gathers about a million records a year. The
 * records are written straight into a fresh LevelDB with the ledger's
 * options, in the shape the anchorer writes, then compacted as a long-lived
 * store would be.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { utf8 } from "../service/core/index.js";
import { AnchorRecords, type AnchorRecord } from "../service/store/anchor-records.js";
import { K } from "../service/store/keys.js";
import type { Db } from "../service/store/map-store.js";
import { openDb } from "../service/store/open-db.js";
import { benchArgs } from "./lib/args.js";
import { machineLine } from "./lib/machine.js";

const [count] = benchArgs("bench:anchor-index", "Start-up time of the anchor records' index, with and without the stored index.", [
  { name: "records", description: "anchor records in the store", default: 1_000_000 },
]) as [number];
const speed = machineLine();
const dir = mkdtempSync(path.join(os.tmpdir(), "keyproof-anchor-index-"));
// As the ledger opens its store.
const open = (): Promise<Db> => openDb(dir, "writer");
const record = (n: number, status: AnchorRecord["status"]): AnchorRecord => ({
  size: n * 30,
  logRoot: (n % 256).toString(16).padStart(2, "0").repeat(32),
  mapRoot: "cd".repeat(32),
  chainId: 1,
  contract: `0x${"12".repeat(20)}`,
  txHash: status === "confirmed" ? `0x${n.toString(16).padStart(64, "0")}` : null,
  blockNumber: status === "confirmed" ? n : null,
  status,
});

try {
  let db = await open();
  console.log(`writing ${count} anchor records…`);
  for (let i = 1; i <= count; i += 10_000) {
    const batch = db.batch();
    for (let n = i; n < Math.min(count + 1, i + 10_000); n++) batch.put(K.anchor(n * 30), utf8(JSON.stringify(record(n, "confirmed"))));
    await batch.write();
  }
  await db.compactRange(K.anchorRange.gte, K.anchorRange.lt);
  await db.close();

  const starts: { stored: boolean; ms: number }[] = [];
  for (let round = 0; round < 4; round++) {
    db = await open();
    const stored = (await db.get(K.anchorIndex)) !== undefined;
    const anchors = new AnchorRecords(db);
    const t = performance.now();
    await anchors.load();
    const ms = performance.now() - t;
    if (anchors.newestConfirmedSize() !== count * 30) throw new Error(`the index lost records: newest ${anchors.newestConfirmedSize()}`);
    starts.push({ stored, ms });
    console.log(`start ${round + 1}, ${stored ? "with the stored index   " : "without the stored index"}: ${ms.toFixed(0).padStart(6)} ms`);
    // A new anchor, as the service makes after a start; then, every other
    // round, the stored index goes, as a write to a record it holds does.
    await anchors.put(record(count + 1 + round, "pending"));
    await anchors.remove((count + 1 + round) * 30);
    if (round % 2 === 1) await db.del(K.anchorIndex);
    await db.close();
  }
  const mean = (stored: boolean): number => {
    const ms = starts.filter((s) => s.stored === stored).map((s) => s.ms);
    return ms.reduce((a, b) => a + b, 0) / ms.length;
  };
  console.log(
    `\n${count} records: ${mean(false).toFixed(0)} ms without the stored index, ${mean(true).toFixed(0)} ms with it (ratio ${(mean(false) / mean(true)).toFixed(1)}); ${speed}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
