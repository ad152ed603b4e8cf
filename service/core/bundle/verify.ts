/**
 * The one evidence-bundle verifier (SPEC §9), shared by the buyer's browser,
 * the verify-bundle CLI and the tests. Pure: the on-chain check is a callback
 * the caller supplies (an RPC call in Node or in the browser).
 *
 * It never stops at the first failure: a buyer (or a judge) sees every check
 * with its own verdict.
 */
import { fromHex, toHex0x, utf8 } from "../bytes.js";
import { keyCommitment, orderCommitment } from "../commitment.js";
import { sha256 } from "../hash.js";
import { messageOf } from "../errors.js";
import { decodeEntry, entryLeafHash, stateHash } from "../ledger/entry.js";
import type { KeyEvent, KeyState } from "../ledger/schema.js";
import { verifyInclusion } from "../log/verify.js";
import { verifyMembership } from "../map/proof.js";
import { openCheckpoint, type Checkpoint } from "../note/checkpoint.js";
import { checkAnchorTx, type TxFinding, type TxReader } from "./anchor-tx.js";
import { english, type Said } from "./details.js";
import { bundleSchema, type EvidenceBundle } from "./schema.js";

export type CheckId = "format" | "log" | "signature" | "commitment" | "inclusion" | "chain" | "state" | "map" | "order" | "anchor";

export interface Check {
  id: CheckId;
  ok: boolean | null; // null: not checked (no chain reachable, no order given)
  /** What was found, in English. */
  detail: string;
  /** The same as a message id and values, for other languages; absent when `detail` is an error's text. */
  said?: Said;
}

/** A check whose detail is a known message. */
function found(id: CheckId, ok: boolean | null, said: Said): Check {
  return { id, ok, detail: english(said), said };
}

export interface KeyFacts {
  status: KeyState["status"];
  expired: boolean;
  issuer: string;
  holder: string;
  sku: string;
  face?: string;
  batch?: string;
  expires?: string;
  issuedAt: string;
  transfers: { from: string; to: string; time: string }[];
  sale?: { seller: string; time: string };
  redeemedAt?: string;
  voided?: { by: string; time: string; reason: string };
  orderMatches?: boolean;
}

export interface BundleReport {
  ok: boolean;
  checks: Check[];
  checkpoint?: Checkpoint;
  facts?: KeyFacts;
  bundle?: EvidenceBundle;
}

/** Reads roots stored on chain for (logId, size); zeros when never anchored. */
export type AnchorReader = (logId: string, size: bigint) => Promise<{ logRoot: string; mapRoot: string }>;

export interface VerifyOptions {
  code: string;
  order?: string;
  /** Omit when no chain is reachable; the anchor check then reads "not checked". */
  readAnchor?: AnchorReader;
  /**
   * Reads transactions and blocks on the same chain, to check the transaction
   * a bundle's anchor names (anchor-tx.ts); without it that pointer is taken
   * as the bundle says.
   */
  readTx?: TxReader;
  /**
   * The log the verifier trusts, known from elsewhere (the platform's
   * published values): the bundle must name this verifier key and anchor
   * contract. Without them a bundle vouches for its own log, and anyone can
   * run a log, sign with their own key and anchor on their own contract.
   */
  trusted?: { verifierKey?: string; contract?: string };
  now?: Date;
}

function attempt(checks: Check[], id: CheckId, fn: () => Said): boolean {
  try {
    checks.push(found(id, true, fn()));
    return true;
  } catch (e) {
    checks.push({ id, ok: false, detail: messageOf(e) });
    return false;
  }
}

/** Replays a key's events into the facts a buyer cares about and the state they imply. */
export function keyHistory(events: KeyEvent[], now: Date): { facts: KeyFacts; state: Omit<KeyState, "head" | "index"> } {
  const first = events[0];
  if (!first || first.type !== "issue") throw new Error("the first event is not the issue");
  const facts: KeyFacts = {
    status: "issued",
    expired: false,
    issuer: first.actor,
    holder: first.actor,
    sku: first.attrs.sku,
    issuedAt: first.time,
    transfers: [],
    ...(first.attrs.face !== undefined ? { face: first.attrs.face } : {}),
    ...(first.attrs.batch !== undefined ? { batch: first.attrs.batch } : {}),
    ...(first.attrs.expires !== undefined ? { expires: first.attrs.expires } : {}),
  };
  for (const e of events.slice(1)) {
    switch (e.type) {
      case "issue":
        throw new Error("a key is issued only once");
      case "transfer":
        facts.transfers.push({ from: facts.holder, to: e.attrs.to, time: e.time });
        facts.holder = e.attrs.to;
        break;
      case "sell":
        facts.status = "sold";
        facts.sale = { seller: e.actor, time: e.time };
        break;
      case "redeem":
        facts.status = "redeemed";
        facts.redeemedAt = e.time;
        break;
      case "void":
        facts.status = "void";
        facts.voided = { by: e.actor, time: e.time, reason: e.attrs.reason };
        break;
    }
  }
  facts.expired = facts.expires !== undefined && Date.parse(facts.expires) < now.getTime();
  const state = {
    status: facts.status,
    issuer: facts.issuer,
    holder: facts.holder,
    sku: facts.sku,
    ...(facts.expires !== undefined ? { expires: facts.expires } : {}),
    events: events.length,
  };
  return { facts, state };
}

