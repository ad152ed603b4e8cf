import { expect } from "chai";
import fc from "fast-check";
import { raisedFees, underCeiling, type Fees } from "../../service/chain/fees.js";

const gwei = (n: number): bigint => BigInt(Math.round(n * 1e9));

describe("anchor fees", () => {
  const old = { maxFeePerGas: gwei(10), maxPriorityFeePerGas: gwei(1) };

  it("raises a waiting send's fees by 30 %, or to the node's current ones where those are higher", () => {
    expect(raisedFees(old, { maxFeePerGas: gwei(5), maxPriorityFeePerGas: gwei(0.5) })).to.deep.equal({
      maxFeePerGas: gwei(13) + 1n,
      maxPriorityFeePerGas: gwei(1.3) + 1n,
    });
    expect(raisedFees(old, { maxFeePerGas: gwei(40), maxPriorityFeePerGas: gwei(3) })).to.deep.equal({
      maxFeePerGas: gwei(40),
      maxPriorityFeePerGas: gwei(3),
    });
    expect(raisedFees({ gasPrice: gwei(10) }, { gasPrice: gwei(1) })).to.deep.equal({ gasPrice: gwei(13) + 1n });
  });

  it("stays under the ceiling, and leaves the send waiting when the ceiling allows less than a node takes", () => {
    expect(raisedFees(old, old, gwei(12))).to.deep.equal({ maxFeePerGas: gwei(12), maxPriorityFeePerGas: gwei(1.3) + 1n });
    expect(raisedFees(old, old, gwei(11))).to.equal(null); // 10 % up: geth takes it, others do not
    expect(raisedFees({ gasPrice: gwei(10) }, { gasPrice: gwei(50) }, gwei(10))).to.equal(null);
  });

  it("holds a first send's fees under the ceiling", () => {
    expect(underCeiling({ maxFeePerGas: gwei(30), maxPriorityFeePerGas: gwei(40) }, gwei(20))).to.deep.equal({
      maxFeePerGas: gwei(20),
      maxPriorityFeePerGas: gwei(20),
    });
    expect(underCeiling({ gasPrice: gwei(30) }, gwei(20))).to.deep.equal({ gasPrice: gwei(20) });
    expect(underCeiling(old)).to.equal(old);
  });

  it("any raise replaces (at least 12.5 % up), keeps the priority fee within the fee, and stays under the ceiling", () => {
    const wei = fc.bigInt({ min: 1n, max: 10n ** 15n });
    const fees: fc.Arbitrary<Fees> = fc.oneof(
      fc.tuple(wei, wei).map(([a, b]) => ({ maxFeePerGas: a > b ? a : b, maxPriorityFeePerGas: a > b ? b : a })),
      wei.map((gasPrice) => ({ gasPrice })),
    );
    fc.assert(
      fc.property(fees, fees, fc.option(wei, { nil: undefined }), (was, now, ceiling) => {
        const r = raisedFees(was, now, ceiling);
        if (r === null) {
          expect(ceiling !== undefined, "only a ceiling leaves a send waiting").to.equal(true);
          return;
        }
        const pairs: [bigint, bigint][] =
          "gasPrice" in was
            ? [[(r as { gasPrice: bigint }).gasPrice, was.gasPrice]]
            : [
                [(r as typeof old).maxFeePerGas, was.maxFeePerGas],
                [(r as typeof old).maxPriorityFeePerGas, was.maxPriorityFeePerGas],
              ];
        for (const [n, o] of pairs) {
          expect(n * 1000n >= o * 1125n).to.equal(true);
          if (ceiling !== undefined) expect(n <= ceiling).to.equal(true);
        }
        if ("maxFeePerGas" in r) expect(r.maxPriorityFeePerGas <= r.maxFeePerGas).to.equal(true);
      }),
    );
  });
});
