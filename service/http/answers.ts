/**
 * Opt-in extras of write answers. `POST /v1/events?proof=inclusion` adds to
 * each accepted event its inclusion proof against the answer's checkpoint, so
 * a platform holds a complete receipt (entry, proof, signed root) without a
 * second round trip, as transparency logs' submission answers do. The answer
 * SPEC §8 defines is unchanged without it.
 */
import { toHex } from "../core/bytes.js";
import { parseCheckpoint } from "../core/note/checkpoint.js";
import { parseNote } from "../core/note/note.js";
import type { EventResult, Ledger, SubmitAnswer } from "../store/ledger.js";

export type ProvedResult = EventResult | (Extract<EventResult, { ok: true }> & { inclusion: string[] });

/** The last checkpoint's size: every answer of a group holds the same checkpoint, parsed once. */
let last: { checkpoint: string; size: bigint } | null = null;

function sizeOf(checkpoint: string): bigint {
  if (last?.checkpoint !== checkpoint) last = { checkpoint, size: parseCheckpoint(parseNote(checkpoint).text).size };
  return last.size;
}

export async function withInclusion(ledger: Ledger, answer: SubmitAnswer): Promise<{ results: ProvedResult[]; checkpoint: string }> {
  // The checkpoint is the ledger's own, signed when the events were appended
  // (or, for an idempotent replay, when they first were): its size is the tree the proofs are in.
  const size = sizeOf(answer.checkpoint);
  const accepted = answer.results.flatMap((r) => (r.ok ? [BigInt(r.index)] : []));
  const proofs = await ledger.log.inclusionProofs(accepted, size);
  let next = 0;
  return {
    results: answer.results.map((r) => (r.ok ? { ...r, inclusion: proofs[next++]!.map(toHex) } : r)),
    checkpoint: answer.checkpoint,
  };
}
