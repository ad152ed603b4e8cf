/**
 * The transaction a bundle's `anchor` names, checked against its receipt.
 * The roots the contract holds at the checkpoint's size are what prove the
 * checkpoint (verify.ts reads them); the transaction is the bundle's pointer
 * for a reader, who follows it in a block explorer during a dispute. So a
 * pointer that is read is checked too: the receipt must be of that
 * transaction, successful, in the block the bundle says, and hold the
 * contract's `Anchored` event (SPEC §7) for the log, the size and the two
 * roots of the checkpoint.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { z } from "zod";
import { toHex0x, utf8 } from "../bytes.js";

/** The topic of SPEC §7's `Anchored` event: the hash of its signature. */
export const ANCHORED_TOPIC = toHex0x(keccak_256(utf8("Anchored(bytes32,uint64,bytes32,bytes32)")));

/** Reads `eth_getTransactionReceipt` for a hash: the JSON-RPC result as it came (null for a transaction the chain does not hold). */
export type ReceiptReader = (txHash: string) => Promise<unknown>;

const quantity = z.string().regex(/^0x[0-9a-fA-F]{1,64}$/, "must be a hex quantity");
const data = z.string().regex(/^0x(?:[0-9a-fA-F]{2})*$/, "must be hex data");
/** The fields of a receipt this check reads (a node sends more, which are ignored). */
const receiptSchema = z.object({
  transactionHash: data,
  status: quantity,
  blockNumber: quantity,
  logs: z.array(z.object({ address: data, topics: z.array(data).max(4), data })).max(10_000),
});

export interface AnchorClaim {
  txHash: string;
  blockNumber: number;
  contract: string;
  logId: string;
  size: bigint;
  /** 0x-prefixed, lower case. */
  logRoot: string;
  mapRoot: string;
}

/** What a receipt says of the claim; `ok` only when it holds whole. */
export type ReceiptVerdict = "ok" | "missing" | "reverted" | "otherBlock" | "noEvent";

/**
 * Judges an RPC's receipt against what a bundle claims. Throws on an answer
 * that is not a receipt of the claimed transaction: that is the RPC's fault,
 * not the bundle's, and the anchor then reads "not checked".
 */
export function judgeReceipt(raw: unknown, claim: AnchorClaim): ReceiptVerdict {
  if (raw === null) return "missing";
  const parsed = receiptSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`the RPC's receipt is malformed: ${issue?.path.join(".")} ${issue?.message}`);
  }
  const r = parsed.data;
  if (r.transactionHash.toLowerCase() !== claim.txHash.toLowerCase())
    throw new Error("the RPC answered with the receipt of another transaction");
  if (BigInt(r.status) !== 1n) return "reverted";
  if (BigInt(r.blockNumber) !== BigInt(claim.blockNumber)) return "otherBlock";
  const contract = claim.contract.toLowerCase();
  const roots = `0x${claim.logRoot.slice(2)}${claim.mapRoot.slice(2)}`.toLowerCase();
  const anchored = r.logs.some(
    (l) =>
      l.address.toLowerCase() === contract &&
      l.topics.length === 3 &&
      l.topics[0]!.toLowerCase() === ANCHORED_TOPIC &&
      l.topics[1]!.toLowerCase() === claim.logId.toLowerCase() &&
      l.topics[2]!.length === 66 &&
      BigInt(l.topics[2]!) === claim.size &&
      l.data.toLowerCase() === roots,
  );
  return anchored ? "ok" : "noEvent";
}
