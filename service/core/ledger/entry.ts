/** Log entries: the UTF-8 JCS encoding of one event (SPEC §3). */
import { fromUtf8, toHex, utf8 } from "../bytes.js";
import { invalidInput } from "../errors.js";
import { sha256 } from "../hash.js";
import { canonicalize } from "../jcs.js";
import { leafHash } from "../log/hashing.js";
import { ledgerEvent, type KeyState, type LedgerEvent } from "./schema.js";

export function encodeEvent(event: LedgerEvent): string {
  return canonicalize(event);
}

/**
 * Parses an entry and insists it is canonical: an entry that a second encoder
 * would write differently is malformed, even when it parses.
 */
export function decodeEntry(entry: string | Uint8Array): LedgerEvent {
  const text = typeof entry === "string" ? entry : fromUtf8(entry);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw invalidInput("entry is not JSON");
  }
  const parsed = ledgerEvent.safeParse(raw);
  if (!parsed.success) throw invalidInput(`entry is not a valid event: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  if (canonicalize(raw) !== text) throw invalidInput("entry is not in JCS canonical form");
  return parsed.data;
}

export function entryLeafHash(entry: string): string {
  return toHex(leafHash(utf8(entry)));
}

/**
 * A state's JCS encoding. States come from the state machine, which builds
 * them field by field, or from input a schema already checked (bundles); the
 * ledger tests hold every machine state to the schema. Parsing each one again
 * here was 4 % of the ingest time.
 */
export function encodeState(state: KeyState): string {
  return canonicalize(state);
}

/** A key's state as stored (utf8 JCS) and its hash, from one encoding. */
export function stateRecord(state: KeyState): { bytes: Uint8Array; hash: Uint8Array } {
  const bytes = utf8(encodeState(state));
  return { bytes, hash: sha256(bytes) };
}

/** stateHash = H(utf8(JCS(state))). */
export function stateHash(state: KeyState): Uint8Array {
  return stateRecord(state).hash;
}
