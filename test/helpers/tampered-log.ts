/**
 * Generates small KeyProof logs, honest or tampered in one of the ways an
 * audit must catch, and serves them over HTTP the way a (lying) log would.
 * The chain side is real: `anchorFixture` puts the fixture's anchors on an
 * anchor contract, which checks their consistency itself, so a tampered log
 * is one the chain accepted.
 */
import type { AddressInfo } from "node:net";
import express from "express";
import {
  createSigner,
  encodeEvent,
  entryLeafHash,
  formatVerifierKey,
  logIdOf,
  MemoryMap,
  MemoryTree,
  Replayer,
  sha256,
  signCheckpoint,
  stateHash,
  toHex,
  toHex0x,
  utf8,
  fromHex,
  type KeyState,
  type LedgerEvent,
} from "../../service/core/index.js";
import type { AnchorClient } from "../../service/chain/contract.js";

export const TAMPERS = [
  "clean",
  "redeemed-without-sale",
  "double-sale",
  "unregistered-actor",
  "time-backwards",
  "malformed-entry",
  "map-root",
  "fork",
  "missing-entries",
  "bad-checkpoint",
  "checkpoint-root",
  "inconsistent-anchors",
] as const;
export type Tamper = (typeof TAMPERS)[number];

export interface FixtureAnchor {
  size: number;
  logRoot: string;
  mapRoot: string;
  /** Consistency proof from the previous anchor, as the contract wants it. */
  proof: string[];
}

export interface Fixture {
  tamper: Tamper;
  origin: string;
  verifierKey: string;
  /** The entries the log serves (after a fork: the rewritten ones). */
  entries: string[];
  /** /v1/entries serves only entries below this index. */
  servedUpTo: number;
  checkpoint: string;
  anchors: FixtureAnchor[];
  /** Hand out wrong consistency proofs. */
  bogusConsistency: boolean;
}

const T0 = Date.parse("2026-11-24T10:00:00.000Z");
const at = (n: number): string => new Date(T0 + n * 1000).toISOString();
const commitment = (i: number): string => toHex(sha256(utf8(`fixture key ${i}`)));
const orderOf = (i: number): string => toHex(sha256(utf8(`fixture order ${i}`)));

/** Builds a history one event at a time, stamping time and `prev` as the service does. */
class History {
  readonly entries: string[] = [];
  private readonly heads = new Map<string, string>();
  add(e: Record<string, unknown>, time = at(this.entries.length)): void {
    const key = e.key as string | undefined;
    const event = { v: 1, time, ...(key ? { prev: e.type === "issue" ? null : (this.heads.get(key) ?? null) } : {}), ...e } as LedgerEvent;
    const entry = encodeEvent(event);
    this.entries.push(entry);
    if (key) this.heads.set(key, entryLeafHash(entry));
  }
}

/** Participants, 12 keys issued and moved to the shop, 10 sold, 4 of those redeemed, one unsold key voided. */
function honest(): History {
  const h = new History();
  h.add({ type: "participant", actor: "operator", attrs: { id: "acme", role: "issuer", name: "Acme" } });
  h.add({ type: "participant", actor: "operator", attrs: { id: "shop-a", role: "seller", name: "Shop A" } });
  for (let i = 0; i < 12; i++) {
    h.add({ type: "issue", actor: "acme", key: commitment(i), attrs: { sku: `sku-${i % 3}` } });
    h.add({ type: "transfer", actor: "acme", key: commitment(i), attrs: { to: "shop-a" } });
  }
  for (let i = 0; i < 10; i++) h.add({ type: "sell", actor: "shop-a", key: commitment(i), attrs: { order: orderOf(i) } });
  for (let i = 0; i < 4; i++) h.add({ type: "redeem", actor: "acme", key: commitment(i), attrs: {} });
  h.add({ type: "void", actor: "shop-a", key: commitment(11), attrs: { reason: "damaged card" } });
  return h;
}

/** Log and map roots after each of `sizes` entries, as an operator following the rules computes them. */
async function rootsAt(entries: string[], sizes: number[], forge?: (states: Map<string, KeyState>) => void) {
  const tree = new MemoryTree();
  const replayer = new Replayer();
  const out: { size: number; logRoot: string; mapRoot: string; tree: MemoryTree }[] = [];
  for (const size of sizes) {
    while (replayer.count < size) tree.appendLeaf(replayer.applyText(entries[replayer.count]!).leaf);
    const states = new Map(replayer.states);
    forge?.(states);
    const map = new MemoryMap();
    const root = map.update([...states].map(([k, s]) => ({ key: fromHex(k, 32), stateHash: stateHash(s) })));
    out.push({ size, logRoot: toHex0x(tree.root(BigInt(size))), mapRoot: toHex0x(root), tree });
  }
  return out;
}

async function anchorsFor(entries: string[], sizes: number[], forge?: (states: Map<string, KeyState>) => void): Promise<FixtureAnchor[]> {
  const roots = await rootsAt(entries, sizes, forge);
  return roots.map((r, i) => ({
    size: r.size,
    logRoot: r.logRoot,
    mapRoot: r.mapRoot,
    proof: i === 0 ? [] : r.tree.consistencyProof(BigInt(roots[i - 1]!.size), BigInt(r.size)).map(toHex0x),
  }));
}

