/**
 * 64-bit index arithmetic on bigint. Tree indices and sizes are unsigned 64-bit
 * integers (RFC 9162); JavaScript's `>>` truncates to 32 bits, so none is used.
 */
export const MAX_U64 = (1n << 64n) - 1n;

export function assertU64(n: bigint, what: string): void {
  if (typeof n !== "bigint" || n < 0n || n > MAX_U64) throw new RangeError(`${what} is not a 64-bit unsigned integer`);
}

/** Number of bits needed to write n (0 for 0). */
export function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
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
  let z = 0;
  while ((n & 1n) === 0n) {
    n >>= 1n;
    z++;
  }
  return z;
}
