/** SHA-256 and HMAC-SHA256, synchronous and identical in Node and the browser. */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";

export const HASH_SIZE = 32;

/** H(p0 || p1 || ...), without building the concatenation. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return nobleSha256(parts[0]!);
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

export function hmacSha256(key: Uint8Array, msg: Uint8Array): Uint8Array {
  return hmac(nobleSha256, key, msg);
}