export async function makeFixture(tamper: Tamper): Promise<Fixture> {
  const origin = `fixture-${tamper}.keyproof.test/log`;
  const signer = createSigner(origin, sha256(utf8(`signing seed for ${origin}`)));
  const h = honest();
  // One event appended after the honest history, per rule broken.
  if (tamper === "redeemed-without-sale") h.add({ type: "redeem", actor: "acme", key: commitment(10), attrs: {} });
  if (tamper === "double-sale") h.add({ type: "sell", actor: "shop-a", key: commitment(5), attrs: { order: orderOf(99) } });
  if (tamper === "unregistered-actor") h.add({ type: "issue", actor: "ghost", key: commitment(50), attrs: { sku: "sku-x" } });
  if (tamper === "time-backwards") h.add({ type: "sell", actor: "shop-a", key: commitment(10), attrs: { order: orderOf(10) } }, at(3));
  if (tamper === "malformed-entry") h.entries.push('{"v":1,"type":"issue","actor":"acme","extra":true}');
  const entries = h.entries;
  const n = entries.length;
  const sizes = [10, 26, n];

  // The map-root lie: a sold key shown as still unsold, once it has been sold.
  const forgeSale =
    tamper === "map-root"
      ? (s: Map<string, KeyState>) => {
          const st = s.get(commitment(5));
          if (st?.status === "sold") s.set(commitment(5), { ...st, status: "issued" });
        }
      : undefined;
  const anchors = await anchorsFor(entries, sizes, forgeSale);

  // What the log serves (and signs) may differ from what was anchored.
  let served = entries;
  if (tamper === "fork") {
    served = [...entries];
    served[30] = served[30]!.replace(orderOf(4), orderOf(77)); // a sale's order rewritten after anchoring
  }
  const [last] = await rootsAt(served, [n], forgeSale);
  if (tamper === "checkpoint-root") {
    // Signed, but over a log root no sequence of these entries gives.
    last!.logRoot = toHex0x(sha256(utf8("a root from nowhere")));
  }
  const cpSigner = tamper === "bad-checkpoint" ? createSigner(origin, sha256(utf8("some other key"))) : signer;
  const checkpoint = signCheckpoint(
    { origin, size: BigInt(n), logRoot: fromHex(last!.logRoot.slice(2), 32), mapRoot: fromHex(last!.mapRoot.slice(2), 32) },
    cpSigner,
  );

  return {
    tamper,
    origin,
    verifierKey: formatVerifierKey(signer),
    entries: served,
    servedUpTo: tamper === "missing-entries" ? 30 : n,
    checkpoint,
    anchors,
    bogusConsistency: tamper === "inconsistent-anchors",
  };
}

/** Registers the fixture's origin (the contract's admin anchors it) and puts its anchors on chain in order. */
export async function anchorFixture(client: AnchorClient, operator: string, f: Fixture): Promise<void> {
  await client.registerLog(f.origin, operator);
  const logId = logIdOf(f.origin);
  for (const a of f.anchors) await (await client.sendAnchor(logId, BigInt(a.size), a.logRoot, a.mapRoot, a.proof)).wait(1);
}

/**
 * Serves a fixture as a log would: /v1/log, /checkpoint, /v1/entries, /v1/proof/consistency.
 * `published`: the chain and contract /v1/log names (default none).
 */
export async function serveFixture(
  f: Fixture,
  published: { chainId: number; contract: string } | null = null,
): Promise<{ url: string; close: () => Promise<void> }> {
  const tree = new MemoryTree();
  for (const e of f.entries) tree.appendEntry(utf8(e));
  const size = f.entries.length;
  const refuse = (res: express.Response, message: string) => res.status(400).json({ error: { code: "INVALID_INPUT", message } });
  const app = express();
  app.get("/v1/log", (_req, res) => {
    res.json({
      origin: f.origin,
      verifierKey: f.verifierKey,
      logId: logIdOf(f.origin),
      size,
      chainId: published?.chainId ?? null,
      contract: published?.contract ?? null,
      rpcUrl: null,
    });
  });
  app.get("/checkpoint", (_req, res) => {
    res.type("text/plain").send(f.checkpoint);
  });
  app.get("/v1/entries", (req, res) => {
    const start = Number(req.query.start);
    const end = Number(req.query.end);
    if (!(start >= 0 && end >= start && end - start <= 1000)) return refuse(res, "bad range");
    if (end > f.servedUpTo) return refuse(res, `end is beyond the log size ${f.servedUpTo}`);
    res.json({ entries: f.entries.slice(start, end).map((entry, i) => ({ index: start + i, entry })) });
  });
  app.get("/v1/proof/consistency", (req, res) => {
    const from = Number(req.query.from);
    const to = Number(req.query.to);
    if (!(from >= 1 && from <= to && to <= size)) return refuse(res, "need 1 <= from <= to <= log size");
    const proof = tree.consistencyProof(BigInt(from), BigInt(to)).map(toHex);
    res.json({ from, to, proof: f.bogusConsistency ? proof.map((p) => toHex(sha256(utf8(p)))) : proof });
  });
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
