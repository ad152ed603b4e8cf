/**
 * Byte helpers shared by every part of the core. Strict by design: every
 * decoder rejects input that a second encoder would not reproduce, so two
 * parties never disagree about what a hex or base64 string means.
 */
import { bytesToHex, concatBytes, hexToBytes } from "@noble/hashes/utils.js";

export { concatBytes };

const HEX_RE = /^(?:[0-9a-f]{2})*$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function toHex(b: Uint8Array): string {
  return bytesToHex(b);
}

/** Lowercase hex only, even length; `bytes` pins the decoded length when given. */
export function fromHex(s: string, bytes?: number): Uint8Array {
  if (typeof s !== "string" || !HEX_RE.test(s)) throw new TypeError("not lowercase hex");
  if (bytes !== undefined && s.length !== bytes * 2) throw new TypeError(`expected ${bytes} bytes of hex`);
  return hexToBytes(s);
}

/** Ethereum-style hex (bytes32 in ABI, tx hashes): `0x` + lowercase hex. */
export function toHex0x(b: Uint8Array): string {
  return `0x${bytesToHex(b)}`;
}

export function toBase64(b: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < b.length; i++) bin += String.fromCharCode(b[i]!);
  return btoa(bin);
}

/** Standard base64 with padding; rejects whitespace, URL alphabet and non-canonical trailing bits. */
export function fromBase64(s: string): Uint8Array {
  if (typeof s !== "string" || !BASE64_RE.test(s)) throw new TypeError("not standard base64");
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  if (toBase64(out) !== s) throw new TypeError("non-canonical base64");
  return out;
}

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Decodes UTF-8, throwing on invalid sequences instead of substituting U+FFFD. */
export function fromUtf8(b: Uint8Array): string {
  return decoder.decode(b);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Big-endian unsigned 64-bit encoding, used for LevelDB keys that must sort numerically. */
export function u64be(n: bigint | number): Uint8Array {
  const out = new Uint8Array(8);
  writeU64be(out, 0, BigInt(n));
  return out;
}

/**
 * Writes `n` as 8 big-endian bytes into `b` at `at`. Byte by byte: on the
 * store's hot paths (every key and record of an event) this is cheaper than
 * a DataView made for each write.
 */
export function writeU64be(b: Uint8Array, at: number, n: bigint): void {
  writeWords(b, at, Number(n >> 32n), Number(n & 0xffffffffn));
}

/** `writeU64be` of a number below 2^53, without a BigInt: the store writes one for each of a group's thousand-odd map nodes. */
export function writeU53be(b: Uint8Array, at: number, n: number): void {
  writeWords(b, at, Math.floor(n / 2 ** 32), n >>> 0);
}

/** Reads 8 big-endian bytes at `at` as a number; for values below 2^53 (`writeU53be`'s). */
export function readU53be(b: Uint8Array, at: number): number {
  const hi = ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  const lo = ((b[at + 4]! << 24) | (b[at + 5]! << 16) | (b[at + 6]! << 8) | b[at + 7]!) >>> 0;
  return hi * 2 ** 32 + lo;
}

function writeWords(b: Uint8Array, at: number, hi: number, lo: number): void {
  b[at] = hi >>> 24;
  b[at + 1] = (hi >>> 16) & 0xff;
  b[at + 2] = (hi >>> 8) & 0xff;
  b[at + 3] = hi & 0xff;
  b[at + 4] = lo >>> 24;
  b[at + 5] = (lo >>> 16) & 0xff;
  b[at + 6] = (lo >>> 8) & 0xff;
  b[at + 7] = lo & 0xff;
}

export function readU64be(b: Uint8Array, offset = 0): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(offset);
}
