/**
 * The sparse Merkle map on LevelDB: the latest nodes for updates and fresh
 * proofs, and a per-batch history so that a proof can be made against any
 * earlier checkpoint (bundles use the newest *anchored* one).
 */
import type { ClassicLevel } from "classic-level";
import { LRUCache } from "lru-cache";
import { concatBytes } from "../core/bytes.js";
import { MAP_DEPTH, mapLeaf } from "../core/map/hashing.js";
import {
  flipBit,
  positionId,
  proveKey,
  siblingPath,
  updateMap,
  type MapNode,
  type MapNodeSource,
  type MapUpdate,
  type MapWrite,
} from "../core/map/sparse-map.js";
import type { MapProof } from "../core/map/proof.js";
import { K } from "./keys.js";
import { readMany, readManyAcrossPool, readOne } from "./reads.js";
import { NodeCache } from "./node-cache.js";

export type Db = ClassicLevel<Uint8Array, Uint8Array>;
export type Snapshot = ReturnType<Db["snapshot"]>;
/** LevelDB's chained batch: each put goes to native memory at once, so a large batch is not a large JS heap. */
export type ChainedBatch = ReturnType<Db["batch"]>;

export function encodeMapNode(n: MapNode): Uint8Array {
  return n.kind === "inner" ? n.hash : concatBytes(n.key, n.stateHash);
}

export function decodeMapNode(v: Uint8Array): MapNode {
  if (v.length === 32) return { kind: "inner", hash: v };
  const key = v.slice(0, 32);
  const stateHash = v.slice(32, 64);
  return { kind: "leaf", key, stateHash, hash: mapLeaf(key, stateHash) };
}

const NOTHING = new Uint8Array(0);

export class MapStore implements MapNodeSource {
  private readonly cache: NodeCache;
  /**
   * LevelDB snapshots of the map as it was at a few sizes: the newest durable
   * one, and the ones pinned for bundles (the anchored checkpoints). A proof
   * at such a size reads the latest nodes under the snapshot, in one or two
   * multi-gets, instead of one history seek per node.
   */
  private readonly views = new Map<bigint, View>();
  private headRev: bigint | null = null;
  /** Nodes at past sizes, by size and position (see `historyAt`). */
  private readonly historyCache = new LRUCache<string, Uint8Array>({ max: 100_000 });
  /** Nodes of batches prepared but not yet durable: the next batch builds on them. */
  private readonly pending = new Map<string, MapNode>();

  constructor(
    private readonly db: Db,
    cacheSize = 500_000,
  ) {
    this.cache = new NodeCache(cacheSize);
  }

  /** The newest node at a position, prepared or durable; reads LevelDB on the calling thread when it is not in memory. */
  get(depth: number, path: Uint8Array): MapNode | undefined {
    const id = positionId(depth, path);
    const staged = this.pending.get(id);
    if (staged) return staged;
    const hit = this.cache.get(depth, path);
    if (hit !== undefined) return hit ?? undefined;
    const v = readOne(this.db, K.mapLatest(depth, path));
    const node = v ? decodeMapNode(v) : null;
    this.cache.set(depth, path, node);
    return node ?? undefined;
  }

  /** Computes a batch's map writes; nothing is stored until `stage` and `settle`. */
  async prepare(updates: MapUpdate[]): Promise<{ root: Uint8Array; writes: MapWrite[] }> {
    const fetched = await this.prefetch(updates.map((u) => u.key));
    return updateMap(
      {
        // Prefetched positions were not pending, and nothing is staged while a
        // group is prepared, so they cannot hide a newer pending node.
        get: (depth, path) => {
          const n = fetched.get(positionId(depth, path));
          return n === undefined ? this.get(depth, path) : (n ?? undefined);
        },
      },
      updates,
    );
  }

