/**
 * What an Idempotency-Key stores: the first answer, and a fingerprint of the
 * events it answered. A replay must carry the same events: a key reused for
 * other events is refused (IETF httpapi idempotency-key draft: 422), where
 * answering with the first answer would tell the client that events it never
 * had recorded were.
 *
 * On disk the answer is kept by reference: the size of its checkpoint, the
 * index of its first accepted event and its refusals. Accepted events of one
 * submission take consecutive indices, and the entries and checkpoints it
 * points at are written in the same batch as the record and never removed, so
 * the answer can be rebuilt from them. A 1,000-row import batch stored its
 * whole answer, 175 KB until expiry; by reference it is 166 bytes.
 */
import { fromUtf8, toHex, utf8 } from "../core/bytes.js";
import { KeyProofError, type ErrorBody } from "../core/errors.js";
import { hmacSha256With } from "../core/hash.js";
import { canonicalize } from "../core/jcs.js";
import { leafHash } from "../core/log/hashing.js";
import { K } from "./keys.js";
import type { EventResult, SubmitAnswer } from "./ledger.js";

/**
 * The fingerprint of a submission's events: HMAC-SHA256 under the service's
 * pepper of their JCS. Events hold card codes, and a plain hash of them could
 * be searched for the code by anyone holding the data files (the code index is
 * keyed by the pepper for the same reason).
 */
export function fingerprintWith(pepper: Uint8Array): (requests: unknown[]) => string {
  const mac = hmacSha256With(pepper);
  return (requests) => toHex(mac(utf8(`keyproof/idempotency/v1\n${canonicalize(requests)}`)));
}

export function idempotencyKeyReused(): KeyProofError {
  return new KeyProofError(
    "IDEMPOTENCY_KEY_REUSED",
    "this Idempotency-Key was first used with other events: a replay must send the same events, new events need a new key",
  );
}

/** An answer by reference: results in order, accepted ones at `first`, `first` + 1, ...; refusals by position. */
interface AnswerRef {
  /** The size of the answer's checkpoint. */
  size: number;
  first: number;
  count: number;
  refused: [number, ErrorBody][];
}

type Stored = { request?: string; at?: string } & ({ answer: SubmitAnswer } | { ref: AnswerRef });

function refTo(answer: SubmitAnswer, size: number): AnswerRef | null {
  const refused: [number, ErrorBody][] = [];
  let first = -1;
  let next = -1;
  for (const [i, r] of answer.results.entries()) {
    if (!r.ok) {
      refused.push([i, r.error]);
      continue;
    }
    if (first < 0) first = next = r.index;
    if (r.index !== next++) return null;
  }
  return { size, first: Math.max(first, 0), count: answer.results.length, refused };
}

/**
 * The record to write: the answer by reference to the checkpoint of `size`
 * and its entries (or whole, should its accepted events not be consecutive).
 */
export function encodeReplay(fingerprint: string, at: string, answer: SubmitAnswer, size: number): Uint8Array {
  const ref = refTo(answer, size);
  return utf8(JSON.stringify(ref ? { request: fingerprint, at, ref } : { request: fingerprint, at, answer }));
}

/** The record with the answer whole: what a group stages for the next ones until its batch is durable (the entries are not staged). */
export function encodeWholeReplay(fingerprint: string, at: string, answer: SubmitAnswer): Uint8Array {
  return utf8(JSON.stringify({ request: fingerprint, at, answer }));
}

/** A stored record. Answers stored before fingerprints and times were kept are the bare answer. */
function decode(stored: Uint8Array): Stored {
  const v = JSON.parse(fromUtf8(stored)) as Stored | SubmitAnswer;
  return "answer" in v || "ref" in v ? v : { answer: v };
}

/** When a record was stored (ISO 8601); none for records stored before they carried a time, which never expire. */
export function storedAt(stored: Uint8Array): string | undefined {
  return decode(stored).at;
}

/** Whether a record was stored before `before` (ISO 8601). */
export function storedBefore(stored: Uint8Array, before: string): boolean {
  const at = storedAt(stored);
  return at !== undefined && at < before;
}

/** A record read back, with the keys its answer is rebuilt from (none when it is whole). */
export interface Replay {
  request?: string;
  reads: Uint8Array[];
  /** The answer, given what was read at `reads`. */
  answer(read: (Uint8Array | undefined)[]): SubmitAnswer;
}

export function openReplay(stored: Uint8Array): Replay {
  const s = decode(stored);
  const base = s.request === undefined ? {} : { request: s.request };
  if ("answer" in s) return { ...base, reads: [], answer: () => s.answer };
  const { size, first, count, refused } = s.ref;
  const accepted = count - refused.length;
  const reads = [K.checkpoint(size), ...Array.from({ length: accepted }, (_, i) => K.entry(first + i))];
  return {
    ...base,
    reads,
    answer(read) {
      const [note, ...entries] = read.map((v, i) => {
        if (!v) throw new Error(`an Idempotency-Key answer refers to a missing record (${toHex(reads[i]!)})`);
        return v;
      });
      const errors = new Map(refused);
      const results: EventResult[] = [];
      let k = 0;
      for (let i = 0; i < count; i++) {
        const error = errors.get(i);
        if (error) {
          results.push({ ok: false, error });
          continue;
        }
        const entry = entries[k]!;
        const { key } = JSON.parse(fromUtf8(entry)) as { key?: string };
        results.push({ ok: true, index: first + k++, key: key ?? null, leafHash: toHex(leafHash(entry)) });
      }
      return { results, checkpoint: fromUtf8(note!) };
    },
  };
}
