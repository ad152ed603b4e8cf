import { expect } from "chai";
import fc from "fast-check";
import { utf8 } from "../../service/core/index.js";
import type { AnchorRecord } from "../../service/store/anchor-records.js";
import { K } from "../../service/store/keys.js";
import type { Ledger } from "../../service/store/ledger.js";
import { serveApp } from "../helpers/app.js";
import { closeTestLedger, openTestLedger } from "../helpers/ledger.js";

const CONTRACTS = ["0x1111111111111111111111111111111111111111", "0x2222222222222222222222222222222222222222"];

const record = (size: number, status: AnchorRecord["status"], contract = CONTRACTS[0]!): AnchorRecord => ({
  size,
  logRoot: "ab".repeat(32),
  mapRoot: "cd".repeat(32),
  chainId: 31337,
  contract,
  txHash: status === "confirmed" ? `0x${"ef".repeat(32)}` : null,
  blockNumber: status === "confirmed" ? size : null,
  status,
});

/** Writes records straight into the store, as many as a long-anchored log holds, and drops the cached list. */
async function writeRecords(ledger: Ledger, records: AnchorRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += 10_000) {
    const batch = ledger.db.batch();
    for (const r of records.slice(i, i + 10_000)) batch.put(K.anchor(r.size), utf8(JSON.stringify(r)));
    await batch.write();
  }
  // Through the class, so that its cached list is dropped.
  await ledger.anchors.remove(0);
}

describe("anchor records", () => {
  let dir: string;
  let ledger: Ledger;
  beforeEach(async () => ({ dir, ledger } = await openTestLedger()));
  afterEach(() => closeTestLedger(ledger, dir));

  it("finds the anchor a bundle is proved against as a scan of every record would (property)", async () => {
    const recordsArb = fc
      .uniqueArray(fc.integer({ min: 1, max: 300 }), { maxLength: 40 })
      .chain((sizes) =>
        fc.tuple(
          ...sizes.map((size) =>
            fc
              .tuple(fc.constantFrom<AnchorRecord["status"]>("pending", "confirmed"), fc.constantFrom(...CONTRACTS))
              .map(([s, c]) => record(size, s, c)),
          ),
        ),
      );
    const queries = fc.array(fc.tuple(fc.constantFrom(...CONTRACTS), fc.integer({ min: 0, max: 310 }), fc.integer({ min: 0, max: 310 })), {
      minLength: 1,
      maxLength: 20,
    });
    await fc.assert(
      fc.asyncProperty(recordsArb, queries, async (records, qs) => {
        await ledger.db.clear(K.anchorRange);
        await writeRecords(ledger, records);
        for (const [contract, after, atMost] of qs) {
          const scanned = records
            .filter((r) => r.status === "confirmed" && r.contract === contract && r.size > after && r.size <= atMost)
            .sort((a, b) => b.size - a.size)[0];
          expect(await ledger.anchors.newestConfirmed(contract, after, atMost)).to.deep.equal(scanned);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("serves the lag metric and the anchor list over 150,000 records (a log anchored every 30 s for 52 days)", async () => {
    await ledger.submit({ actor: "acme", requests: [{ type: "issue", code: "LAG-0001", sku: "s" }] });
    // Sizes beyond the log's own: only finding the newest confirmed one is under test.
    const records = Array.from({ length: 150_000 }, (_, i) => record(i + 1, i < 149_990 ? "confirmed" : "pending"));
    await writeRecords(ledger, records);
    const served = await serveApp(ledger, {
      info: () => ({ origin: "o", verifierKey: "k", logId: "0x", chainId: 31337, contract: CONTRACTS[0]!, rpcUrl: null }),
    });
    try {
      const res = await fetch(`${served.url}/metrics`);
      expect(res.status).to.equal(200);
      const lag = /^keyproof_anchor_lag_entries (\S+)$/m.exec(await res.text())?.[1];
      expect(Number(lag)).to.equal(Number(ledger.size) - 149_990);

      type Listed = { anchors: { size: number; status: string; txHash: string | null }[] };
      const first = await fetch(`${served.url}/v1/anchors`);
      const listed = (await first.json()) as Listed;
      expect(listed.anchors).to.have.length(150_000);
      expect(listed.anchors[149_989]).to.include({ size: 149_990, status: "confirmed" });
      expect(listed.anchors[149_990]).to.deep.include({ size: 149_991, status: "pending", txHash: null });
      // Unchanged records: the same answer, and a client holding it is told so.
      // (fetch adds "cache-control: no-cache" to a conditional request, which asks for the body.)
      const etag = first.headers.get("etag")!;
      const conditional = { "if-none-match": etag, "cache-control": "max-age=0" };
      const again = await fetch(`${served.url}/v1/anchors`, { headers: conditional });
      expect(again.status).to.equal(304);
      await ledger.anchors.put(record(150_001, "confirmed"));
      const changed = await fetch(`${served.url}/v1/anchors`, { headers: conditional });
      expect(changed.status).to.equal(200);
      expect(changed.headers.get("etag")).to.not.equal(etag);
      expect(((await changed.json()) as Listed).anchors.at(-1)).to.include({ size: 150_001, status: "confirmed" });
    } finally {
      await served.close();
    }
  });
});
