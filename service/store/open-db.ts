/**
 * Opens the ledger's LevelDB: one set of options for the ledger that writes
 * and for the read replica that another thread of the same process keeps on
 * the same directory (read-replica.ts). Both open it with LevelDB's
 * multithreading, so they share one native handle: its block cache, its
 * snapshots, and what each write makes visible. Another process is still
 * kept out by LevelDB's lock.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { ClassicLevel } from "classic-level";
import type { Db } from "./map-store.js";
import { openFailure } from "./storage-errors.js";

/**
 * The directories a ledger of this thread writes. LevelDB's lock keeps a
 * second process out, but not a second handle of this one once
 * multithreading shares the first: that is refused here instead.
 */
const writers = new Set<string>();

export async function openDb(dir: string, as: "writer" | "reader"): Promise<Db> {
  const location = path.resolve(dir);
  if (as === "writer" && writers.has(location)) throw openFailure(location, { cause: { code: "LEVEL_LOCKED" } });
  // A reader only joins a store its writer made. Asked to open a place with
  // none, LevelDB would make the directory, its LOCK and its LOG before
  // finding no store there: refused first, nothing is left behind.
  if (as === "reader" && !existsSync(path.join(location, "CURRENT"))) throw openFailure(location, new Error("there is no ledger there"));
  const db: Db = new ClassicLevel<Uint8Array, Uint8Array>(location, {
    keyEncoding: "view",
    valueEncoding: "view",
    // Most of what is stored is hashes, which do not compress: save the CPU.
    // A larger memtable means fewer, larger level-0 files and less compaction
    // per event under a steady append load.
    compression: false,
    writeBufferSize: 64 * 1024 * 1024,
    // LevelDB maps its first 1,000 table files into memory and reads them
    // there, past this cache; it caches the blocks of the files beyond
    // those (past about 2.5M entries: 1M took 398 files), as proofs read them.
    cacheSize: 256 * 1024 * 1024,
    // A reader only joins the writer's handle: it never creates a store.
    createIfMissing: as === "writer",
    multithreading: true,
  });
  try {
    await db.open();
  } catch (e) {
    throw openFailure(location, e);
  }
  if (as === "writer") {
    writers.add(location);
    db.once("closed", () => writers.delete(location));
  }
  return db;
}
