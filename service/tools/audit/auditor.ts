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
import { AnchorChecks } from "./anchor-checks.js";
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
  /** The log's `Anchored` events, in chain order, as they are read (null: no chain given, anchors not checked). */
  anchors: AsyncIterable<AnchoredEvent> | Iterable<AnchoredEvent> | null;
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
  /** Each anchor's check, in chain order (iterable; `toJSON` gives the array). */
  anchors: AnchorChecks;
  checkpoints: SizeCheck[];
  findingCounts: Partial<Record<FindingCode, number>>;
  findings: Finding[];
  startedAt: string;
  finishedAt: string;
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

  // Signed checkpoints' roots by size (the anchors' are in AnchorChecks).
  const claims = new Map<number, SizeCheck[]>();
  const checkpoints: SizeCheck[] = [];
  // The log's own latest checkpoint fixes how many entries it claims to have.
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
    claims.set(check.size, [...(claims.get(check.size) ?? []), check]);
  }

  const anchors = new AnchorChecks();
  if (o.anchors) {
    let last = -1;
    for await (const a of o.anchors) {
      const size = anchors.size(anchors.push(a));
      if (size <= last)
        flag({ code: "INCONSISTENT_ANCHORS", size, detail: `anchor of size ${size} (tx ${a.txHash}) follows one of size ${last}` });
      last = Math.max(last, size);
    }
    if (last > logSize) {
      flag({
        code: "MISSING_ENTRIES",
        size: last,
        detail: `the chain anchors size ${last}, but the log claims only ${logSize} entries`,
      });
    }
    await checkAnchorConsistency(o.api, anchors, logSize, flag, o.onProgress);
  }
  const warnings = chainWarnings(o, info, logSize, anchors.length);

  const workDir = mkdtempSync(path.join(o.workDir ?? os.tmpdir(), "keyproof-audit-"));
  const db: Db = new ClassicLevel<Uint8Array, Uint8Array>(workDir, { keyEncoding: "view", valueEncoding: "view", compression: false });
  await db.open();
  const map = new MapStore(db, 200_000);
  const replayer = new Replayer();
  const tree = CompactRange.empty();
  let mapRoot: Uint8Array = EMPTY_SUBTREE;
  let keys = 0;

  // Anchors by size, and the next one a replayed size has not reached.
  const bySize = anchors.bySize();
  let nextAnchor = 0;
  // Past the last anchor: Infinity, which no size reaches.
  const anchorSizeAt = (k: number): number => (k < bySize.length ? anchors.size(bySize[k]!) : Infinity);

  /** Compares the claims at `size` with the replayed roots, sets their checks' results and flags what differs. */
  const checkClaims = (size: number): void => {
    while (anchorSizeAt(nextAnchor) < size) nextAnchor++;
    const list = claims.get(size) ?? [];
    if (list.length === 0 && anchorSizeAt(nextAnchor) !== size) return;
    const logRoot = toHex(tree.root());
    const map = toHex(mapRoot);
    const judge = (check: SizeCheck, logMismatch: FindingCode): void => {
      check.logRootOk = check.logRoot.toLowerCase() === logRoot;
      check.mapRootOk = check.mapRoot.toLowerCase() === map;
      if (!check.logRootOk) {
        const what =
          logMismatch === "FORK" ? "history was rewritten after it was anchored" : "the signed checkpoint does not match the log's entries";
        flag({
          code: logMismatch,
          size,
          detail: `${check.source} claims log root ${check.logRoot} at size ${size}; the entries give ${logRoot}: ${what}`,
        });
      }
      // Under a wrong log root the map differs as a consequence: the log root is the finding.
      if (check.logRootOk && !check.mapRootOk) {
        flag({
          code: "MAP_ROOT_MISMATCH",
          size,
          detail: `${check.source} claims map root ${check.mapRoot} at size ${size}; replaying the entries gives ${map}`,
        });
      }
    };
    for (const check of list) judge(check, "LOG_ROOT_MISMATCH");
    for (; anchorSizeAt(nextAnchor) === size; nextAnchor++) {
      const i = bySize[nextAnchor]!;
      const check = anchors.at(i);
      judge(check, "FORK");
      anchors.setResult(i, check.logRootOk, check.mapRootOk);
    }
  };

  /** The next size above `after`, up to the log's, at which something claims roots. */
  const checkpointCuts = [...claims.keys()].filter((s) => s > 0 && s <= logSize).sort((a, b) => a - b);
  const nextCut = (after: number): number | undefined => {
    while (checkpointCuts.length > 0 && checkpointCuts[0]! <= after) checkpointCuts.shift();
    let k = nextAnchor;
    while (anchorSizeAt(k) <= after) k++;
    const cut = Math.min(checkpointCuts[0] ?? Infinity, anchorSizeAt(k));
    return cut <= logSize ? cut : undefined;
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
    let cut = nextCut(0);
    const stream = streamEntries(o.api, logSize);
    let segment: string[] = [];
    let done = 0;
    const flush = async (): Promise<void> => {
      if (segment.length === 0) return;
      await replaySegment(segment);
      done += segment.length;
      segment = [];
      if (cut === done) {
        checkClaims(done);
        cut = nextCut(done);
      }
      o.onProgress?.({ phase: "entries", done, total: logSize });
    };
    for await (const page of stream.pages) {
      for (const entry of page.entries) {
        segment.push(entry);
        if (segment.length >= SEGMENT || done + segment.length === cut) await flush();
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
      // The sizes not reached keep their results null: not checked.
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
function chainWarnings(o: AuditOptions, info: LogInfo, logSize: number, anchorCount: number): string[] {
  if (!o.anchors) return ["the anchors were not checked: no chain was given"];
  const warnings: string[] = [];
  const where = o.chain ? ` on chain ${o.chain.chainId} at ${o.chain.contract}` : "";
  if (o.chain && info.chainId !== null && info.chainId !== o.chain.chainId)
    warnings.push(`the log says it anchors on chain ${info.chainId}; its anchors were read on chain ${o.chain.chainId}`);
  if (o.chain && info.contract !== null && info.contract.toLowerCase() !== o.chain.contract.toLowerCase())
    warnings.push(`the log names anchor contract ${info.contract}; its anchors were read at ${o.chain.contract}`);
  if (anchorCount === 0 && logSize > 0) warnings.push(`no anchor of this log${where}: the chain binds none of its ${logSize} entries`);
  return warnings;
}

/**
 * The chain checked each anchor's consistency with the one before; the
 * auditor checks it again with the log's own proofs, so a log that cannot
 * prove the path between two anchored roots is caught even on another chain.
 */
async function checkAnchorConsistency(
  api: KeyProofApi,
  anchors: AnchorChecks,
  logSize: number,
  flag: (f: Finding) => void,
  onProgress?: (p: AuditProgress) => void,
): Promise<void> {
  // Anchor i and the one before it, where a proof between them can exist.
  const provable = (i: number): boolean => {
    const [a, b] = [anchors.size(i - 1), anchors.size(i)];
    return a >= 1 && b > a && b <= logSize;
  };
  let total = 0;
  for (let i = 1; i < anchors.length; i++) if (provable(i)) total++;
  // A log anchored every 30 s has about a million anchors a year: one proof
  // after the other, round trip by round trip, took most of an audit's time.
  let next = 1;
  let done = 0;
  // Findings in chain order, however the answers came: what failed (a
  // message) or passed (null), held until every proof before it is in.
  const settled = new Map<number, string | null>();
  let inOrder = 1;
  const flagInOrder = (): void => {
    for (;;) {
      while (inOrder < anchors.length && !provable(inOrder)) inOrder++;
      const message = settled.get(inOrder);
      if (message === undefined) return;
      settled.delete(inOrder);
      if (message !== null) {
        flag({
          code: "INCONSISTENT_ANCHORS",
          size: anchors.size(inOrder),
          detail: `no valid consistency proof from anchored size ${anchors.size(inOrder - 1)} to ${anchors.size(inOrder)}: ${message}`,
        });
      }
      inOrder++;
    }
  };
  const worker = async (): Promise<void> => {
    for (;;) {
      while (next < anchors.length && !provable(next)) next++;
      if (next >= anchors.length) return;
      const i = next++;
      const [a, b] = [anchors.size(i - 1), anchors.size(i)];
      let message: string | null = null;
      try {
        const proof = (await api.consistency(a, b)).map((h) => fromHex(h, 32));
        verifyConsistency(BigInt(a), BigInt(b), anchors.logRoot(i - 1), anchors.logRoot(i), proof);
      } catch (e) {
        message = (e as Error).message;
      }
      settled.set(i, message);
      flagInOrder();
      onProgress?.({ phase: "anchors", done: ++done, total });
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONSISTENCY_IN_FLIGHT, total) }, worker));
}