export function logIdOf(origin: string): string {
  return toHex0x(sha256(utf8(origin)));
}

const TX_DETAIL = {
  ok: "anchor.okTx",
  unknown: "anchor.okTxUnknown",
  notInBlock: "anchor.txMissing",
  futureBlock: "anchor.txFuture",
  reverted: "anchor.txReverted",
  moved: "anchor.okTxMoved",
  noEvent: "anchor.txOther",
} as const;

/** The anchor check once the chain holds the checkpoint's roots: and the transaction the bundle names, where it names one and the chain can be read. */
async function anchoredBy(b: EvidenceBundle, cp: Checkpoint, readTx: TxReader | undefined): Promise<Check> {
  const size = String(cp.size);
  if (!b.anchor || !readTx) return found("anchor", true, { key: "anchor.ok", values: { size } });
  const { txHash, blockNumber } = b.anchor;
  let finding: TxFinding;
  try {
    finding = await checkAnchorTx(readTx, {
      txHash,
      blockNumber,
      contract: b.log.contract!,
      logId: b.log.logId,
      size: cp.size,
      logRoot: toHex0x(cp.logRoot),
      mapRoot: toHex0x(cp.mapRoot),
    });
  } catch (e) {
    return { id: "anchor", ok: null, detail: `the anchor's transaction could not be read: ${messageOf(e)}` };
  }
  // The roots hold in every case: what the pointer adds is true (where the
  // bundle says, or in a block a reorganisation moved it to), unknown to this node, or false.
  const { verdict, minedIn } = finding;
  const holds = verdict === "ok" || verdict === "moved" || verdict === "unknown";
  const values = { size, tx: txHash, block: String(blockNumber), ...(minedIn !== null ? { minedIn: String(minedIn) } : {}) };
  return found("anchor", holds, { key: TX_DETAIL[verdict], values });
}

