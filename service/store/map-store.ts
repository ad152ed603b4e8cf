/**
 * The sparse Merkle map on LevelDB: the latest nodes for updates and fresh
 * proofs, and a per-batch history so that a proof can be made against any
 * earlier checkpoint (bundles use the newest *anchored* one).
 */
import type { ClassicLevel } from "classic-level";
import { concatBytes } from "../core/bytes.js";
import { mapLeaf } from "../core/map/hashing.js";
import {
  positionId,
  proveKey,
  updateMap,
  type MapNode,
  type MapNodeSource,
  type MapUpdate,
  type MapWrite,
} from "../core/map/sparse-map.js";
import type { MapProof } from "../core/map/proof.js";
import { K } from "./keys.js";

export type Db = ClassicLevel<Uint8Array, Uint8Array>;
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

  constructor(
    private readonly db: Db,
    cacheSize = 500_000,
  ) {
    this.cache = new NodeCache(cacheSize);
  }

  async get(depth: number, path: Uint8Array): Promise<MapNode | undefined> {
    const id = positionId(depth, path);
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

  /** LevelDB operations for a prepared update at revision `rev` (the new log size). */
  ops(writes: MapWrite[], rev: bigint): BatchOp[] {
    const ops: BatchOp[] = [];
    for (const w of writes) {
      const value = encodeMapNode(w.node);
      ops.push({ type: "put", key: K.mapLatest(w.depth, w.path), value });
      ops.push({ type: "put", key: K.mapHistory(w.depth, w.path, rev), value });
    }
    return ops;
  }

  /** Called once the batch holding `writes` is durable. */
  commit(writes: MapWrite[]): void {
    for (const w of writes) this.cache.set(positionId(w.depth, w.path), w.node);
  }

  /** A proof against the map as it was at log size `rev`. */
  proveAt(key: Uint8Array, rev: bigint): Promise<MapProof> {
    const db = this.db;
    const source: MapNodeSource = {
      async get(depth, path) {
        const prefix = K.mapHistoryPrefix(depth, path);
        const it = db.iterator({
          gte: K.mapHistory(depth, path, rev),
          lt: concatBytes(prefix, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)),
          limit: 1,
        });
        try {
          const first = await it.next();
          return first ? decodeMapNode(first[1]) : undefined;
        } finally {
          await it.close();
        }
      },
    };
    return proveKey(source, key);
  }
}
