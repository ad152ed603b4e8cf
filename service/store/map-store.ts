/**
 * The sparse Merkle map on LevelDB: the latest nodes for updates and fresh
 * proofs, and a per-batch history so that a proof can be made against any
 * earlier checkpoint (bundles use the newest *anchored* one).
 */
import type { ClassicLevel } from "classic-level";
import { concatBytes } from "../core/bytes.js";
import { MAP_DEPTH, mapLeaf } from "../core/map/hashing.js";
import {
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

export type Db = ClassicLevel<Uint8Array, Uint8Array>;
export type Snapshot = ReturnType<Db["snapshot"]>;
export type BatchOp = { type: "put"; key: Uint8Array; value: Uint8Array } | { type: "del"; key: Uint8Array };

export function encodeMapNode(n: MapNode): Uint8Array {
  return n.kind === "inner" ? n.hash : concatBytes(n.key, n.stateHash);
}

export function decodeMapNode(v: Uint8Array): MapNode {
  if (v.length === 32) return { kind: "inner", hash: v };
  const key = v.slice(0, 32);
  const stateHash = v.slice(32, 64);
  return { kind: "leaf", key, stateHash, hash: mapLeaf(key, stateHash) };
}

/** A bounded cache: evicts the oldest insertions first. */
class NodeCache {
  private readonly entries = new Map<string, MapNode | null>();
  constructor(private readonly limit: number) {}
  get(id: string): MapNode | null | undefined {
    return this.entries.get(id);
  }
  set(id: string, n: MapNode | null): void {
    this.entries.delete(id);
    this.entries.set(id, n);
    if (this.entries.size > this.limit) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}

export class MapStore implements MapNodeSource {
  private readonly cache: NodeCache;
  /** Nodes of batches prepared but not yet durable: the next batch builds on them. */
  private readonly pending = new Map<string, MapNode>();

  constructor(
    private readonly db: Db,
    cacheSize = 500_000,
  ) {
    this.cache = new NodeCache(cacheSize);
  }

  async get(depth: number, path: Uint8Array): Promise<MapNode | undefined> {
    const id = positionId(depth, path);
    const staged = this.pending.get(id);
    if (staged) return staged;
    const hit = this.cache.get(id);
    if (hit !== undefined) return hit ?? undefined;
    const v = await this.db.get(K.mapLatest(depth, path));
    const node = v ? decodeMapNode(v) : null;
    this.cache.set(id, node);
    return node ?? undefined;
  }

  /** Computes a batch's map writes; nothing is stored until `commit`. */
  async prepare(updates: MapUpdate[]): Promise<{ root: Uint8Array; writes: MapWrite[] }> {
    return updateMap(this, updates);
  }

  /** Appends the LevelDB operations of a prepared update at revision `rev` (the new log size). */
  addOps(ops: BatchOp[], writes: MapWrite[], rev: bigint): void {
    for (const w of writes) {
      const value = encodeMapNode(w.node);
      ops.push({ type: "put", key: K.mapLatest(w.depth, w.path), value });
      ops.push({ type: "put", key: K.mapHistory(w.depth, w.path, rev), value });
    }
  }

  /** Called once a batch holding `writes` is prepared, before it is written. */
  stage(writes: MapWrite[]): void {
    for (const w of writes) this.pending.set(positionId(w.depth, w.path), w.node);
  }

  /** Called once the batch holding `writes` is durable. */
  settle(writes: MapWrite[]): void {
    for (const w of writes) {
      const id = positionId(w.depth, w.path);
      this.cache.set(id, w.node);
      if (this.pending.get(id) === w.node) this.pending.delete(id);
    }
  }

  /**
   * A proof against the map as it was at log size `rev`. When `rev` is still
   * the newest size, the latest nodes are read under one snapshot (multi-gets);
   * otherwise each node is the newest history version at or before `rev`
   * (history at a past size never changes, so no snapshot is needed).
   */
  async proveAt(key: Uint8Array, rev: bigint, currentRev: (snapshot: Snapshot) => Promise<bigint>): Promise<MapProof> {
    const snapshot = this.db.snapshot();
    try {
      if ((await currentRev(snapshot)) === rev) {
        return await this.proveWindowed(key, (positions) =>
          this.db.getMany(
            positions.map(([d, p]) => K.mapLatest(d, p)),
            { snapshot },
          ),
        );
      }
    } finally {
      await snapshot.close();
    }
    return this.proveWindowed(key, (positions) => Promise.all(positions.map(([d, p]) => this.historyAt(d, p, rev))));
  }

  /**
   * Reads the path and its siblings a window of levels at a time (a path is
   * about log2(keys) deep), so a proof costs one or two round trips instead of
   * two dependent reads per level.
   */
  private async proveWindowed(
    key: Uint8Array,
    fetch: (positions: [number, Uint8Array][]) => Promise<(Uint8Array | undefined)[]>,
  ): Promise<MapProof> {
    const got = new Map<string, MapNode | undefined>();
    let from = 0;
    for (;;) {
      const to = Math.min(MAP_DEPTH, from + PROOF_WINDOW);
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

  private async historyAt(depth: number, path: Uint8Array, rev: bigint): Promise<Uint8Array | undefined> {
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

const PROOF_WINDOW = 24;
