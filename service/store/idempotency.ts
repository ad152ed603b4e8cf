/**
 * What an Idempotency-Key stores: the first answer, and a fingerprint of the
 * events it answered. A replay must carry the same events: a key reused for
 * other events is refused (IETF httpapi idempotency-key draft: 422), where
 * answering with the first answer would tell the client that events it never
 * had recorded were.
 */
import { fromUtf8, toHex, utf8 } from "../core/bytes.js";
import { KeyProofError } from "../core/errors.js";
import { hmacSha256With } from "../core/hash.js";
import { canonicalize } from "../core/jcs.js";

export interface Answer {
  results: unknown[];
  checkpoint: string;
}

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

/** The stored record: the fingerprint, when it was stored (ISO 8601, for expiry) and the first answer. */
export function encodeReplay(fingerprint: string, at: string, answer: Answer): Uint8Array {
  return utf8(JSON.stringify({ request: fingerprint, at, answer }));
}

/** A stored record. Answers stored before fingerprints and times were kept are the bare answer. */
function decodeReplay<A extends Answer>(stored: Uint8Array): { request?: string; at?: string; answer: A } {
  const v = JSON.parse(fromUtf8(stored)) as { request: string; at?: string; answer: A } | A;
  return "answer" in v ? v : { answer: v };
}

/** Whether a record was stored before `before` (ISO 8601). Records stored before they carried a time never expire. */
export function storedBefore(stored: Uint8Array, before: string): boolean {
  const { at } = decodeReplay(stored);
  return at !== undefined && at < before;
}

/** The stored answer if `fingerprint` is the one it answered (or it predates fingerprints), else the reuse error. */
export function replayOf<A extends Answer>(stored: Uint8Array, fingerprint: string): A | KeyProofError {
  const { request, answer } = decodeReplay<A>(stored);
  return request === undefined || request === fingerprint ? answer : idempotencyKeyReused();
}
