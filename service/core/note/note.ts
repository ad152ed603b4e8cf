/**
 * C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 keys:
 * signing, strict parsing, verification and key encodings.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { concatBytes, fromBase64, fromUtf8, toBase64, utf8 } from "../bytes.js";
import { sha256 } from "../hash.js";

const ALG_ED25519 = 0x01;
const EM_DASH = "\u2014";
/** Far above the 16 signatures verifiers must accept, far below a DoS. */
export const MAX_SIGNATURES = 100;
export const MAX_NOTE_BYTES = 1 << 16;

export class NoteError extends Error {
  override name = "NoteError";
}

export interface NoteSignature {
  name: string;
  keyId: number;
  signature: Uint8Array;
}

export interface ParsedNote {
  text: string;
  signatures: NoteSignature[];
}

export interface NoteVerifier {
  name: string;
  keyId: number;
  publicKey: Uint8Array;
}

export interface NoteSigner extends NoteVerifier {
  sign(text: Uint8Array): Uint8Array;
}

function checkKeyName(name: string): void {
  if (name.length === 0 || /[\s+]/u.test(name)) throw new NoteError("key names are non-empty and have no spaces or '+'");
}

/** key ID = SHA-256(name || 0x0A || 0x01 || publicKey)[:4], big-endian. */
export function keyIdOf(name: string, publicKey: Uint8Array): number {
  const h = sha256(utf8(name), new Uint8Array([0x0a, ALG_ED25519]), publicKey);
  return new DataView(h.buffer, h.byteOffset).getUint32(0);
}

function keyIdHex(id: number): string {
  return id.toString(16).padStart(8, "0");
}

/** `<name>+<hex keyID>+<base64(0x01 || publicKey)>` */
export function formatVerifierKey(v: Pick<NoteVerifier, "name" | "publicKey">): string {
  return `${v.name}+${keyIdHex(keyIdOf(v.name, v.publicKey))}+${toBase64(concatBytes(new Uint8Array([ALG_ED25519]), v.publicKey))}`;
}

export function parseVerifierKey(vkey: string): NoteVerifier {
  // The base64 key may itself contain '+': split off the first two fields only.
  const m = /^([^+]*)\+([^+]*)\+(.*)$/s.exec(vkey);
  if (!m) throw new NoteError("verifier key must be name+keyid+key");
  const [, name, id, key] = m as unknown as [string, string, string, string];
  checkKeyName(name);
  if (!/^[0-9a-f]{8}$/.test(id)) throw new NoteError("verifier key id must be 8 lowercase hex digits");
  let raw: Uint8Array;
  try {
    raw = fromBase64(key);
  } catch {
    throw new NoteError("verifier key is not base64");
  }
  if (raw.length !== 33 || raw[0] !== ALG_ED25519) throw new NoteError("only Ed25519 verifier keys are supported");
  const publicKey = raw.slice(1);
  const keyId = parseInt(id, 16);
  if (keyIdOf(name, publicKey) !== keyId) throw new NoteError("verifier key id does not match the key");
  return { name, keyId, publicKey };
}

/** A signer from a 32-byte Ed25519 seed (RFC 8032 private key). */
export function createSigner(name: string, seed: Uint8Array): NoteSigner {
  checkKeyName(name);
  if (seed.length !== 32) throw new NoteError("Ed25519 seed must be 32 bytes");
  const publicKey = ed25519.getPublicKey(seed);
  return { name, publicKey, keyId: keyIdOf(name, publicKey), sign: (text) => ed25519.sign(text, seed) };
}

/** Go's `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>` form, for interoperability. */
export function parseSignerKey(skey: string): NoteSigner {
  const m = /^PRIVATE\+KEY\+([^+]*)\+([^+]*)\+(.*)$/s.exec(skey);
  if (!m) throw new NoteError("malformed private key");
  const raw = fromBase64(m[3]!);
  if (raw.length !== 33 || raw[0] !== ALG_ED25519) throw new NoteError("only Ed25519 private keys are supported");
  const signer = createSigner(m[1]!, raw.slice(1));
  if (keyIdHex(signer.keyId) !== m[2]) throw new NoteError("private key id does not match");
  return signer;
}

function checkText(text: string): void {
  if (!text.endsWith("\n")) throw new NoteError("note text must end with a newline");
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) throw new NoteError("note contains control characters");
}

export function signNote(text: string, ...signers: NoteSigner[]): string {
  checkText(text);
  const body = utf8(text);
  const lines = signers.map((s) => {
    const sig = concatBytes(keyIdBytes(s.keyId), s.sign(body));
    return `${EM_DASH} ${s.name} ${toBase64(sig)}\n`;
  });
  return `${text}\n${lines.join("")}`;
}

function keyIdBytes(id: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, id);
  return b;
}

/** Splits a note into text and signature lines; checks form only, not signatures. */
export function parseNote(note: string | Uint8Array): ParsedNote {
  let s: string;
  try {
    s = typeof note === "string" ? note : fromUtf8(note);
  } catch {
    throw new NoteError("note is not valid UTF-8");
  }
  if (utf8(s).length > MAX_NOTE_BYTES) throw new NoteError("note is too large");
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f]/.test(s)) throw new NoteError("note contains control characters");
  if (!s.endsWith("\n")) throw new NoteError("note must end with a newline");
  const split = s.lastIndexOf("\n\n");
  if (split < 0) throw new NoteError("note has no signature block");
  const text = s.slice(0, split + 1);
  const sigLines = s.slice(split + 2, -1).split("\n");
  if (sigLines.length > MAX_SIGNATURES) throw new NoteError("too many signatures");
  const signatures = sigLines.map((line) => {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) throw new NoteError("malformed signature line");
    const name = m[1]!;
    checkKeyName(name);
    let raw: Uint8Array;
    try {
      raw = fromBase64(m[2]!);
    } catch {
      throw new NoteError("signature is not base64");
    }
    if (raw.length < 5) throw new NoteError("signature is too short");
    return { name, keyId: new DataView(raw.buffer).getUint32(0), signature: raw.slice(4) };
  });
  return { text, signatures };
}

/**
 * Opens a note: every signature from a known key must verify, at least one
 * must, and no key may sign twice. Unknown keys are ignored (C2SP).
 */
export function openNote(note: string | Uint8Array, verifiers: NoteVerifier[]): { text: string; verifiedBy: NoteVerifier[] } {
  const parsed = parseNote(note);
  const body = utf8(parsed.text);
  const seen = new Set<string>();
  const verifiedBy: NoteVerifier[] = [];
  for (const sig of parsed.signatures) {
    const id = `${sig.name}+${keyIdHex(sig.keyId)}`;
    if (seen.has(id)) throw new NoteError(`key ${id} signed the note twice`);
    seen.add(id);
    const v = verifiers.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (!v) continue;
    if (sig.signature.length !== 64 || !ed25519.verify(sig.signature, body, v.publicKey, { zip215: false })) {
      throw new NoteError(`signature by ${sig.name} does not verify`);
    }
    verifiedBy.push(v);
  }
  if (verifiedBy.length === 0) throw new NoteError("no signature from a known key");
  return { text: parsed.text, verifiedBy };
}
