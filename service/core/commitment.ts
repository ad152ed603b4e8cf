/**
 * SPEC §2: code normalization and the salted commitments that stand for keys
 * and order references everywhere in the log.
 */
import { toHex, utf8 } from "./bytes.js";
import { invalidInput } from "./errors.js";
import { hmacSha256, hmacSha256With, sha256 } from "./hash.js";
import { codePointsWithin, isWellFormed } from "./unicode.js";

const KEY_DOMAIN = utf8("keyproof:v1:key");
const ORDER_DOMAIN = utf8("keyproof:v1:order");
const ZERO = new Uint8Array([0]);
const STRIP_RE = /[\p{White_Space}-]/gu;
const CONTROL_RE = /\p{Cc}/u;

export const SALT_SIZE = 32;

/** NFKC, drop White_Space and '-', upper-case; 4..256 code points, no controls. */
export function normalizeCode(code: string): string {
  if (typeof code !== "string") throw invalidInput("code must be a string");
  const n = code.normalize("NFKC").replace(STRIP_RE, "").toUpperCase();
  if (!codePointsWithin(n, 4, 256)) throw invalidInput("code must have 4 to 256 characters after normalization");
  if (CONTROL_RE.test(n)) throw invalidInput("code contains control characters");
  if (!isWellFormed(n)) throw invalidInput("code is not well-formed Unicode (a lone surrogate)");
  return n;
}

function assertSalt(salt: Uint8Array): void {
  if (salt.length !== SALT_SIZE) throw invalidInput("salt must be 32 bytes");
}

/** key = H("keyproof:v1:key" || 0x00 || salt || utf8(normalize(code))), as hex. */
export function keyCommitment(salt: Uint8Array, code: string): string {
  assertSalt(salt);
  return toHex(sha256(KEY_DOMAIN, ZERO, salt, utf8(normalizeCode(code))));
}

/** order = H("keyproof:v1:order" || 0x00 || salt || utf8(orderRef)), as hex. */
export function orderCommitment(salt: Uint8Array, orderRef: string): string {
  assertSalt(salt);
  if (typeof orderRef !== "string") throw invalidInput("order reference must be a string");
  if (!codePointsWithin(orderRef, 1, 256)) throw invalidInput("order reference must have 1 to 256 characters");
  if (!isWellFormed(orderRef)) throw invalidInput("order reference is not well-formed Unicode (a lone surrogate)");
  return toHex(sha256(ORDER_DOMAIN, ZERO, salt, utf8(orderRef)));
}

/** The private lookup index HMAC-SHA256(pepper, utf8(normalize(code))). Never leaves the service. */
export function codeLookup(pepper: Uint8Array, code: string): Uint8Array {
  return hmacSha256(pepper, utf8(normalizeCode(code)));
}

/** `codeLookup` under one pepper, for a service that looks many codes up. */
export function codeLookupWith(pepper: Uint8Array): (code: string) => Uint8Array {
  const mac = hmacSha256With(pepper);
  return (code) => mac(utf8(normalizeCode(code)));
}
