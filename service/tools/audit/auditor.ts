/**
 * A regulator's full audit of one log against its on-chain anchors.
 *
 * Streams every entry once, in order, and at every anchored or checkpointed
 * size compares the recomputed log root (a compact range: O(log n) memory) and
 * map root with what the chain and the signed checkpoints claim. The key
 * states and the map live in a scratch LevelDB, read a segment at a time, so
 * memory stays bounded whatever the number of keys. The rules are the
 * service's own (core Replayer), so both sides can never disagree on them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ClassicLevel } from "classic-level";
import { fromHex, fromUtf8, toHex, utf8 } from "../../core/bytes.js";
import { logIdOf } from "../../core/bundle/verify.js";
import { stateHash, encodeState } from "../../core/ledger/entry.js";
import { Replayer, type Finding, type FindingCode } from "../../core/ledger/replay.js";
import type { KeyState } from "../../core/ledger/schema.js";
import { CompactRange } from "../../core/log/compact-range.js";
import { verifyConsistency } from "../../core/log/verify.js";
import { EMPTY_SUBTREE } from "../../core/map/hashing.js";
import { openCheckpoint, parseCheckpoint } from "../../core/note/checkpoint.js";
import { parseNote } from "../../core/note/note.js";
import type { KeyProofApi, LogInfo } from "../../client/api.js";
import type { AnchoredEvent } from "../../chain/contract.js";
import { K } from "../../store/keys.js";
import { MapStore, type Db } from "../../store/map-store.js";
import { streamEntries } from "./entry-pages.js";

export const MAX_KEPT_FINDINGS = 10_000;
/** Consistency proofs between successive anchors asked for at once. */
const CONSISTENCY_IN_FLIGHT = 8;
/** Entries replayed between two map updates (cut short at every checked size). */
const SEGMENT = 5000;
const HEX64 = /^[0-9a-f]{64}$/;

export interface AuditProgress {
  phase: "anchors" | "entries";
  done: number;
  total: number;
}

export interface AuditOptions {
  api: KeyProofApi;
  /** The log's `Anchored` events, in chain order (null: no chain given, anchors not checked). */
  anchors: AnchoredEvent[] | null;
  /** Where `anchors` were read: reported, and compared with where the log says it anchors. */
  chain?: AuditedChain;
  /** The verifier key the auditor trusts; default: the one the log publishes (reported as unpinned). */
  verifierKey?: string;
  /** Signed checkpoints collected elsewhere (buyers' bundles, earlier fetches) to check against the log. */
  checkpoints?: { source: string; note: string }[];
  /** Where the scratch database goes (default: the system's temp dir); removed afterwards. */
  workDir?: string;
  onProgress?: (p: AuditProgress) => void;
}

export interface SizeCheck {
  source: string;
  size: number;
  logRoot: string;
  mapRoot: string;
  logRootOk: boolean | null;
  mapRootOk: boolean | null;
  txHash?: string;
  blockNumber?: number;
}

export interface AuditedChain {
  chainId: number;
  contract: string;
  fromBlock: number;
}

export interface AuditReport {
  type: "keyproof/audit/v1";
  ok: boolean;
  log: { base: string; origin: string; logId: string; verifierKey: string; verifierKeyPinned: boolean; size: number };
  /** The chain and contract the anchors were read from (null: not checked). */
  chain: AuditedChain | null;
  /**
   * What weakens a clean result without being a broken rule or root: the
   * auditor, not the log, picks the chain, so an audit of the wrong chain or
   * contract finds no anchors and no fault, and says so here.
   */
  warnings: string[];
  entriesAudited: number;
  keys: number;
  anchors: SizeCheck[];
  checkpoints: SizeCheck[];
  findingCounts: Partial<Record<FindingCode, number>>;
  findings: Finding[];
  startedAt: string;
  finishedAt: string;
}

/**
 * A root claimed at a size, by its check: its roots are compared as the hex
 * the report holds. (Bytes beside them took half of what an anchor costs in
 * memory, and a log anchored every 30 s has a million anchors a year.)
 */
interface Claim {
  check: SizeCheck;
  /** The finding a wrong log root means for this source. */
  logMismatch: FindingCode;
}

