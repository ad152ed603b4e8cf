/**
 * A key's stored record (`s <commitment>`): its state as SPEC §4 hashes it
 * (utf8 JCS), then the log indices of its events, oldest first. A bundle
 * needs both, and the state is rewritten with every event of the key
 * anyway: one record read and written, where a record per event cost a put
 * per event and a range read per bundle (docs/protocol-choices.md, Sequencing).
 *
 * Layout: JCS bytes, 0x00, then 8 bytes (u64 big-endian) an index. JCS
 * escapes every control character inside strings and writes no whitespace,
 * so the state's bytes never hold 0x00. A record without it was written by
 * a version that kept the indices as `v <commitment> <index>` records.
 */
import { fromHex, fromUtf8, readU64be, writeU64be } from "../core/bytes.js";
import { keyState, type KeyState } from "../core/ledger/schema.js";
import { K } from "./keys.js";
import type { Db } from "./map-store.js";

const SEPARATOR = 0x00;

export interface StateRecord {
  state: KeyState;
  /** The key's event indices, oldest first; undefined for a record from before they were kept here. */
  indices: bigint[] | undefined;
}

export function encodeStateRecord(stateBytes: Uint8Array, indices: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(stateBytes.length + 1 + 8 * indices.length);
  out.set(stateBytes);
  out[stateBytes.length] = SEPARATOR;
  indices.forEach((index, i) => writeU64be(out, stateBytes.length + 1 + 8 * i, index));
  return out;
}

export function decodeStateRecord(v: Uint8Array): StateRecord {
  const end = v.indexOf(SEPARATOR);
  const state = keyState.parse(JSON.parse(fromUtf8(end < 0 ? v : v.subarray(0, end))));
  if (end < 0) return { state, indices: undefined };
  const count = (v.length - end - 1) / 8;
  if (!Number.isInteger(count)) throw new Error(`a key's stored record has ${v.length - end - 1} bytes of indices, not a multiple of 8`);
  const indices = Array.from({ length: count }, (_, i) => readU64be(v, end + 1 + 8 * i));
  return { state, indices };
}

/**
 * A key's event indices as a version before kept them, one `v` record each:
 * read for a key whose state record has none, until its next event writes
 * them there.
 */
export async function readOlderEventIndices(db: Db, commitment: string): Promise<bigint[]> {
  const keys = await db.keys(K.keyEventRange(fromHex(commitment, 32))).all();
  return keys.map((k) => readU64be(k, 33));
}
