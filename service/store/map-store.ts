/**
 * The sparse Merkle map on LevelDB: the latest nodes for updates and fresh
 * proofs, views (snapshots) of the sizes readers are proving at, and the
 * history a proof at a kept size needs once it has no view: bundles are
 * made against the newest *anchored* checkpoint, and the anchorer keeps
 * the size it anchors (`keepHistory`).
 *
 * History is written only where a kept size needs it: when a batch changes
 * a node that had not changed since before the newest kept size, the value
 * it replaces goes to the history, under the size of the batch that wrote
 * it (its `rev`, which the latest record carries). The node as of a kept
 * size is then the latest one when that was written by then, else the
 * newest history record at or before the size. A history record for every
 * node of every batch, as stores before kept sizes wrote, was 42 % of a
 * group's LevelDB records (docs/figures.md, twenty-ninth session); such a
 * store's history up to the size it had (`K.mapFullHistory`) stays
 * complete, and proofs at any size up to it still read it.
 */
import type { ClassicLevel } from "classic-level";
import { LRUCache } from "lru-cache";
import { concatBytes, readU53be, readU64be, u64be, writeU53be } from "../core/bytes.js";
import { bitAt, MAP_DEPTH, mapLeaf } from "../core/map/hashing.js";
import {
  compareKeys,
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
import { alloc, K } from "./keys.js";
import { readMany, readManyAcrossPool, readOne } from "./reads.js";
import { NodeCache, type StoredNode } from "./node-cache.js";

export type Db = ClassicLevel<Uint8Array, Uint8Array>;
export type Snapshot = ReturnType<Db["snapshot"]>;
/** LevelDB's chained batch: each put goes to native memory at once, so a large batch is not a large JS heap. */
export type ChainedBatch = ReturnType<Db["batch"]>;

/**
 * A node's record: its hash (inner) or key and state hash (leaf), then `rev`
 * if given (a ledger's latest records) as a u64. With `rev` it is carved
 * from the keys' slabs (keys.ts): for a batch put only.
 */
export function encodeMapNode(n: MapNode, rev?: number): Uint8Array {
  if (rev === undefined) return n.kind === "inner" ? n.hash : concatBytes(n.key, n.stateHash);
  const v = alloc(mapNodeLength(n, rev));
  writeMapNode(v, 0, n, rev);
  return v;
}

/** The length of a node's record (`encodeMapNode`). */
export function mapNodeLength(n: MapNode, rev?: number): number {
  return (n.kind === "inner" ? 32 : 64) + (rev === undefined ? 0 : 8);
}

/** Writes a node's record (`encodeMapNode`) at `at`; returns where it ends. */
export function writeMapNode(v: Uint8Array, at: number, n: MapNode, rev?: number): number {
  if (n.kind === "inner") {
    v.set(n.hash, at);
    at += 32;
  } else {
    v.set(n.key, at);
    v.set(n.stateHash, at + 32);
    at += 64;
  }
  if (rev === undefined) return at;
  writeU53be(v, at, rev);
  return at + 8;
}

export function decodeMapNode(v: Uint8Array): StoredNode {
  let node: StoredNode;
  if (v.length === 32 || v.length === 40) node = { kind: "inner", hash: v.subarray(0, 32) };
  else {
    const key = v.slice(0, 32);
    const stateHash = v.slice(32, 64);
    node = { kind: "leaf", key, stateHash, hash: mapLeaf(key, stateHash) };
  }
  const rev = revOf(v);
  if (rev !== undefined) node.rev = rev;
  return node;
}

/** The `rev` a latest record carries (none in stores from before kept sizes). */
function revOf(v: Uint8Array): number | undefined {
  return v.length === 40 || v.length === 72 ? readU53be(v, v.length - 8) : undefined;
}

/**
 * A proof was asked at a size the store can no longer prove at: neither a
 * view nor the newest size, and its history was not kept. A reader that
 * asked at the size it knew as the newest asks again at the newer one.
 */
export class MapVersionGone extends Error {
  constructor(readonly size: bigint) {
    super(`the map as of size ${size} is no longer held (not kept for proofs)`);
  }
}

const NOTHING = new Uint8Array(0);

/** A write as `stage` keeps it: with its position's id, which `settle` needs again. */
type StagedWrite = MapWrite & { id?: string };

/**
 * Whether a batch that replaces a node written at `rev` (the log size after
 * its batch) writes that node's history record: it is unchanged since
 * before the newest kept size (-1: none), which therefore held it. A node
 * without a rev is in the full history already.
 */
export function historyNeeded(rev: number | undefined, newestKept: number): boolean {
  return rev !== undefined && rev <= newestKept;
}

export class MapStore implements MapNodeSource {
  private readonly cache: NodeCache;
  /**
   * LevelDB snapshots of the map as it was at a few sizes: the newest durable
   * one, and the ones pinned for bundles (the anchored checkpoints). A proof
   * at such a size reads the latest nodes under the snapshot, in one or two
   * multi-gets, instead of one history seek per node.
   */
  private readonly views = new Map<bigint, View>();
  /** Views of sizes below this one go unless pinned: readers ask at it or later (`dropViewsBefore`). */
  private floor = 0n;
  /** Nodes at past sizes, by size and position (see `historyAt`). */
  private readonly historyCache = new LRUCache<string, Uint8Array>({ max: 100_000 });
  /** Nodes of batches prepared but not yet durable: the next batch builds on them. */
  private readonly pending = new Map<string, StoredNode>();
  /** The newest size whose history batches keep from now on (-1: none); see the file's comment. */
  private newestKept = -1;
  /** Every batch's history is stored up to this size (`K.mapFullHistory`). */
  private fullHistoryUpTo = 0n;
  /** Sizes found kept (a kept size stays kept). */
  private readonly keptSizes = new Set<bigint>();

  constructor(
    private readonly db: Db,
    cacheSize = MAP_CACHE_NODES,
  ) {
    this.cache = new NodeCache(cacheSize);
  }

  /** The newest node at a position, prepared or durable; reads LevelDB on the calling thread when it is not in memory. */
  get(depth: number, path: Uint8Array): StoredNode | undefined {
    return this.newest(depth, path, positionId(depth, path));
  }

  /** `get`, with the position's id already made: an update asks for some 40 positions a key. */
  private newest(depth: number, path: Uint8Array, id: string): StoredNode | undefined {
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
    // Sorted once here: the read-ahead walks the keys in order, and the update's own sort of them is then a single pass.
    const sorted = [...updates].sort((a, b) => compareKeys(a.key, b.key));
    const fetched = await this.prefetch(sorted.map((u) => u.key));
    return updateMap(
      {
        // Prefetched positions were not pending, and nothing is staged while a
        // group is prepared, so they cannot hide a newer pending node.
        get: (depth, path) => {
          const id = positionId(depth, path);
          const n = fetched.get(id);
          return n === undefined ? this.newest(depth, path, id) : (n ?? undefined);
        },
      },
      sorted,
    );
  }

  /**
   * Reads, in a few multi-gets, every uncached node the update of `sorted`
   * (its keys, in order) will look at. The keys walk down their paths
   * through the nodes known so far, together as the update walks them (a
   * node shared by many keys is looked at once); a round reads, for every
   * key, the first position it cannot pass, and the sibling of each position
   * passed whose other side no key goes down. One read per node, one after
   * the other, is what made large maps slow (the lower levels are rarely
   * cached); reading a window of levels ahead instead read about ten
   * absent positions per new key, below the leaf where its path ends, and
   * those misses were most of the reads.
   * Groups of up to FEW_KEYS keys still read a window ahead: their misses
   * cost little, while a round trip per uncached level is what small groups
   * (single events at a steady rate) wait for, and a group that waited
   * longer is a larger next group.
   */
  private async prefetch(sorted: Uint8Array[]): Promise<Map<string, StoredNode | null>> {
    const out = new Map<string, StoredNode | null>();
    const known = (d: number, p: Uint8Array, id: string): MapNode["kind"] | "absent" | undefined => {
      const n = this.pending.get(id) ?? out.get(id);
      if (n !== undefined) return n === null ? "absent" : n.kind;
      return this.cache.peek(d, p);
    };
    // Siblings are formed in one scratch path (nothing keeps it): a new path
    // per sibling was the largest allocation of an update.
    const sibling = new Uint8Array(32);
    const window = sorted.length <= FEW_KEYS ? FEW_KEYS_WINDOW : 0;
    // Sorted, the keys below a position are a range of them. Each key
    // walking its own path looked at the levels all keys share once for
    // each key: for a group of 256 new keys, the top 8 levels 256 times.
    /** Positions still to walk: at `depth`, where keys lo..hi-1 go through. */
    let frontier = sorted.length > 0 ? [{ depth: 0, lo: 0, hi: sorted.length }] : [];
    while (frontier.length > 0) {
      const asked = new Set<string>();
      const ids: string[] = [];
      const wanted: Uint8Array[] = [];
      const ask = (d: number, p: Uint8Array, id: string): void => {
        asked.add(id);
        ids.push(id);
        wanted.push(K.mapLatest(d, p));
      };
      const want = (d: number, p: Uint8Array, id: string): void => {
        if (!asked.has(id) && known(d, p, id) === undefined) ask(d, p, id);
      };
      const wantSibling = (d: number, key: Uint8Array): void => {
        sibling.set(key);
        flipBit(sibling, d - 1);
        want(d, sibling, positionId(d, sibling));
      };
      const next: typeof frontier = [];
      const walk = (d: number, lo: number, hi: number): void => {
        for (;;) {
          const path = sorted[lo]!;
          const id = positionId(d, path);
          const wasAsked = asked.has(id);
          const kind = wasAsked ? undefined : known(d, path, id);
          if (kind === undefined) {
            // Known to be unknown: not looked up in the cache a second time.
            if (!wasAsked) ask(d, path, id);
            for (let i = lo; window > 0 && i < hi; i++) {
              for (let e = d + 1; e <= Math.min(MAP_DEPTH, d + window); e++) {
                want(e, sorted[i]!, positionId(e, sorted[i]!));
                wantSibling(e, sorted[i]!);
              }
            }
            next.push({ depth: d, lo, hi });
            return;
          }
          // A leaf or nothing: the update builds what goes below it and reads nothing more.
          if (kind !== "inner" || d === MAP_DEPTH) return;
          // Below an inner node the update reads both children: a side with
          // keys is walked, the other is read as it is.
          let split = lo;
          while (split < hi && bitAt(sorted[split]!, d) === 0) split++;
          if (split === lo || split === hi) wantSibling(d + 1, path);
          else {
            walk(d + 1, lo, split);
            lo = split;
          }
          d++;
        }
      };
      for (const f of frontier) walk(f.depth, f.lo, f.hi);
      // Off the thread, as the ledger's reads of a group (GroupPreparer.readMany says why).
      const values = wanted.length > 0 ? await readManyAcrossPool(this.db, wanted) : [];
      values.forEach((v, i) => out.set(ids[i]!, v ? decodeMapNode(v) : null));
      frontier = next;
    }
    return out;
  }

  /**
   * Adds the LevelDB writes of a prepared update at revision `rev` (the new
   * log size) to `batch`, with the history a kept size needs of the nodes it
   * replaces; without `rev`, only the latest nodes (an auditor's map needs no
   * history). Call it after the last await of the batch's preparation: a
   * size kept meanwhile counts.
   */
  addOps(batch: ChainedBatch, writes: MapWrite[], rev?: bigint): void {
    const at = rev === undefined ? undefined : Number(rev);
    for (const w of writes) {
      batch.put(K.mapLatest(w.depth, w.path), encodeMapNode(w.node, at));
      const old = w.replaced as StoredNode | undefined;
      if (at !== undefined && historyNeeded(old?.rev, this.newestKept)) {
        batch.put(K.mapHistory(w.depth, w.path, BigInt(old!.rev!)), encodeMapNode(old!));
      }
    }
  }

  /**
   * From now on, batches keep the history proofs at `size` need. `size` must
   * be the newest size prepared: no batch after it has called `addOps`.
   * The caller makes it durable (`K.mapKept`) before it relies on it.
   */
  keepHistory(size: bigint): void {
    if (Number(size) > this.newestKept) this.newestKept = Number(size);
  }

  /** The newest size whose history batches keep (-1: none), for records packed on another thread (map-updater.ts). */
  get newestKeptSize(): number {
    return this.newestKept;
  }

  /**
   * Reads which sizes the history is kept for; a writer (`size`: its durable
   * size) marks a store from before kept sizes as holding every batch's
   * history up to that size.
   */
  async openHistory(size?: bigint): Promise<void> {
    let full = readOne(this.db, K.mapFullHistory);
    if (full === undefined && size !== undefined) {
      full = u64be(size);
      await this.db.put(K.mapFullHistory, full, { sync: true });
    }
    this.fullHistoryUpTo = full === undefined ? 0n : readU64be(full);
    const it = this.db.iterator({ ...K.mapKeptRange, reverse: true, limit: 1 });
    try {
      const newest = await it.next();
      if (newest) this.keepHistory(readU64be(newest[0], 1));
    } finally {
      await it.close();
    }
  }

  /** Whether proofs at the past size `rev` can read the history, as `snapshot` holds it. */
  private historyKept(rev: bigint, snapshot: Snapshot): boolean {
    if (rev <= this.fullHistoryUpTo || this.keptSizes.has(rev)) return true;
    if (readOne(this.db, K.mapKept(rev), { snapshot }) === undefined) return false;
    this.keptSizes.add(rev);
    return true;
  }

  /** Called once a batch holding `writes`, ending at log size `rev`, is prepared, before it is written. */
  stage(writes: MapWrite[], rev?: bigint): void {
    for (const w of writes as StagedWrite[]) {
      // Tagged, as the node the next batch may replace.
      if (rev !== undefined) (w.node as StoredNode).rev = Number(rev);
      w.id = positionId(w.depth, w.path);
      this.pending.set(w.id, w.node);
    }
  }

  /** Called once the batch holding `writes` is durable. */
  settle(writes: MapWrite[]): void {
    for (const w of writes as StagedWrite[]) {
      this.cache.set(w.depth, w.path, w.node);
      const id = w.id ?? positionId(w.depth, w.path);
      if (this.pending.get(id) === w.node) this.pending.delete(id);
    }
  }

  /**
   * Takes the view of size `rev`. Called right after the batch that made `rev`
   * durable and before any other map write, so the snapshot holds exactly it;
   * or with a snapshot the caller has checked holds `rev` (a read replica).
   * Views older than the readers' size stay until `dropViewsBefore` passes them.
   */
  captureView(rev: bigint, snapshot?: Snapshot): void {
    if (this.views.has(rev)) {
      if (snapshot) this.closeSnapshot({ snapshot });
      return;
    }
    this.views.set(rev, { snapshot: snapshot ?? this.db.snapshot(), users: 0, pinned: false, dropped: false, upper: new Map() });
  }

  /**
   * Readers ask at `rev` or later from now on (it is published): the views
   * of older sizes go, but pinned ones. A size between the published one and
   * the durable one has its view until then, since only kept sizes have
   * history to fall back on.
   */
  dropViewsBefore(rev: bigint): void {
    if (rev > this.floor) this.floor = rev;
    for (const [size, view] of this.views) if (size < this.floor && !view.pinned) this.dropView(size);
  }

  /**
   * Keeps the view of `rev` for later proofs; `rev` must still have one (not
   * older than the readers' size, or pinned already). Only the
   * MAX_PINNED_VIEWS newest pinned views are kept. Returns false when `rev`
   * has no view: proofs at it then read the history, if it was kept.
   */
  pinView(rev: bigint): boolean {
    const view = this.views.get(rev);
    if (!view) return false;
    view.pinned = true;
    const pinned = [...this.views].filter(([, v]) => v.pinned).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [old, v] of pinned.slice(0, Math.max(0, pinned.length - MAX_PINNED_VIEWS))) {
      v.pinned = false;
      if (old < this.floor) this.dropView(old);
    }
    return true;
  }

  /** Whether `rev` is pinned (kept by `pinView`). */
  isPinned(rev: bigint): boolean {
    return this.views.get(rev)?.pinned === true;
  }

  /** Undoes `pinView`: the view goes unless readers may still ask at `rev`. */
  unpinView(rev: bigint): void {
    const view = this.views.get(rev);
    if (!view?.pinned) return;
    view.pinned = false;
    if (rev < this.floor) this.dropView(rev);
  }

  /** Closes every view (before the database closes). */
  async closeViews(): Promise<void> {
    const all = [...this.views.keys()];
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
   * A proof against the map as it was at log size `rev`: from its view; when
   * `rev` is still the newest size, from the latest nodes under one snapshot
   * (multi-gets); at a kept past size, from the history (`historyAt`).
   * Throws MapVersionGone at any other size.
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
    try {
      const current = await currentRev(snapshot);
      if (current === rev) return await this.proveWindowed(key, LATEST_PROOF_WINDOW, this.latestUnder(snapshot));
      if (rev > current || !this.historyKept(rev, snapshot)) throw new MapVersionGone(rev);
      return await this.proveWindowed(key, PROOF_WINDOW, (positions) => this.historyAt(positions, rev, snapshot));
    } finally {
      await snapshot.close();
    }
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
   * Nodes as they were at the kept past size `rev`, read under `snapshot`
   * (a batch landing meanwhile writes a latest node and the history of the
   * one it replaced together). A node written by `rev` is the latest one;
   * one written since is the newest history record at or before `rev`
   * (none: the position was empty then; a position is never emptied).
   * Bundles are made against the newest anchored checkpoint; when it has no
   * kept view (after a restart, until the next anchor) one past size takes
   * most of these reads and the upper levels come up again and again. What
   * a past size held never changes, so cached answers never go stale.
   */
  private async historyAt(positions: [number, Uint8Array][], rev: bigint, snapshot: Snapshot): Promise<(Uint8Array | undefined)[]> {
    const out: (Uint8Array | undefined)[] = new Array(positions.length);
    const ids = positions.map(([d, p]) => `${rev}:${positionId(d, p)}`);
    const missing: number[] = [];
    ids.forEach((id, i) => {
      const hit = this.historyCache.get(id);
      if (hit === undefined) missing.push(i);
      else out[i] = hit === NOTHING ? undefined : hit;
    });
    const latest = await readMany(
      this.db,
      missing.map((i) => K.mapLatest(...positions[i]!)),
      { snapshot },
    );
    await Promise.all(
      missing.map(async (i, j) => {
        const [d, p] = positions[i]!;
        const v = latest[j];
        const r = v === undefined ? undefined : revOf(v);
        const value = v === undefined || (r !== undefined && BigInt(r) <= rev) ? v : await this.readHistory(d, p, rev, snapshot);
        this.historyCache.set(ids[i]!, value ?? NOTHING);
        out[i] = value;
      }),
    );
    return out;
  }

  private async readHistory(depth: number, path: Uint8Array, rev: bigint, snapshot: Snapshot): Promise<Uint8Array | undefined> {
    const prefix = K.mapHistoryPrefix(depth, path);
    const it = this.db.iterator({ gte: K.mapHistory(depth, path, rev), lte: K.mapHistory(depth, path, 0n), limit: 1, snapshot });
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
/**
 * Map nodes an updating store caches by default: 300 MB (node-cache.ts; the
 * tables grow by powers of two, 270–540 bytes a node). A map holds 2.1–2.3
 * nodes a key; at 1M keys this is about its top 19 levels, and a new key's path
 * reads from LevelDB only below them. Half as many (its top 18 levels)
 * made pairs of issue and sale over HTTP 8 % slower at 1M entries
 * (docs/figures.md, thirty-third session).
 */
export const MAP_CACHE_NODES = 1_000_000;

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
