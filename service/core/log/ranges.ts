/**
 * Which stored nodes make up a proof. A log store keeps the hash of every
 * perfect (complete, aligned) subtree once it exists; any hash a proof needs is
 * the root of a range [begin, end) that splits into O(log n) such subtrees.
 * These plans are pure: a store fetches the named nodes, then `foldRange`
 * combines them. Each plan reads O(log n) nodes, for any past tree size.
 */
import { bitLength, splitPoint, trailingZeros } from "./bits.js";
import { nodeHash } from "./hashing.js";

/** The perfect subtree of height `level` covering leaves [index·2^level, (index+1)·2^level). */
export interface NodeId {
  level: number;
  index: bigint;
}

/** A node's name as a Map key (a NodeId object is compared by reference). */
export const nodeKey = (id: NodeId): string => `${id.level}/${id.index}`;

/** A proof element: the root of the range covered by these perfect subtrees, left to right. */
export type RangePlan = NodeId[];

/** Splits [begin, end) into perfect subtrees, greedily from the left (as RFC 9162's MTH does). */
export function perfectSubtrees(begin: bigint, end: bigint): NodeId[] {
  if (begin < 0n || end < begin) throw new RangeError(`bad range [${begin}, ${end})`);
  const out: NodeId[] = [];
  let at = begin;
  while (at < end) {
    // The subtree must be aligned at `at` and must not pass `end`.
    let level = at === 0n ? 64 : trailingZeros(at);
    const room = bitLength(end - at) - 1;
    if (room < level) level = room;
    out.push({ level, index: at >> BigInt(level) });
    at += 1n << BigInt(level);
  }
  return out;
}

/** MTH of a range from the hashes of its perfect subtrees (left to right): fold from the right. */
export function foldRange(hashes: Uint8Array[]): Uint8Array {
  if (hashes.length === 0) throw new RangeError("empty range has no subtree hash");
  let h = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) h = nodeHash(hashes[i]!, h);
  return h;
}

/** RFC 9162 §2.1.3.1 PATH(index, D[0:size]), as ranges, leaf-side first. */
export function inclusionPlan(index: bigint, size: bigint): RangePlan[] {
  if (index < 0n || index >= size) throw new RangeError(`index ${index} is outside a tree of size ${size}`);
  const out: RangePlan[] = [];
  let lo = 0n;
  let hi = size;
  while (hi - lo > 1n) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      out.push(perfectSubtrees(lo + k, hi));
      hi = lo + k;
    } else {
      out.push(perfectSubtrees(lo, lo + k));
      lo += k;
    }
  }
  return out.reverse();
}

/** RFC 9162 §2.1.4.1 PROOF(size1, D[0:size2]), as ranges, in proof order. */
export function consistencyPlan(size1: bigint, size2: bigint): RangePlan[] {
  if (size1 < 0n || size2 < size1) throw new RangeError(`no consistency proof from ${size1} to ${size2}`);
  if (size1 === 0n || size1 === size2) return [];
  const out: RangePlan[] = [];
  let lo = 0n;
  let hi = size2;
  let m = size1;
  let complete = true; // RFC's b: the subtree is entirely in the old tree's left spine
  for (;;) {
    if (m === hi - lo) {
      if (!complete) out.push(perfectSubtrees(lo, hi));
      break;
    }
    const k = splitPoint(hi - lo);
    if (m <= k) {
      out.push(perfectSubtrees(lo + k, hi));
      hi = lo + k;
    } else {
      out.push(perfectSubtrees(lo, lo + k));
      lo += k;
      m -= k;
      complete = false;
    }
  }
  return out.reverse();
}

/** The distinct nodes a set of plans reads, for one batched fetch. */
export function planNodes(plans: RangePlan[]): NodeId[] {
  const seen = new Map<string, NodeId>();
  for (const plan of plans) for (const id of plan) seen.set(nodeKey(id), id);
  return [...seen.values()];
}
