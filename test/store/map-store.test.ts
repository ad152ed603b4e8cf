import { expect } from "chai";
import fc from "fast-check";
import { toHex } from "../../service/core/bytes.js";
import { sha256 } from "../../service/core/hash.js";
import { MemoryMap } from "../../service/core/map/memory-map.js";
import { updateMap, type MapUpdate } from "../../service/core/map/sparse-map.js";
import { K } from "../../service/store/keys.js";
import { FEW_KEYS, MapStore, type Db } from "../../service/store/map-store.js";
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
  store.stage(writes);
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
          const stopReads = onReads(db, (keys) => read.push(...keys.map(toHex)));
          // With a cold cache, every node the update asks the store for is one it did not read ahead.
          let singleReads = 0;
          const get = store.get.bind(store);
          store.get = (d, p) => {
            singleReads++;
            return get(d, p);
          };
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

  it("proves every key as the in-memory map does: at the newest size, at a kept one and from history, over paths of any depth (property)", async () => {
    const batch = fc.array(fc.tuple(fc.integer({ min: 0, max: 5_000 }), fc.nat(3)), { minLength: 1, maxLength: 300 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(batch, { minLength: 3, maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 30 }),
        async (batches, asked) => {
          const db = scratchDb(dir);
          await db.open();
          const store = new MapStore(db);
          try {
            for (let rev = 1n; rev <= batches.length; rev++) {
              await commit(store, db, updatesOf(batches[Number(rev) - 1]!), rev);
              store.captureView(rev);
              if (rev === 1n) expect(store.pinView(rev)).to.equal(true);
            }
            const newest = BigInt(batches.length);
            for (let at = 1n; at <= newest; at++) {
              const model = new MemoryMap();
              for (const b of batches.slice(0, Number(at))) model.update(updatesOf(b));
              // 1: a kept view; the newest: its view; the sizes between: history.
              // Each view keeps its upper levels once read, so from the second
              // key on, proofs at 1 and at the newest read them from memory.
              for (const n of asked) {
                expect(await store.proveAt(key(n), at, async () => newest), `key ${n} at size ${at}`).to.deep.equal(model.prove(key(n)));
              }
            }
          } finally {
            await store.closeViews();
            await db.close();
          }
        },
      ),
      { numRuns: 20 },
    );
  });
});
