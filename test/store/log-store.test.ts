import { expect } from "chai";
import fc from "fast-check";
import { toHex } from "../../service/core/bytes.js";
import { sha256 } from "../../service/core/hash.js";
import { CompactRange, type StoredNode } from "../../service/core/log/compact-range.js";
import { MemoryTree } from "../../service/core/log/memory-tree.js";
import { verifyInclusion } from "../../service/core/log/verify.js";
import { K } from "../../service/store/keys.js";
import { LogStore } from "../../service/store/log-store.js";
import type { Db } from "../../service/store/map-store.js";
import { cleanup, onReads, scratchDb, tempDir } from "../helpers/ledger.js";

/** Appends `batches` of leaves as the ledger does (one LevelDB batch each), telling `store` each batch's nodes once written. */
async function fill(db: Db, store: LogStore, batches: number[]): Promise<MemoryTree> {
  const tree = new MemoryTree();
  const range = CompactRange.empty();
  let n = 0;
  for (const count of batches) {
    const batch = db.batch();
    const nodes: StoredNode[] = [];
    for (let i = 0; i < count; i++, n++) {
      const leaf = sha256(Uint8Array.of(n & 0xff, n >> 8));
      tree.appendLeaf(leaf);
      for (const node of range.append(leaf)) {
        batch.put(K.node(node.level, node.index), node.hash);
        nodes.push(node);
      }
    }
    await batch.write();
    store.remember(nodes);
  }
  return tree;
}

describe("log store", () => {
  let dir: string;
  beforeEach(() => (dir = tempDir("keyproof-log-store-")));
  afterEach(() => cleanup(dir));

  it("proofs from the nodes it holds in memory equal those read from LevelDB, at every size (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 4, max: 40 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 30 }),
        async (batches, highLevel, recentNodes, middleLevel, middleNodes) => {
          const db = scratchDb(dir);
          await db.open();
          try {
            const held = new LogStore(db, highLevel, recentNodes, middleLevel, middleNodes);
            const tree = await fill(db, held, batches);
            const size = tree.size;
            const fresh = new LogStore(db, 1000, 0, 1000); // holds nothing: every node from LevelDB
            // Leaves across the log at sizes across it (the last always): the same proof either way.
            const step = (n: bigint): bigint => (n > 24n ? n / 24n : 1n);
            for (let s = size; s >= 1n; s -= step(size)) {
              for (let i = s - 1n; i >= 0n; i -= step(s)) {
                const [a, b] = [await held.inclusionProof(i, s), await fresh.inclusionProof(i, s)];
                expect(a.map(toHex)).to.deep.equal(b.map(toHex));
                verifyInclusion(i, s, tree.leaf(i), a, tree.root(s));
              }
              if (s > 1n) {
                const [a, b] = [await held.consistencyProof(s - 1n, size), await fresh.consistencyProof(s - 1n, size)];
                expect(a.map(toHex)).to.deep.equal(b.map(toHex));
              }
            }
          } finally {
            await db.close();
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it("answers the newest leaves' proofs without reading LevelDB", async () => {
    const db = scratchDb(dir);
    await db.open();
    try {
      // Blocks of 8 leaves at the high level; memory for about the newest 32 leaves below it.
      const store = new LogStore(db, 3, 64);
      const tree = await fill(db, store, [50, 1, 7, 60, 3, 79]);
      let reads = 0;
      onReads(db, (keys) => (reads += keys.length));
      for (let i = tree.size - 12n; i < tree.size; i++) {
        verifyInclusion(i, tree.size, tree.leaf(i), await store.inclusionProof(i, tree.size), tree.root());
      }
      expect(reads).to.equal(0);
      // An old leaf's proof reads its low levels; its high ones are held.
      await store.inclusionProof(3n, tree.size);
      expect(reads).to.be.within(1, 3);
    } finally {
      await db.close();
    }
  });

  it("keeps the middle levels of old leaves' proofs once read, the most recently used up to its bound", async () => {
    const db = scratchDb(dir);
    await db.open();
    try {
      // Levels 1 and 2 kept once read (at most 6 nodes), level 4 and up always; nothing recent.
      const store = new LogStore(db, 4, 0, 1, 6);
      const tree = await fill(db, store, [200]);
      const readsOf = async (i: bigint): Promise<number> => {
        let reads = 0;
        const stop = onReads(db, (keys) => (reads += keys.length));
        try {
          verifyInclusion(i, tree.size, tree.leaf(i), await store.inclusionProof(i, tree.size), tree.root());
        } finally {
          stop();
        }
        return reads;
      };
      // Leaf 5's proof reads its leaf sibling and the nodes of levels 1-3 it needs.
      const first = await readsOf(5n);
      expect(first).to.be.greaterThan(2);
      // Again: only its leaf sibling (level 0 is below the middle band).
      expect(await readsOf(5n)).to.equal(1);
      // Its neighbour shares every node above level 0 with it: only its own leaf sibling.
      expect(await readsOf(4n)).to.equal(1);
      // Proofs of leaves far from it push its middle nodes out of the 6 kept: they are read again.
      for (const i of [40n, 80n, 120n]) await readsOf(i);
      expect(await readsOf(5n)).to.be.greaterThan(2);
    } finally {
      await db.close();
    }
  });
});
