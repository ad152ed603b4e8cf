import { expect } from "chai";
import fc from "fast-check";
import { u64be } from "../../service/core/bytes.js";
import { readManyAcrossPool } from "../../service/store/reads.js";
import { cleanup, scratchDb, tempDir } from "../helpers/ledger.js";

describe("reads split across libuv's pool", () => {
  it("answers as one multi-get does, in order, present and absent keys alike, at every size around the split (property)", async () => {
    const dir = tempDir();
    const db = scratchDb(dir);
    // Lengths drawn outright: fc.array alone keeps to short arrays, all under the split.
    const lengths = fc.oneof(fc.integer({ min: 0, max: 1100 }), fc.integer({ min: 0, max: 2200 }));
    const idLists = lengths.chain((n) => fc.array(fc.integer({ min: 0, max: 2999 }), { minLength: n, maxLength: n }));
    try {
      await db.open();
      const batch = db.batch();
      for (let i = 0; i < 3000; i += 2) batch.put(u64be(i), u64be(i * 7));
      await batch.write();
      await fc.assert(
        fc.asyncProperty(idLists, async (ids) => {
          const keys = ids.map((i) => u64be(i));
          expect(await readManyAcrossPool(db, keys)).to.deep.equal(await db.getMany(keys));
        }),
        { numRuns: 60 },
      );
    } finally {
      await db.close();
      cleanup(dir);
    }
  });
});
