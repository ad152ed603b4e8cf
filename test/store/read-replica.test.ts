import { expect } from "chai";
import { buildBundle, type LogInfo } from "../../service/bundle.js";
import { toHex } from "../../service/core/bytes.js";
import { logIdOf, openCheckpoint } from "../../service/core/index.js";
import { verifyBundle } from "../../service/core/bundle/verify.js";
import type { Ledger } from "../../service/store/ledger.js";
import type { LedgerUpdate } from "../../service/store/ledger-reads.js";
import { ReadReplica } from "../../service/store/read-replica.js";
import { cleanup, closeTestLedger, openTestLedger, ORIGIN, PEPPER, tempDir } from "../helpers/ledger.js";

const CONTRACT = `0x${"ab".repeat(20)}`;

describe("read replica (store/read-replica.ts)", function () {
  this.timeout(30_000);
  let dir: string;
  let ledger: Ledger;
  let replica: ReadReplica;
  /** The ledger's updates not yet given to the replica: a test lets them go when it wants. */
  let held: LedgerUpdate[];
  let holding: boolean;
  let info: LogInfo;

  const release = (): void => {
    for (const u of held.splice(0)) replica.apply(u);
  };
  const sell = (code: string, order: string) => ledger.submit({ actor: "acme", requests: [{ type: "sell", code, order }] });
  const issue = (...codes: string[]) =>
    ledger.submit({ actor: "acme", requests: codes.map((code) => ({ type: "issue" as const, code, sku: "s" })) });

  beforeEach(async () => {
    ({ dir, ledger } = await openTestLedger());
    ledger.follow((u) => {
      held.push(u);
      if (!holding) release();
    });
    held = [];
    holding = false;
    replica = await ReadReplica.open(`${dir}`, PEPPER, ledger.checkpoint);
    info = { origin: ORIGIN, verifierKey: ledger.verifierKey, logId: logIdOf(ORIGIN), chainId: 31337, contract: CONTRACT };
  });
  afterEach(async () => {
    await replica.close();
    await closeTestLedger(ledger, dir);
  });

  it("builds the bundle the ledger builds, for keys with one event and with several", async () => {
    await issue("REP-0001", "REP-0002", "REP-0003");
    await sell("REP-0002", "ORD-2");
    await ledger.submit({ actor: "acme", requests: [{ type: "redeem", code: "REP-0002" }] });
    await issue("REP-0004");
    expect(replica.checkpoint).to.deep.equal(ledger.checkpoint);
    for (const code of ["REP-0001", "REP-0002", "REP-0004"]) {
      const mine = await buildBundle(replica, info, code);
      expect(mine).to.deep.equal(await buildBundle(ledger, info, code));
      expect((await verifyBundle(mine, { code, trusted: { verifierKey: ledger.verifierKey } })).ok).to.equal(true);
    }
    expect((await buildBundle(replica, info, "REP-0002")).events).to.have.length(3);
  });

  it("proves against the checkpoint it was told of, behind the ledger's", async () => {
    await issue("BEHIND-01");
    const told = ledger.checkpoint;
    holding = true;
    await issue("BEHIND-02", "BEHIND-03");
    expect(replica.checkpoint).to.deep.equal(told);
    const bundle = await buildBundle(replica, info, "BEHIND-01");
    expect(bundle.checkpoint).to.equal(told.note);
    expect((await verifyBundle(bundle, { code: "BEHIND-01" })).ok).to.equal(true);
    // A key issued after it is in the store, but no checkpoint it knows holds it yet.
    const waiting = buildBundle(replica, info, "BEHIND-02");
    await new Promise((r) => setTimeout(r, 50));
    release();
    const later = await waiting;
    expect(later.checkpoint).to.equal(ledger.checkpoint.note);
    expect((await verifyBundle(later, { code: "BEHIND-02" })).ok).to.equal(true);
  });

  it("waits for the checkpoint of a key's newest event, and says so when none comes", async () => {
    await issue("WAIT-01");
    holding = true;
    await sell("WAIT-01", "ORD-W");
    // The store has the sale; the replica's checkpoint does not.
    const pending = buildBundle(replica, info, "WAIT-01");
    await new Promise((r) => setTimeout(r, 50));
    release();
    const b = await pending;
    expect(b.state.status).to.equal("sold");
    expect((await verifyBundle(b, { code: "WAIT-01", order: "ORD-W" })).ok).to.equal(true);

    holding = true;
    await ledger.submit({ actor: "acme", requests: [{ type: "redeem", code: "WAIT-01" }] });
    const err = await buildBundle(replica, info, "WAIT-01").then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(/is newer than every checkpoint published$/);
  });

  it("follows the anchors the ledger records: a bundle cites the newest confirmed one, and none once it is removed", async () => {
    await issue("ANCH-01");
    const size = Number(ledger.size);
    const { logRoot, mapRoot } = ledger.checkpoint.checkpoint;
    const rec = {
      size,
      logRoot: toHex(logRoot),
      mapRoot: toHex(mapRoot),
      chainId: 31337,
      contract: CONTRACT,
      txHash: `0x${"cd".repeat(32)}`,
    };
    expect(ledger.keepMapView(BigInt(size))).to.equal(true);
    await ledger.anchors.put({ ...rec, blockNumber: 7, status: "confirmed" });
    await issue("ANCH-02");
    expect(replica.map.isPinned(BigInt(size))).to.equal(true);
    const anchored = await buildBundle(replica, info, "ANCH-01");
    expect(anchored.anchor).to.deep.equal({ size, txHash: rec.txHash, blockNumber: 7 });
    expect(anchored).to.deep.equal(await buildBundle(ledger, info, "ANCH-01"));
    await ledger.anchors.remove(size);
    ledger.releaseMapView(BigInt(size));
    expect(replica.map.isPinned(BigInt(size))).to.equal(false);
    const after = await buildBundle(replica, info, "ANCH-01");
    expect(after.anchor).to.equal(null);
    expect(after.checkpoint).to.equal(ledger.checkpoint.note);
  });

  it("takes the store's own size, with its checkpoint, when the batch after the one it is told of has landed already", async () => {
    holding = true;
    await issue("AHEAD-01");
    await issue("AHEAD-02");
    // Only the first publication reaches it; the store holds the second batch already.
    replica.apply(held.shift()!);
    expect(replica.checkpoint).to.deep.equal(ledger.checkpoint);
    const bundle = await buildBundle(replica, info, "AHEAD-02");
    expect(bundle.checkpoint).to.equal(ledger.checkpoint.note);
    expect((await verifyBundle(bundle, { code: "AHEAD-02", trusted: { verifierKey: ledger.verifierKey } })).ok).to.equal(true);
    release(); // the second publication: not newer than what it holds
    expect(replica.checkpoint).to.deep.equal(ledger.checkpoint);
  });

  it("cites, past an anchor whose map the store did not keep (sent by another anchorer), the newest kept one that covers the key, or none", async () => {
    const confirm = async (size: bigint): Promise<void> => {
      const c = (await ledger.checkpointAt(size))!;
      const { logRoot, mapRoot } = openCheckpoint(c, ledger.verifierKey);
      const rec = { size: Number(size), logRoot: toHex(logRoot), mapRoot: toHex(mapRoot), chainId: 31337, contract: CONTRACT };
      await ledger.anchors.put({ ...rec, txHash: `0x${size.toString(16).padStart(64, "0")}`, blockNumber: 7, status: "confirmed" });
    };
    await issue("KEPT-01");
    const kept = await ledger.checkpointToAnchor();
    await confirm(kept.size);
    await issue("OTHER-01");
    const other = ledger.size;
    await issue("LATER-01");
    await confirm(other); // chosen by nothing here: no view of it any more, no history
    for (const reader of [ledger, replica]) {
      const early = await buildBundle(reader, info, "KEPT-01");
      expect(early.anchor?.size).to.equal(Number(kept.size));
      expect((await verifyBundle(early, { code: "KEPT-01" })).ok).to.equal(true);
      const between = await buildBundle(reader, info, "OTHER-01");
      expect(between.anchor).to.equal(null);
      expect(between.checkpoint).to.equal(ledger.checkpoint.note);
      expect((await verifyBundle(between, { code: "OTHER-01" })).ok).to.equal(true);
    }
  });

  it("joins only a store that a ledger of this process holds: it never creates one", async () => {
    const empty = tempDir("keyproof-replica-");
    const err = await ReadReplica.open(empty, PEPPER, ledger.checkpoint).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(/could not be opened/);
    cleanup(empty);
  });
});
