/**
 * Known answers for SPEC §2 to §6 and §9 from a second implementation
 * (test/core/vectors/generate.py, Python, written from SPEC.md alone). The
 * other tests check the service against the core's own verifier; a mistake
 * both shared (a missing separator byte, a field out of JCS order, another
 * notion of white space) would pass them all, and fails here.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import {
  createSigner,
  decodeEntry,
  encodeEvent,
  encodeState,
  entryLeafHash,
  formatVerifierKey,
  fromHex,
  keyCommitment,
  KeyProofError,
  keyState,
  ledgerEvent,
  logIdOf,
  MemoryMap,
  normalizeCode,
  openCheckpoint,
  orderCommitment,
  signCheckpoint,
  stateHash,
  toHex,
  verifyAbsence,
  verifyBundle,
  verifyMembership,
  type MapProof,
} from "../../service/core/index.js";

interface Vectors {
  salt: string;
  normalize: [string, string | null][];
  keyCommitments: [string, string][];
  orderCommitment: [string, string];
  state: { value: unknown; jcs: string; stateHash: string };
  entry: { value: unknown; jcs: string; leafHash: string };
  map: { leaves: [string, string][]; roots: string[]; proofs: [string, MapProof][] };
  checkpoint: {
    origin: string;
    seed: string;
    size: number;
    logRoot: string;
    mapRoot: string;
    verifierKey: string;
    note: string;
    logId: string;
  };
  bundle: { code: string; order: string; value: { log: { verifierKey: string } } };
}

const v = JSON.parse(readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "vectors/spec-v1.json"), "utf8")) as Vectors;
const salt = fromHex(v.salt, 32);

/** A code for a test's title: long ones cut, invisible characters written as escapes. */
function shown(s: string): string {
  const points = [...s];
  const cut = points.length > 24 ? `${points.slice(0, 12).join("")}…(${points.length} code points)` : s;
  return JSON.stringify(cut).replace(/[\p{White_Space}\p{Cc}\p{Cf}]/gu, (c) =>
    c === " " ? c : `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`,
  );
}

describe("SPEC known answers from an independent implementation", () => {
  describe("§2 normalize(code)", () => {
    for (const [code, want] of v.normalize) {
      it(`${shown(code)} → ${want === null ? "rejected" : shown(want)}`, () => {
        if (want === null) {
          expect(() => normalizeCode(code))
            .to.throw(KeyProofError)
            .with.property("code", "INVALID_INPUT");
        } else expect(normalizeCode(code)).to.equal(want);
      });
    }
  });

  it("§2 key and order commitments", () => {
    expect(v.keyCommitments).to.have.length(3);
    for (const [code, want] of v.keyCommitments) expect(keyCommitment(salt, code), code).to.equal(want);
    expect(orderCommitment(salt, v.orderCommitment[0])).to.equal(v.orderCommitment[1]);
  });

  it("§5 a state's JCS encoding and stateHash", () => {
    const state = keyState.parse(v.state.value);
    expect(encodeState(state)).to.equal(v.state.jcs);
    expect(toHex(stateHash(state))).to.equal(v.state.stateHash);
  });

  it("§3 an event's entry (JCS) and its leaf hash, and the entry parses back", () => {
    const event = ledgerEvent.parse(v.entry.value);
    expect(encodeEvent(event)).to.equal(v.entry.jcs);
    expect(entryLeafHash(v.entry.jcs)).to.equal(v.entry.leafHash);
    expect(decodeEntry(v.entry.jcs)).to.deep.equal(event);
  });

  it("§5 map roots (empty, one leaf, two, five) and proofs of membership and of both kinds of absence", () => {
    const m = new MemoryMap();
    const leaves = v.map.leaves.map(([key, hash]) => ({ key: fromHex(key, 32), stateHash: fromHex(hash, 32) }));
    // Grown one update at a time, as the ledger grows it.
    const roots = [toHex(m.root())];
    for (const [from, to] of [
      [0, 1],
      [1, 2],
      [2, 5],
    ] as const)
      roots.push(toHex(m.update(leaves.slice(from, to))));
    expect(roots).to.deep.equal(v.map.roots);
    const root = fromHex(v.map.roots[3]!, 32);
    const kinds = v.map.proofs.map(([key, want]) => (want.leaf === null ? "empty" : want.leaf.key === key ? "member" : "other leaf"));
    expect(kinds).to.deep.equal(["member", "other leaf", "empty"]);
    for (const [key, want] of v.map.proofs) {
      expect(m.prove(fromHex(key, 32)), key).to.deep.equal(want);
      if (want.leaf?.key === key) verifyMembership(fromHex(key, 32), fromHex(want.leaf.stateHash, 32), want, root);
      else verifyAbsence(fromHex(key, 32), want, root);
    }
  });

  it("§6 the signed checkpoint, byte for byte (Ed25519 is deterministic), its verifier key and §7's logId", () => {
    const c = v.checkpoint;
    const signer = createSigner(c.origin, fromHex(c.seed, 32));
    expect(formatVerifierKey(signer)).to.equal(c.verifierKey);
    const checkpoint = { origin: c.origin, size: BigInt(c.size), logRoot: fromHex(c.logRoot, 32), mapRoot: fromHex(c.mapRoot, 32) };
    expect(signCheckpoint(checkpoint, signer)).to.equal(c.note);
    expect(openCheckpoint(c.note, c.verifierKey)).to.deep.equal(checkpoint);
    expect(logIdOf(c.origin)).to.equal(c.logId);
  });

  it("§9 a bundle of a log another implementation built verifies; with another code or order it does not", async () => {
    const { code, order, value } = v.bundle;
    const now = new Date("2026-12-01T00:00:00Z");
    const report = await verifyBundle(value, { code, order, now, trusted: { verifierKey: value.log.verifierKey } });
    // No chain here: the anchor check alone reads "not checked" (ok null).
    expect(report.checks.filter((c) => c.ok !== true).map((c) => [c.id, c.ok])).to.deep.equal([["anchor", null]]);
    expect(report.ok).to.equal(true);
    expect(report.checks.map((c) => c.id)).to.include.members(["signature", "commitment", "inclusion", "chain", "state", "map", "order"]);
    expect(report.facts).to.include({ status: "sold", issuer: "acme", holder: "shop-a", orderMatches: true });
    const otherCode = await verifyBundle(value, { code: "GAME-7777-ALPHB", order, now });
    expect(otherCode.ok).to.equal(false);
    expect(otherCode.checks.find((c) => c.id === "commitment")?.ok).to.equal(false);
    const otherOrder = await verifyBundle(value, { code, order: "ORD-2", now });
    expect(otherOrder.facts?.orderMatches).to.equal(false);
  });
});
