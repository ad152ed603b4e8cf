import { gunzipSync } from "node:zlib";
import { expect } from "chai";
import fc from "fast-check";
import { fromUtf8, sha256, toHex, utf8 } from "../../service/core/index.js";
import { AnchorRecords, type AnchorRecord } from "../../service/store/anchor-records.js";
import { K } from "../../service/store/keys.js";
import type { Ledger } from "../../service/store/ledger.js";
import type { Db } from "../../service/store/map-store.js";
import { rawGet, serveApp, type ServedApp } from "../helpers/app.js";
import { cleanup, closeTestLedger, openLedger, openTestLedger, scratchDb, tempDir } from "../helpers/ledger.js";

const CONTRACTS = ["0x1111111111111111111111111111111111111111", "0x2222222222222222222222222222222222222222"];

const record = (size: number, status: AnchorRecord["status"], contract = CONTRACTS[0]!): AnchorRecord => ({
  size,
  logRoot: "ab".repeat(32),
  mapRoot: "cd".repeat(32),
  chainId: 31337,
  contract,
  txHash: status === "confirmed" ? `0x${"ef".repeat(32)}` : null,
  blockNumber: status === "confirmed" ? size : null,
  status,
});

/**
 * Writes records straight into the store (as many as a long-anchored log
 * holds), as a run before the index was stored left them: without it.
 */
async function writeRecords(ledger: Ledger, records: AnchorRecord[]): Promise<void> {
  await ledger.db.del(K.anchorIndex);
  for (let i = 0; i < records.length; i += 10_000) {
    const batch = ledger.db.batch();
    for (const r of records.slice(i, i + 10_000)) batch.put(K.anchor(r.size), utf8(JSON.stringify(r)));
    await batch.write();
  }
}

/** What the index answers about `records`, against a scan of them. */
function expectIndexOf(anchors: AnchorRecords, records: AnchorRecord[], queries: [string, number, number][]): void {
  for (const [contract, after, atMost] of queries) {
    const scanned = records
      .filter((r) => r.status === "confirmed" && r.contract === contract && r.size > after && r.size <= atMost)
      .sort((a, b) => b.size - a.size)[0];
    expect(anchors.newestConfirmed(contract, after, atMost)).to.deep.equal(scanned);
  }
  const newest = records.filter((r) => r.status === "confirmed").sort((a, b) => b.size - a.size)[0];
  expect(anchors.newestConfirmedSize()).to.equal(newest?.size);
  for (const contract of CONTRACTS) {
    const own = records.filter((r) => r.contract === contract).sort((a, b) => a.size - b.size);
    expect(anchors.pending(contract)).to.deep.equal(own.filter((r) => r.status === "pending"));
    const confirmed = own.filter((r) => r.status === "confirmed");
    expect(anchors.confirmedEnds(contract)).to.deep.equal(confirmed.length ? { oldest: confirmed[0], newest: confirmed.at(-1) } : {});
  }
}

const queriesArb = fc.array(fc.tuple(fc.constantFrom(...CONTRACTS), fc.integer({ min: 0, max: 310 }), fc.integer({ min: 0, max: 310 })), {
  minLength: 1,
  maxLength: 20,
});

