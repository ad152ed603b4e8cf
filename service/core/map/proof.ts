/** SPEC §5 map proofs: wire form and verification (membership and absence). */
import { bytesEqual, fromHex, toHex } from "../bytes.js";
import { bitAt, EMPTY_SUBTREE, MAP_DEPTH, mapLeaf, mapNode, sharesPrefix } from "./hashing.js";

export interface MapProof {
  siblings: string[];
  leaf: null | { key: string; stateHash: string };
}

export class MapProofError extends Error {
  override name = "MapProofError";
}

/** Root implied by a proof for `key`; throws on a malformed proof. */
export function mapRootFromProof(key: Uint8Array, proof: MapProof): Uint8Array {
  if (key.length !== 32) throw new MapProofError("key must be 32 bytes");
  if (!Array.isArray(proof.siblings) || proof.siblings.length > MAP_DEPTH) {
    throw new MapProofError("at most 256 siblings");
  }
  let siblings: Uint8Array[];
  let h: Uint8Array;
  try {
    siblings = proof.siblings.map((s) => fromHex(s, 32));
    h = proof.leaf ? mapLeaf(fromHex(proof.leaf.key, 32), fromHex(proof.leaf.stateHash, 32)) : EMPTY_SUBTREE;
  } catch {
    throw new MapProofError("proof hashes must be 32 bytes of lowercase hex");
  }
  for (let i = siblings.length - 1; i >= 0; i--) {
    h = bitAt(key, i) ? mapNode(siblings[i]!, h) : mapNode(h, siblings[i]!);
  }
  return h;
}

function checkRoot(key: Uint8Array, proof: MapProof, root: Uint8Array): void {
  if (!bytesEqual(mapRootFromProof(key, proof), root)) throw new MapProofError("map proof does not lead to the map root");
}

/** Proves that `key` maps to `stateHash` under `root`. */
export function verifyMembership(key: Uint8Array, stateHash: Uint8Array, proof: MapProof, root: Uint8Array): void {
  if (!proof.leaf || proof.leaf.key !== toHex(key)) throw new MapProofError("proof is not for this key");
  if (proof.leaf.stateHash !== toHex(stateHash)) throw new MapProofError("proof is for another state of this key");
  checkRoot(key, proof, root);
}

/** Proves that `key` is not in the map under `root`. */
export function verifyAbsence(key: Uint8Array, proof: MapProof, root: Uint8Array): void {
  if (proof.leaf) {
    const other = fromHex(proof.leaf.key, 32);
    if (bytesEqual(other, key)) throw new MapProofError("proof shows the key is present");
    if (!sharesPrefix(other, key, proof.siblings.length)) {
      throw new MapProofError("the leaf shown does not sit on the key's path");
    }
  }
  checkRoot(key, proof, root);
}

export function describeProof(siblings: Uint8Array[], leaf: { key: Uint8Array; stateHash: Uint8Array } | null): MapProof {
  return {
    siblings: siblings.map(toHex),
    leaf: leaf ? { key: toHex(leaf.key), stateHash: toHex(leaf.stateHash) } : null,
  };
}
