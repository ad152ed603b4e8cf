/**
 * The operator's secrets: the Ed25519 checkpoint key and the code-index pepper.
 * Taken from configuration when given, otherwise generated once and kept in the
 * data directory, readable by the owner only. Never logged.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fromHex, toHex } from "../core/bytes.js";

export interface Secrets {
  signingSeed: Uint8Array;
  pepper: Uint8Array;
  /** Where each secret came from, for the start-up message (never the value). */
  sources: { signingKey: string; pepper: string };
}

function loadOrCreate(file: string, given: string | undefined, label: string): { value: Uint8Array; source: string } {
  if (given !== undefined) return { value: fromHex(given, 32), source: `from ${label}` };
  if (existsSync(file)) {
    const mode = statSync(file).mode & 0o077;
    if (mode !== 0) chmodSync(file, 0o600);
    try {
      return { value: fromHex(readFileSync(file, "utf8").trim().toLowerCase(), 32), source: file };
    } catch (e) {
      // Never the content: a secret with one typo in it is still a secret.
      throw new Error(`${file} does not hold 32 bytes as 64 hex digits: restore it from a backup`, { cause: e });
    }
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const value = new Uint8Array(randomBytes(32));
  writeFileSync(file, `${toHex(value)}\n`, { mode: 0o600, flag: "wx" });
  return { value, source: `${file} (generated)` };
}

export function loadSecrets(dataDir: string, env: { signingKey?: string; pepper?: string } = {}): Secrets {
  const dir = path.join(dataDir, "secrets");
  const s = loadOrCreate(path.join(dir, "checkpoint-ed25519.key"), env.signingKey, "SIGNING_KEY");
  const p = loadOrCreate(path.join(dir, "pepper"), env.pepper, "PEPPER");
  return { signingSeed: s.value, pepper: p.value, sources: { signingKey: s.source, pepper: p.source } };
}
