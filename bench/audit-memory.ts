/**
 * What a regulator's audit holds for each anchor: `audit()` in process over
 * a fake log of N entries with an anchor at every size, the chain's events
 * handed over as they are read, every entry malformed and every consistency
 * proof refused, so that each anchor takes every path an anchor can take (its
 * check, its finding, its proof). Prints the heap and array buffers held per
 * anchor with the report alive, after garbage collection.
 *
 *   npm run bench:audit-memory -- [anchors, default 200,000]
 *
 * A log anchored every 30 s gathers about a million anchors a year.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AnchoredEvent } from "../service/chain/contract.js";
import type { KeyProofApi } from "../service/client/api.js";
import { logIdOf } from "../service/core/bundle/verify.js";
import { audit } from "../service/tools/audit/auditor.js";
import { benchArgs } from "./lib/args.js";
import { machineLine } from "./lib/machine.js";
import { heldBytes } from "./lib/memory.js";

const [count] = benchArgs("bench:audit-memory", "Memory an audit holds per anchor, with its report alive.", [
  { name: "anchors", description: "anchors (and entries) of the fake log", default: 200_000 },
]) as [number];
const speed = machineLine();

const hex = (n: number): string => `0x${n.toString(16).padStart(64, "0")}`;
const api = {
  base: "http://fake.invalid/",
  logInfo: () => Promise.resolve({ origin: "fake", size: count, verifierKey: "k", logId: logIdOf("fake"), chainId: null, contract: null }),
  checkpoint: () => Promise.resolve("not a signed note"),
  consistency: () => Promise.resolve([]),
  entries: (start: number, end: number) =>
    Promise.resolve(Array.from({ length: end - start }, (_, i) => ({ index: start + i, entry: "{}" }))),
} as unknown as KeyProofApi;
async function* events(): AsyncGenerator<AnchoredEvent> {
  for (let i = 1; i <= count; i++) yield { size: BigInt(i), logRoot: hex(i), mapRoot: hex(i + 1), blockNumber: i, txHash: hex(i + 2) };
}

const workDir = mkdtempSync(path.join(os.tmpdir(), "keyproof-audit-memory-"));
try {
  const before = heldBytes();
  const t = performance.now();
  let last = 0;
  const report = await audit({
    api,
    anchors: events(),
    workDir,
    onProgress: (p) => {
      if (p.phase === "entries" && p.done - last >= count / 10) {
        last = p.done;
        console.log(`entries ${p.done}/${p.total}`);
      }
    },
  });
  const seconds = (performance.now() - t) / 1000;
  const perAnchor = (heldBytes() - before) / count;
  if (report.anchors.length !== count) throw new Error(`the report holds ${report.anchors.length} anchors, not ${count}`);
  console.log(`\nfindings: ${JSON.stringify(report.findingCounts)}`);
  console.log(`${count} anchors: ${perAnchor.toFixed(0)} bytes held an anchor (heap and array buffers, report alive)`);
  console.log(`audit ${seconds.toFixed(1)} s, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; ${speed}`);
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
