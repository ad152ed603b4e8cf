/** Reads of the RFC 9162 log on LevelDB: entries, nodes, roots and proofs for any past size. */
import { EMPTY_ROOT } from "../core/log/hashing.js";
import type { StoredNode } from "../core/log/compact-range.js";
import {
  consistencyPlan,
  foldRange,
  inclusionPlan,
  nodeKey,
  perfectSubtrees,
  planNodes,
  type NodeId,
  type RangePlan,
} from "../core/log/ranges.js";
import { TILE_HEIGHT, TILE_WIDTH } from "../core/log/tiles.js";
import { LRUCache } from "lru-cache";
import { K } from "./keys.js";
import { readMany, readOne } from "./reads.js";
import type { Db } from "./map-store.js";

/**
 * Nodes at this level and above (one per 16,384 leaves) stay in memory once
 * written or read: every proof needs a few of them, and they are few.
 */
const HIGH_LEVEL = 14;
/** Nodes below HIGH_LEVEL kept from the newest durable batches, about two a leaf: those of about the last 32,768 leaves. */
const RECENT_NODES = 65_536;
/**
 * Nodes from this level up to HIGH_LEVEL (one per 32 leaves and up) are kept
 * once read, the MIDDLE_NODES most recently used: all of them up to about 1M
 * leaves, some 24 MB (`npm run bench:log-proofs`: 367 bytes a node). A random
 * old leaf's proof then reads its 5 lowest levels instead of 14: 187 -> 123
 * µs a proof at 300,000 entries (docs/figures.md, eighth session).
 */
const MIDDLE_LEVEL = 5;
const MIDDLE_NODES = 65_536;

export class LogStore {
  // A log node never changes once written (the hash of a perfect subtree), so
  // what is held here never goes stale. The proofs of the newest leaves (write
  // answers carry them) come wholly from memory: levels below HIGH_LEVEL from
  // `recent`, the rest from `high`.
  private readonly high = new Map<string, Uint8Array>();
  private readonly recent: RecentNodes;
  private readonly middle: LRUCache<string, Uint8Array>;

  constructor(
    private readonly db: Db,
    private readonly highLevel = HIGH_LEVEL,
    recentNodes = RECENT_NODES,
    private readonly middleLevel = MIDDLE_LEVEL,
    middleNodes = MIDDLE_NODES,
  ) {
    this.recent = new RecentNodes(highLevel, recentNodes / 2);
    this.middle = new LRUCache({ max: Math.max(1, middleNodes) });
  }

  /** How many nodes of the middle band are kept (for the benchmark of its memory). */
  get middleNodes(): number {
    return this.middle.size;
  }

  /** Takes the nodes of a batch once it is durable (never before: a batch that fails is not the log). */
  remember(nodes: readonly StoredNode[]): void {
    for (const n of nodes) {
      if (n.level >= this.highLevel) this.high.set(nodeKey(n), n.hash);
      else this.recent.set(n.level, n.index, n.hash);
    }
  }

