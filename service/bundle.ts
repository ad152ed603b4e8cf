/**
 * Builds the SPEC §9 evidence bundle for a code: all proofs against one
 * checkpoint — the newest anchored one that covers the key's newest event,
 * else the newest checkpoint (pending).
 */
import { toHex } from "./core/bytes.js";
import { KeyProofError } from "./core/errors.js";
import type { EvidenceBundle } from "./core/bundle/schema.js";
import { stateHash } from "./core/ledger/entry.js";
import type { LedgerReads } from "./store/ledger-reads.js";
import { MapVersionGone } from "./store/map-store.js";

export interface LogInfo {
  origin: string;
  verifierKey: string;
  logId: string;
  chainId: number | null;
  contract: string | null;
}

/**
 * How often a reader retries when an append moved what it read between two
 * reads (state, checkpoint, proofs); past that, a disagreement is a fault to
 * report, not to wait on.
 */
export const CONSISTENT_READ_ATTEMPTS = 20;

export async function buildBundle(ledger: LedgerReads, log: LogInfo, code: string): Promise<EvidenceBundle> {
  const ref = await ledger.lookupCode(code);
  if (!ref) throw new KeyProofError("UNKNOWN_KEY", "no key with this code was issued");
  // Reads race with appends; retry until state, checkpoint and proofs agree.
  // Anchors at or below this size may be cited (lowered past an anchor whose map this store did not keep).
  let anchorsUpTo = Number.MAX_SAFE_INTEGER;
  for (let attempt = 0; attempt < CONSISTENT_READ_ATTEMPTS; attempt++) {
    const record = await ledger.keyRecord(ref.commitment);
    if (!record) throw new KeyProofError("UNKNOWN_KEY", "no key with this code was issued");
    const { state } = record;
    const latest = ledger.checkpoint;
    if (BigInt(state.index) >= latest.checkpoint.size) {
      // The key's record is of a batch durable but not yet published to this reader.
      if (await ledger.newerThan(latest.checkpoint.size)) continue;
      throw new Error(`the record of ${ref.commitment.slice(0, 8)}… is newer than every checkpoint published`);
    }
    const anchor = log.contract
      ? ledger.anchors.newestConfirmed(log.contract, state.index, Math.min(anchorsUpTo, Number(latest.checkpoint.size)))
      : undefined;
    const size = anchor ? BigInt(anchor.size) : latest.checkpoint.size;
    const note = anchor ? await ledger.checkpointAt(size) : latest.note;
    if (!note) throw new Error(`checkpoint ${size} is missing`);
    const indices = record.indices.filter((i) => i < size);
    // One read of the log for all the proofs: a key's events share the nodes above where their paths meet.
    const proofs = await ledger.log.inclusionProofs(indices, size);
    const events = await Promise.all(
      indices.map(async (index, i) => ({ index: Number(index), entry: await ledger.entry(index), inclusion: proofs[i]!.map(toHex) })),
    );
    let mapProof;
    try {
      mapProof = await ledger.mapProof(ref.commitment, size);
    } catch (e) {
      if (!(e instanceof MapVersionGone)) throw e;
      // The newest size moved on meanwhile: ask at the new one. An anchored
      // size whose map this store did not keep (an anchor sent by another
      // anchorer, learnt of from the chain) stays so: the bundle cites the
      // newest anchor before it that covers the key, or none (pending).
      if (anchor) anchorsUpTo = anchor.size - 1;
      continue;
    }
    if (mapProof.leaf?.stateHash !== toHex(stateHash(state)) || events.length !== state.events) continue; // raced a newer event
    return {
      type: "keyproof/bundle/v1",
      log: { origin: log.origin, verifierKey: log.verifierKey, logId: log.logId, chainId: log.chainId, contract: log.contract },
      checkpoint: note,
      key: { commitment: ref.commitment, salt: toHex(ref.salt) },
      state,
      mapProof,
      events,
      anchor:
        anchor && anchor.txHash && anchor.blockNumber !== null
          ? { size: anchor.size, txHash: anchor.txHash, blockNumber: anchor.blockNumber }
          : null,
    };
  }
  throw new Error(`could not assemble a consistent bundle for ${ref.commitment.slice(0, 8)}…`);
}
