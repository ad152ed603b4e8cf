import { expect } from "chai";
import fc from "fast-check";
import { sha256 } from "../../service/core/hash.js";
import { CompactRange, type StoredNode } from "../../service/core/log/compact-range.js";
import { TILE_WIDTH } from "../../service/core/log/tiles.js";
import { FullTiles, type FullTile } from "../../service/store/full-tiles.js";
import { K } from "../../service/store/keys.js";
import { closeTestLedger, openLedger, openTestLedger } from "../helpers/ledger.js";

const leaf = (n: number): Uint8Array => sha256(Uint8Array.of(n & 0xff, (n >> 8) & 0xff, n >> 16));

/** Every node of a log of `size` leaves, by level and index (what the store's node records hold). */
function nodesOf(size: number): { all: Map<string, Uint8Array>; created: StoredNode[] } {
  const range = CompactRange.empty();
  const all = new Map<string, Uint8Array>();
  const created: StoredNode[] = [];
  for (let i = 0; i < size; i++) {
    for (const n of range.append(leaf(i))) {
      all.set(`${n.level}/${n.index}`, n.hash);
      created.push(n);
    }
  }
  return { all, created };
}

/** The tile a reader would build from the node records. */
function expectedTile(all: Map<string, Uint8Array>, tileLevel: number, index: bigint): Uint8Array {
  const out = new Uint8Array(TILE_WIDTH * 32);
  for (let i = 0; i < TILE_WIDTH; i++) out.set(all.get(`${8 * tileLevel}/${index * 256n + BigInt(i)}`)!, i * 32);
  return out;
}

describe("full hash tiles", () => {
  it("fills each level's tiles in order, the same when resumed from the store at any size (property)", async () => {
    // 65,536 + 700 leaves: level-1 tile 0 completes, and 2 more level-0 tiles.
    const size = 256 * 256 + 700;
    const { all, created } = nodesOf(size);
    const read = async (level: number, start: bigint, count: number): Promise<Uint8Array[]> =>
      Array.from({ length: count }, (_, i) => all.get(`${level}/${start + BigInt(i)}`)!);
    const run = async (cut: number): Promise<FullTile[]> => {
      let tiles = await FullTiles.resume(0n, read);
      const out: FullTile[] = [];
      let leaves = 0;
      for (const n of created) {
        if (n.level === 0 && leaves++ === cut) tiles = await FullTiles.resume(BigInt(cut), read); // a restart
        const t = tiles.add(n);
        if (t) out.push(t);
      }
      return out;
    };
    const straight = await run(-1);
    expect(straight.map((t) => `${t.tileLevel}/${t.index}`)).to.deep.equal([
      ...Array.from({ length: 256 }, (_, i) => `0/${i}`),
      "1/0",
      "0/256",
      "0/257",
    ]);
    for (const t of straight) expect(t.hashes).to.deep.equal(expectedTile(all, t.tileLevel, t.index));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: size - 1 }), async (cut) => {
        expect(await run(cut)).to.deep.equal(straight);
      }),
      { numRuns: 25 },
    );
  });

  it("a copy is worked on apart from the rows it came from (a group prepared in part leaves them as they were)", async () => {
    const { created } = nodesOf(300);
    const tiles = await FullTiles.resume(0n, async () => []);
    const copy = tiles.clone();
    for (const n of created.slice(0, 100)) copy.add(n);
    // The original still expects node 0/0.
    expect(() => tiles.add(created.find((n) => n.level === 0 && n.index === 5n)!)).to.throw(/not the next of its tile/);
    expect(tiles.add(created[0]!)).to.equal(undefined);
  });

  it("the ledger stores each full tile whole in the batch that completes it, across a restart, and serves it", async () => {
    const opened = await openTestLedger({ maxBatchEvents: 97 });
    const dir = opened.dir;
    let ledger = opened.ledger;
    try {
      const issue = async (from: number, n: number): Promise<void> => {
        for (let at = from; at < from + n; at += 40) {
          const count = Math.min(40, from + n - at);
          await Promise.all(
            Array.from({ length: count }, (_, i) =>
              ledger.submit({ actor: "acme", requests: [{ type: "issue", code: `TILE-${at + i}`, sku: "s" }] }),
            ),
          );
        }
      };
      await issue(0, 300);
      await ledger.close();
      ledger = await openLedger(dir);
      await issue(300, 250);
      const size = ledger.size; // 4 participants + 550 keys
      expect(size).to.equal(554n);
      for (const index of [0n, 1n]) {
        const stored = await ledger.db.get(K.tile(0, index));
        const fromNodes = Buffer.concat(await ledger.log.levelHashes(0, index * 256n, 256));
        expect(stored, `tile 0/${index}`).to.not.equal(undefined);
        expect(Buffer.from(stored!)).to.deep.equal(fromNodes);
        expect(Buffer.from(await ledger.log.tile(0, index, 256))).to.deep.equal(fromNodes);
      }
      expect(await ledger.db.get(K.tile(0, 2n))).to.equal(undefined); // 42 of 256
      const partial = await ledger.log.tile(0, 2n, 42);
      expect(Buffer.from(partial)).to.deep.equal(Buffer.concat(await ledger.log.levelHashes(0, 512n, 42)));
    } finally {
      await closeTestLedger(ledger, dir);
    }
  });

  it("a store from before full tiles serves a full tile from its nodes, and keeps it whole once read", async () => {
    const { dir, ledger } = await openTestLedger();
    try {
      await ledger.submit({
        actor: "acme",
        requests: Array.from({ length: 300 }, (_, i) => ({ type: "issue", code: `OLD-${i}`, sku: "s" })),
      });
      await ledger.db.del(K.tile(0, 0n));
      const fromNodes = Buffer.concat(await ledger.log.levelHashes(0, 0n, 256));
      expect(Buffer.from(await ledger.log.tile(0, 0n, 256))).to.deep.equal(fromNodes);
      expect(Buffer.from((await ledger.db.get(K.tile(0, 0n)))!)).to.deep.equal(fromNodes);
      // A partial tile is never kept: it grows.
      await ledger.log.tile(0, 1n, 48);
      expect(await ledger.db.get(K.tile(0, 1n))).to.equal(undefined);
    } finally {
      await closeTestLedger(ledger, dir);
    }
  });
});
