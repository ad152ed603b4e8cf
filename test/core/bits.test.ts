import { expect } from "chai";
import fc from "fast-check";
import { bitLength, MAX_U64, splitPoint, trailingZeros } from "../../service/core/index.js";

// The definitions, spelled out on the bits' text: what the fast paths must agree with.
const bitsOf = (n: bigint): string => n.toString(2);
const refBitLength = (n: bigint): number => (n === 0n ? 0 : bitsOf(n).length);
const refTrailingZeros = (n: bigint): number => bitsOf(n).length - 1 - bitsOf(n).lastIndexOf("1");

/** Every power of two below 2^64, each with its neighbours: where word-sized shortcuts go wrong. */
const EDGES = Array.from({ length: 64 }, (_, i) => 1n << BigInt(i))
  .flatMap((p) => [p - 1n, p, p + 1n, p * 3n])
  .filter((n) => n > 0n && n <= MAX_U64)
  .concat([MAX_U64, MAX_U64 - 1n, (1n << 63n) + (1n << 32n)]);

describe("64-bit index arithmetic", () => {
  it("bitLength agrees with the bits' text at every power of two and its neighbours, and at 0", () => {
    expect(bitLength(0n)).to.equal(0);
    for (const n of EDGES) expect(bitLength(n), String(n)).to.equal(refBitLength(n));
  });

  it("trailingZeros agrees with the bits' text at every power of two and its neighbours", () => {
    for (const n of EDGES) expect(trailingZeros(n), String(n)).to.equal(refTrailingZeros(n));
  });

  it("both agree on random 64-bit numbers", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: MAX_U64 }), (n) => {
        expect(bitLength(n)).to.equal(refBitLength(n));
        expect(trailingZeros(n)).to.equal(refTrailingZeros(n));
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses trailingZeros of 0 (it has no lowest set bit) instead of looping", () => {
    expect(() => trailingZeros(0n)).to.throw(RangeError);
  });

  it("splitPoint is the largest power of two below n", () => {
    for (const n of EDGES.filter((x) => x >= 2n)) {
      const k = splitPoint(n);
      expect(k < n && k * 2n >= n && (k & (k - 1n)) === 0n, String(n)).to.equal(true);
    }
  });
});
