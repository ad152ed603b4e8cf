import { expect } from "chai";
import { entryBundle, formatTileIndex, parseTilePath } from "../../service/http/tiles.js";

describe("C2SP tile paths", () => {
  it("encodes indices in three-digit groups, x-prefixed but for the last", () => {
    expect(formatTileIndex(0n)).to.equal("000");
    expect(formatTileIndex(67n)).to.equal("067");
    expect(formatTileIndex(1234067n)).to.equal("x001/x234/067");
  });

  it("parses full and partial tiles and round-trips the index", () => {
    expect(parseTilePath("0/x001/x234/067")).to.deep.equal({ level: 0, index: 1234067n, width: 256 });
    expect(parseTilePath("2/005.p/17")).to.deep.equal({ level: 2, index: 5n, width: 17 });
    expect(parseTilePath("entries/000.p/1")).to.deep.equal({ level: "entries", index: 0n, width: 1 });
    for (const n of [0n, 999n, 1000n, 123456789n]) expect(parseTilePath(`1/${formatTileIndex(n)}`)?.index).to.equal(n);
  });

  it("refuses malformed paths", () => {
    for (const p of [
      "0/67",
      "0/001/002",
      "0/000.p/0",
      "0/000.p/256",
      "0/000.p/017",
      "64/000",
      "x/000",
      "0/x001",
      "0/000/",
      "0/x000/001",
      "0/x000/x001/234",
    ]) {
      expect(parseTilePath(p), p).to.equal(undefined);
    }
  });

  it("writes an entry bundle as each entry after its two-byte big-endian length", () => {
    const entries = [Uint8Array.of(7), new Uint8Array(0), new Uint8Array(0x1234).fill(9), new Uint8Array(0xffff).fill(1)];
    const b = entryBundle(entries);
    expect(b.length).to.equal(4 * 2 + 1 + 0x1234 + 0xffff);
    expect([...b.subarray(0, 5)]).to.deep.equal([0x00, 0x01, 7, 0x00, 0x00]);
    expect([...b.subarray(5, 7)]).to.deep.equal([0x12, 0x34]);
    expect(b.subarray(7, 7 + 0x1234).every((x) => x === 9)).to.equal(true);
    expect([...b.subarray(7 + 0x1234, 9 + 0x1234)]).to.deep.equal([0xff, 0xff]);
    expect(b.subarray(9 + 0x1234).every((x) => x === 1)).to.equal(true);
    expect(entryBundle([]).length).to.equal(0);
  });

  it("refuses an entry its 16-bit length cannot say, instead of writing a wrong one", () => {
    expect(() => entryBundle([new Uint8Array(0x10000)])).to.throw(RangeError, /65536 bytes/);
  });
});