  /**
   * Reads, in a few multi-gets, every uncached node the update of `keys` will
   * look at. Each key walks down its path through the nodes known so far; a
   * round reads, for every key, the first position it cannot pass and that
   * position's sibling. One read per node, one after the other, is what made
   * large maps slow (the lower levels are rarely cached); reading a window of
   * levels ahead instead read about ten absent positions per new key, below
   * the leaf where its path ends, and those misses were most of the reads.
   * Groups of up to FEW_KEYS keys still read a window ahead: their misses
   * cost little, while a round trip per uncached level is what small groups
   * (single events at a steady rate) wait for, and a group that waited
   * longer is a larger next group.
   */
  private async prefetch(keys: Uint8Array[]): Promise<Map<string, MapNode | null>> {
    const out = new Map<string, MapNode | null>();
    const known = (d: number, p: Uint8Array, id: string): MapNode["kind"] | "absent" | undefined => {
      const n = this.pending.get(id) ?? out.get(id);
      if (n !== undefined) return n === null ? "absent" : n.kind;
      return this.cache.peek(d, p);
    };
    // Siblings are formed in one scratch path (nothing keeps it): a new path
    // per sibling was the largest allocation of an update.
    const sibling = new Uint8Array(32);
    const window = keys.length <= FEW_KEYS ? FEW_KEYS_WINDOW : 0;
    let active = keys.map((key) => ({ key, depth: 0 }));
    while (active.length > 0) {
      const asked = new Set<string>();
      const ids: string[] = [];
      const wanted: Uint8Array[] = [];
      const want = (d: number, p: Uint8Array, id: string): void => {
        if (asked.has(id) || known(d, p, id) !== undefined) return;
        asked.add(id);
        ids.push(id);
        wanted.push(K.mapLatest(d, p));
      };
      const wantSibling = (d: number, key: Uint8Array): void => {
        sibling.set(key);
        flipBit(sibling, d - 1);
        want(d, sibling, positionId(d, sibling));
      };
      const next: typeof active = [];
      for (const a of active) {
        for (let d = a.depth; ; d++) {
          // Below an inner node the update reads both children.
          if (d > 0) wantSibling(d, a.key);
          const id = positionId(d, a.key);
          const kind = asked.has(id) ? undefined : known(d, a.key, id);
          if (kind === "inner" && d < MAP_DEPTH) continue;
          if (kind === undefined) {
            want(d, a.key, id);
            for (let e = d + 1; e <= Math.min(MAP_DEPTH, d + window); e++) {
              want(e, a.key, positionId(e, a.key));
              wantSibling(e, a.key);
            }
            a.depth = d;
            next.push(a);
          }
          break;
        }
      }
      // Off the thread, as the ledger's reads of a group (GroupPreparer.readMany says why).
      const values = wanted.length > 0 ? await readManyAcrossPool(this.db, wanted) : [];
      values.forEach((v, i) => out.set(ids[i]!, v ? decodeMapNode(v) : null));
      active = next;
    }
    return out;
  }

  /**
   * Adds the LevelDB writes of a prepared update at revision `rev` (the new
   * log size) to `batch`; without `rev`, only the latest nodes (an auditor's
   * map needs no history).
   */
  addOps(batch: ChainedBatch, writes: MapWrite[], rev?: bigint): void {
    for (const w of writes) {
      const value = encodeMapNode(w.node);
      batch.put(K.mapLatest(w.depth, w.path), value);
      if (rev !== undefined) batch.put(K.mapHistory(w.depth, w.path, rev), value);
    }
  }

  /** Called once a batch holding `writes` is prepared, before it is written. */
  stage(writes: MapWrite[]): void {
    for (const w of writes) this.pending.set(positionId(w.depth, w.path), w.node);
  }

  /** Called once the batch holding `writes` is durable. */
  settle(writes: MapWrite[]): void {
    for (const w of writes) {
      this.cache.set(w.depth, w.path, w.node);
      const id = positionId(w.depth, w.path);
      if (this.pending.get(id) === w.node) this.pending.delete(id);
    }
  }

  /**
   * Takes the view of size `rev`. Called right after the batch that made `rev`
   * durable and before any other map write, so the snapshot holds exactly it;
   * or with a snapshot the caller has checked holds `rev` (a read replica).
   */
  captureView(rev: bigint, snapshot?: Snapshot): void {
    if (this.headRev === rev) {
      if (snapshot) this.closeSnapshot({ snapshot });
      return;
    }
    const previous = this.headRev;
    this.views.set(rev, { snapshot: snapshot ?? this.db.snapshot(), users: 0, pinned: false, dropped: false, upper: new Map() });
    this.headRev = rev;
    if (previous !== null && !this.views.get(previous)?.pinned) this.dropView(previous);
  }

