/**
 * The sparse Merkle map's update and proof algorithms over an abstract node
 * source, so the LevelDB store and the in-memory model share one
 * implementation. The tree is compressed: a subtree holding one leaf is stored
 * as that leaf at the subtree's top, so a path is about log2(n) deep.
 *
 * They are synchronous: the LevelDB store reads ahead, off the thread, what an
 * update will look at (map-store.ts), so a source answers from memory. A
 * promise for every node an update visited cost a group of 100 new keys
 * 0.7-4 ms of the thread's 21-29 (docs/figures.md, twenty-eighth session).
 *
 * Keys are never removed, so a position only ever goes empty -> leaf -> inner:
 * below a leaf there is never a stored node.
 */
import { bitAt, EMPTY_SUBTREE, mapLeaf, mapNode } from "./hashing.js";
import { describeProof, type MapProof } from "./proof.js";

export type MapNode = { kind: "inner"; hash: Uint8Array } | { kind: "leaf"; hash: Uint8Array; key: Uint8Array; stateHash: Uint8Array };

/** A node position: `depth` bits of `path` (the bits beyond are ignored). */
export interface MapPosition {
  depth: number;
  path: Uint8Array;
}

export interface MapNodeSource {
  get(depth: number, path: Uint8Array): MapNode | undefined;
}

export interface MapWrite extends MapPosition {
  node: MapNode;
  /** The node the source held at the position before (absent: none), so a store can keep what it replaces. */
  replaced?: MapNode;
}

export interface MapUpdate {
  key: Uint8Array;
  stateHash: Uint8Array;
}

function leafNode(u: MapUpdate): MapNode {
  return { kind: "leaf", key: u.key, stateHash: u.stateHash, hash: mapLeaf(u.key, u.stateHash) };
}

/** The order of two 32-byte keys, which is their paths' left to right. */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** Flips bit `depth` of `path` in place (twice restores it). */
export function flipBit(path: Uint8Array, depth: number): void {
  path[depth >> 3]! ^= 0x80 >> (depth & 7);
}

/** Same path with bit `depth` flipped: the sibling position one level down. */
export function siblingPath(path: Uint8Array, depth: number): Uint8Array {
  const p = path.slice();
  flipBit(p, depth);
  return p;
}

/**
 * Applies a batch of updates (at most one per key) and returns the new root and
 * every node written. Reads each affected position once.
 */
export function updateMap(source: MapNodeSource, updates: MapUpdate[]): { root: Uint8Array; writes: MapWrite[] } {
  const writes: MapWrite[] = [];
  const sorted = [...updates].sort((a, b) => compareKeys(a.key, b.key));
  for (let i = 1; i < sorted.length; i++) {
    if (compareKeys(sorted[i - 1]!.key, sorted[i]!.key) === 0) throw new Error("duplicate key in one map update");
  }

  const emit = (depth: number, path: Uint8Array, node: MapNode, replaced: MapNode | undefined): Uint8Array => {
    writes.push({ depth, path, node, replaced });
    return node.hash;
  };

  // A subtree holding exactly `items[lo..hi)`, with no stored nodes below
  // its top, where `top` was (a leaf, or nothing). Updates go down the tree
  // as such ranges of one sorted array: a sliced copy per level and side was
  // the largest allocation of an update after the hashes.
  const build = (depth: number, items: MapUpdate[], lo: number, hi: number, top?: MapNode): Uint8Array => {
    const path = items[lo]!.key;
    if (hi - lo === 1) return emit(depth, path, leafNode(items[lo]!), top);
    const split = splitAt(items, lo, hi, depth);
    const l = split > lo ? build(depth + 1, items, lo, split) : EMPTY_SUBTREE;
    const r = split < hi ? build(depth + 1, items, split, hi) : EMPTY_SUBTREE;
    return emit(depth, path, { kind: "inner", hash: mapNode(l, r) }, top);
  };

  const update = (depth: number, lo: number, hi: number): Uint8Array => {
    const path = sorted[lo]!.key;
    const node = source.get(depth, path);
    if (!node) return build(depth, sorted, lo, hi);
    if (node.kind === "leaf") {
      let replaced = false;
      for (let i = lo; i < hi && !replaced; i++) replaced = compareKeys(sorted[i]!.key, node.key) === 0;
      if (replaced) return build(depth, sorted, lo, hi, node);
      const merged = [...sorted.slice(lo, hi), { key: node.key, stateHash: node.stateHash }].sort((a, b) => compareKeys(a.key, b.key));
      return build(depth, merged, 0, merged.length, node);
    }
    const split = splitAt(sorted, lo, hi, depth);
    const l = split > lo ? update(depth + 1, lo, split) : untouched(depth, path, 0);
    const r = split < hi ? update(depth + 1, split, hi) : untouched(depth, path, 1);
    return emit(depth, path, { kind: "inner", hash: mapNode(l, r) }, node);
  };

  // The hash of the child on side `bit` of an inner node that no update goes
  // through (a function of updateMap, not of each update call: closures made
  // per level and key were a measurable share of an update).
  const untouched = (depth: number, path: Uint8Array, bit: 0 | 1): Uint8Array => {
    const p = bitAt(path, depth) === bit ? path : siblingPath(path, depth);
    return source.get(depth + 1, p)?.hash ?? EMPTY_SUBTREE;
  };

  if (sorted.length === 0) return { root: mapRoot(source), writes };
  return { root: update(0, 0, sorted.length), writes };
}

/** The first of `items[lo..hi)` (sorted, sharing their first `depth` bits) whose bit `depth` is 1; `hi` if none. */
function splitAt(items: MapUpdate[], lo: number, hi: number, depth: number): number {
  let i = lo;
  while (i < hi && bitAt(items[i]!.key, depth) === 0) i++;
  return i;
}

/** Builds the SPEC §5 proof for `key` (membership or absence). */
export function proveKey(source: MapNodeSource, key: Uint8Array): MapProof {
  const siblings: Uint8Array[] = [];
  let depth = 0;
  let node = source.get(0, key);
  while (node?.kind === "inner") {
    const sibling = source.get(depth + 1, siblingPath(key, depth));
    siblings.push(sibling?.hash ?? EMPTY_SUBTREE);
    depth++;
    node = source.get(depth, key);
  }
  return describeProof(siblings, node?.kind === "leaf" ? { key: node.key, stateHash: node.stateHash } : null);
}

/** The root hash held by a source (the empty map's root when it holds nothing). */
export function mapRoot(source: MapNodeSource): Uint8Array {
  return source.get(0, new Uint8Array(32))?.hash ?? EMPTY_SUBTREE;
}

/** Positions are addressed by depth and the path's first `depth` bits (an opaque string id). */
export function positionId(depth: number, path: Uint8Array): string {
  const bytes = Math.ceil(depth / 8);
  let s = String.fromCharCode(depth);
  for (let i = 0; i < bytes; i++) {
    let b = path[i]!;
    if (i === bytes - 1 && depth % 8) b &= (0xff << (8 - (depth % 8))) & 0xff;
    s += String.fromCharCode(b);
  }
  return s;
}
