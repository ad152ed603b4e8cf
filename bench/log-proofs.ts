/**
 * Inclusion proofs of random old leaves, as verifications and
 * `GET /v1/proof/inclusion` ask for them: the log store as the ledger builds
 * it, against one that keeps only the top levels and the newest leaves'
 * nodes (the middle band off), alternately in one run over the same store.
 * Then the memory a kept middle node takes, and full C2SP hash tiles read
 * as the store keeps them (whole, full-tiles.ts) against read from their 256
 * nodes, as before they were kept whole, alternately over the same store.
 *
 *   npm run bench:log-proofs -- [entries, default 300,000] [proofs a round, default 20,000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { LogStore } from "../service/store/log-store.js";
import { benchArgs } from "./lib/args.js";
import { fillLedger, openBenchLedger, progress, settle } from "./lib/fill.js";
import { machineLine } from "./lib/machine.js";
import { heldBytes } from "./lib/memory.js";

const [entries, proofs] = benchArgs(
  "bench:log-proofs",
  "Random old leaves' inclusion proofs, with and without the log store's middle band; full hash tiles read whole and from their nodes.",
  [
    { name: "entries", description: "entries in the log", default: 300_000 },
    { name: "proofs", description: "proofs a round", default: 20_000 },
  ],
) as [number, number];
const speed = machineLine();
const dir = mkdtempSync(path.join(os.tmpdir(), "keyproof-log-proofs-"));
try {
  const ledger = await openBenchLedger({ dir, origin: "bench-log-proofs.keyproof/log" });
  process.stderr.write(`filling ${entries} entries…\n`);
  await fillLedger(ledger, {
    total: entries,
    perBatch: 10_000,
    clients: 2,
    onProgress: (n, s) => progress(`${n} (${(n / s).toFixed(0)}/s)`),
  });
  await settle(ledger.db);
  const size = ledger.size;
  const random = (): bigint => BigInt(Math.floor(Math.random() * Number(size)));
  const kinds = {
    "middle band off": new LogStore(ledger.db, undefined, undefined, Infinity),
    "as the ledger keeps it": new LogStore(ledger.db),
  };
  const times: Record<string, number[]> = {};
  for (let round = 0; round < 3; round++) {
    for (const [name, store] of Object.entries(kinds)) {
      const t = performance.now();
      for (let i = 0; i < proofs; i++) await store.inclusionProof(random(), size);
      const us = ((performance.now() - t) * 1000) / proofs;
      (times[name] ??= []).push(us);
      console.log(`round ${round + 1}, ${name.padEnd(22)} ${us.toFixed(1).padStart(7)} µs a proof`);
    }
  }
  const before = heldBytes();
  const fresh = new LogStore(ledger.db);
  for (let i = 0; i < proofs * 5; i++) await fresh.inclusionProof(random(), size);
  const kept = fresh.middleNodes;
  const bytes = (heldBytes() - before) / kept;
  const mean = (name: string): number => times[name]!.reduce((a, b) => a + b, 0) / times[name]!.length;
  const [off, on] = Object.keys(kinds).map(mean) as [number, number];
  console.log(
    `\n${size} entries: ${off.toFixed(1)} µs a proof with the middle band off, ${on.toFixed(1)} µs as kept (ratio ${(off / on).toFixed(2)}); ` +
      `${kept} middle nodes kept after ${proofs * 5} proofs, ${bytes.toFixed(0)} bytes each; ${speed}`,
  );

  // Full level-0 tiles at random: one read of the tile kept whole, or the range read of its nodes.
  const tiles = Number(size / 256n);
  const tileReads = Math.max(1, Math.floor(proofs / 10));
  const tileKinds: Record<string, (index: bigint) => Promise<Uint8Array>> = {
    "from its 256 nodes": async (i) => Buffer.concat(await ledger.log.levelHashes(0, i * 256n, 256)),
    "kept whole": (i) => ledger.log.tile(0, i, 256),
  };
  const tileTimes: Record<string, number[]> = {};
  for (let round = 0; round < 3; round++) {
    for (const [name, read] of Object.entries(tileKinds)) {
      const t = performance.now();
      for (let i = 0; i < tileReads; i++) {
        const got = await read(BigInt(Math.floor(Math.random() * tiles)));
        if (got.length !== 256 * 32) throw new Error(`a tile of ${got.length} bytes`);
      }
      const us = ((performance.now() - t) * 1000) / tileReads;
      (tileTimes[name] ??= []).push(us);
      console.log(`round ${round + 1}, tile ${name.padEnd(18)} ${us.toFixed(1).padStart(7)} µs a tile`);
    }
  }
  const tileMean = (name: string): number => tileTimes[name]!.reduce((a, b) => a + b, 0) / tileTimes[name]!.length;
  const [nodes, whole] = Object.keys(tileKinds).map(tileMean) as [number, number];
  console.log(
    `${tiles} full tiles: ${nodes.toFixed(1)} µs a tile from its nodes, ${whole.toFixed(1)} µs kept whole (ratio ${(nodes / whole).toFixed(2)}), ${tileReads} random tiles a round`,
  );
  await ledger.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
