/**
 * LevelDB reads, done where they cost least. An asynchronous read goes to
 * libuv's thread pool and its answer back to the event loop: 45–60 µs of CPU
 * a call on the project's 2-core VM, against about 5 µs a key for a
 * synchronous read of a block LevelDB or the page cache holds
 * (docs/figures.md, "2026-12-02, night"). So the reads that answer a
 * request (a token, a bundle's state, entries and proof paths) read up to
 * SYNC_READ_MAX keys on the calling thread, and more in one multi-get off
 * it, where their per-key work does not hold up the event loop. A block
 * that has to come from the disk then holds up the event loop for that
 * read, which the measured throughput allows. The sequencer's reads stay
 * asynchronous (GroupPreparer.readMany in group-prepare.ts says why).
 */
import type { Db, Snapshot } from "./map-store.js";

/** Up to this many keys are read synchronously: a map proof's window (49 positions) is. */
export const SYNC_READ_MAX = 64;

export interface ReadOptions {
  snapshot?: Snapshot;
}

export function readOne(db: Db, key: Uint8Array, options?: ReadOptions): Uint8Array | undefined {
  return options ? db.getSync(key, options) : db.getSync(key);
}

export async function readMany(db: Db, keys: Uint8Array[], options?: ReadOptions): Promise<(Uint8Array | undefined)[]> {
  if (keys.length > SYNC_READ_MAX) return options ? db.getMany(keys, options) : db.getMany(keys);
  return keys.map((k) => readOne(db, k, options));
}

/**
 * A LevelDB iterator's results `size` at a time (one call into LevelDB a page,
 * not one a record), closing it however the loop over them ends.
 */
export async function* inPages<T>(it: { nextv(size: number): Promise<T[]>; close(): Promise<void> }, size: number): AsyncGenerator<T[]> {
  try {
    for (let page = await it.nextv(size); page.length > 0; page = await it.nextv(size)) yield page;
  } finally {
    await it.close();
  }
}

/**
 * A multi-get runs on one thread of libuv's pool, one key after another; a
 * group's reads (a map prefetch round of hundreds of new keys' positions)
 * wait on it while the other pool threads are idle. A read of at least
 * twice this many keys is split into up to POOL_THREADS multi-gets of at
 * least this many each, which run side by side.
 */
const CHUNK_MIN = 256;
/** libuv's default pool size (UV_THREADPOOL_SIZE), which the service does not change. */
const POOL_THREADS = 4;

export async function readManyAcrossPool(db: Db, keys: Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
  if (keys.length < 2 * CHUNK_MIN) return db.getMany(keys);
  const parts = Math.min(POOL_THREADS, Math.floor(keys.length / CHUNK_MIN));
  const size = Math.ceil(keys.length / parts);
  const chunks = await Promise.all(Array.from({ length: parts }, (_, i) => db.getMany(keys.slice(i * size, (i + 1) * size))));
  return chunks.flat();
}
