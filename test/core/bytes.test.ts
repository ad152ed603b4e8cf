import { expect } from "chai";
import fc from "fast-check";
import { readU53be, readU64be, u64be, writeU53be, writeU64be } from "../../service/core/bytes.js";

describe("64-bit big-endian integers", () => {
  it("round-trip at any offset, write only their 8 bytes, and sort as the numbers do (property)", () => {
    const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    fc.assert(
      fc.property(u64, u64, fc.integer({ min: 0, max: 8 }), (a, b, at) => {
        const buf = new Uint8Array(16).fill(0xa5);
        writeU64be(buf, at, a);
        expect(readU64be(buf, at)).to.equal(a);
        expect([...buf.subarray(0, at), ...buf.subarray(at + 8)].every((x) => x === 0xa5)).to.equal(true);
        expect(u64be(a)).to.deep.equal(buf.subarray(at, at + 8));
        // LevelDB keys compare bytewise: the encoding must order as the numbers.
        const cmp = Buffer.compare(u64be(a), u64be(b));
        expect(cmp).to.equal(a < b ? -1 : a > b ? 1 : 0);
      }),
      { numRuns: 2000 },
    );
    expect([...u64be(0x0102030405060708n)]).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("written from a number below 2^53, are the same bytes as from its BigInt, and read back (property)", () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.integer({ min: 0, max: 8 }), (n, at) => {
        const buf = new Uint8Array(16).fill(0xa5);
        writeU53be(buf, at, n);
        expect(buf.subarray(at, at + 8)).to.deep.equal(u64be(BigInt(n)));
        expect([...buf.subarray(0, at), ...buf.subarray(at + 8)].every((x) => x === 0xa5)).to.equal(true);
        expect(readU53be(buf, at)).to.equal(n);
      }),
      { numRuns: 2000 },
    );
  });
});
