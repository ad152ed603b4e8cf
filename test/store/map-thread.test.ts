import { expect } from "chai";
import fc from "fast-check";
import { fromHex, toHex } from "../../service/core/bytes.js";
import { keyCommitment } from "../../service/core/commitment.js";
import { sha256 } from "../../service/core/hash.js";
import { verifyAbsence, verifyMembership } from "../../service/core/map/proof.js";
import type { MapUpdate } from "../../service/core/map/sparse-map.js";
import { MapStore, type ChainedBatch } from "../../service/store/map-store.js";
import { addPackedOps, packMapOps } from "../../service/store/map-updater.js";
import { cleanup, closeTestLedger, openLedger, openTestLedger, scratchDb, tempDir } from "../helpers/ledger.js";

/** A batch that only lists what is put into it (hex key -> hex value). */
function listingBatch(): { batch: ChainedBatch; puts: Map<string, string> } {
  const puts = new Map<string, string>();
  const batch = { put: (k: Uint8Array, v: Uint8Array) => puts.set(toHex(k), toHex(v)) } as unknown as ChainedBatch;
  return { batch, puts };
}

const key = (n: number): Uint8Array => sha256(Uint8Array.of(n & 0xff, n >> 8));
const val = (n: number, v: number): Uint8Array => sha256(Uint8Array.of(n & 0xff, n >> 8, v));

describe("the map on a thread of its own", () => {
  it("packs exactly the records the store adds itself: every latest node, and the history a kept size needs (property)", async () => {
    const dir = tempDir("keyproof-map-pack-");
    const db = scratchDb(dir);
    await db.open();
    try {
      const store = new MapStore(db);
      let rev = 0n;
      await fc.assert(
        // `kept`: a size kept since the last round (a fraction of the way there), or none.
        fc.asyncProperty(
          fc.array(fc.tuple(fc.nat(300), fc.nat(3)), { minLength: 1, maxLength: 60 }),
          fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
          async (pairs, kept) => {
            const updates: MapUpdate[] = [...new Map(pairs)].map(([k, v]) => ({ key: key(k), stateHash: val(k, v) }));
            const { writes } = await store.prepare(updates);
            if (kept !== null) store.keepHistory(BigInt(Math.floor(Number(rev) * kept)));
            rev += 10n;
            const own = listingBatch();
            store.addOps(own.batch, writes, rev);
            const packed = listingBatch();
            addPackedOps(packed.batch, packMapOps(writes, Number(rev)), store.newestKeptSize);
            expect(packed.puts).to.deep.equal(own.puts);
            // Written, so that later rounds replace nodes that carry a rev.
            store.stage(writes, rev);
            const b = db.batch();
            store.addOps(b, writes, rev);
            await b.write();
            store.settle(writes);
          },
        ),
        { numRuns: 40 },
      );
    } finally {
      await db.close();
      cleanup(dir);
    }
  });

  it("a size kept for anchoring proves from its view and, after a restart, from its history, as on the ledger's thread", async () => {
    const opened = await openTestLedger({ mapThread: true, mapCacheSize: 64 });
    const dir = opened.dir;
    let ledger = opened.ledger;
    try {
      const issue = async (from: number, n: number): Promise<string[]> => {
        const r = await ledger.submit({
          actor: "acme",
          requests: Array.from({ length: n }, (_, i) => ({ type: "issue", code: `THREAD-${from + i}-KEY`, sku: "s" })),
        });
        return r.results.map((x) => (x.ok ? x.key! : ""));
      };
      // Groups one after the other and side by side, so that updates are asked for while others are made.
      const keys = (await Promise.all([issue(0, 30), issue(30, 1), issue(31, 7)])).flat();
      const kept = await ledger.checkpointToAnchor();
      expect(ledger.keepMapView(kept.size)).to.equal(true);
      const later = (await Promise.all([issue(100, 20), issue(120, 3)])).flat();
      await ledger.submit({ actor: "acme", requests: keys.slice(0, 12).map((k, i) => ({ type: "sell", key: k, order: `o-${i}` })) });
      const absent = keyCommitment(new Uint8Array(32), "NEVER-ISSUED");
      const asked = [...keys, ...later, absent];
      const fromView = await Promise.all(asked.map((k) => ledger.mapProof(k, kept.size)));
      await ledger.close();
      ledger = await openLedger(dir, { mapThread: true });
      const fromHistory = await Promise.all(asked.map((k) => ledger.mapProof(k, kept.size)));
      expect(fromHistory).to.deep.equal(fromView);
      fromView.forEach((proof, i) => {
        if (i < keys.length) verifyMembership(fromHex(asked[i]!), fromHex(proof.leaf!.stateHash), proof, kept.mapRoot);
        else verifyAbsence(fromHex(asked[i]!), proof, kept.mapRoot);
      });
      const latest = ledger.checkpoint.checkpoint;
      for (const k of [...keys, ...later])
        verifyMembership(fromHex(k), fromHex((await ledger.mapProof(k)).leaf!.stateHash), await ledger.mapProof(k), latest.mapRoot);
    } finally {
      await closeTestLedger(ledger, dir);
    }
  });

  it("a thread that dies stops the ledger's writing (STORAGE_UNAVAILABLE); a restart resumes from what is durable", async () => {
    const opened = await openTestLedger({ mapThread: true });
    const dir = opened.dir;
    let ledger = opened.ledger;
    try {
      const issue = (code: string) => ledger.submit({ actor: "acme", requests: [{ type: "issue", code, sku: "s" }] });
      expect((await issue("DIES-0001")).results[0]!.ok).to.equal(true);
      const size = ledger.size;
      // The ledger's own handle on its thread: killed as an out-of-memory or a native fault would.
      await (ledger as unknown as { mapUpdater: { worker: { terminate(): Promise<number> } } }).mapUpdater.worker.terminate();
      const refused = await issue("DIES-0002").catch((e: unknown) => e);
      expect(refused).to.have.property("code", "STORAGE_UNAVAILABLE");
      expect(ledger.writeFailure?.code).to.equal("STORAGE_UNAVAILABLE");
      // What the service logs as the reason (http/app.ts): the thread, and the same error the refused group got.
      expect(String(ledger.writeFailure?.cause)).to.match(/the map thread exited/);
      expect(refused).to.equal(ledger.writeFailure);
      expect(ledger.size).to.equal(size);
      await ledger.close();
      ledger = await openLedger(dir, { mapThread: true });
      expect(ledger.size).to.equal(size);
      expect((await issue("DIES-0002")).results[0]!.ok).to.equal(true);
    } finally {
      await closeTestLedger(ledger, dir);
    }
  });
});
