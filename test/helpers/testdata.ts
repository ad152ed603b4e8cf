/** Locates ../shared/testdata (CI clones the repo with shared/ beside it). */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export const TESTDATA = process.env.KEYPROOF_TESTDATA ?? path.resolve(repoRoot, "../shared/testdata");

if (!existsSync(TESTDATA)) {
  throw new Error(`shared test vectors not found at ${TESTDATA} (set KEYPROOF_TESTDATA)`);
}

/** JSON.parse, but integers too large for a double (2^64 - 1 appears) are kept exact, as strings. */
function parseExact(text: string): unknown {
  return JSON.parse(text.replace(/(:\s*)(\d{16,})/g, '$1"$2"'));
}

/** Every *.json file under dir, recursively, with its path relative to TESTDATA. */
export function vectorFiles(dir: string): { name: string; data: unknown }[] {
  const out: { name: string; data: unknown }[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d).sort()) {
      const p = path.join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith(".json")) out.push({ name: path.relative(TESTDATA, p), data: parseExact(readFileSync(p, "utf8")) });
    }
  };
  walk(path.join(TESTDATA, dir));
  return out;
}

export interface InclusionVector {
  leafIdx: number | string;
  treeSize: number | string;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

export interface ConsistencyVector {
  size1: number | string;
  size2: number | string;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}
