/** SPEC §5 sparse Merkle map hashing. */
import { sha256 } from "../hash.js";

const LEAF_PREFIX = new Uint8Array([0x10]);
const NODE_PREFIX = new Uint8Array([0x11]);

export const MAP_DEPTH = 256;

/** The hash of an empty subtree, and the root of the empty map. */
export const EMPTY_SUBTREE: Uint8Array = new Uint8Array(32);

export function mapLeaf(key: Uint8Array, stateHash: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, key, stateHash);
}

export function mapNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_PREFIX, left, right);
}

/** Bit i of the key, i = 0 the most significant bit of byte 0. */
export function bitAt(key: Uint8Array, i: number): 0 | 1 {
  return ((key[i >> 3]! >> (7 - (i & 7))) & 1) as 0 | 1;
}

/** True when a and b agree on their first `bits` bits. */
export function sharesPrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[whole]! & mask) === (b[whole]! & mask);
}
