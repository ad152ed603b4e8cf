/**
 * Anchors a log's current signed checkpoint from outside the service: for a
 * platform that runs its own log and anchors with its own key. Nothing is
 * sent unless the checkpoint verifies and the log proves it consistent with
 * what the chain already holds (the contract would refuse it anyway, but
 * after the gas is spent). A send that waits unmined past its timeout is
 * sent again in its place with higher fees, as the service's anchorer does
 * (service/chain/anchorer.ts).
 */
import { isError } from "ethers";
import { fromHex, toHex0x } from "../core/bytes.js";
import { logIdOf } from "../core/bundle/verify.js";
import { verifyConsistency } from "../core/log/verify.js";
import { openCheckpoint } from "../core/note/checkpoint.js";
import type { KeyProofApi } from "../client/api.js";
import type { AnchorClient, SendOptions } from "../chain/contract.js";
import { raisedFees, underCeiling } from "../chain/fees.js";

export type AnchorOutcome =
  | { status: "anchored"; size: bigint; txHash: string; blockNumber: number; gasUsed: bigint; from: bigint }
  | { status: "up-to-date"; size: bigint };

export interface AnchorCheckpointOptions {
  api: KeyProofApi;
  client: AnchorClient;
  /** The verifier key to trust; default: the one the log publishes. */
  verifierKey?: string;
  confirmations?: number;
  /** How long a send may wait unmined before it is sent again in its place with higher fees (default 300 s). */
  txTimeoutSeconds?: number;
  /** The highest fee per gas (wei) a send may offer, first sends and raises alike; none if unset. */
  maxFeePerGas?: bigint;
  /** Called with each transaction hash as soon as it is sent; `again` names the send it replaces or that the node dropped. */
  onSent?: (txHash: string, size: bigint, again?: { replaces: string } | { dropped: string }) => void;
  /** Called when a send waits past the timeout and the fee ceiling leaves no raise a node would take. */
  onStuck?: (txHash: string, size: bigint) => void;
}

export async function anchorCheckpoint(o: AnchorCheckpointOptions): Promise<AnchorOutcome> {
  const { client } = o;
  const info = await o.api.logInfo();
  const cp = openCheckpoint(await o.api.checkpoint(), o.verifierKey ?? info.verifierKey);
  const logId = logIdOf(cp.origin);
  const onChain = await client.latest(logId);
  if (onChain.size >= cp.size) return { status: "up-to-date", size: onChain.size };
  const proof: string[] = [];
  if (onChain.size > 0n) {
    const hashes = (await o.api.consistency(Number(onChain.size), Number(cp.size))).map((h) => fromHex(h, 32));
    try {
      verifyConsistency(onChain.size, cp.size, fromHex(onChain.logRoot.slice(2), 32), cp.logRoot, hashes);
    } catch (e) {
      throw new Error(
        `the log's checkpoint at size ${cp.size} is not consistent with the anchored size ${onChain.size} (${(e as Error).message}): the log forked; nothing sent`,
        { cause: e },
      );
    }
    for (const h of hashes) proof.push(toHex0x(h));
  }

  const confirmations = o.confirmations ?? 1;
  const ceiling = o.maxFeePerGas;
  const send = (options: SendOptions) => client.sendAnchor(logId, cp.size, toHex0x(cp.logRoot), toHex0x(cp.mapRoot), proof, options);
  const freshFees = async (): Promise<SendOptions> => (ceiling === undefined ? {} : { fees: underCeiling(await client.fees(), ceiling) });
  const anchored = (txHash: string, r: { blockNumber: number; gasUsed: bigint }): AnchorOutcome => ({
    status: "anchored",
    size: cp.size,
    txHash,
    blockNumber: r.blockNumber,
    gasUsed: r.gasUsed,
    from: onChain.size,
  });
  // Whichever of our sends the chain took (a replaced one may be mined
  // after all): its Anchored event says, not the last hash we sent.
  const sentFrom = await client.head();
  const minedMeanwhile = async (): Promise<AnchorOutcome | null> => {
    const event = await client.anchoredAt(logId, cp.size, sentFrom);
    if (!event) return null;
    if (event.logRoot !== toHex0x(cp.logRoot)) throw new Error(`the chain holds another log root at size ${cp.size}: the log forked`);
    return anchored(event.txHash, await client.mined(event.txHash, confirmations));
  };
  /** A failed wait or send is no failure if one of our sends was mined meanwhile. */
  const minedOrThrow = async (e: unknown): Promise<AnchorOutcome> => {
    const mined = await minedMeanwhile();
    if (mined) return mined;
    throw e;
  };

  let tx = await send(await freshFees());
  o.onSent?.(tx.hash, cp.size);
  for (;;) {
    try {
      return anchored(tx.hash, await tx.wait(confirmations, (o.txTimeoutSeconds ?? 300) * 1000));
    } catch (e) {
      if (!isError(e, "TIMEOUT")) return minedOrThrow(e);
    }
    const waiting = await client.waiting(tx.hash);
    if (!waiting) {
      // Mined meanwhile, or dropped by the node: then sent anew, if the
      // chain has not moved (the proof is from the size it held).
      const mined = await minedMeanwhile();
      if (mined) return mined;
      const now = await client.latest(logId);
      if (now.size !== onChain.size)
        throw new Error(`the chain moved to size ${now.size} while size ${cp.size} was being anchored: run again`);
      const dropped = tx.hash;
      tx = await send(await freshFees());
      o.onSent?.(tx.hash, cp.size, { dropped });
      continue;
    }
    // Still waiting: sent again in its place (same nonce and gas limit; a
    // new nonce would queue behind it, and revert once both are mined).
    const fees = raisedFees(waiting.fees, await client.fees(), ceiling);
    if (!fees) {
      o.onStuck?.(tx.hash, cp.size);
      continue;
    }
    const replaced = tx.hash;
    try {
      tx = await send({ nonce: waiting.nonce, gasLimit: waiting.gasLimit, fees });
    } catch (e) {
      // Refused ("nonce too low") when the waiting send was mined just now.
      return minedOrThrow(e);
    }
    o.onSent?.(tx.hash, cp.size, { replaces: replaced });
  }
}