describe("anchor records' stored index", () => {
  let dir: string;
  let db: Db;
  beforeEach(() => (dir = tempDir()));
  afterEach(async () => {
    await db.close();
    cleanup(dir);
  });

  /** Opens the records on `db` (a snapshot every `every` settled records) and says which records its start read from the store. */
  const load = async (every: number): Promise<{ anchors: AnchorRecords; scanned: number[] }> => {
    const scanned: number[] = [];
    const values = db.values.bind(db);
    db.values = ((options: Parameters<Db["values"]>[0]) => {
      const it = values(options);
      const nextv = it.nextv.bind(it);
      it.nextv = (async (size: number) => {
        const page = await nextv(size);
        for (const v of page as Uint8Array[]) scanned.push((JSON.parse(fromUtf8(v)) as AnchorRecord).size);
        return page;
      }) as typeof it.nextv;
      return it;
    }) as Db["values"];
    const anchors = new AnchorRecords(db, every);
    try {
      await anchors.load();
    } finally {
      db.values = values;
    }
    return { anchors, scanned };
  };

  it("answers after any writes and restarts as a scan of every record would, and a start reads only the records above its snapshot (property)", async () => {
    type Op = { put: AnchorRecord } | { remove: number } | { removeContract: string } | "restart";
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .tuple(
            fc.integer({ min: 1, max: 300 }),
            fc.constantFrom<AnchorRecord["status"]>("pending", "confirmed"),
            fc.constantFrom(...CONTRACTS),
          )
          .map(([size, status, contract]) => ({ put: record(size, status, contract) })),
      },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 300 }).map((size) => ({ remove: size })) },
      { weight: 1, arbitrary: fc.constantFrom(...CONTRACTS).map((c) => ({ removeContract: c })) },
      { weight: 1, arbitrary: fc.constant("restart" as const) },
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.array(opArb, { maxLength: 60 }), queriesArb, async (every, ops, queries) => {
        db = scratchDb(dir);
        await db.open();
        try {
          let { anchors } = await load(every);
          const bySize = new Map<number, AnchorRecord>();
          const check = (): void =>
            expectIndexOf(
              anchors,
              [...bySize.values()].sort((a, b) => a.size - b.size),
              queries,
            );
          for (const op of ops) {
            if (op === "restart") {
              await db.close();
              await db.open();
              const { anchors: reopened, scanned } = await load(every);
              anchors = reopened;
              // Below the first pending record, all but the newest few records came from the snapshot.
              const sizes = [...bySize.keys()].sort((a, b) => a - b);
              const firstPending = sizes.findIndex((s) => bySize.get(s)!.status === "pending");
              const settled = firstPending === -1 ? sizes.length : firstPending;
              expect(scanned.length, `records read at a start, ${settled} settled of ${sizes.length}`).to.be.at.most(
                sizes.length - settled + every,
              );
              expect(scanned).to.deep.equal(sizes.slice(sizes.length - scanned.length));
            } else if ("put" in op) {
              await anchors.put(op.put);
              bySize.set(op.put.size, op.put);
            } else if ("remove" in op) {
              await anchors.remove(op.remove);
              bySize.delete(op.remove);
            } else {
              await anchors.removeContract(31337, op.removeContract);
              for (const [size, r] of bySize) if (r.contract === op.removeContract) bySize.delete(size);
            }
            check();
          }
          await db.close();
          await db.open();
          ({ anchors } = await load(every));
          check();
        } finally {
          await db.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe("anchor records' stored index, when it cannot be written", () => {
  it("a record is still put and found, and the next start reads every record", async () => {
    const dir = tempDir();
    const db = scratchDb(dir);
    await db.open();
    try {
      const anchors = new AnchorRecords(db, 2);
      await anchors.load();
      const put = db.put.bind(db);
      let refused = 0;
      db.put = ((key: Uint8Array, value: Uint8Array, options: { sync?: boolean }) => {
        if (Buffer.from(key).equals(Buffer.from(K.anchorIndex))) {
          refused++;
          return Promise.reject(new Error("disk full"));
        }
        return put(key, value, options);
      }) as Db["put"];
      for (const size of [10, 20, 30]) await anchors.put(record(size, "confirmed"));
      expect(refused, "the index was due").to.be.greaterThan(0);
      expect(anchors.newestConfirmedSize()).to.equal(30);
      db.put = put;
      await db.close();
      await db.open();
      const again = new AnchorRecords(db, 2);
      await again.load();
      expect(again.confirmedEnds(CONTRACTS[0]!)).to.deep.equal({ oldest: record(10, "confirmed"), newest: record(30, "confirmed") });
      expect(await db.get(K.anchorIndex), "stored at the start that read every record").to.not.equal(undefined);
    } finally {
      await db.close();
      cleanup(dir);
    }
  });
});

describe("anchor records", () => {
  let dir: string;
  let ledger: Ledger;
  beforeEach(async () => ({ dir, ledger } = await openTestLedger()));
  afterEach(() => closeTestLedger(ledger, dir));
  /** The ledger opened again: its anchor index is read from what is stored. */
  const reopen = async (): Promise<void> => {
    await ledger.close();
    ledger = await openLedger(dir);
  };
  /** `records` written straight into the store, the ledger reopened, and served as CONTRACTS[0]'s log. */
  const serveRecords = async (records: AnchorRecord[]): Promise<ServedApp> => {
    await writeRecords(ledger, records);
    await reopen();
    return serveApp(ledger, {
      info: () => ({ origin: "o", verifierKey: "k", logId: "0x", chainId: 31337, contract: CONTRACTS[0]!, rpcUrl: null }),
    });
  };

  it("finds the anchor a bundle is proved against as a scan of every record would, after a reopen and after writes in any order (property)", async () => {
    const recordsArb = fc
      .uniqueArray(fc.integer({ min: 1, max: 300 }), { maxLength: 40 })
      .chain((sizes) =>
        fc.tuple(
          ...sizes.map((size) =>
            fc
              .tuple(fc.constantFrom<AnchorRecord["status"]>("pending", "confirmed"), fc.constantFrom(...CONTRACTS))
              .map(([s, c]) => record(size, s, c)),
          ),
        ),
      );
    await fc.assert(
      fc.asyncProperty(
        recordsArb,
        recordsArb,
        fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 5 }),
        queriesArb,
        async (stored, written, removed, qs) => {
          await ledger.db.clear(K.anchorRange);
          await writeRecords(ledger, stored);
          await reopen();
          // Then through the index: puts (new sizes, or replacing one) and removals, in any order.
          const bySize = new Map(stored.map((r) => [r.size, r]));
          for (const r of written) {
            await ledger.anchors.put(r);
            bySize.set(r.size, r);
          }
          for (const size of removed) {
            await ledger.anchors.remove(size);
            bySize.delete(size);
          }
          expectIndexOf(ledger.anchors, [...bySize.values()], qs);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("serves the lag metric and the anchor list over 150,000 records (a log anchored every 30 s for 52 days)", async () => {
    await ledger.submit({ actor: "acme", requests: [{ type: "issue", code: "LAG-0001", sku: "s" }] });
    // Sizes beyond the log's own: only finding the newest confirmed one is under test.
    const records = Array.from({ length: 150_000 }, (_, i) =>
      record(i + 1, i < 149_990 ? "confirmed" : "pending", i % 1000 === 7 ? CONTRACTS[1] : CONTRACTS[0]),
    );
    const served = await serveRecords(records);
    try {
      const res = await fetch(`${served.url}/metrics`);
      expect(res.status).to.equal(200);
      const lag = /^keyproof_anchor_lag_entries (\S+)$/m.exec(await res.text())?.[1];
      expect(Number(lag)).to.equal(Number(ledger.size) - 149_990);

      // Streamed in pieces, whole: the log's own contract's, by size.
      type Listed = { anchors: { size: number; status: string; txHash: string | null }[] };
      const listed = (await (await fetch(`${served.url}/v1/anchors`)).json()) as Listed;
      const own = records.filter((r) => r.contract === CONTRACTS[0]);
      expect(listed.anchors).to.have.length(own.length);
      expect(listed.anchors.map((a) => a.size)).to.deep.equal(own.map((r) => r.size));
      expect(listed.anchors.at(-1)).to.deep.include({ size: 150_000, status: "pending", txHash: null });
      expect(listed.anchors.at(-11)).to.deep.include({ size: 149_990, status: "confirmed", txHash: `0x${"ef".repeat(32)}` });

      // Or a page at a time (beyond SPEC §8): from a size on, with the size to ask from next.
      type Page = Listed & { next: number | null };
      const page = async (q: string): Promise<Page> => (await (await fetch(`${served.url}/v1/anchors?${q}`)).json()) as Page;
      const first = await page("limit=1000");
      expect(first.anchors.map((a) => a.size)).to.deep.equal(own.slice(0, 1000).map((r) => r.size));
      expect(first.next).to.equal(own[1000]!.size);
      const second = await page(`from=${first.next}&limit=1000`);
      expect(second.anchors[0]!.size).to.equal(own[1000]!.size);
      const last = await page("from=149995");
      expect(last).to.deep.include({ next: null });
      expect(last.anchors.map((a) => a.size)).to.deep.equal([149_995, 149_996, 149_997, 149_998, 149_999, 150_000]);
      // (149,008 is another contract's.)
      expect((await page("from=149007&limit=2")).anchors.map((a) => a.size)).to.deep.equal([149_007, 149_009]);
      for (const bad of ["limit=0", "limit=1001", "limit=x", "from=-1", "from=1&other=2"]) {
        const res = await fetch(`${served.url}/v1/anchors?${bad}`);
        expect(res.status, bad).to.equal(400);
        expect(((await res.json()) as { error: { code: string } }).error.code).to.equal("INVALID_INPUT");
      }

      // The index follows writes: a newer confirmed anchor is found at once.
      await ledger.anchors.put(record(150_001, "confirmed"));
      expect(ledger.anchors.newestConfirmed(CONTRACTS[0]!, 0, 200_000)?.size).to.equal(150_001);
      await ledger.anchors.remove(150_001);
      expect(ledger.anchors.newestConfirmed(CONTRACTS[0]!, 0, 200_000)?.size).to.equal(149_990);
    } finally {
      await served.close();
    }
  });

  it("gzips the anchor list for a client that accepts it, over many pieces, without a listener left per piece", async () => {
    // Distinct roots and hashes, as a real log's: hex that gzip halves, not a repeated pattern.
    const hash = (what: string): string => toHex(sha256(utf8(what)));
    const records = Array.from({ length: 60_000 }, (_, i) => ({
      ...record(i + 1, "confirmed"),
      logRoot: hash(`log root ${i}`),
      mapRoot: hash(`map root ${i}`),
      txHash: `0x${hash(`tx ${i}`)}`,
    }));
    const served = await serveRecords(records);
    const warnings: Error[] = [];
    const warned = (w: Error): number => warnings.push(w);
    process.on("warning", warned);
    try {
      const plain = await rawGet(`${served.url}/v1/anchors`, false);
      expect(plain.headers["content-encoding"]).to.equal(undefined);
      const zipped = await rawGet(`${served.url}/v1/anchors`, true);
      expect(zipped.headers["content-encoding"]).to.equal("gzip");
      expect(zipped.headers.vary).to.match(/accept-encoding/i);
      expect(zipped.body.length).to.be.below(plain.body.length * 0.7);
      expect(gunzipSync(zipped.body).equals(plain.body)).to.equal(true);
      const listed = JSON.parse(plain.body.toString("utf8")) as { anchors: { size: number; txHash: string }[] };
      expect(listed.anchors.map((a) => a.size)).to.deep.equal(records.map((r) => r.size));
      expect(listed.anchors[59_999]!.txHash).to.equal(records[59_999]!.txHash);
      // Some 17 MB in 64 KiB pieces: each wait for "drain" would have left a listener on the gzip stream.
      await new Promise((r) => setImmediate(r));
      expect(warnings.map((w) => w.message)).to.deep.equal([]);
    } finally {
      process.off("warning", warned);
      await served.close();
    }
  });

  it("a store that fails under the anchor list is a 503 before any of it is out, and a cut connection after", async () => {
    const served = await serveRecords(Array.from({ length: 5_000 }, (_, i) => record(i + 1, "confirmed")));
    const records = ledger.anchors.records.bind(ledger.anchors);
    const failAfter = (n: number) =>
      async function* (): AsyncGenerator<AnchorRecord> {
        let given = 0;
        for await (const r of records()) {
          if (given++ === n) throw Object.assign(new Error("IO error: /secret/path/000123.ldb"), { code: "LEVEL_IO_ERROR" });
          yield r;
        }
      };
    try {
      ledger.anchors.records = failAfter(10);
      const early = await fetch(`${served.url}/v1/anchors`);
      expect(early.status).to.equal(503);
      const text = await early.text();
      expect(JSON.parse(text)).to.deep.include({
        error: { code: "STORAGE_UNAVAILABLE", message: "a storage read failed while this request was served: try again later" },
      });
      expect(text).not.to.include("secret");

      ledger.anchors.records = failAfter(4_000); // past the first 64 KiB piece
      for (const gzip of [false, true]) {
        const late = await rawGet(`${served.url}/v1/anchors`, gzip).then(
          () => "whole",
          (e: unknown) => (e as Error).message,
        );
        expect(late, gzip ? "gzipped" : "plain").not.to.equal("whole");
      }
      ledger.anchors.records = records;
      expect((await fetch(`${served.url}/v1/anchors`)).status).to.equal(200);
    } finally {
      ledger.anchors.records = records;
      await served.close();
    }
  });

  it("a client that goes away part way through the anchor list stops the stream, and the service goes on", async () => {
    const served = await serveRecords(Array.from({ length: 50_000 }, (_, i) => record(i + 1, "confirmed")));
    // Whether the answer's reading of the store ended (its iterator closed).
    const records = ledger.anchors.records.bind(ledger.anchors);
    let ended = false;
    ledger.anchors.records = async function* () {
      try {
        yield* records();
      } finally {
        ended = true;
      }
    };
    try {
      const res = await fetch(`${served.url}/v1/anchors`);
      const reader = res.body!.getReader();
      await reader.read();
      await reader.cancel();
      for (let i = 0; i < 100 && !ended; i++) await new Promise((r) => setTimeout(r, 20));
      expect(ended, "the stream stopped reading").to.equal(true);
      expect((await fetch(`${served.url}/checkpoint`)).status).to.equal(200);
    } finally {
      await served.close();
    }
  });
});