  /**
   * Keeps the view of `rev` for later proofs; `rev` must still have one (be
   * the newest durable size, or pinned already). Only the MAX_PINNED_VIEWS
   * newest pinned views are kept. Returns false when `rev` has no view:
   * proofs at it then read the history.
   */
  pinView(rev: bigint): boolean {
    const view = this.views.get(rev);
    if (!view) return false;
    view.pinned = true;
    const pinned = [...this.views].filter(([, v]) => v.pinned).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [old, v] of pinned.slice(0, Math.max(0, pinned.length - MAX_PINNED_VIEWS))) {
      v.pinned = false;
      if (old !== this.headRev) this.dropView(old);
    }
    return true;
  }

  /** Whether `rev` is pinned (kept by `pinView`). */
  isPinned(rev: bigint): boolean {
    return this.views.get(rev)?.pinned === true;
  }

  /** Undoes `pinView`: the view goes unless `rev` is still the newest durable size. */
  unpinView(rev: bigint): void {
    const view = this.views.get(rev);
    if (!view?.pinned) return;
    view.pinned = false;
    if (rev !== this.headRev) this.dropView(rev);
  }

  /** Closes every view (before the database closes). */
  async closeViews(): Promise<void> {
    const all = [...this.views.keys()];
    this.headRev = null;
    for (const rev of all) this.dropView(rev);
    await Promise.all([...this.closing]);
  }

  private readonly closing = new Set<Promise<void>>();

  /** Forgets a view; its snapshot closes once the last proof reading it is done. */
  private dropView(rev: bigint): void {
    const view = this.views.get(rev);
    if (!view) return;
    this.views.delete(rev);
    view.dropped = true;
    if (view.users === 0) this.closeSnapshot(view);
  }

  private closeSnapshot(view: Pick<View, "snapshot">): void {
    const p = view.snapshot.close().catch(() => undefined);
    this.closing.add(p);
    void p.finally(() => this.closing.delete(p));
  }

  /**
   * A proof against the map as it was at log size `rev`. When `rev` is still
   * the newest size, the latest nodes are read under one snapshot (multi-gets);
   * otherwise each node is the newest history version at or before `rev`
   * (history at a past size never changes, so no snapshot is needed).
   */
  async proveAt(key: Uint8Array, rev: bigint, currentRev: (snapshot: Snapshot) => Promise<bigint>): Promise<MapProof> {
    const view = this.views.get(rev);
    if (view) {
      view.users++;
      try {
        return await this.proveWindowed(key, LATEST_PROOF_WINDOW, this.latestInView(view));
      } finally {
        if (--view.users === 0 && view.dropped) this.closeSnapshot(view);
      }
    }
    const snapshot = this.db.snapshot();
    let current: bigint;
    try {
      current = await currentRev(snapshot);
      if (current === rev) {
        return await this.proveWindowed(key, LATEST_PROOF_WINDOW, this.latestUnder(snapshot));
      }
    } finally {
      await snapshot.close();
    }
    // Only a size below the durable one is settled history (a later size may still be written).
    const settled = rev < current;
    return this.proveWindowed(key, PROOF_WINDOW, (positions) => Promise.all(positions.map(([d, p]) => this.historyAt(d, p, rev, settled))));
  }

  /**
   * Reads under a view, its upper levels from memory once read: every proof
   * passes through the same few thousand nodes there, and a view never
   * changes, so they never go stale.
   */
  private latestInView(view: View): (positions: [number, Uint8Array][]) => Promise<(Uint8Array | undefined)[]> {
    const read = this.latestUnder(view.snapshot);
    return async (positions) => {
      const out: (Uint8Array | undefined)[] = new Array(positions.length);
      const missing: number[] = [];
      positions.forEach(([d, p], i) => {
        const hit = d <= VIEW_CACHED_DEPTH ? view.upper.get(positionId(d, p)) : undefined;
        if (hit === undefined) missing.push(i);
        else out[i] = hit === NOTHING ? undefined : hit;
      });
      if (missing.length === 0) return out;
      const values = await read(missing.map((i) => positions[i]!));
      missing.forEach((i, j) => {
        const [d, p] = positions[i]!;
        out[i] = values[j];
        if (d <= VIEW_CACHED_DEPTH) view.upper.set(positionId(d, p), values[j] ?? NOTHING);
      });
      return out;
    };
  }

  /** Reads of the latest nodes at `positions` as `snapshot` holds them. */
  private latestUnder(snapshot: Snapshot): (positions: [number, Uint8Array][]) => Promise<(Uint8Array | undefined)[]> {
    return (positions) =>
      readMany(
        this.db,
        positions.map(([d, p]) => K.mapLatest(d, p)),
        { snapshot },
      );
  }

  /**
   * Reads the path and its siblings `window` levels at a time (a path is
   * about log2(keys) deep): for asynchronous reads, one or two round trips
   * instead of two dependent reads per level.
   */
  private async proveWindowed(
    key: Uint8Array,
    window: number,
    fetch: (positions: [number, Uint8Array][]) => Promise<(Uint8Array | undefined)[]>,
  ): Promise<MapProof> {
    const got = new Map<string, MapNode | undefined>();
    let from = 0;
    for (;;) {
      const to = Math.min(MAP_DEPTH, from + window);
      const positions: [number, Uint8Array][] = [];
      for (let d = from; d <= to; d++) {
        positions.push([d, key]);
        if (d > 0) positions.push([d, siblingPath(key, d - 1)]);
      }
      const values = await fetch(positions);
      positions.forEach(([d, p], i) => got.set(positionId(d, p), values[i] ? decodeMapNode(values[i]) : undefined));
      if (got.get(positionId(to, key))?.kind !== "inner" || to === MAP_DEPTH) break;
      from = to + 1;
    }
    return proveKey({ get: (depth, path) => got.get(positionId(depth, path)) }, key);
  }

  /**
   * A node as it was at a past size. Bundles are made against the newest
   * anchored checkpoint; when it has no kept view (after a restart, until the
   * next anchor) one past size takes most of these reads and the upper levels
   * come up again and again. What a size below the durable one held never
   * changes, so cached answers never go stale.
   */
  private async historyAt(depth: number, path: Uint8Array, rev: bigint, settled: boolean): Promise<Uint8Array | undefined> {
    if (!settled) return this.readHistory(depth, path, rev);
    const id = `${rev}:${positionId(depth, path)}`;
    const hit = this.historyCache.get(id);
    if (hit !== undefined) return hit === NOTHING ? undefined : hit;
    const value = await this.readHistory(depth, path, rev);
    this.historyCache.set(id, value ?? NOTHING);
    return value;
  }

  private async readHistory(depth: number, path: Uint8Array, rev: bigint): Promise<Uint8Array | undefined> {
    const prefix = K.mapHistoryPrefix(depth, path);
    const it = this.db.iterator({ gte: K.mapHistory(depth, path, rev), lte: K.mapHistory(depth, path, 0n), limit: 1 });
    try {
      const first = await it.next();
      return first && first[0].length === prefix.length + 8 ? first[1] : undefined;
    } finally {
      await it.close();
    }
  }
}

