import { expect } from "chai";
import fc from "fast-check";
import type { AnchoredEvent } from "../../service/chain/contract.js";
import { AnchorChecks } from "../../service/tools/audit/anchor-checks.js";

describe("audit's packed anchor checks", () => {
  const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `0x${Buffer.from(b).toString("hex")}`);
  const event: fc.Arbitrary<AnchoredEvent> = fc.record({
    size: fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }),
    logRoot: hex32,
    mapRoot: hex32,
    blockNumber: fc.nat(),
    txHash: hex32,
  });
  const result = fc.constantFrom(true, false, null);

  it("gives back each anchor's check as the chain logged it, with the results set, past its first growth (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(event, result, result), { maxLength: 3000 }), (rows) => {
        const checks = new AnchorChecks();
        for (const [e, logOk, mapOk] of rows) {
          const i = checks.push(e);
          expect(checks.at(i)).to.deep.include({ logRootOk: null, mapRootOk: null });
          checks.setResult(i, logOk, mapOk);
        }
        expect(checks.length).to.equal(rows.length);
        expect([...checks]).to.deep.equal(
          rows.map(([e, logOk, mapOk]) => ({
            source: `anchor tx ${e.txHash}`,
            size: Number(e.size),
            logRoot: e.logRoot.slice(2),
            mapRoot: e.mapRoot.slice(2),
            logRootOk: logOk,
            mapRootOk: mapOk,
            txHash: e.txHash,
            blockNumber: e.blockNumber,
          })),
        );
        expect(JSON.parse(JSON.stringify(checks))).to.deep.equal([...checks]);
        // By size, chain order among equal sizes.
        const expected = rows.map(([e], i) => [Number(e.size), i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        expect([...checks.bySize()]).to.deep.equal(expected.map(([, i]) => i));
      }),
      { numRuns: 40 },
    );
  });
});
