/**
 * RFC 9162 §2.1.3.2 and §2.1.4.2 proof verification. Returns normally or
 * throws a ProofError saying what failed; never returns false, so a caller
 * cannot forget to check.
 */
import { bytesEqual } from "../bytes.js";
import { HASH_SIZE } from "../hash.js";
import { assertU64, isPowerOfTwo } from "./bits.js";
import { nodeHash } from "./hashing.js";

export class ProofError extends Error {
  override name = "ProofError";
}

function assertHashes(proof: readonly Uint8Array[], what: string): void {
  for (const p of proof) {
    if (!(p instanceof Uint8Array) || p.length !== HASH_SIZE) throw new ProofError(`${what}: every proof hash must be 32 bytes`);
  }
}

/** Computes the root that `proof` implies for `leaf` at `index` in a tree of `size`. */
export function rootFromInclusionProof(index: bigint, size: bigint, leaf: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  assertU64(index, "index");
  assertU64(size, "size");
  if (index >= size) throw new ProofError(`index ${index} is beyond tree size ${size}`);
  if (leaf.length !== HASH_SIZE) throw new ProofError("leaf hash must be 32 bytes");
  assertHashes(proof, "inclusion proof");
  let fn = index;
  let sn = size - 1n;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) throw new ProofError("inclusion proof is too long");
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError("inclusion proof is too short");
  return r;
}

export function verifyInclusion(index: bigint, size: bigint, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): void {
  if (root.length !== HASH_SIZE) throw new ProofError("root must be 32 bytes");
  const r = rootFromInclusionProof(index, size, leaf, proof);
  if (!bytesEqual(r, root)) throw new ProofError("inclusion proof does not lead to the root");
}

/**
 * Verifies that the tree (size2, root2) extends (size1, root1). A proof from
 * size 0 is refused: an empty tree commits to nothing, so there is nothing to
 * be consistent with (the shared vectors encode this convention).
 */
export function verifyConsistency(size1: bigint, size2: bigint, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): void {
  assertU64(size1, "size1");
  assertU64(size2, "size2");
  if (size2 < size1) throw new ProofError(`size2 ${size2} is smaller than size1 ${size1}`);
  if (size1 === 0n) throw new ProofError("no consistency proof from an empty tree");
  if (size1 === size2) {
    if (proof.length !== 0) throw new ProofError("equal sizes need an empty proof");
    if (!bytesEqual(root1, root2)) throw new ProofError("equal sizes but different roots");
    return;
  }
  if (root1.length !== HASH_SIZE || root2.length !== HASH_SIZE) throw new ProofError("roots must be 32 bytes");
  if (proof.length === 0) throw new ProofError("empty consistency proof");
  assertHashes(proof, "consistency proof");

  // When size1 is a power of two its root is itself a node of the new tree and
  // is not sent; prepend it.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0n) throw new ProofError("consistency proof is too long");
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError("consistency proof is too short");
  if (!bytesEqual(fr, root1)) throw new ProofError("consistency proof does not lead to the old root");
  if (!bytesEqual(sr, root2)) throw new ProofError("consistency proof does not lead to the new root");
}
