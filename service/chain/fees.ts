/**
 * Fees of anchor transactions: what a send offers under the operator's
 * ceiling (ANCHOR_MAX_FEE_GWEI), and what a send stuck in the mempool is
 * raised to when it is sent again in its own place.
 */

/** Per gas, in wei: EIP-1559 fees, or a legacy gas price. */
export type Fees = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | { gasPrice: bigint };

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** `fees`, of the same kind, none above `ceiling` (wei per gas). */
export function underCeiling<F extends Fees>(fees: F, ceiling?: bigint): F {
  if (ceiling === undefined) return fees;
  if ("gasPrice" in fees) return { gasPrice: min(fees.gasPrice, ceiling) } as F;
  const maxFeePerGas = min(fees.maxFeePerGas, ceiling);
  return { maxFeePerGas, maxPriorityFeePerGas: min(fees.maxPriorityFeePerGas, maxFeePerGas) } as F;
}

/** 30 % up, so that a few rounds catch up with a fee market that moved. */
const raise = (old: bigint): bigint => (old * 13n) / 10n + 1n;
/** Nodes refuse a replacement that raises its fees by less than 10 % (geth), some by less than 12.5 %. */
const replaces = (now: bigint, old: bigint): boolean => now * 1000n >= old * 1125n;

/**
 * The fees of a send that replaces `old` (same nonce): 30 % above them, or
 * the node's `current` ones where those are higher, none above `ceiling`.
 * Null when the ceiling leaves too small a raise for a node to take the
 * replacement: the waiting send is then left as it is.
 */
export function raisedFees(old: Fees, current: Fees, ceiling?: bigint): Fees | null {
  if ("gasPrice" in old) {
    const now = "gasPrice" in current ? current.gasPrice : current.maxFeePerGas;
    const { gasPrice } = underCeiling({ gasPrice: max(raise(old.gasPrice), now) }, ceiling);
    return replaces(gasPrice, old.gasPrice) ? { gasPrice } : null;
  }
  const now = "gasPrice" in current ? { maxFeePerGas: current.gasPrice, maxPriorityFeePerGas: current.gasPrice } : current;
  const maxPriorityFeePerGas = max(raise(old.maxPriorityFeePerGas), now.maxPriorityFeePerGas);
  const fees = underCeiling(
    { maxFeePerGas: max(max(raise(old.maxFeePerGas), now.maxFeePerGas), maxPriorityFeePerGas), maxPriorityFeePerGas },
    ceiling,
  );
  return replaces(fees.maxFeePerGas, old.maxFeePerGas) && replaces(fees.maxPriorityFeePerGas, old.maxPriorityFeePerGas) ? fees : null;
}

/** A fee per gas given in gwei (ANCHOR_MAX_FEE_GWEI, `--max-fee-gwei`), in wei. */
export const gweiToWei = (gwei: number): bigint => BigInt(Math.round(gwei * 1e9));
