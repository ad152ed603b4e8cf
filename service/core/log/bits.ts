/**
 * 64-bit index arithmetic on bigint. Tree indices and sizes are unsigned 64-bit
 * integers (RFC 9162); JavaScript's `>>` truncates to 32 bits, so none is used.
 */
export const MAX_U64 = (1n << 64n) - 1n;

export function assertU64(n: bigint, what: string): void {
  if (typeof n !== "bigint" || n < 0n || n > MAX_U64) throw new RangeError(`${what} is not a 64-bit unsigned integer`);
}

const TWO_32 = 1n << 32n;

/** Number of bits needed to write n (0 for 0). */
export function bitLength(n: bigint): number {
  // Every proof plans with this: below 2^32 (any log this side of four
  // billion entries) one machine instruction, not a string of the bits.
  if (n < TWO_32) return 32 - Math.clz32(Number(n));
  return n.toString(2).length;
}

/** The largest power of two strictly less than n, for n >= 2 (RFC 9162's k). */
export function splitPoint(n: bigint): bigint {
  const k = 1n << BigInt(bitLength(n) - 1);
  return k === n ? k >> 1n : k;
}

export function isPowerOfTwo(n: bigint): boolean {
  return n > 0n && (n & (n - 1n)) === 0n;
}

/** Number of trailing zero bits of n > 0. */
export function trailingZeros(n: bigint): number {
  if (n <= 0n) throw new RangeError("trailingZeros of a non-positive number");
  // 32 bits at a time: the lowest set bit of a word is `w & -w`.
  let z = 0;
  for (;;) {
    const low = Number(n & 0xffffffffn);
    if (low !== 0) return z + 31 - Math.clz32(low & -low);
    n >>= 32n;
    z += 32;
  }
}