export async function verifyBundle(input: unknown, opts: VerifyOptions): Promise<BundleReport> {
  const checks: Check[] = [];
  const parsed = bundleSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    checks.push({ id: "format", ok: false, detail: `not a KeyProof bundle: ${issue?.path.join(".")} ${issue?.message}` });
    return { ok: false, checks };
  }
  const b = parsed.data;
  checks.push(found("format", true, { key: "format.ok" }));

  attempt(checks, "log", () => {
    if (b.log.logId !== logIdOf(b.log.origin)) throw new Error("logId is not H(origin)");
    if (!b.log.verifierKey.startsWith(`${b.log.origin}+`)) throw new Error("verifier key is not the log's");
    const { verifierKey, contract } = opts.trusted ?? {};
    if (verifierKey !== undefined && b.log.verifierKey !== verifierKey) {
      throw new Error(`the bundle's verifier key ${b.log.verifierKey} is not the trusted ${verifierKey}`);
    }
    if (contract !== undefined && b.log.contract?.toLowerCase() !== contract.toLowerCase()) {
      throw new Error(`the bundle's anchor contract ${b.log.contract ?? "(none)"} is not the trusted ${contract}`);
    }
    const key =
      verifierKey !== undefined
        ? contract !== undefined
          ? "log.trustedBoth"
          : "log.trustedKey"
        : contract !== undefined
          ? "log.trustedContract"
          : "log.ok";
    return { key, values: { origin: b.log.origin } };
  });

  let cp: Checkpoint | undefined;
  attempt(checks, "signature", () => {
    cp = openCheckpoint(b.checkpoint, b.log.verifierKey);
    if (cp.origin !== b.log.origin) throw new Error("checkpoint is from another log");
    return { key: "signature.ok", values: { size: String(cp.size), origin: b.log.origin } };
  });

  attempt(checks, "commitment", () => {
    if (keyCommitment(fromHex(b.key.salt, 32), opts.code) !== b.key.commitment) {
      throw new Error("the code entered does not match this key's commitment");
    }
    return { key: "commitment.ok" };
  });

  const events: KeyEvent[] = [];
  attempt(checks, "inclusion", () => {
    if (!cp) throw new Error("no verified checkpoint to check against");
    for (const ev of b.events) {
      const leaf = fromHex(entryLeafHash(ev.entry), 32);
      verifyInclusion(
        BigInt(ev.index),
        cp.size,
        leaf,
        ev.inclusion.map((h) => fromHex(h, 32)),
        cp.logRoot,
      );
      const event = decodeEntry(ev.entry);
      if (event.type === "participant" || event.key !== b.key.commitment) throw new Error(`entry ${ev.index} is not about this key`);
      events.push(event);
    }
    return { key: "inclusion.ok", values: { events: b.events.length, size: String(cp.size) } };
  });

  attempt(checks, "chain", () => {
    if (events.length !== b.events.length) throw new Error("events could not be read");
    let prev: string | null = null;
    let lastIndex = -1;
    b.events.forEach((ev, i) => {
      if (events[i]!.prev !== prev) throw new Error(`event at ${ev.index} does not follow the previous one`);
      if (ev.index <= lastIndex) throw new Error("events are out of order");
      prev = entryLeafHash(ev.entry);
      lastIndex = ev.index;
    });
    if (prev !== b.state.head || lastIndex !== b.state.index) throw new Error("the newest event is not the state's head");
    return { key: "chain.ok" };
  });

  let facts: KeyFacts | undefined;
  attempt(checks, "state", () => {
    const history = keyHistory(events, opts.now ?? new Date());
    facts = history.facts;
    const s = b.state;
    const h = history.state;
    if (
      s.status !== h.status ||
      s.issuer !== h.issuer ||
      s.holder !== h.holder ||
      s.sku !== h.sku ||
      s.expires !== h.expires ||
      s.events !== h.events
    ) {
      throw new Error("the state does not follow from the events");
    }
    return { key: "state.ok", values: { status: s.status } };
  });

  attempt(checks, "map", () => {
    if (!cp) throw new Error("no verified checkpoint to check against");
    verifyMembership(fromHex(b.key.commitment, 32), stateHash(b.state), b.mapProof, cp.mapRoot);
    return { key: "map.ok" };
  });

  if (opts.order !== undefined && opts.order !== "") {
    const want = orderCommitment(fromHex(b.key.salt, 32), opts.order);
    const sale = events.find((e) => e.type === "sell");
    const matches = sale?.type === "sell" && sale.attrs.order === want;
    if (facts) facts.orderMatches = matches;
    checks.push(found("order", matches, { key: matches ? "order.match" : sale ? "order.other" : "order.unsold" }));
  }

  if (b.anchor && cp && BigInt(b.anchor.size) !== cp.size) {
    // SPEC §9: the anchor is the transaction that stored this checkpoint, so it is at its size.
    checks.push(found("anchor", false, { key: "anchor.otherSize", values: { anchored: b.anchor.size, size: String(cp.size) } }));
  } else if (!opts.readAnchor || b.log.contract === null) {
    checks.push(found("anchor", null, { key: "anchor.unchecked" }));
  } else if (cp) {
    const checkpoint = cp;
    try {
      const onChain = await opts.readAnchor(b.log.logId, checkpoint.size);
      const logRoot = toHex0x(checkpoint.logRoot);
      const mapRoot = toHex0x(checkpoint.mapRoot);
      if (/^0x0{64}$/.test(onChain.logRoot)) {
        checks.push(found("anchor", b.anchor === null ? null : false, { key: b.anchor === null ? "anchor.waiting" : "anchor.missing" }));
      } else if (onChain.logRoot.toLowerCase() === logRoot && onChain.mapRoot.toLowerCase() === mapRoot) {
        checks.push(await anchoredBy(b, checkpoint, opts.readTx));
      } else {
        checks.push(found("anchor", false, { key: "anchor.forked" }));
      }
    } catch (e) {
      checks.push({ id: "anchor", ok: null, detail: `chain not reachable: ${messageOf(e)}` });
    }
  } else {
    checks.push(found("anchor", false, { key: "anchor.unverified" }));
  }

  const ok = checks.every((c) => c.ok !== false);
  return { ok, checks, bundle: b, ...(cp ? { checkpoint: cp } : {}), ...(facts ? { facts } : {}) };
}
