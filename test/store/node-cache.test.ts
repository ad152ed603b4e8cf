import { expect } from "chai";
import fc from "fast-check";
import { mapLeaf } from "../../service/core/map/hashing.js";
import { positionId, type MapNode } from "../../service/core/map/sparse-map.js";
import { NodeCache } from "../../service/store/node-cache.js";

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

/** Positions that share prefixes and depths, so probes collide and masked bits matter. */
const positionArb = fc.record({
  depth: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 256 })),
  base: fc.nat(3),
  noise: bytes32,
});
const nodeArb: fc.Arbitrary<MapNode | null> = fc.oneof(
  fc.constant(null),
  bytes32.map((hash) => ({ kind: "inner" as const, hash })),
  fc.tuple(bytes32, bytes32).map(([key, stateHash]) => ({ kind: "leaf" as const, key, stateHash, hash: mapLeaf(key, stateHash) })),
);

describe("map node cache", () => {
  it("answers a position only with the node last set for it, whatever its path holds past its depth (property)", () => {
    const bases = [new Uint8Array(32), new Uint8Array(32).fill(0xff), new Uint8Array(32).fill(0x5a), new Uint8Array(32).fill(0x80)];
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 24 }),
        // Long enough for many rotations of the young table.
        fc.array(fc.tuple(fc.boolean(), positionArb, nodeArb), { minLength: 50, maxLength: 400, size: "max" }),
        (limit, ops) => {
          const cache = new NodeCache(limit);
          const model = new Map<string, MapNode | null>();
          /** Positions by when they were last set or found: the newest `limit / 2` must still be cached. */
          const recent: string[] = [];
          const touch = (id: string): void => {
            const at = recent.indexOf(id);
            if (at >= 0) recent.splice(at, 1);
            recent.push(id);
          };
          for (const [isSet, { depth, base, noise }, node] of ops) {
            // Bits past `depth` come from `noise`: they must not matter.
            const path = bases[base]!.slice();
            for (let bit = depth; bit < 256; bit++) if ((noise[bit >> 3]! >> (7 - (bit & 7))) & 1) path[bit >> 3]! ^= 0x80 >> (bit & 7);
            const id = positionId(depth, path);
            if (isSet) {
              cache.set(depth, path, node);
              model.set(id, node);
              touch(id);
              continue;
            }
            const peeked = cache.peek(depth, path);
            const got = cache.get(depth, path);
            expect(peeked).to.equal(got === undefined ? undefined : got === null ? "absent" : got.kind);
            if (got !== undefined) expect(got).to.deep.equal(model.get(id));
            const rank = recent.length - 1 - recent.indexOf(id);
            if (recent.includes(id) && rank < Math.floor(limit / 2)) expect(got).to.deep.equal(model.get(id));
            if (got !== undefined) touch(id);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("forgets the old generation when the young one fills: an older copy never shadows a newer one", () => {
    const cache = new NodeCache(4); // two entries per generation
    const at = (b: number): Uint8Array => new Uint8Array(32).fill(b);
    const inner = (b: number): MapNode => ({ kind: "inner", hash: at(b) });
    cache.set(8, at(1), inner(1));
    cache.set(8, at(2), inner(2));
    cache.set(8, at(3), inner(3)); // rotates: 1 and 2 are old now
    cache.set(8, at(1), inner(9)); // the newer copy, young
    cache.set(8, at(4), inner(4)); // rotates again: the first generation is emptied
    expect(cache.get(8, at(1))).to.deep.equal(inner(9));
    expect(cache.get(8, at(2))).to.equal(undefined);
  });

  it("hands out copies: changing a node it returned does not change the cache", () => {
    const cache = new NodeCache(4);
    const path = new Uint8Array(32);
    cache.set(3, path, { kind: "inner", hash: new Uint8Array(32).fill(7) });
    cache.get(3, path)!.hash.fill(0);
    expect(cache.get(3, path)!.hash).to.deep.equal(new Uint8Array(32).fill(7));
  });
});
