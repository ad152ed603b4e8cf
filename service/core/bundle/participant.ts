/**
 * A participant's registration, proved against a checkpoint the caller has
 * verified already (a bundle's): how a verifier names the issuer and sellers
 * a bundle gives only by id. The name is the operator's word, as the log
 * holds it; what the proof adds is that it is the name registered in this
 * log, under this id, and not one the answer made up. (The answer's format is
 * this implementation's, beside SPEC §8: docs/protocol-choices.md, HTTP.)
 */
import { z } from "zod";
import { fromHex } from "../bytes.js";
import { decodeEntry, entryLeafHash } from "../ledger/entry.js";
import { messageOf } from "../errors.js";
import type { Participant } from "../ledger/schema.js";
import { verifyInclusion } from "../log/verify.js";
import type { Checkpoint } from "../note/checkpoint.js";
import type { KeyFacts } from "./verify.js";

const hash = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits");

/** `GET /v1/participants/<id>?size=<n>`. */
const participantProofSchema = z.object({
  id: z.string(),
  role: z.string(),
  name: z.string(),
  index: z.number().int().nonnegative(),
  size: z.number().int().positive(),
  entry: z.string().max(64 * 1024),
  inclusion: z.array(hash).max(64),
});

/**
 * The participant `id` as registered in the log of `checkpoint`, from an
 * answer of `GET /v1/participants/<id>?size=<checkpoint size>`. Throws when
 * the answer is malformed, is not at that size, or its entry is not in the
 * log or is not the registration of `id`.
 */
export function verifyParticipant(answer: unknown, id: string, checkpoint: Checkpoint): Participant {
  const a = participantProofSchema.parse(answer);
  if (BigInt(a.size) !== checkpoint.size) throw new Error(`the proof is at size ${a.size}, not ${checkpoint.size}`);
  verifyInclusion(
    BigInt(a.index),
    checkpoint.size,
    fromHex(entryLeafHash(a.entry), 32),
    a.inclusion.map((h) => fromHex(h, 32)),
    checkpoint.logRoot,
  );
  const event = decodeEntry(a.entry);
  if (event.type !== "participant" || event.attrs.id !== id) throw new Error(`entry ${a.index} does not register ${id}`);
  return event.attrs;
}

/** The participants a bundle's facts name by id: issuer, both ends of each transfer, seller, voider. */
export function namedIds(f: KeyFacts): string[] {
  return [
    ...new Set([
      f.issuer,
      ...f.transfers.flatMap((t) => [t.from, t.to]),
      ...(f.sale ? [f.sale.seller] : []),
      ...(f.voided ? [f.voided.by] : []),
    ]),
  ];
}

/**
 * The names of `ids`, each proved at `checkpoint` from the answer `ask`
 * gets for it (`GET /v1/participants/<id>?size=<checkpoint size>`), all
 * asked at once. An id whose answer cannot be had or does not prove its
 * name is in `unproved`, with why: it is shown by its id alone.
 */
export async function provedNames(
  ids: string[],
  checkpoint: Checkpoint,
  ask: (id: string, size: bigint) => Promise<unknown>,
): Promise<{ names: Map<string, string>; unproved: Map<string, string> }> {
  const names = new Map<string, string>();
  const unproved = new Map<string, string>();
  await Promise.all(
    ids.map(async (id) => {
      try {
        names.set(id, verifyParticipant(await ask(id, checkpoint.size), id, checkpoint).name);
      } catch (e) {
        unproved.set(id, messageOf(e));
      }
    }),
  );
  return { names, unproved };
}

/**
 * How a verifier shows participant `id`: its proved name beside the id, or
 * the bare id when no name was proved (or the name is the id itself). The
 * id stays in view either way: it is what the log holds.
 */
export function displayName(id: string, names: ReadonlyMap<string, string> | undefined): string {
  const name = names?.get(id);
  return name === undefined || name === id ? id : `${name} (${id})`;
}
