/**
 * Flipping any bit of an entry, a proof, a root or a signed note makes
 * verification fail: checked on real evidence bundles from a ledger.
 */
import { expect } from "chai";
import fc from "fast-check";
import { logIdOf, openCheckpoint, verifyBundle, type EvidenceBundle } from "../../service/core/index.js";
import { buildBundle } from "../../service/bundle.js";
import type { Ledger } from "../../service/store/ledger.js";
import { utf16Unit } from "../helpers/arbitraries.js";
import { closeTestLedger, openTestLedger, ORIGIN } from "../helpers/ledger.js";

/** Flips bit `bit` (0..5) of character `at`, staying in printable ASCII where the input is. */
function flipChar(s: string, at: number, bit: number): string {
  const i = at % s.length;
  const c = s.charCodeAt(i) ^ (1 << (bit % 6));
  return s.slice(0, i) + String.fromCharCode(c) + s.slice(i + 1);
}

type Field = (b: EvidenceBundle, at: number, bit: number) => void;

// Every byte-carrying field a verifier relies on.
const fields: Record<string, Field> = {
  checkpoint: (b, at, bit) => (b.checkpoint = flipChar(b.checkpoint, at, bit)),
  entry: (b, at, bit) => {
    const e = b.events[at % b.events.length]!;
    e.entry = flipChar(e.entry, at, bit);
  },
  inclusion: (b, at, bit) => {
    const e = b.events.find((x) => x.inclusion.length > 0)!;
    const k = at % e.inclusion.length;
    e.inclusion[k] = flipHex(e.inclusion[k]!, at, bit);
  },
  mapSibling: (b, at, bit) => {
    const k = at % b.mapProof.siblings.length;
    b.mapProof.siblings[k] = flipHex(b.mapProof.siblings[k]!, at, bit);
  },
  mapLeaf: (b, at, bit) => (b.mapProof.leaf!.stateHash = flipHex(b.mapProof.leaf!.stateHash, at, bit)),
  salt: (b, at, bit) => (b.key.salt = flipHex(b.key.salt, at, bit)),
  commitment: (b, at, bit) => (b.key.commitment = flipHex(b.key.commitment, at, bit)),
  stateHead: (b, at, bit) => (b.state.head = flipHex(b.state.head, at, bit)),
};

/** Flips one bit of one nibble of a hex string (still lowercase hex). */
function flipHex(h: string, at: number, bit: number): string {
  const i = at % h.length;
  const v = parseInt(h[i]!, 16) ^ (1 << (bit % 4));
  return h.slice(0, i) + v.toString(16) + h.slice(i + 1);
}

