/** Opens a ledger in a fresh temporary directory, with participants registered. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ClassicLevel } from "classic-level";
import { Ledger, type LedgerOptions } from "../../service/store/ledger.js";
import type { ChainedBatch, Db } from "../../service/store/map-store.js";

export const ORIGIN = "test.keyproof.example/log";
export const SEED = new Uint8Array(32).fill(3);
export const PEPPER = new Uint8Array(32).fill(9);

export function tempDir(prefix = "keyproof-"): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function openLedger(dir = tempDir(), options: Partial<LedgerOptions> = {}): Promise<Ledger> {
  return Ledger.open({ dir, origin: ORIGIN, signingSeed: SEED, pepper: PEPPER, ...options });
}

/** Registers issuers "acme" and "globex" and sellers "shop-a" and "shop-b". */
export async function withParticipants(ledger: Ledger): Promise<Ledger> {
  const a = await ledger.submit({
    actor: "operator",
    requests: [
      { type: "participant", id: "acme", role: "issuer", name: "Acme Games" },
      { type: "participant", id: "globex", role: "issuer", name: "Globex Cards" },
      { type: "participant", id: "shop-a", role: "seller", name: "Shop A" },
      { type: "participant", id: "shop-b", role: "seller", name: "Shop B" },
    ],
  });
  if (!a.results.every((r) => r.ok)) throw new Error(`could not register participants: ${JSON.stringify(a.results)}`);
  return ledger;
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A new LevelDB under `dir`, with the ledger's encodings, for the store tests that work below the ledger (not yet opened). */
export function scratchDb(dir: string): Db {
  return new ClassicLevel<Uint8Array, Uint8Array>(path.join(dir, `db-${Math.random()}`), { keyEncoding: "view", valueEncoding: "view" });
}

/** A ledger with participants in a new temporary directory: what most store tests start from. */
export async function openTestLedger(options: Partial<LedgerOptions> = {}): Promise<{ dir: string; ledger: Ledger }> {
  const dir = tempDir();
  return { dir, ledger: await withParticipants(await openLedger(dir, options)) };
}

/** Closes a test ledger and removes its directory. */
export async function closeTestLedger(ledger: Ledger, dir: string): Promise<void> {
  await ledger.close();
  cleanup(dir);
}

/** Hands the ledger's next `times` LevelDB batches to `touch` before the ledger gets them (`touch` may throw instead). */
export function onNextBatches(ledger: Ledger, times: number, touch: (batch: ChainedBatch) => void): void {
  const batch = ledger.db.batch.bind(ledger.db);
  let left = times;
  (ledger.db as { batch: unknown }).batch = () => {
    if (--left === 0) (ledger.db as { batch: unknown }).batch = batch;
    const b = batch();
    try {
      touch(b);
    } catch (e) {
      void b.close();
      throw e;
    }
    return b;
  };
}

/**
 * Shows `see` every key `db` is asked for, by a multi-get or a synchronous
 * read (the two ways service/store/reads.ts reads); `see` may throw, which
 * fails that read as LevelDB would. Returns the function that stops it.
 */
export function onReads(db: Db, see: (keys: Uint8Array[], how: "many" | "one") => void): () => void {
  const getMany = db.getMany.bind(db);
  const getSync = db.getSync.bind(db);
  const patched = db as { getMany: unknown; getSync: unknown };
  patched.getMany = async (keys: Uint8Array[], o?: Parameters<Db["getMany"]>[1]) => {
    see(keys, "many");
    return o ? getMany(keys, o) : getMany(keys);
  };
  patched.getSync = (key: Uint8Array, o?: Parameters<Db["getSync"]>[1]) => {
    see([key], "one");
    return o ? getSync(key, o) : getSync(key);
  };
  return () => {
    patched.getMany = getMany;
    patched.getSync = getSync;
  };
}
