import { expect } from "chai";
import fc from "fast-check";
import {
  MemoryMap,
  MemoryTree,
  fromHex,
  openCheckpoint,
  stateHash,
  Replayer,
  verifyAbsence,
  verifyConsistency,
  verifyInclusion,
  verifyMembership,
  toHex,
  keyCommitment,
  keyState,
  utf8,
  fromUtf8,
  sha256,
  canonicalize,
  decodeEntry,
  EMPTY_SUBTREE,
  type Checkpoint,
} from "../../service/core/index.js";
import type { Ledger, SubmitAnswer } from "../../service/store/ledger.js";
import { K } from "../../service/store/keys.js";
import { MapVersionGone } from "../../service/store/map-store.js";
import { OVERLAP_REQUESTS } from "../../service/store/group-commit.js";
import { decodeStateRecord } from "../../service/store/state-record.js";
import { closeTestLedger, onNextBatches, onReads, openLedger, openTestLedger } from "../helpers/ledger.js";

const codes = (r: { results: { ok: boolean; error?: { code: string } }[] }): string[] =>
  r.results.map((x) => (x.ok ? "ok" : x.error!.code));

describe("ledger store", () => {
  let dir: string;
  let ledger: Ledger;

  beforeEach(async () => ({ dir, ledger } = await openTestLedger()));
  afterEach(() => closeTestLedger(ledger, dir));

  it("issue then sell in one batch; a second sale in the same batch is DOUBLE_SALE", async () => {
    await ledger.submit({
      actor: "acme",
      requests: [
        { type: "issue", code: "AAAA-1111", sku: "game-100" },
        { type: "transfer", code: "aaaa 1111", to: "shop-a" },
      ],
    });
    const r = await ledger.submit({
      actor: "shop-a",
      requests: [
        { type: "sell", code: "AAAA1111", order: "order-1" },
        { type: "sell", code: "AAAA1111", order: "order-2" },
      ],
    });
    expect(codes(r)).to.deep.equal(["ok", "DOUBLE_SALE"]);
    const both = await ledger.submit({
      actor: "acme",
      requests: [
        { type: "issue", code: "BBBB-2222", sku: "s" },
        { type: "sell", code: "BBBB-2222", order: "o" },
        { type: "sell", code: "BBBB-2222", order: "o2" },
      ],
    });
    expect(codes(both)).to.deep.equal(["ok", "ok", "DOUBLE_SALE"]);
  });

  it("answers every error code of the state machine", async () => {
    const r1 = await ledger.submit({
      actor: "acme",
      requests: [
        { type: "issue", code: "KEY-0001", sku: "s" },
        { type: "issue", code: "key 0001", sku: "s" }, // same normalized code
        { type: "sell", code: "NOPE-0000", order: "o" },
        { type: "issue", code: "x", sku: "s" }, // too short
        { type: "transfer", code: "KEY-0001", to: "nobody" },
      ],
    });
    expect(codes(r1)).to.deep.equal(["ok", "DUPLICATE_KEY", "UNKNOWN_KEY", "INVALID_INPUT", "UNKNOWN_PARTICIPANT"]);
    expect(codes(await ledger.submit({ actor: "shop-a", requests: [{ type: "issue", code: "KEY-0002", sku: "s" }] }))).to.deep.equal([
      "FORBIDDEN_ROLE",
    ]);
    expect(codes(await ledger.submit({ actor: "shop-a", requests: [{ type: "sell", code: "KEY-0001", order: "o" }] }))).to.deep.equal([
      "NOT_HOLDER",
    ]);
    expect(codes(await ledger.submit({ actor: "globex", requests: [{ type: "redeem", code: "KEY-0001" }] }))).to.deep.equal(["NOT_ISSUER"]);
    expect(
      codes(
        await ledger.submit({
          actor: "acme",
          requests: [
            { type: "redeem", code: "KEY-0001" },
            { type: "redeem", code: "KEY-0001" },
          ],
        }),
      ),
    ).to.deep.equal(["ok", "ALREADY_REDEEMED"]);
    await ledger.submit({
      actor: "acme",
      requests: [
        { type: "issue", code: "KEY-0003", sku: "s" },
        { type: "void", code: "KEY-0003", reason: "lost" },
      ],
    });
    expect(codes(await ledger.submit({ actor: "acme", requests: [{ type: "sell", code: "KEY-0003", order: "o" }] }))).to.deep.equal([
      "KEY_VOID",
    ]);
    expect(codes(await ledger.submit({ actor: "ghost", requests: [{ type: "issue", code: "KEY-0004", sku: "s" }] }))).to.deep.equal([
      "UNKNOWN_PARTICIPANT",
    ]);
  });

  it("reopens exactly where it was", async () => {
    await ledger.submit({
      actor: "acme",
      requests: Array.from({ length: 37 }, (_, i) => ({ type: "issue", code: `CODE-${i}-XYZ`, sku: "s" })),
    });
    const before = ledger.checkpoint;
    await ledger.close();
    ledger = await openLedger(dir);
    expect(ledger.checkpoint.note).to.equal(before.note);
    expect(ledger.size).to.equal(before.checkpoint.size);
    const r = await ledger.submit({
      actor: "acme",
      requests: [
        { type: "issue", code: "CODE-1-XYZ", sku: "s" },
        { type: "issue", code: "CODE-NEW-1", sku: "s" },
      ],
    });
    expect(codes(r)).to.deep.equal(["DUPLICATE_KEY", "ok"]);
    // The new leaf's proof (as a write answer carries it) reads no log node from LevelDB: the nodes
    // from before the restart that it needs are the border the ledger reopened with.
    let reads = 0;
    const stopReads = onReads(ledger.db, (keys) => (reads += keys.length));
    const { index } = r.results[1] as { index: number };
    const proof = await ledger.log.inclusionProof(BigInt(index), ledger.size);
    stopReads();
    expect(reads).to.equal(0);
    verifyInclusion(
      BigInt(index),
      ledger.size,
      fromHex((r.results[1] as { leafHash: string }).leafHash),
      proof,
      ledger.checkpoint.checkpoint.logRoot,
    );
  });

  it("reads a key's events as a version before kept them (a record each), and keeps them in its state record from its next event on", async () => {
    const code = (i: number) => `OLD-${i}-KEY`;
    const at = (a: SubmitAnswer): bigint[] => a.results.map((x) => BigInt((x as { index: number }).index));
    const issued = at(await ledger.submit({ actor: "acme", requests: [0, 1, 2].map((i) => ({ type: "issue", code: code(i), sku: "s" })) }));
    const moved = at(await ledger.submit({ actor: "acme", requests: [{ type: "transfer", code: code(1), to: "shop-b" }] }));
    const sold = at(await ledger.submit({ actor: "shop-b", requests: [{ type: "sell", code: code(1), order: "o-1" }] }));
    const keys = await Promise.all([0, 1, 2].map(async (i) => (await ledger.lookupCode(code(i)))!.commitment));
    const records = await Promise.all(keys.map(async (k) => (await ledger.keyRecord(k))!));
    expect(records.map((r) => r.indices)).to.deep.equal([[issued[0]], [issued[1], ...moved, ...sold], [issued[2]]]);
    await ledger.close();
    // As a version before stored them: the state alone, and a `v` record per event.
    const { ClassicLevel } = await import("classic-level");
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
    await db.open();
    const batch = db.batch();
    keys.forEach((k, i) => {
      batch.put(K.state(fromHex(k)), utf8(canonicalize(records[i]!.state)));
      for (const index of records[i]!.indices) batch.put(K.keyEvent(fromHex(k), index), new Uint8Array(0));
    });
    await batch.write();
    await db.close();
    ledger = await openLedger(dir);
    for (const [i, k] of keys.entries()) expect(await ledger.keyRecord(k), code(i)).to.deep.equal(records[i]);
    expect(await ledger.keyState(keys[1]!)).to.deep.equal(records[1]!.state);
    // Its next event writes the whole list, the older indices read from the `v` records.
    const redeemed = at(await ledger.submit({ actor: "acme", requests: [{ type: "redeem", code: code(1) }] }));
    const raw = (await ledger.db.get(K.state(fromHex(keys[1]!))))!;
    expect(decodeStateRecord(raw).indices).to.deep.equal([...records[1]!.indices, ...redeemed]);
    expect((await ledger.keyRecord(keys[1]!))!.state.status).to.equal("redeemed");
    // The older records of that key go in the same write; the untouched keys keep theirs.
    const older = (i: number) => ledger.db.keys(K.keyEventRange(fromHex(keys[i]!))).all();
    expect(await older(1)).to.deep.equal([]);
    expect((await older(0)).length).to.equal(1);
    expect((await older(2)).length).to.equal(1);
  });

  it("refuses to open a ledger another one holds, naming the cause (LevelDB said only 'Database failed to open')", async () => {
    const err = await openLedger(dir).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(/^the ledger in .+ is in use by another process: is KeyProof already running on this DATA_DIR\?$/);
    // The holder goes on.
    expect(codes(await ledger.submit({ actor: "acme", requests: [{ type: "issue", code: "HELD-0001", sku: "s" }] }))).to.deep.equal(["ok"]);
  });

  it("refuses to reopen with another pepper or checkpoint key, saying which, and leaves the directory to the right ones", async () => {
    expect(codes(await ledger.submit({ actor: "acme", requests: [{ type: "issue", code: "PEPPER-0001", sku: "s" }] }))).to.deep.equal([
      "ok",
    ]);
    await ledger.close();
    const refusal = (options: Parameters<typeof openLedger>[1]) =>
      openLedger(dir, options).then(
        () => "opened",
        (e: unknown) => (e as Error).message,
      );
    // Under another pepper the code would look never issued, and could be issued again.
    expect(await refusal({ pepper: new Uint8Array(32).fill(7) })).to.match(
      /^the pepper given \(PEPPER, or DATA_DIR\/secrets\/pepper\) is not the one the \d+ entries in .+ were recorded with: every code issued would look never issued, and could be issued again/,
    );
    expect(await refusal({ signingSeed: new Uint8Array(32).fill(7) })).to.match(
      /^the newest checkpoint in .+ \(size \d+\) is not signed by the checkpoint key given \(SIGNING_KEY, or DATA_DIR\/secrets\/checkpoint-ed25519\.key\): .+ this key's is test\.keyproof\.example\/log\+[0-9a-f]{8}\+/,
    );
    // A directory from before the check takes the pepper it is opened with, then holds to it.
    ledger = await openLedger(dir);
    await ledger.db.del(K.pepperCheck);
    await ledger.close();
    ledger = await openLedger(dir);
    expect(codes(await ledger.submit({ actor: "acme", requests: [{ type: "issue", code: "PEPPER-0001", sku: "s" }] }))).to.deep.equal([
      "DUPLICATE_KEY",
    ]);
    await ledger.close();
    expect(await refusal({ pepper: new Uint8Array(32).fill(7) })).to.match(/^the pepper given/);
    ledger = await openLedger(dir);
  });

  it("a size chosen for anchoring answers proofs from its view and, after a restart, from its kept history alike; other past sizes are refused; views beyond the newest four are dropped", async () => {
    const issue = async (from: number, n: number): Promise<string[]> => {
      const r = await ledger.submit({
        actor: "acme",
        requests: Array.from({ length: n }, (_, i) => ({ type: "issue", code: `VIEW-${from + i}-KEY`, sku: "s" })),
      });
      return r.results.map((x) => (x.ok ? x.key! : ""));
    };
    const keys = await issue(0, 40);
    const kept = await ledger.checkpointToAnchor();
    expect(kept).to.deep.equal(ledger.checkpoint.checkpoint);
    expect(ledger.keepMapView(kept.size)).to.equal(true);
    const early = kept.size - 10n;
    expect(ledger.keepMapView(early)).to.equal(false); // no view of a size that was never the newest while asked
    keys.push(...(await issue(40, 25)));
    // Changes after the kept size: sales of earlier keys, so the newest map differs on their paths.
    await ledger.submit({ actor: "acme", requests: keys.slice(0, 10).map((key, i) => ({ type: "sell", key, order: `o-${i}` })) });
    const absent = keyCommitment(new Uint8Array(32), "NEVER-ISSUED");
    const fromView = await Promise.all([...keys, absent].map((k) => ledger.mapProof(k, kept.size)));
    await ledger.close();
    ledger = await openLedger(dir); // views are in memory only: now the same proofs come from the history
    const fromHistory = await Promise.all([...keys, absent].map((k) => ledger.mapProof(k, kept.size)));
    expect(fromView).to.deep.equal(fromHistory);
    // The size after the later keys was published, never kept: no view of it now, and no history.
    const unkept = kept.size + 25n;
    expect(await ledger.checkpointAt(unkept)).to.be.a("string");
    expect(await ledger.mapProof(keys[0]!, unkept).catch((e: unknown) => e)).to.be.instanceOf(MapVersionGone);
    const asked = [...keys, absent];
    fromView.forEach((proof, i) => {
      if (proof.leaf?.key === asked[i]) verifyMembership(fromHex(asked[i]!), fromHex(proof.leaf!.stateHash), proof, kept.mapRoot);
      else verifyAbsence(fromHex(asked[i]!), proof, kept.mapRoot);
    });
    // The 25 later keys were absent at that size, and the 10 sales are not in it.
    expect(fromView.filter((p, i) => p.leaf?.key === asked[i]).length).to.equal(40);

    // Four views are kept; pinning a fifth drops the oldest.
    const sizes: bigint[] = [];
    for (let round = 0; round < 5; round++) {
      await issue(1000 + round * 10, 3);
      sizes.push(ledger.size);
      expect(ledger.keepMapView(ledger.size)).to.equal(true);
    }
    await issue(2000, 3);
    expect(ledger.keepMapView(sizes[0]!)).to.equal(false);
    for (const size of sizes.slice(1)) expect(ledger.keepMapView(size)).to.equal(true);
  });

  it("replays an idempotent submission without appending", async () => {
    const sub = { actor: "acme", idempotencyKey: "batch-1", requests: [{ type: "issue", code: "IDEM-0001", sku: "s" }] };
    const [a, b] = await Promise.all([ledger.submit(sub), ledger.submit(sub)]);
    const c = await ledger.submit(sub);
    expect(b).to.deep.equal(a);
    expect(c).to.deep.equal(a);
    expect(ledger.size).to.equal(5n);
  });

  it("refuses an idempotency key reused for other events, in the same group or later, and appends nothing for it", async () => {
    const first = { actor: "acme", idempotencyKey: "batch-2", requests: [{ type: "issue", code: "IDEM-0002", sku: "s" }] };
    const other = { ...first, requests: [{ type: "issue", code: "IDEM-0003", sku: "s" }] };
    // Submitted together: one group, the second a twin of the first with other events.
    const [a, twin] = await Promise.allSettled([ledger.submit(first), ledger.submit(other)]);
    expect(a.status).to.equal("fulfilled");
    expect(twin).to.deep.include({ status: "rejected" });
    expect((twin as PromiseRejectedResult).reason).to.deep.include({ code: "IDEMPOTENCY_KEY_REUSED" });
    const size = ledger.size;
    const again = await ledger.submit(other).then(
      () => null,
      (e: unknown) => e,
    );
    expect(again).to.deep.include({ code: "IDEMPOTENCY_KEY_REUSED" });
    // The same events under the key still replay.
    expect(await ledger.submit(first)).to.deep.equal((a as PromiseFulfilledResult<SubmitAnswer>).value);
    expect(ledger.size).to.equal(size);
    expect(await ledger.lookupCode("IDEM-0003")).to.equal(undefined);
  });

  it("keeps the fingerprint of an idempotent request's events under the pepper, not as a hash a code could be searched in", async () => {
    const requests = [{ type: "issue", code: "IDEM-0004", sku: "s" }];
    const stored = async (l: Ledger): Promise<string> => {
      await l.submit({ actor: "acme", idempotencyKey: "batch-4", requests });
      return (JSON.parse(fromUtf8((await l.db.get(K.idempotency("acme", "batch-4")))!)) as { request: string }).request;
    };
    const here = await stored(ledger);
    expect(here).to.not.equal(toHex(sha256(utf8(canonicalize(requests)))));
    const other = await openTestLedger({ pepper: new Uint8Array(32).fill(7) });
    try {
      expect(await stored(other.ledger)).to.not.equal(here);
    } finally {
      await closeTestLedger(other.ledger, other.dir);
    }
  });

  it("forgets Idempotency-Key answers stored before a time; a request that comes again later is taken as new", async () => {
    let now = new Date("2026-12-01T00:00:00Z");
    const clocked = await openTestLedger({ now: () => now });
    try {
      const sub = { actor: "acme", idempotencyKey: "batch-5", requests: [{ type: "issue", code: "IDEM-0005", sku: "s" }] };
      const first = await clocked.ledger.submit(sub);
      now = new Date("2026-12-20T00:00:00Z");
      await clocked.ledger.submit({ ...sub, idempotencyKey: "batch-6", requests: [{ type: "issue", code: "IDEM-0006", sku: "s" }] });
      expect(await clocked.ledger.forgetReplaysBefore(new Date("2026-11-30T00:00:00Z"))).to.equal(0);
      expect(await clocked.ledger.submit(sub)).to.deep.equal(first); // still a replay
      expect(await clocked.ledger.forgetReplaysBefore(new Date("2026-12-10T00:00:00Z"))).to.equal(1);
      const size = clocked.ledger.size;
      // Taken as new: the state machine refuses what it already did, and nothing is appended.
      expect(codes(await clocked.ledger.submit(sub))).to.deep.equal(["DUPLICATE_KEY"]);
      expect(clocked.ledger.size).to.equal(size);
      // The newer one is kept: its events replay.
      const again = await clocked.ledger.submit({
        ...sub,
        idempotencyKey: "batch-6",
        requests: [{ type: "issue", code: "IDEM-0006", sku: "s" }],
      });
      expect(codes(again)).to.deep.equal(["ok"]);
      expect(clocked.ledger.size).to.equal(size);
    } finally {
      await closeTestLedger(clocked.ledger, clocked.dir);
    }
  });

  it("never records a time before the newest one; a clock behind it is reported, at most once a minute", async () => {
    let now = new Date("2026-12-02T10:00:00Z");
    const behind: { clock: string; recorded: string }[] = [];
    const clocked = await openTestLedger({ now: () => now, onClockBehind: (info) => behind.push(info) });
    const timeOf = async (a: SubmitAnswer): Promise<string> => {
      const r = a.results[0]!;
      if (!r.ok) throw new Error("refused");
      const [entry] = await clocked.ledger.log.entries(BigInt(r.index), BigInt(r.index) + 1n);
      return (JSON.parse(fromUtf8(entry!)) as { time: string }).time;
    };
    try {
      const issue = (code: string) => clocked.ledger.submit({ actor: "acme", requests: [{ type: "issue", code, sku: "s" }] });
      expect(await timeOf(await issue("CLOCK-0001"))).to.equal("2026-12-02T10:00:00.000Z");
      now = new Date("2026-12-02T09:59:59.500Z"); // a small step back: not worth a word
      expect(await timeOf(await issue("CLOCK-0002"))).to.equal("2026-12-02T10:00:00.000Z");
      expect(behind).to.deep.equal([]);
      now = new Date("2026-12-02T09:00:00Z"); // set back an hour
      expect(await timeOf(await issue("CLOCK-0003"))).to.equal("2026-12-02T10:00:00.000Z");
      expect(await timeOf(await issue("CLOCK-0004"))).to.equal("2026-12-02T10:00:00.000Z");
      expect(behind).to.deep.equal([{ clock: "2026-12-02T09:00:00.000Z", recorded: "2026-12-02T10:00:00.000Z" }]);
      now = new Date("2026-12-02T10:00:05Z"); // past it again
      expect(await timeOf(await issue("CLOCK-0005"))).to.equal("2026-12-02T10:00:05.000Z");
      expect(behind).to.have.length(1);
    } finally {
      await closeTestLedger(clocked.ledger, clocked.dir);
    }
  });

  it("forgets expired Idempotency-Key answers through their expiry keys, without reading the kept ones; a directory from before them is indexed by its first sweep", async () => {
    let now = new Date("2026-12-01T00:00:00Z");
    const clocked = await openTestLedger({ now: () => now });
    const db = clocked.ledger.db;
    // The ranges the sweep reads: the answers ("d") only where it has to.
    const scanned: string[] = [];
    const iterator = db.iterator.bind(db);
    const keys = db.keys.bind(db);
    const note = (o?: { gte?: Uint8Array }): void => void scanned.push(o?.gte ? String.fromCharCode(o.gte[0]!) : "?");
    db.iterator = ((o?: { gte?: Uint8Array }) => (note(o), iterator(o as never))) as typeof db.iterator;
    db.keys = ((o?: { gte?: Uint8Array }) => (note(o), keys(o as never))) as typeof db.keys;
    try {
      const store = async (key: string, at: string) => {
        now = new Date(at);
        await clocked.ledger.submit({ actor: "acme", idempotencyKey: key, requests: [{ type: "issue", code: `EXP-${key}`, sku: "s" }] });
      };
      await store("a", "2026-12-01T00:00:00Z");
      await store("b", "2026-12-05T00:00:00Z");
      await store("c", "2026-12-09T00:00:00Z");
      const kept = async () => (await db.keys(K.idempotencyRange).all()).map((k) => fromUtf8(k).split("\0")[1]);

      const sweep = async (before: string): Promise<{ forgotten: number; read: string[] }> => {
        scanned.length = 0;
        const forgotten = await clocked.ledger.forgetReplaysBefore(new Date(before));
        return { forgotten, read: [...new Set(scanned)] };
      };
      expect(await sweep("2026-12-03T00:00:00Z")).to.deep.equal({ forgotten: 1, read: ["x"] });
      expect(await kept()).to.deep.equal(["b", "c"]);

      // As a directory from before expiry keys: none, and no mark.
      await db.clear({ gte: utf8("x"), lt: utf8("y") });
      await db.del(K.idempotencyIndexed);
      // Its first sweep reads every answer once.
      expect(await sweep("2026-12-07T00:00:00Z")).to.deep.equal({ forgotten: 1, read: ["d"] });
      expect(await kept()).to.deep.equal(["c"]);
      expect(await db.get(K.idempotencyIndexed)).to.not.equal(undefined);

      // Then the expiry keys only again: the one it gave "c" among them.
      expect(await sweep("2026-12-10T00:00:00Z")).to.deep.equal({ forgotten: 1, read: ["x"] });
      expect(await kept()).to.deep.equal([]);
      expect(await db.keys({ gte: utf8("x"), lt: utf8("y") }).all()).to.deep.equal([]);
    } finally {
      await closeTestLedger(clocked.ledger, clocked.dir);
    }
  });

  it("keeps an Idempotency-Key answer by reference (bytes, not kilobytes, for 1,000 events) and rebuilds it exactly, refusals in place, after a restart too", async () => {
    const requests = Array.from({ length: 1000 }, (_, i) =>
      // Every 100th row repeats an earlier code: refused, between accepted events.
      ({ type: "issue", code: `REF-${i % 100 === 99 ? i - 1 : i}`, sku: "s" }),
    );
    const sub = { actor: "acme", idempotencyKey: "import-1", requests };
    const first = await ledger.submit(sub);
    expect(codes(first).filter((c) => c === "DUPLICATE_KEY")).to.have.length(10);
    const stored = (await ledger.db.get(K.idempotency("acme", "import-1")))!;
    // The whole answer was 175 bytes an event; by reference it is the refusals and a few numbers.
    expect(stored.length).to.be.below(2000);
    expect(await ledger.submit(sub)).to.deep.equal(first);
    await ledger.close();
    ledger = await openLedger(dir);
    expect(await ledger.submit(sub)).to.deep.equal(first);
    expect(ledger.size).to.equal(4n + 990n);
    // All refused: the answer refers to the checkpoint it carried.
    const refused = { actor: "acme", idempotencyKey: "import-2", requests: [requests[0], { type: "sell", code: "NO-SUCH", order: "o-1" }] };
    const none = await ledger.submit(refused);
    expect(codes(none)).to.deep.equal(["DUPLICATE_KEY", "UNKNOWN_KEY"]);
    expect(await ledger.submit(refused)).to.deep.equal(none);
  });

  it("replays an answer whose batch is still being written (the next group sees it staged)", async () => {
    const prepared = watchPrepared(ledger);
    const release = slowNextWrite(ledger);
    const issue = (code: string) => ({ type: "issue", code, sku: "s" });
    const sub = { actor: "acme", idempotencyKey: "staged-1", requests: [issue("STAGED-1"), issue("STAGED-1")] };
    const before = ledger.size;
    const first = ledger.submit(sub);
    await prepared(1);
    // In the next group, with a submission that makes it a group the watcher
    // counts and one large enough to be prepared during the write.
    const again = ledger.submit(sub);
    const other = ledger.submit({ actor: "acme", requests: Array.from({ length: OVERLAP_REQUESTS }, (_, i) => issue(`STAGED-2-${i}`)) });
    await prepared(2);
    expect(await ledger.db.get(K.idempotency("acme", "staged-1"))).to.equal(undefined); // not on disk yet
    release();
    const [a, b] = await Promise.all([first, again, other]);
    expect(codes(a!)).to.deep.equal(["ok", "DUPLICATE_KEY"]);
    expect(b).to.deep.equal(a);
    expect(ledger.size).to.equal(before + 1n + BigInt(OVERLAP_REQUESTS));
    expect(await ledger.submit(sub)).to.deep.equal(a);
  });

  it("replays an answer stored before idempotency keys kept a fingerprint of their events", async () => {
    const answer = { results: [{ ok: true, index: 4, key: null, leafHash: "00".repeat(32) }], checkpoint: "old" };
    await ledger.db.put(K.idempotency("acme", "legacy-1"), utf8(JSON.stringify(answer)));
    expect(await ledger.submit({ actor: "acme", idempotencyKey: "legacy-1", requests: [] })).to.deep.equal(answer);
    // Nothing says when it was stored: it never expires.
    expect(await ledger.forgetReplaysBefore(new Date("2100-01-01T00:00:00Z"))).to.equal(0);
  });

  it("pipelined groups see each other: issue and sell in concurrent submissions, duplicates across groups", async () => {
    await closeTestLedger(ledger, dir);
    ({ dir, ledger } = await openTestLedger({ maxBatchEvents: 3 }));
    // Submitted together: the first group is being written while the next is prepared on top of it.
    const subs = Array.from({ length: 6 }, (_, i) => ({
      actor: "acme",
      requests: [
        { type: "issue", code: `PIPE-${i}-KEY`, sku: "s" },
        { type: "sell", code: `PIPE-${Math.max(0, i - 1)}-KEY`, order: `o${i}` },
        { type: "issue", code: `PIPE-${Math.max(0, i - 1)}-KEY`, sku: "s" },
      ],
      idempotencyKey: i === 5 ? "same" : undefined,
    }));
    subs.push({ ...subs[5]! });
    const answers = await Promise.all(subs.map((s) => ledger.submit(s)));
    expect(codes(answers[0]!)).to.deep.equal(["ok", "ok", "DUPLICATE_KEY"]);
    expect(codes(answers[1]!)).to.deep.equal(["ok", "DOUBLE_SALE", "DUPLICATE_KEY"]);
    for (let i = 2; i < 6; i++) expect(codes(answers[i]!)).to.deep.equal(["ok", "ok", "DUPLICATE_KEY"]);
    expect(answers[6]).to.deep.equal(answers[5]);
    // Each submission was its own group (at most 3 events a group), each with its own checkpoint.
    expect(new Set(answers.slice(0, 6).map((a) => a.checkpoint)).size).to.equal(6);
    expect(ledger.size).to.equal(4n + 2n + 1n + 4n * 2n);
  });

  it("single events that arrive during a slow write wait for it, then go out as one group with one checkpoint", async () => {
    const writes: number[] = [];
    ledger.onBatch = ({ write }) => writes.push(write);
    const prepared = watchPrepared(ledger);
    const release = slowNextWrite(ledger);
    const first = ledger.submit({ actor: "acme", requests: [{ type: "issue", code: "WAIT-0000", sku: "s" }] });
    await prepared(1);
    const later = Array.from({ length: OVERLAP_REQUESTS - 1 }, (_, i) =>
      ledger.submit({ actor: "acme", requests: [{ type: "issue", code: `WAIT-${i + 1}`, sku: "s" }] }),
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(writes, "the first write is held").to.deep.equal([]);
    release();
    const answers = await Promise.all(later);
    expect(codes(await first)).to.deep.equal(["ok"]);
    expect(answers.map(codes).flat()).to.deep.equal(Array(OVERLAP_REQUESTS - 1).fill("ok"));
    expect(new Set(answers.map((a) => a.checkpoint)).size, "one group").to.equal(1);
    expect(writes).to.deep.equal([writes[0], writes[0]! + 1]);
  });

  it("with overlapRequests 1, small groups that arrive during a slow write are prepared during it and share the next write, each with its own checkpoint", async () => {
    await closeTestLedger(ledger, dir);
    ({ dir, ledger } = await openTestLedger({ overlapRequests: 1 }));
    const writes: number[] = [];
    ledger.onBatch = ({ write }) => writes.push(write);
    const prepared = watchPrepared(ledger);
    const release = slowNextWrite(ledger);
    const first = ledger.submit({ actor: "acme", requests: [{ type: "issue", code: "SLOW-0000", sku: "s" }] });
    await prepared(1);
    // Each submission comes once the one before it is prepared: each is its own group, prepared while the first write waits.
    const later: Promise<SubmitAnswer>[] = [];
    for (let i = 1; i <= 5; i++) {
      later.push(ledger.submit({ actor: "acme", requests: [{ type: "issue", code: `SLOW-000${i}`, sku: "s" }] }));
      await prepared(1 + i);
    }
    // A large group does not join them: it would hold their write back while it is prepared.
    const large = ledger.submit({
      actor: "acme",
      requests: Array.from({ length: 1000 }, (_, i) => ({ type: "issue", code: `LARGE-${i}`, sku: "s" })),
    });
    expect(writes).to.deep.equal([]);
    release();
    const answers = await Promise.all([first, ...later]);
    expect(answers.map(codes).flat()).to.deep.equal(Array(6).fill("ok"));
    expect(new Set(answers.map((a) => a.checkpoint)).size).to.equal(6);
    expect(codes(await large)).to.deep.equal(Array(1000).fill("ok"));
    expect(writes).to.have.length(7);
    expect(new Set(writes).size).to.equal(3);
    expect(writes.slice(1, 6).every((w) => w === writes[1])).to.equal(true);
    expect(writes[6]).to.be.greaterThan(writes[1]!);
    await ledger.close();
    ledger = await openLedger(dir);
    expect(ledger.size).to.equal(4n + 6n + 1000n);
    for (const a of answers) {
      const { index, key } = a.results[0] as { index: number; key: string };
      expect(JSON.parse(await ledger.entry(BigInt(index))).key).to.equal(key);
    }
  });

  it("a group whose reads or batch fail is refused; alone it leaves the ledger going, beside groups awaiting one write it stops the ledger; a failed map update stops it", async () => {
    await closeTestLedger(ledger, dir);
    // A node cache of 8: the map update reads LevelDB. Single events prepared during a write, so that two share a batch.
    ({ dir, ledger } = await openTestLedger({ mapCacheSize: 8, overlapRequests: 1 }));
    const failReads = (prefix: string): (() => void) =>
      onReads(ledger.db, (keys) => {
        if (keys.some((k) => k[0] === prefix.charCodeAt(0))) throw new Error("injected read failure");
      });
    const issue = (code: string) => ledger.submit({ actor: "acme", requests: [{ type: "issue", code, sku: "s" }] });
    // Keys enough that a new one's path is not all in the cache.
    await ledger.submit({
      actor: "acme",
      requests: Array.from({ length: 32 }, (_, i) => ({ type: "issue", code: `FILL-${i}-CODE`, sku: "s" })),
    });

    // Alone, failing while it reads what it validates against (the code index): the group goes with its batch, the next one is appended.
    let restore = failReads("i");
    await expectRejected(issue("FAIL-0001"), /injected read failure/);
    restore();
    expect(codes(await issue("FAIL-0001"))).to.deep.equal(["ok"]);
    expect(ledger.size).to.equal(4n + 32n + 1n);

    // No batch to be had: the group is refused, the next one is appended.
    onNextBatches(ledger, 1, () => {
      throw new Error("injected batch failure");
    });
    await expectRejected(issue("FAIL-0002"), /injected batch failure/);
    expect(codes(await issue("FAIL-0002"))).to.deep.equal(["ok"]);

    // Beside a group prepared into the same batch, failing after it wrote into the batch (its map update): neither is written, and nothing after.
    const prepared = watchPrepared(ledger);
    const release = slowNextWrite(ledger);
    const slow = issue("FAIL-0003");
    await prepared(1);
    const sharing = issue("FAIL-0004");
    await prepared(2);
    restore = failReads("m");
    const failing = issue("FAIL-0005");
    await expectRejected(failing, /injected read failure/);
    restore();
    release();
    expect(codes(await slow)).to.deep.equal(["ok"]);
    // The ledger stopped: what the clients are told is STORAGE_UNAVAILABLE, whatever the cause.
    await expectRejected(sharing, /^the ledger stopped writing .*\(cause: injected read failure\)$/);
    await expectRejected(issue("FAIL-0006"), /^the ledger stopped writing .*\(cause: injected read failure\)$/);
    expect(ledger.writeFailure?.code).to.equal("STORAGE_UNAVAILABLE");
    await ledger.close();
    ledger = await openLedger(dir, { mapCacheSize: 8 });
    expect(ledger.size).to.equal(4n + 32n + 3n);
    expect(codes(await issue("FAIL-0004"))).to.deep.equal(["ok"]);

    // The map's update, even alone: the next group may already be prepared on top of it, so writing stops.
    restore = failReads("m");
    await expectRejected(issue("FAIL-0007"), /injected read failure/);
    restore();
    await expectRejected(issue("FAIL-0008"), /^the ledger stopped writing .*\(cause: injected read failure\)$/);
    await ledger.close();
    ledger = await openLedger(dir);
    expect(ledger.size).to.equal(4n + 32n + 4n);
    expect(codes(await issue("FAIL-0007"))).to.deep.equal(["ok"]);
  });

  it("every proof it produces verifies, and its roots match a from-scratch rebuild (random valid and invalid sequences, property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(requestArb, { minLength: 1, maxLength: 25 }), { minLength: 1, maxLength: 12 }),
        fc.nat(3),
        // A node cache of 8 evicts all the time: nodes then come from LevelDB.
        fc.constantFrom(undefined, 8),
        // The map updated on its own thread (the service's default) or on the ledger's.
        fc.boolean(),
        async (rounds, actorSeed, mapCacheSize, mapThread) => {
          const t = await openTestLedger({ mapCacheSize, mapThread });
          try {
            await checkLedger(t.ledger, rounds, actorSeed);
          } finally {
            await closeTestLedger(t.ledger, t.dir);
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});

const ACTORS = ["acme", "globex", "shop-a", "shop-b", "ghost"];
const codeArb = fc.oneof(
  fc.nat(40).map((k) => `K-${k}-CODE`),
  fc.constantFrom("", "ab", "\u0001\u0002bad-code", 42 as unknown as string),
);
const requestArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ type: fc.constant("issue"), code: codeArb, sku: fc.constantFrom("sku", "") }),
  fc.record({ type: fc.constant("transfer"), code: codeArb, to: fc.constantFrom(...ACTORS) }),
  fc.record({ type: fc.constant("sell"), code: codeArb, order: fc.constantFrom("o1", "o2", "") }),
  fc.record({ type: fc.constant("redeem"), code: codeArb }),
  fc.record({ type: fc.constant("void"), code: codeArb, reason: fc.constant("r") }),
  fc.record({ type: fc.constantFrom("mint", "sell"), key: fc.constantFrom("zz", "0".repeat(64)) }),
  fc.anything(),
);

/**
 * Submits rounds (pairs of them concurrently, so that groups pipeline), one
 * checkpoint chosen for anchoring while a pair is being prepared, then checks
 * every proof against a rebuild.
 */
async function checkLedger(ledger: Ledger, rounds: unknown[][], actorSeed: number): Promise<void> {
  const checkpoints: { size: bigint; note: string }[] = [];
  let chosen: Promise<Checkpoint> | undefined;
  for (let r = 0; r < rounds.length; r += 2) {
    const batch = rounds.slice(r, r + 2).map((requests, j) => ({ actor: ACTORS[(actorSeed + r + j) % ACTORS.length]!, requests }));
    const submitted = batch.map((b) => ledger.submit(b));
    if (r === 2 * Math.floor((rounds.length - 1) / 4)) chosen = ledger.checkpointToAnchor();
    const answers = await Promise.all(submitted);
    for (const a of answers) {
      checkpoints.push({ size: openCheckpoint(a.checkpoint, ledger.verifierKey).size, note: a.checkpoint });
      for (const x of a.results) if (!x.ok) expect(x.error.code).to.match(/^[A-Z_]+$/);
    }
  }
  // Rebuild log and map from the entries alone, through an auditor's replay.
  const size = ledger.size;
  const entries = await ledger.log.entries(0n, size);
  const tree = new MemoryTree();
  const map = new MemoryMap();
  const replay = new Replayer();
  const logRootsAt = new Map<bigint, string>();
  const mapRootsAt = new Map<bigint, string>();
  const cpSizes = new Set(checkpoints.map((c) => c.size));
  const eventsOf = new Map<string, bigint[]>();
  for (const e of entries) {
    const event = decodeEntry(e);
    if (event.type !== "participant") eventsOf.set(event.key, [...(eventsOf.get(event.key) ?? []), BigInt(tree.size)]);
    const { leaf, findings } = replay.apply(e);
    expect(findings.filter((f) => f.code !== "REDEEMED_WITHOUT_SALE")).to.deep.equal([]);
    tree.appendLeaf(leaf);
    if (cpSizes.has(tree.size)) {
      await map.update(replay.takeDirty().map((k) => ({ key: fromHex(k), stateHash: stateHash(replay.states.get(k)!) })));
      logRootsAt.set(tree.size, toHex(tree.root()));
      mapRootsAt.set(tree.size, toHex(await map.root()));
    }
  }
  const states = replay.states;
  const latest = openCheckpoint(ledger.checkpoint.note, ledger.verifierKey);
  expect(toHex(latest.logRoot)).to.equal(toHex(tree.root()));
  expect(toHex(latest.mapRoot)).to.equal(toHex(await map.root()));
  for (const cp of checkpoints) {
    const c = openCheckpoint(cp.note, ledger.verifierKey);
    expect(toHex(c.logRoot)).to.equal(logRootsAt.get(c.size));
    expect(toHex(c.mapRoot)).to.equal(mapRootsAt.get(c.size));
    if (c.size > 0n && c.size < size)
      verifyConsistency(c.size, size, c.logRoot, latest.logRoot, await ledger.log.consistencyProof(c.size, size));
  }
  for (let i = 0n; i < size; i += 7n) {
    verifyInclusion(i, size, tree.leaf(i), await ledger.log.inclusionProof(i, size), latest.logRoot);
    const mid = checkpoints[Number(i) % checkpoints.length]!.size;
    if (i < mid) verifyInclusion(i, mid, tree.leaf(i), await ledger.log.inclusionProof(i, mid), tree.root(mid));
  }
  for (const key of states.keys()) {
    const s = (await ledger.keyState(key))!;
    expect(s).to.deep.equal(states.get(key));
    // States are hashed as the machine builds them: each must be exactly what the schema allows.
    expect(keyState.parse(s)).to.deep.equal(s);
    verifyMembership(fromHex(key), stateHash(s), await ledger.mapProof(key), latest.mapRoot);
    // Its stored record lists exactly the log indices of its events, oldest first.
    expect(await ledger.keyRecord(key)).to.deep.equal({ state: s, indices: eventsOf.get(key) });
  }
  // Map proofs at the checkpoint chosen for anchoring verify against its map
  // root, the one the rebuild had at that size; other past sizes are refused.
  const early = (await chosen)!;
  expect(toHex(early.mapRoot)).to.equal(mapRootsAt.get(early.size) ?? toHex(EMPTY_SUBTREE));
  for (const key of states.keys()) {
    const proof = await ledger.mapProof(key, early.size);
    if (proof.leaf?.key === key) verifyMembership(fromHex(key), fromHex(proof.leaf.stateHash), proof, early.mapRoot);
    else verifyAbsence(fromHex(key), proof, early.mapRoot);
  }
  const absent = keyCommitment(new Uint8Array(32), "NEVER-ISSUED");
  verifyAbsence(fromHex(absent), await ledger.mapProof(absent), latest.mapRoot);
  for (const { size: past } of checkpoints.filter((c) => c.size > 0n && c.size < size && c.size !== early.size)) {
    expect(await ledger.mapProof(absent, past).catch((e: unknown) => e), `size ${past}`).to.be.instanceOf(MapVersionGone);
  }
}

/** Holds the ledger's next LevelDB write back until the returned function is called. */
function slowNextWrite(ledger: Ledger): () => void {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  onNextBatches(ledger, 1, (b) => {
    const write = b.write.bind(b);
    (b as { write: unknown }).write = async (o: object) => {
      await released;
      return write(o);
    };
  });
  return release;
}

/**
 * Counts the groups prepared from now on (a group's last write into its
 * batch is the meta record); the function returned settles once there are
 * `n` of them.
 */
function watchPrepared(ledger: Ledger): (n: number) => Promise<void> {
  let count = 0;
  let waiter: { n: number; resolve: () => void } | null = null;
  const check = (): void => {
    if (waiter && count >= waiter.n) {
      waiter.resolve();
      waiter = null;
    }
  };
  onNextBatches(ledger, Infinity, (b) => {
    const put = b.put.bind(b);
    (b as { put: unknown }).put = (key: Uint8Array, value: Uint8Array) => {
      const r = put(key, value);
      // What follows the meta record in the same step finishes the group.
      if (key[0] === "M".charCodeAt(0))
        setImmediate(() => {
          count++;
          check();
        });
      return r;
    };
  });
  return (n) =>
    new Promise((resolve) => {
      waiter = { n, resolve };
      check();
    });
}

/** `p` rejects with an error whose message, or whose cause's, matches. */
async function expectRejected(p: Promise<unknown>, message: RegExp): Promise<void> {
  const text = (e: unknown): string => (e instanceof Error ? `${e.message}${e.cause ? ` (cause: ${text(e.cause)})` : ""}` : String(e));
  const outcome = await p.then(() => "resolved", text);
  expect(outcome).to.match(message);
}
