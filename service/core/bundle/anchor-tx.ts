/**
 * The transaction a bundle's `anchor` names, checked on the chain. The roots
 * the contract holds at the checkpoint's size are what prove the checkpoint
 * (verify.ts reads them); the transaction is the bundle's pointer for a
 * reader, who follows it in a block explorer during a dispute. So a pointer
 * that can be read is checked too: the receipt must be of that transaction,
 * successful, and hold the contract's `Anchored` event (SPEC §7) for the
 * log, the size and the two roots.
 *
 * The transaction found in another block than the bundle says still holds:
 * a reorganisation mines the same signed transaction again in a later block,
 * after the service handed the bundle out, and the hash and the event are
 * what identify the anchor (the block is where to look). Failing it would
 * fail genuine evidence for the chain's doing; the check says where it is.
 *
 * A node may not know an old transaction although it happened: geth indexes
 * transactions of about the last year only by default, and nodes that expire
 * history drop old blocks. So a transaction the node does not know is false
 * only when the node holds the block the bundle names and it is not in it,
 * or when that block is past the chain's newest; otherwise it is unknown,
 * and a genuine old bundle does not fail.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { z } from "zod";
import { toHex0x, utf8 } from "../bytes.js";

/** The topic of SPEC §7's `Anchored` event: the hash of its signature. */
export const ANCHORED_TOPIC = toHex0x(keccak_256(utf8("Anchored(bytes32,uint64,bytes32,bytes32)")));

/** The JSON-RPC reads the check makes, each answering the call's result as it came; the answers are checked here. */
export interface TxReader {
  /** `eth_getTransactionReceipt(txHash)`: null for a transaction the node does not know. */
  receipt(txHash: string): Promise<unknown>;
  /** `eth_getBlockByNumber(number, false)`: null for a block the node does not hold. */
  block(blockNumber: number): Promise<unknown>;
  /** `eth_blockNumber`: the chain's newest block. */
  head(): Promise<unknown>;
}

/** The reads over one JSON-RPC call function (the page's fetch, the CLI's provider). */
export function txReaderOver(call: (method: string, params: unknown[]) => Promise<unknown>): TxReader {
  return {
    receipt: (txHash) => call("eth_getTransactionReceipt", [txHash]),
    block: (n) => call("eth_getBlockByNumber", [`0x${n.toString(16)}`, false]),
    head: () => call("eth_blockNumber", []),
  };
}

const quantity = z.string().regex(/^0x[0-9a-fA-F]{1,64}$/, "must be a hex quantity");
const data = z.string().regex(/^0x(?:[0-9a-fA-F]{2})*$/, "must be hex data");
/** The fields of a receipt this check reads (a node sends more, which are ignored). */
const receiptSchema = z.object({
  transactionHash: data,
  status: quantity,
  blockNumber: quantity,
  logs: z.array(z.object({ address: data, topics: z.array(data).max(4), data })).max(10_000),
});
/** A block with its transactions' hashes (the `false` form). */
const blockSchema = z.object({ number: quantity, transactions: z.array(data).max(1_000_000) });

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

/** What a receipt says of the claim: `ok` when it holds whole, `moved` when it holds in another block. */
export type ReceiptVerdict = "ok" | "moved" | "missing" | "reverted" | "noEvent";
/** What the chain says of the claim: `unknown` when the node can show neither the transaction nor its absence. */
export type TxVerdict = Exclude<ReceiptVerdict, "missing"> | "notInBlock" | "futureBlock" | "unknown";

export interface TxFinding<V extends string = TxVerdict> {
  verdict: V;
  /** The block the chain has the transaction in, where its receipt was read. */
  minedIn: number | null;
}

function parsed<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new Error(`the RPC's ${what} is malformed: ${issue?.path.join(".")} ${issue?.message}`);
}

/**
 * Checks the claim on the chain through `read`. Throws on an answer that is
 * not what was asked for: that is the RPC's fault, not the bundle's, and the
 * anchor then reads "not checked".
 */
export async function checkAnchorTx(read: TxReader, claim: AnchorClaim): Promise<TxFinding> {
  const found = judgeReceipt(await read.receipt(claim.txHash), claim);
  if (found.verdict !== "missing") return { verdict: found.verdict, minedIn: found.minedIn };
  const unread = (verdict: TxVerdict): TxFinding => ({ verdict, minedIn: null });
  const raw = await read.block(claim.blockNumber);
  if (raw === null) {
    // Not held: pruned, or not made yet. Only the second shows the pointer false.
    const head = parsed(quantity, await read.head(), "newest block number");
    return unread(BigInt(claim.blockNumber) > BigInt(head) ? "futureBlock" : "unknown");
  }
  const block = parsed(blockSchema, raw, "block");
  if (BigInt(block.number) !== BigInt(claim.blockNumber)) throw new Error("the RPC answered with another block");
  const tx = claim.txHash.toLowerCase();
  return unread(block.transactions.some((t) => t.toLowerCase() === tx) ? "unknown" : "notInBlock");
}

/**
 * Judges an RPC's receipt against what a bundle claims. Throws on an answer
 * that is not a receipt of the claimed transaction: that is the RPC's fault,
 * not the bundle's, and the anchor then reads "not checked".
 */
export function judgeReceipt(raw: unknown, claim: AnchorClaim): TxFinding<ReceiptVerdict> {
  if (raw === null) return { verdict: "missing", minedIn: null };
  const r = parsed(receiptSchema, raw, "receipt");
  if (r.transactionHash.toLowerCase() !== claim.txHash.toLowerCase())
    throw new Error("the RPC answered with the receipt of another transaction");
  const minedIn = BigInt(r.blockNumber);
  if (minedIn > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error("the RPC's receipt is malformed: blockNumber out of range");
  const judged = (verdict: ReceiptVerdict): TxFinding<ReceiptVerdict> => ({ verdict, minedIn: Number(minedIn) });
  if (BigInt(r.status) !== 1n) return judged("reverted");
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
  if (!anchored) return judged("noEvent");
  return judged(minedIn === BigInt(claim.blockNumber) ? "ok" : "moved");
}