  /** Fetches nodes: from memory where held, the rest in one LevelDB round trip. */
  async nodes(ids: NodeId[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    const missing: NodeId[] = [];
    for (const id of ids) {
      const key = nodeKey(id);
      const held =
        id.level >= this.highLevel
          ? this.high.get(key)
          : (this.recent.get(id.level, id.index) ?? (id.level >= this.middleLevel ? this.middle.get(key) : undefined));
      if (held) out.set(key, held);
      else missing.push(id);
    }
    if (missing.length === 0) return out;
    const values = await readMany(
      this.db,
      missing.map((id) => K.node(id.level, id.index)),
    );
    missing.forEach((id, i) => {
      const v = values[i];
      const key = nodeKey(id);
      if (!v) throw new Error(`log node ${key} is missing`);
      out.set(key, v);
      if (id.level >= this.highLevel) this.high.set(key, v);
      else if (id.level >= this.middleLevel) this.middle.set(key, v);
    });
    return out;
  }

  private async fold(plans: RangePlan[]): Promise<Uint8Array[]> {
    const got = await this.nodes(planNodes(plans));
    return plans.map((p) => foldRange(p.map((id) => got.get(nodeKey(id))!)));
  }

  async root(size: bigint): Promise<Uint8Array> {
    if (size === 0n) return EMPTY_ROOT;
    const [r] = await this.fold([perfectSubtrees(0n, size)]);
    return r!;
  }

  async inclusionProof(index: bigint, size: bigint): Promise<Uint8Array[]> {
    return (await this.inclusionProofs([index], size))[0]!;
  }

  /** The proofs of several leaves in one size, read in one round trip (neighbours share most of their nodes). */
  async inclusionProofs(indices: bigint[], size: bigint): Promise<Uint8Array[][]> {
    const plans = indices.map((i) => inclusionPlan(i, size));
    const hashes = await this.fold(plans.flat());
    let at = 0;
    return plans.map((p) => hashes.slice(at, (at += p.length)));
  }

  consistencyProof(size1: bigint, size2: bigint): Promise<Uint8Array[]> {
    return this.fold(consistencyPlan(size1, size2));
  }

  async leafHash(index: bigint): Promise<Uint8Array> {
    const v = readOne(this.db, K.node(0, index));
    if (!v) throw new Error(`leaf ${index} is missing`);
    return v;
  }

  /**
   * A C2SP hash tile's `width` hashes, joined: a full tile in one read where
   * it is stored whole (full-tiles.ts), else from its nodes. A full tile of a
   * store from before full tiles is stored whole the first time it is read,
   * so an upgraded store needs no pass over its history.
   */
  async tile(tileLevel: number, index: bigint, width: number): Promise<Uint8Array> {
    const key = K.tile(tileLevel, index);
    if (width === TILE_WIDTH) {
      const whole = readOne(this.db, key);
      if (whole) return whole;
    }
    const hashes = await this.levelHashes(TILE_HEIGHT * tileLevel, index * BigInt(TILE_WIDTH), width);
    const joined = Buffer.concat(hashes, hashes.length * 32);
    if (width === TILE_WIDTH) {
      try {
        // Immutable and derived from durable nodes: the same value whoever writes it, and no sync needed.
        await this.db.put(key, joined);
      } catch {
        // Not kept (the store is closing): read from its nodes again next time.
      }
    }
    return joined;
  }

  /**
   * Hashes of `count` consecutive nodes at `level` from `start`:
   * neighbours in LevelDB's key order, so one range read, not a get each.
   */
  async levelHashes(level: number, start: bigint, count: number): Promise<Uint8Array[]> {
    const out = await this.db.values({ gte: K.node(level, start), lt: K.node(level, start + BigInt(count)) }).all();
    if (out.length !== count) throw new Error(`log nodes ${level}/[${start}, ${start + BigInt(count)}) are incomplete`);
    return out;
  }

  async entries(start: bigint, end: bigint): Promise<Uint8Array[]> {
    const out = await this.db.values({ gte: K.entry(start), lt: K.entry(end) }).all();
    if (BigInt(out.length) !== end - start) throw new Error(`entries [${start}, ${end}) are incomplete`);
    return out;
  }
}

/**
 * The nodes below the high levels of about the newest `leaves` leaves: for
 * each level a ring of the newest nodes, at the slot their index gives. A
 * batch's nodes were a map entry each under a string of their level and
 * index, and the oldest deleted again: 3 % of the sequencer's thread under
 * flat-out writes (docs/figures.md, thirty-fifth session).
 */
class RecentNodes {
  private readonly rings: { indices: Float64Array; hashes: (Uint8Array | undefined)[] }[];

  constructor(levels: number, leaves: number) {
    this.rings = Array.from({ length: levels }, (_, level) => {
      const slots = Math.floor(leaves / 2 ** level);
      return { indices: new Float64Array(slots).fill(-1), hashes: new Array<Uint8Array | undefined>(slots) };
    });
  }

  set(level: number, index: bigint, hash: Uint8Array): void {
    const ring = this.rings[level];
    if (!ring || ring.hashes.length === 0 || index > MAX_SAFE) return;
    const i = Number(index);
    const slot = i % ring.hashes.length;
    ring.indices[slot] = i;
    ring.hashes[slot] = hash;
  }

  get(level: number, index: bigint): Uint8Array | undefined {
    const ring = this.rings[level];
    if (!ring || ring.hashes.length === 0 || index > MAX_SAFE) return undefined;
    const i = Number(index);
    const slot = i % ring.hashes.length;
    return ring.indices[slot] === i ? ring.hashes[slot] : undefined;
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
