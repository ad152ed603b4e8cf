/** SPEC §6 checkpoint bodies (C2SP tlog-checkpoint with a map-root extension line). */
import { fromBase64, toBase64 } from "../bytes.js";
import { NoteError, openNote, parseVerifierKey, signNote, type NoteSigner, type NoteVerifier } from "./note.js";

export interface Checkpoint {
  origin: string;
  size: bigint;
  logRoot: Uint8Array;
  mapRoot: Uint8Array;
}

export function formatCheckpoint(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${toBase64(c.logRoot)}\nkeyproof-map ${toBase64(c.mapRoot)}\n`;
}

function root(b64: string, what: string): Uint8Array {
  let r: Uint8Array;
  try {
    r = fromBase64(b64);
  } catch {
    throw new NoteError(`${what} is not base64`);
  }
  if (r.length !== 32) throw new NoteError(`${what} must be 32 bytes`);
  return r;
}

/** Parses a checkpoint body strictly: exactly the four lines of SPEC §6. */
export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split("\n");
  if (lines.length !== 5 || lines[4] !== "") throw new NoteError("checkpoint must have exactly four lines");
  const [origin, size, logRoot, mapLine] = lines as [string, string, string, string];
  if (origin.length === 0) throw new NoteError("checkpoint origin is empty");
  if (!/^(0|[1-9][0-9]*)$/.test(size)) throw new NoteError("checkpoint size must be decimal without leading zeros");
  const n = BigInt(size);
  if (n >= 1n << 64n) throw new NoteError("checkpoint size exceeds 64 bits");
  if (!mapLine.startsWith("keyproof-map ")) throw new NoteError("checkpoint lacks the keyproof-map line");
  return { origin, size: n, logRoot: root(logRoot, "log root"), mapRoot: root(mapLine.slice(13), "map root") };
}

export function signCheckpoint(c: Checkpoint, signer: NoteSigner): string {
  return signNote(formatCheckpoint(c), signer);
}

/** Verifies a signed checkpoint under a verifier key and checks its origin matches the key name. */
export function openCheckpoint(note: string, verifier: NoteVerifier | string): Checkpoint {
  const v = typeof verifier === "string" ? parseVerifierKey(verifier) : verifier;
  const { text } = openNote(note, [v]);
  const c = parseCheckpoint(text);
  if (c.origin !== v.name) throw new NoteError("checkpoint origin does not match the verifier key");
  return c;
}
