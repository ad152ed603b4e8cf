import { expect } from "chai";
import fc from "fast-check";
import { toHex } from "../../service/core/bytes.js";
import { sha256 } from "../../service/core/hash.js";
import { MemoryMap } from "../../service/core/map/memory-map.js";
import { updateMap, type MapUpdate } from "../../service/core/map/sparse-map.js";
import { K } from "../../service/store/keys.js";
import { encodeMapNode, FEW_KEYS, MapStore, MapVersionGone, type Db } from "../../service/store/map-store.js";
import { cleanup, onReads, scratchDb, tempDir } from "../helpers/ledger.js";

const key = (n: number): Uint8Array => sha256(Uint8Array.of(n & 0xff, n >> 8));
const val = (n: number, v: number): Uint8Array => sha256(Uint8Array.of(n & 0xff, n >> 8, v));

/** One update per key: the last one given wins, as in a ledger group. */
function updatesOf(pairs: [number, number][]): MapUpdate[] {
  const last = new Map(pairs);
  return [...last].map(([k, v]) => ({ key: key(k), stateHash: val(k, v) }));
}

async function commit(store: MapStore, db: Db, updates: MapUpdate[], rev: bigint): Promise<void> {
  const { writes } = await store.prepare(updates);
  store.stage(writes, rev);
  const batch = db.batch();
  store.addOps(batch, writes, rev);
  await batch.write();
  store.settle(writes);
}

describe("map store", () => {
  let dir: string;
  beforeEach(() => (dir = tempDir("keyproof-map-store-")));
  afterEach(() => cleanup(dir));

  it("reads ahead every node an update looks at, each once; for more than a few keys exactly those, none below where a path ends (property)", async () => {
    const pairs = (min: number, max: number): fc.Arbitrary<[number, number][]> =>
      fc.array(fc.tuple(fc.integer({ min: 0, max: 20_000 }), fc.nat(3)), { minLength: min, maxLength: max });
    // More than FEW_KEYS distinct keys (the measured batch reads exactly), or a few (it reads a window ahead).
    const many = pairs(FEW_KEYS + 20, FEW_KEYS + 60).filter((p) => new Set(p.map(([k]) => k)).size > FEW_KEYS);
    await fc.assert(
      fc.asyncProperty(fc.array(pairs(1, 400), { maxLength: 4 }), fc.oneof(many, pairs(1, FEW_KEYS)), async (before, measured) => {
        const db = scratchDb(dir);
        await db.open();
        try {
          const model = new MemoryMap();
          const writer = new MapStore(db);
          let rev = 0n;
          for (const b of before) {
            const u = updatesOf(b);
            await commit(writer, db, u, ++rev);
            model.update(u);
          }
          const updates = updatesOf(measured);
          // What the update itself looks at, on the model.
          const looked = new Set<string>();
          updateMap(
            {
              get: (d, p) => {
                looked.add(toHex(K.mapLatest(d, p)));
                return model.get(d, p);
              },
            },
            updates,
          );

          // A store with a cold cache over the same data.
          const store = new MapStore(db);
          const read: string[] = [];
          // With a cold cache, every node the update reads by itself, one at a time, is one it did not read ahead.
          let singleReads = 0;
          const stopReads = onReads(db, (keys, how) => {
            if (how === "one") singleReads += keys.length;
            read.push(...keys.map(toHex));
          });
          const { root } = await store.prepare(updates);
          stopReads();

          expect(toHex(root)).to.equal(toHex(model.update(updates)));
          expect(singleReads, "nodes read one by one during the update").to.equal(0);
          expect(new Set(read).size, "a node read twice").to.equal(read.length);
          if (updates.length > FEW_KEYS) expect([...read].sort()).to.deep.equal([...looked].sort());
          else
            expect(
              [...looked].filter((k) => !read.includes(k)),
              "looked at but not read ahead",
            ).to.deep.equal([]);
        } finally {
          await db.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it("an update of no keys (a group that only registers participants) reads only the root, and keeps it", async () => {
    const db = scratchDb(dir);
    await db.open();
    try {
      const writer = new MapStore(db);
      const updates = updatesOf([
        [1, 0],
        [2, 0],
        [3, 1],
      ]);
      await commit(writer, db, updates, 1n);
      const store = new MapStore(db);
      let reads = 0;
      const stopReads = onReads(db, (keys) => (reads += keys.length));
      const { root, writes } = await store.prepare([]);
      stopReads();
      expect(writes).to.deep.equal([]);
      expect(reads).to.equal(1);
      expect(toHex(root)).to.equal(toHex(new MemoryMap().update(updates)));
    } finally {
      await db.close();
    }
  });

  it("proves every key as the in-memory map does: at the newest size, from a view, and at kept sizes from the history, also over history from before kept sizes; refuses other past sizes (property)", async () => {
    const batch = fc.array(fc.tuple(fc.integer({ min: 0, max: 5_000 }), fc.nat(3)), { minLength: 1, maxLength: 300 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(batch, { minLength: 3, maxLength: 6 }),
        fc.nat(2),
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 30 }),
        async (batches, legacy, keep, asked) => {
          const db = scratchDb(dir);
          await db.open();
          let writer = new MapStore(db);
          const reader = new MapStore(db);
          const newest = BigInt(batches.length);
          const kept = new Set<bigint>();
          try {
            // The first `legacy` batches as stores before kept sizes wrote them:
            // latest records without their size, every node of every batch in the history.
            for (let rev = 1n; rev <= Math.min(legacy, batches.length - 1); rev++) {
              const { writes } = await writer.prepare(updatesOf(batches[Number(rev) - 1]!));
              const b = db.batch();
              for (const w of writes) {
                b.put(K.mapLatest(w.depth, w.path), encodeMapNode(w.node));
                b.put(K.mapHistory(w.depth, w.path, rev), encodeMapNode(w.node));
              }
              await b.write();
            }
            const before = BigInt(Math.min(legacy, batches.length - 1));
            writer = new MapStore(db);
            await writer.openHistory(before);
            for (let rev = before + 1n; rev <= newest; rev++) {
              if (keep[Number(rev) - 1]) {
                // As the anchorer chooses a size: the newest prepared.
                writer.keepHistory(rev - 1n);
                await db.put(K.mapKept(rev - 1n), new Uint8Array(0));
                kept.add(rev - 1n);
              }
              await commit(writer, db, updatesOf(batches[Number(rev) - 1]!), rev);
              writer.captureView(rev);
              if (rev === before + 1n) expect(writer.pinView(rev)).to.equal(true);
              writer.dropViewsBefore(rev);
            }
            // A reader with no views: the history only.
            await reader.openHistory();
            for (let at = 0n; at <= newest; at++) {
              const model = new MemoryMap();
              for (const b of batches.slice(0, Number(at))) model.update(updatesOf(b));
              const servable = at === newest || at <= before || kept.has(at);
              for (const n of asked) {
                const asking = reader.proveAt(key(n), at, async () => newest);
                if (servable) expect(await asking, `key ${n} at size ${at}`).to.deep.equal(model.prove(key(n)));
                else expect(await asking.catch((e: unknown) => e), `key ${n} at size ${at}`).to.be.instanceOf(MapVersionGone);
              }
              // The writer's views: the pinned one and the newest.
              if (at === before + 1n || at === newest) {
                for (const n of asked) expect(await writer.proveAt(key(n), at, async () => newest)).to.deep.equal(model.prove(key(n)));
              }
            }
          } finally {
            await writer.closeViews();
            await reader.closeViews();
            await db.close();
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});