export async function audit(o: AuditOptions): Promise<AuditReport> {
  const startedAt = new Date().toISOString();
  const findings: Finding[] = [];
  const findingCounts: Partial<Record<FindingCode, number>> = {};
  const flag = (f: Finding): void => {
    findingCounts[f.code] = (findingCounts[f.code] ?? 0) + 1;
    if (findings.length < MAX_KEPT_FINDINGS) findings.push(f);
  };

  const info = await o.api.logInfo();
  const verifierKey = o.verifierKey ?? info.verifierKey;
  const logId = logIdOf(info.origin);
  if (info.logId !== logId) flag({ code: "BAD_CHECKPOINT", detail: `the log publishes logId ${info.logId}, but H(origin) is ${logId}` });

  // The log's own latest checkpoint fixes how many entries it claims to have.
  const claims = new Map<number, Claim[]>();
  const addClaim = (c: Claim): void => {
    const list = claims.get(c.check.size) ?? [];
    list.push(c);
    claims.set(c.check.size, list);
  };
  const checkpoints: SizeCheck[] = [];
  let logSize = info.size;
  const notes = [
    { source: "GET /checkpoint", note: await o.api.checkpoint(), latest: true },
    ...(o.checkpoints ?? []).map((c) => ({ ...c, latest: false })),
  ];
  for (const { source, note, latest } of notes) {
    let cp;
    try {
      cp = openCheckpoint(note, verifierKey);
    } catch (e) {
      flag({ code: "BAD_CHECKPOINT", detail: `${source}: ${(e as Error).message}` });
      // An unsigned latest checkpoint still says how far the log claims to go.
      if (latest) {
        try {
          logSize = Number(parseCheckpoint(parseNote(note).text).size);
        } catch {
          /* the size from /v1/log stands */
        }
      }
      continue;
    }
    if (latest) logSize = Number(cp.size);
    const check: SizeCheck = {
      source,
      size: Number(cp.size),
      logRoot: toHex(cp.logRoot),
      mapRoot: toHex(cp.mapRoot),
      logRootOk: null,
      mapRootOk: null,
    };
    checkpoints.push(check);
    addClaim({ check, logMismatch: "LOG_ROOT_MISMATCH" });
  }

  const anchors: SizeCheck[] = [];
  if (o.anchors) {
    let last = -1;
    for (const a of o.anchors) {
      const size = Number(a.size);
      if (size <= last)
        flag({ code: "INCONSISTENT_ANCHORS", size, detail: `anchor of size ${size} (tx ${a.txHash}) follows one of size ${last}` });
      last = Math.max(last, size);
      const check: SizeCheck = {
        source: `anchor tx ${a.txHash}`,
        size,
        logRoot: a.logRoot.slice(2),
        mapRoot: a.mapRoot.slice(2),
        logRootOk: null,
        mapRootOk: null,
        txHash: a.txHash,
        blockNumber: a.blockNumber,
      };
      anchors.push(check);
      addClaim({ check, logMismatch: "FORK" });
    }
    const maxAnchored = anchors.reduce((m, a) => Math.max(m, a.size), 0);
    if (maxAnchored > logSize) {
      flag({
        code: "MISSING_ENTRIES",
        size: maxAnchored,
        detail: `the chain anchors size ${maxAnchored}, but the log claims only ${logSize} entries`,
      });
    }
    await checkAnchorConsistency(o.api, anchors, logSize, flag, o.onProgress);
  }
  const warnings = chainWarnings(o, info, logSize);

  const workDir = mkdtempSync(path.join(o.workDir ?? os.tmpdir(), "keyproof-audit-"));
  const db: Db = new ClassicLevel<Uint8Array, Uint8Array>(workDir, { keyEncoding: "view", valueEncoding: "view", compression: false });
  await db.open();
  const map = new MapStore(db, 200_000);
  const replayer = new Replayer();
  const tree = CompactRange.empty();
  let mapRoot: Uint8Array = EMPTY_SUBTREE;
  let keys = 0;

  const checkClaims = (size: number): void => {
    const list = claims.get(size);
    if (!list) return;
    const logRoot = toHex(tree.root());
    const map = toHex(mapRoot);
    for (const c of list) {
      c.check.logRootOk = c.check.logRoot.toLowerCase() === logRoot;
      c.check.mapRootOk = c.check.mapRoot.toLowerCase() === map;
      if (!c.check.logRootOk) {
        const what =
          c.logMismatch === "FORK"
            ? "history was rewritten after it was anchored"
            : "the signed checkpoint does not match the log's entries";
        flag({
          code: c.logMismatch,
          size,
          detail: `${c.check.source} claims log root ${c.check.logRoot} at size ${size}; the entries give ${logRoot}: ${what}`,
        });
      }
      // Under a wrong log root the map differs as a consequence: the log root is the finding.
      if (c.check.logRootOk && !c.check.mapRootOk) {
        flag({
          code: "MAP_ROOT_MISMATCH",
          size,
          detail: `${c.check.source} claims map root ${c.check.mapRoot} at size ${size}; replaying the entries gives ${map}`,
        });
      }
    }
  };

  const replaySegment = async (entries: string[]): Promise<void> => {
    const touched = new Set<string>();
    for (const e of entries) {
      try {
        const k = (JSON.parse(e) as { key?: unknown }).key;
        if (typeof k === "string" && HEX64.test(k)) touched.add(k);
      } catch {
        /* the replayer reports it as malformed */
      }
    }
    replayer.states.clear();
    const ids = [...touched];
    const stored = ids.length > 0 ? await db.getMany(ids.map((k) => K.state(fromHex(k, 32)))) : [];
    stored.forEach((v, i) => {
      if (v) replayer.states.set(ids[i]!, JSON.parse(fromUtf8(v)) as KeyState);
    });
    const known = new Set(replayer.states.keys());
    for (const e of entries) {
      const { leaf, findings: found } = replayer.applyText(e);
      tree.append(leaf);
      for (const f of found) flag(f);
    }
    const dirty = replayer.takeDirty();
    if (dirty.length === 0) return;
    keys += dirty.filter((k) => !known.has(k)).length;
    const states = dirty.map((k) => [fromHex(k, 32), replayer.states.get(k)!] as const);
    const { root, writes } = await map.prepare(states.map(([key, state]) => ({ key, stateHash: stateHash(state) })));
    const batch = db.batch();
    map.addOps(batch, writes);
    for (const [key, state] of states) batch.put(K.state(key), utf8(encodeState(state)));
    await batch.write();
    map.settle(writes);
    mapRoot = root;
  };

  try {
    checkClaims(0);
    const cuts = [...claims.keys()].filter((s) => s > 0 && s <= logSize).sort((a, b) => a - b);
    const stream = streamEntries(o.api, logSize);
    let segment: string[] = [];
    let done = 0;
    const flush = async (): Promise<void> => {
      if (segment.length === 0) return;
      await replaySegment(segment);
      done += segment.length;
      segment = [];
      if (cuts[0] === done) {
        checkClaims(done);
        cuts.shift();
      }
      o.onProgress?.({ phase: "entries", done, total: logSize });
    };
    for await (const page of stream.pages) {
      for (const entry of page.entries) {
        segment.push(entry);
        if (segment.length >= SEGMENT || done + segment.length === cuts[0]) await flush();
      }
    }
    await flush();
    const missing = stream.missingFrom();
    if (missing !== null) {
      flag({
        code: "MISSING_ENTRIES",
        index: missing,
        detail: `the log claims ${logSize} entries but did not serve entry ${missing} (${stream.missingReason()})`,
      });
      for (const c of cuts) for (const claim of claims.get(c) ?? []) claim.check.logRootOk = claim.check.mapRootOk = null;
    }
    return {
      type: "keyproof/audit/v1",
      ok: Object.keys(findingCounts).length === 0,
      log: { base: o.api.base, origin: info.origin, logId, verifierKey, verifierKeyPinned: o.verifierKey !== undefined, size: logSize },
      chain: o.anchors ? (o.chain ?? null) : null,
      warnings,
      entriesAudited: done,
      keys,
      anchors,
      checkpoints,
      findingCounts,
      findings,
      startedAt,
      finishedAt: new Date().toISOString(),
    };
  } finally {
    await db.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Where the log says it anchors, against where its anchors were read, and an anchorless log. */
function chainWarnings(o: AuditOptions, info: LogInfo, logSize: number): string[] {
  if (!o.anchors) return ["the anchors were not checked: no chain was given"];
  const warnings: string[] = [];
  const where = o.chain ? ` on chain ${o.chain.chainId} at ${o.chain.contract}` : "";
  if (o.chain && info.chainId !== null && info.chainId !== o.chain.chainId)
    warnings.push(`the log says it anchors on chain ${info.chainId}; its anchors were read on chain ${o.chain.chainId}`);
  if (o.chain && info.contract !== null && info.contract.toLowerCase() !== o.chain.contract.toLowerCase())
    warnings.push(`the log names anchor contract ${info.contract}; its anchors were read at ${o.chain.contract}`);
  if (o.anchors.length === 0 && logSize > 0) warnings.push(`no anchor of this log${where}: the chain binds none of its ${logSize} entries`);
  return warnings;
}

/**
 * The chain checked each anchor's consistency with the one before; the
 * auditor checks it again with the log's own proofs, so a log that cannot
 * prove the path between two anchored roots is caught even on another chain.
 */
async function checkAnchorConsistency(
  api: KeyProofApi,
  anchors: SizeCheck[],
  logSize: number,
  flag: (f: Finding) => void,
  onProgress?: (p: AuditProgress) => void,
): Promise<void> {
  const pairs: number[] = [];
  for (let i = 1; i < anchors.length; i++) {
    const [a, b] = [anchors[i - 1]!, anchors[i]!];
    if (a.size >= 1 && b.size > a.size && b.size <= logSize) pairs.push(i);
  }
  // A log anchored every 30 s has about a million anchors a year: one proof
  // after the other, round trip by round trip, took most of an audit's time.
  const failures = new Map<number, string>();
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < pairs.length) {
      const i = pairs[next++]!;
      const [a, b] = [anchors[i - 1]!, anchors[i]!];
      try {
        const proof = (await api.consistency(a.size, b.size)).map((h) => fromHex(h, 32));
        verifyConsistency(BigInt(a.size), BigInt(b.size), fromHex(a.logRoot, 32), fromHex(b.logRoot, 32), proof);
      } catch (e) {
        failures.set(i, (e as Error).message);
      }
      onProgress?.({ phase: "anchors", done: ++done, total: pairs.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONSISTENCY_IN_FLIGHT, pairs.length) }, worker));
  // In chain order, however the answers came.
  for (const i of pairs) {
    const message = failures.get(i);
    if (message === undefined) continue;
    const [a, b] = [anchors[i - 1]!, anchors[i]!];
    flag({
      code: "INCONSISTENT_ANCHORS",
      size: b.size,
      detail: `no valid consistency proof from anchored size ${a.size} to ${b.size}: ${message}`,
    });
  }
}
