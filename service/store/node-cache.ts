/**
 * The map's node cache, kept as bytes in flat buffers instead of a JS map of
 * node objects. Half a million cached nodes as objects (each hash its own
 * Uint8Array) were millions of long-lived heap objects that V8 copied and
 * marked again and again: at 1M log entries, garbage collection took a
 * quarter of the ingest time, and its pauses were the 100–300 ms stalls of
 * single-event writes. Bytes in an ArrayBuffer are never walked by the collector.
 *
 * Two open-addressing tables (linear probing) make an approximate LRU: sets
 * and hits go to the young table; when it is half full it becomes the old one
 * and the old one is emptied in O(1) by changing its stamp. Young is always
 * searched first, so an entry set since the last rotation shadows any older
 * copy of it.
 */
import type { MapNode } from "../core/map/sparse-map.js";

/** A map node as the store holds it: with the log size after the batch that wrote it, where known (map-store.ts). */
export type StoredNode = MapNode & { rev?: number };

const ABSENT = 1;
const INNER = 2;
const LEAF = 3;
/** Bytes per slot: the position's path (masked to its depth), then hash, key and state hash. */
const SLOT = 128;

class Table {
  readonly bytes: Uint8Array;
  readonly depths: Uint16Array;
  readonly kinds: Uint8Array;
  /** A slot is in use when its stamp is the table's current one. */
  readonly stamps: Uint32Array;
  /** The node's `rev`, NaN where unknown. */
  readonly revs: Float64Array;
  stamp = 1;
  count = 0;
  constructor(readonly slots: number) {
    this.bytes = new Uint8Array(slots * SLOT);
    this.depths = new Uint16Array(slots);
    this.kinds = new Uint8Array(slots);
    this.stamps = new Uint32Array(slots);
    this.revs = new Float64Array(slots);
  }
  clear(): void {
    this.stamp++;
    this.count = 0;
  }
}

/** The first 32 bits of `path` and the next 32, each cut to the position's `depth` bits. */
function word(path: Uint8Array, at: number, depth: number): number {
  const bits = depth - at * 8;
  if (bits <= 0) return 0;
  const w = ((path[at]! << 24) | (path[at + 1]! << 16) | (path[at + 2]! << 8) | path[at + 3]!) >>> 0;
  return bits >= 32 ? w : (w & ~(0xffffffff >>> bits)) >>> 0;
}

/** MurmurHash3's finalizer over the position: paths are hash outputs, so a few words suffice. */
function positionHash(depth: number, path: Uint8Array): number {
  let h = word(path, 0, depth) ^ Math.imul(depth, 0x9e3779b1) ^ Math.imul(word(path, 4, depth), 0x85ebca6b);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function nextPowerOfTwo(n: number): number {
  let p = 16;
  while (p < n) p *= 2;
  return p;
}

export class NodeCache {
  private young: Table;
  private old: Table;
  /** Entries per table before it rotates: at most half its slots, so probes stay short. */
  private readonly perTable: number;

  /** Holds at least `limit / 2` and at most `limit` nodes (absent positions count as nodes). */
  constructor(limit: number) {
    this.perTable = Math.max(1, Math.ceil(limit / 2));
    const slots = nextPowerOfTwo(this.perTable * 2);
    this.young = new Table(slots);
    this.old = new Table(slots);
  }

  /** The cached node, null for a position known to be empty, undefined when not cached. */
  get(depth: number, path: Uint8Array): StoredNode | null | undefined {
    const h = positionHash(depth, path);
    const y = this.find(this.young, depth, path, h);
    if (y >= 0) return this.read(this.young, y);
    const o = this.find(this.old, depth, path, h);
    if (o < 0) return undefined;
    const node = this.read(this.old, o);
    this.put(depth, path, h, node);
    return node;
  }

  /** What the cache knows of a position, without copying the node out (or counting it as a use). */
  peek(depth: number, path: Uint8Array): MapNode["kind"] | "absent" | undefined {
    const h = positionHash(depth, path);
    let slot = this.find(this.young, depth, path, h);
    let kind = slot >= 0 ? this.young.kinds[slot] : undefined;
    if (kind === undefined) {
      slot = this.find(this.old, depth, path, h);
      kind = slot >= 0 ? this.old.kinds[slot] : undefined;
    }
    return kind === INNER ? "inner" : kind === LEAF ? "leaf" : kind === ABSENT ? "absent" : undefined;
  }

  set(depth: number, path: Uint8Array, node: StoredNode | null): void {
    this.put(depth, path, positionHash(depth, path), node);
  }

  private put(depth: number, path: Uint8Array, h: number, node: StoredNode | null): void {
    let t = this.young;
    let slot = this.find(t, depth, path, h);
    if (slot < 0) {
      if (t.count >= this.perTable) {
        [this.young, this.old] = [this.old, this.young];
        this.young.clear();
        t = this.young;
      }
      slot = this.freeSlot(t, h);
      t.stamps[slot] = t.stamp;
      t.depths[slot] = depth;
      t.count++;
      const at = slot * SLOT;
      const whole = depth >> 3;
      t.bytes.fill(0, at, at + 32);
      t.bytes.set(path.subarray(0, whole), at);
      if (depth & 7) t.bytes[at + whole] = path[whole]! & (0xff << (8 - (depth & 7)));
    }
    const at = slot * SLOT;
    t.revs[slot] = node?.rev ?? NaN;
    if (node === null) {
      t.kinds[slot] = ABSENT;
    } else if (node.kind === "inner") {
      t.kinds[slot] = INNER;
      t.bytes.set(node.hash, at + 32);
    } else {
      t.kinds[slot] = LEAF;
      t.bytes.set(node.hash, at + 32);
      t.bytes.set(node.key, at + 64);
      t.bytes.set(node.stateHash, at + 96);
    }
  }

  private freeSlot(t: Table, h: number): number {
    const mask = t.slots - 1;
    let slot = h & mask;
    while (t.stamps[slot] === t.stamp) slot = (slot + 1) & mask;
    return slot;
  }

  /** The slot holding the position, or -1. */
  private find(t: Table, depth: number, path: Uint8Array, h: number): number {
    const mask = t.slots - 1;
    const whole = depth >> 3;
    const rest = depth & 7;
    const lastMask = (0xff << (8 - rest)) & 0xff;
    for (let slot = h & mask; t.stamps[slot] === t.stamp; slot = (slot + 1) & mask) {
      if (t.depths[slot] !== depth) continue;
      const at = slot * SLOT;
      let same = true;
      for (let i = 0; i < whole; i++) {
        if (t.bytes[at + i] !== path[i]) {
          same = false;
          break;
        }
      }
      if (same && (rest === 0 || t.bytes[at + whole] === (path[whole]! & lastMask))) return slot;
    }
    return -1;
  }

  /** A copy: the slot may be reused while the caller still holds the node. */
  private read(t: Table, slot: number): StoredNode | null {
    const at = slot * SLOT;
    let node: StoredNode;
    switch (t.kinds[slot]) {
      case INNER:
        node = { kind: "inner", hash: t.bytes.slice(at + 32, at + 64) };
        break;
      case LEAF:
        node = {
          kind: "leaf",
          hash: t.bytes.slice(at + 32, at + 64),
          key: t.bytes.slice(at + 64, at + 96),
          stateHash: t.bytes.slice(at + 96, at + 128),
        };
        break;
      default:
        return null;
    }
    const rev = t.revs[slot]!;
    if (!Number.isNaN(rev)) node.rev = rev;
    return node;
  }
}