interface View {
  snapshot: Snapshot;
  /** Proofs reading under the snapshot right now. */
  users: number;
  pinned: boolean;
  /** No longer listed: close the snapshot when the last user is done. */
  dropped: boolean;
  /** Nodes read under the snapshot down to VIEW_CACHED_DEPTH, by position (NOTHING: absent). */
  upper: Map<string, Uint8Array>;
}

const MAX_PINNED_VIEWS = 4;
/**
 * Levels of a view kept in memory once read: at most 2^13 - 1 positions
 * (about 1 MB), read by every proof; below them a key's path is its own.
 */
const VIEW_CACHED_DEPTH = 12;
/** Updates of at most this many keys read FEW_KEYS_WINDOW levels ahead of their first unknown position (see `prefetch`). */
export const FEW_KEYS = 256;
const FEW_KEYS_WINDOW = 7;
/** Levels a proof at a past size reads at once (each node a history lookup, all in flight together). */
const PROOF_WINDOW = 24;
/**
 * Levels a proof under a snapshot reads at once. Those reads are synchronous
 * (reads.ts), so a smaller window costs no round trip, and it reads fewer
 * absent positions below where the key's path ends: each of those looks
 * through every level of LevelDB's tables, and charges them the seeks that
 * start compactions (docs/figures.md, 2026-12-02 night).
 */
const LATEST_PROOF_WINDOW = 4;