describe("tampering with evidence", () => {
  let dir: string;
  let ledger: Ledger;
  let bundle: EvidenceBundle;
  const code = "TAMP-ER01-CODE";

  before(async () => {
    ({ dir, ledger } = await openTestLedger());
    // Enough other keys that the proofs have several levels.
    for (let b = 0; b < 4; b++) {
      await ledger.submit({
        actor: "acme",
        requests: Array.from({ length: 40 }, (_, i) => ({ type: "issue", code: `FILL-${b}-${i}-X`, sku: "s" })),
      });
    }
    await ledger.submit({ actor: "acme", requests: [{ type: "issue", code, sku: "game", face: "100" }] });
    await ledger.submit({ actor: "acme", requests: [{ type: "transfer", code, to: "shop-a" }] });
    await ledger.submit({ actor: "shop-a", requests: [{ type: "sell", code, order: "ORDER-9" }] });
    bundle = await buildBundle(
      ledger,
      { origin: ORIGIN, verifierKey: ledger.verifierKey, logId: logIdOf(ORIGIN), chainId: null, contract: null },
      code,
    );
  });
  after(() => closeTestLedger(ledger, dir));

  it("the untouched bundle verifies", async () => {
    const report = await verifyBundle(bundle, { code, order: "ORDER-9" });
    expect(report.checks.filter((c) => c.ok === false)).to.deep.equal([]);
    expect(report.ok).to.equal(true);
  });

  it("any flipped bit in an entry, proof, root, salt or note fails verification (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(fields)), fc.nat(), fc.nat(), async (field, at, bit) => {
        const copy = structuredClone(bundle);
        fields[field]!(copy, at, bit);
        const report = await verifyBundle(copy, { code });
        expect(report.ok, `${field} @${at} bit ${bit}`).to.equal(false);
      }),
      { numRuns: 400 },
    );
  });

  it("any flipped bit of a signed checkpoint fails to open (property)", () => {
    const note = ledger.checkpoint.note;
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (at, bit) => {
        expect(() => openCheckpoint(flipChar(note, at, bit), ledger.verifierKey)).to.throw();
      }),
      { numRuns: 500 },
    );
  });

  it("hostile bundles: any value anywhere replaced by arbitrary JSON never throws, never verifies (property)", async () => {
    /** Every path to a value inside the bundle. */
    const paths: (string | number)[][] = [];
    const walk = (v: unknown, at: (string | number)[]): void => {
      paths.push(at);
      if (v && typeof v === "object") for (const [k, c] of Object.entries(v)) walk(c, [...at, Array.isArray(v) ? Number(k) : k]);
    };
    walk(bundle, []);
    // Strings of any UTF-16 units too, lone surrogates among them (no JCS form).
    const anyJson = fc.oneof(fc.jsonValue(), fc.jsonValue({ stringUnit: utf16Unit }));
    await fc.assert(
      fc.asyncProperty(fc.nat(paths.length - 1), anyJson, async (which, value) => {
        const at = paths[which]!;
        if (at.length === 0) return;
        const copy = structuredClone(bundle) as unknown as Record<string | number, unknown>;
        let parent = copy;
        for (const k of at.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
        const before = JSON.stringify(parent[at.at(-1)!]);
        if (JSON.stringify(value) === before) return;
        parent[at.at(-1)!] = value;
        const report = await verifyBundle(copy, { code, order: "ORDER-9" });
        expect(report.ok, `${at.join(".")} = ${JSON.stringify(value).slice(0, 80)}`).to.equal(false);
      }),
      { numRuns: 400 },
    );
    for (const junk of [null, 0, "", [], {}, { type: "keyproof/bundle/v1" }, "x".repeat(1e5)]) {
      expect((await verifyBundle(junk, { code })).ok).to.equal(false);
    }
  });

  it("names a chain and a contract together or neither, and no chain 0 (found by the property above)", async () => {
    const contract = `0x${"11".repeat(20)}`;
    for (const [chainId, to, ok] of [
      [0, contract, false],
      [0, null, false],
      [5, null, false],
      [null, contract, false],
      [1.5, contract, false],
      [5, contract, true],
    ] as const) {
      const copy = structuredClone(bundle);
      copy.log = { ...copy.log, chainId, contract: to } as typeof copy.log;
      const report = await verifyBundle(copy, { code, order: "ORDER-9" });
      expect(report.ok, `chainId ${chainId}, contract ${to}`).to.equal(ok);
      if (!ok) expect(report.checks[0]?.detail, `chainId ${chainId}, contract ${to}`).to.match(/^not a KeyProof bundle: log\.chainId /);
    }
  });

  it("an anchor record only with a contract, and only at the checkpoint's size", async () => {
    const size = Number(openCheckpoint(bundle.checkpoint, ledger.verifierKey).size);
    const anchor = { size, txHash: `0x${"ab".repeat(32)}`, blockNumber: 7 };
    const onChain = { chainId: 5, contract: `0x${"11".repeat(20)}` };
    const withAnchor = (log: object, a: object) => ({ ...structuredClone(bundle), log: { ...bundle.log, ...log }, anchor: a });

    const none = await verifyBundle(withAnchor({}, anchor), { code });
    expect(none.ok).to.equal(false);
    expect(none.checks[0]?.detail).to.equal("not a KeyProof bundle: anchor an anchor needs the log's contract");

    const same = await verifyBundle(withAnchor(onChain, anchor), { code });
    expect(same.checks.find((c) => c.id === "anchor")).to.include({ ok: null, detail: "no chain was checked" });
    expect(same.ok).to.equal(true);

    for (const other of [size - 1, size + 1]) {
      const r = await verifyBundle(withAnchor(onChain, { ...anchor, size: other }), { code });
      expect(r.ok).to.equal(false);
      expect(r.checks.find((c) => c.id === "anchor")).to.deep.include({
        ok: false,
        detail: `the bundle's anchor record is for size ${other}, its checkpoint for size ${size}`,
      });
    }
  });
});
