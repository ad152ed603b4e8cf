import { expect } from "chai";
import fc from "fast-check";
import {
  EMPTY_SUBTREE,
  MemoryMap,
  fromHex,
  mapLeaf,
  mapNode,
  sha256,
  toHex,
  verifyAbsence,
  verifyMembership,
  type MapProof,
} from "../../service/core/index.js";

const key = (n: number): Uint8Array => sha256(Uint8Array.of(n & 0xff, n >> 8));
const val = (n: number, v: number): Uint8Array => sha256(Uint8Array.of(n & 0xff, n >> 8, v));

/** A naive, uncompressed-by-construction reference: hash a set of leaves by recursion. */
function referenceRoot(leaves: Map<string, Uint8Array>, depth = 0, prefix: string[] = [...leaves.keys()]): Uint8Array {
  if (prefix.length === 0) return EMPTY_SUBTREE;
  if (prefix.length === 1) return mapLeaf(fromHex(prefix[0]!), leaves.get(prefix[0]!)!);
  const bit = (k: string): number => (parseInt(k[depth >> 2]!, 16) >> (3 - (depth & 3))) & 1;
  return mapNode(
    referenceRoot(
      leaves,
      depth + 1,
      prefix.filter((k) => bit(k) === 0),
    ),
    referenceRoot(
      leaves,
      depth + 1,
      prefix.filter((k) => bit(k) === 1),
    ),
  );
}

describe("sparse Merkle map", () => {
  it("the empty map has the zero root and proves absence", () => {
    const m = new MemoryMap();
    expect(toHex(m.root())).to.equal("00".repeat(32));
    const p = m.prove(key(1));
    expect(p).to.deep.equal({ siblings: [], leaf: null });
    verifyAbsence(key(1), p, m.root());
  });

  it("a single leaf sits at the top: the root is its mapLeaf", () => {
    const m = new MemoryMap();
    m.update([{ key: key(1), stateHash: val(1, 0) }]);
    expect(toHex(m.root())).to.equal(toHex(mapLeaf(key(1), val(1, 0))));
  });

  it("matches a from-scratch reference over random batches, and every proof verifies (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.nat(5)), { maxLength: 30 }), { minLength: 1, maxLength: 6 }),
        (batches) => {
          const m = new MemoryMap();
          const model = new Map<string, Uint8Array>();
          for (const batch of batches) {
            const updates = new Map<string, { key: Uint8Array; stateHash: Uint8Array }>();
            for (const [k, v] of batch) updates.set(toHex(key(k)), { key: key(k), stateHash: val(k, v) });
            m.update([...updates.values()]);
            for (const [k, u] of updates) model.set(k, u.stateHash);
          }
          const root = m.root();
          expect(toHex(root)).to.equal(toHex(referenceRoot(model)));
          for (const [k, sh] of model) verifyMembership(fromHex(k), sh, m.prove(fromHex(k)), root);
          const absent = key(1000 + batches.length);
          verifyAbsence(absent, m.prove(absent), root);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("rejects tampered proofs: flipped sibling, wrong state, absence claimed for a present key", () => {
    const m = new MemoryMap();
    m.update(Array.from({ length: 50 }, (_, i) => ({ key: key(i), stateHash: val(i, 0) })));
    const root = m.root();
    const p = m.prove(key(7));
    verifyMembership(key(7), val(7, 0), p, root);
    expect(() => verifyMembership(key(7), val(7, 1), p, root)).to.throw();
    const s0 = p.siblings[0]!;
    const flipped: MapProof = { ...p, siblings: [`${s0[0] === "0" ? "1" : "0"}${s0.slice(1)}`, ...p.siblings.slice(1)] };
    expect(() => verifyMembership(key(7), val(7, 0), flipped, root)).to.throw();
    expect(() => verifyAbsence(key(7), { ...p, leaf: null }, root)).to.throw();
    // Absence "proven" by a leaf that does not share the path is refused even if the hashes fit.
    const other = m.prove(key(8));
    expect(() => verifyAbsence(key(7), other, root)).to.throw();
    expect(() => verifyMembership(key(7), val(7, 0), { ...p, siblings: [...p.siblings, "00".repeat(32)] }, root)).to.throw();
  });
});
