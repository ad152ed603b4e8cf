/**
 * Anchors a log's current signed checkpoint from outside the service: for a
 * platform that runs its own log and anchors with its own key. Nothing is
 * sent unless the checkpoint verifies and the log proves it consistent with
 * what the chain already holds (the contract would refuse it anyway, but
 * after the gas is spent).
 */
import { fromHex, toHex0x } from "../core/bytes.js";
import { logIdOf } from "../core/bundle/verify.js";
import { verifyConsistency } from "../core/log/verify.js";
import { openCheckpoint } from "../core/note/checkpoint.js";
import type { KeyProofApi } from "../client/api.js";
import type { AnchorClient } from "../chain/contract.js";

export type AnchorOutcome =
  | { status: "anchored"; size: bigint; txHash: string; blockNumber: number; gasUsed: bigint; from: bigint }
  | { status: "up-to-date"; size: bigint };

export interface AnchorCheckpointOptions {
  api: KeyProofApi;
  client: AnchorClient;
  /** The verifier key to trust; default: the one the log publishes. */
  verifierKey?: string;
  confirmations?: number;
  /** Called with the transaction hash as soon as it is sent. */
  onSent?: (txHash: string, size: bigint) => void;
}

export async function anchorCheckpoint(o: AnchorCheckpointOptions): Promise<AnchorOutcome> {
  const info = await o.api.logInfo();
  const cp = openCheckpoint(await o.api.checkpoint(), o.verifierKey ?? info.verifierKey);
  const logId = logIdOf(cp.origin);
  const onChain = await o.client.latest(logId);
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
  const tx = await o.client.sendAnchor(logId, cp.size, toHex0x(cp.logRoot), toHex0x(cp.mapRoot), proof);
  o.onSent?.(tx.hash, cp.size);
  const receipt = await tx.wait(o.confirmations ?? 1);
  return {
    status: "anchored",
    size: cp.size,
    txHash: tx.hash,
    blockNumber: receipt.blockNumber,
    gasUsed: receipt.gasUsed,
    from: onChain.size,
  };
}
