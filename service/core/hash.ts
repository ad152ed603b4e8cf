/** SHA-256 and HMAC-SHA256, synchronous and identical in Node and the browser. */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";

export const HASH_SIZE = 32;

/**
 * One hasher, reset from a never-used one before each hash: a new hasher per
 * call (its state, block buffer and views) was a tenth of everything the
 * ledger allocated per event, and allocation volume is what sets its garbage
 * collection time. Safe because hashing is synchronous.
 */
const INITIAL = nobleSha256.create();
const hasher = nobleSha256.create();
const digest = new Uint8Array(HASH_SIZE);

/** H(p0 || p1 || ...), without building the concatenation. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  INITIAL._cloneInto(hasher);
  for (const p of parts) hasher.update(p);
  hasher.digestInto(digest);
  // Wipes the block buffer, which would keep the last input (codes are hashed here).
  hasher.destroy();
  return digest.slice();
}

export function hmacSha256(key: Uint8Array, msg: Uint8Array): Uint8Array {
  return hmac(nobleSha256, key, msg);
}

/**
 * HMAC-SHA256 under one key for many messages: the key's inner and outer pad
 * blocks are hashed once here instead of once per message (half of the work
 * for a short message).
 */
export function hmacSha256With(key: Uint8Array): (msg: Uint8Array) => Uint8Array {
  const keyed = hmac.create(nobleSha256, key);
  const work = keyed.clone();
  return (msg) => {
    keyed._cloneInto(work);
    work.update(msg);
    const out = new Uint8Array(HASH_SIZE);
    work.digestInto(out);
    return out;
  };
}
