/**
 * The LevelDB keys (service/store/keys.ts) and the small values carved like
 * them: their bytes, and that they live in shared slab memory. A typed array
 * of up to 64 bytes made otherwise lives in V8's heap, and LevelDB's binding
 * reading one made V8 move it out first, which cost more than the put.
 */
import { expect } from "chai";
import fc from "fast-check";
import { u64be, utf8 } from "../../service/core/bytes.js";
import { carve, K } from "../../service/store/keys.js";

const SLAB = 65536;

describe("LevelDB keys", () => {
  it("are a prefix byte and their parts, carved from a shared slab (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.string(), (c, n, id) => {
        const cases: [Uint8Array, Uint8Array][] = [
          [K.state(c), Uint8Array.of(0x73, ...c)],
          [K.salt(c), Uint8Array.of(0x6b, ...c)],
          [K.codeIndex(c), Uint8Array.of(0x69, ...c)],
          [K.entry(n), Uint8Array.of(0x65, ...u64be(n))],
          [K.checkpoint(n), Uint8Array.of(0x63, ...u64be(n))],
          [K.anchor(n), Uint8Array.of(0x61, ...u64be(n))],
          [K.mapKept(n), Uint8Array.of(0x4b, ...u64be(n))],
          [K.keyEvent(c, n), Uint8Array.of(0x76, ...c, ...u64be(n))],
          [K.participant(id), Uint8Array.of(0x70, ...utf8(id))],
          [K.node(3, n), Uint8Array.of(0x6e, 3, ...u64be(n))],
        ];
        for (const [key, bytes] of cases) {
          expect([...key]).to.deep.equal([...bytes]);
          expect(key.buffer.byteLength).to.equal(SLAB);
        }
      }),
    );
  });

  it("carve joins copies of its parts in a slab: changing a part later changes nothing", () => {
    const a = Uint8Array.of(1, 2, 3);
    const b = new Uint8Array(32).fill(9);
    const joined = carve(a, b);
    a[0] = 7;
    b[0] = 7;
    expect([...joined]).to.deep.equal([1, 2, 3, ...new Array<number>(32).fill(9)]);
    expect(joined.buffer.byteLength).to.equal(SLAB);
    expect(carve().length).to.equal(0);
  });

  it("gives a request larger than a slab can share an array of its own, whole", () => {
    const big = new Uint8Array(100_000).fill(5);
    const joined = carve(Uint8Array.of(1), big);
    expect(joined.length).to.equal(100_001);
    expect(joined[0]).to.equal(1);
    expect(joined[100_000]).to.equal(5);
    expect(K.participant("x".repeat(70_000)).length).to.equal(70_001);
  });
});
