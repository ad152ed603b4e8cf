/**
 * Expiry of stored Idempotency-Key answers (idempotency.ts). Each answer is
 * written with an expiry key, `x <stored at> <answer key>` (keys.ts), so a
 * sweep reads only what expired, oldest first. A data directory from before
 * expiry keys is swept once by reading every answer, then marked indexed.
 */
import { K } from "./keys.js";
import { storedAt, storedBefore } from "./idempotency.js";
import { inPages } from "./reads.js";
import type { Db } from "./map-store.js";

/** What an expiry key and the indexed mark hold: nothing, the key is the record. */
export const NO_VALUE = new Uint8Array(0);
/** Length of an ISO 8601 time from toISOString, the start of an expiry key after its prefix. */
const ISO_LENGTH = 24;
/** Records read and deleted at a time. */
const PAGE = 1000;

/**
 * A ledger with no stored answers has, trivially, an expiry key for each:
 * marked so at once, and its sweeps never scan the answers themselves.
 */
export async function markReplaysIndexed(db: Db): Promise<void> {
  if ((await db.get(K.idempotencyIndexed)) !== undefined) return;
  const any = await db.keys({ ...K.idempotencyRange, limit: 1 }).all();
  if (any.length === 0) await db.put(K.idempotencyIndexed, NO_VALUE, { sync: true });
}

/**
 * Forgets the answers stored before `before`; returns how many. Reads only
 * what expired, through the expiry keys, a page at a time: answers are kept
 * for 30 days by default, and a platform that sends each sale with its own
 * key keeps millions of them.
 */
export async function forgetReplays(db: Db, before: Date): Promise<number> {
  const cutoff = before.toISOString();
  if ((await db.get(K.idempotencyIndexed)) === undefined) return indexReplaysForgetting(db, cutoff);
  let forgotten = 0;
  for await (const page of inPages(db.keys({ ...K.idempotencyExpiryBefore(cutoff), fillCache: false }), PAGE)) {
    const records = page.map((x) => x.subarray(1 + ISO_LENGTH));
    const stored = await db.getMany(records);
    const ops = page.map((key) => ({ type: "del" as const, key }));
    stored.forEach((v, i) => {
      // A key forgotten and used again since has a newer answer (and its own expiry key).
      if (v && storedBefore(v, cutoff)) {
        ops.push({ type: "del" as const, key: records[i]! });
        forgotten++;
      }
    });
    await db.batch(ops);
  }
  return forgotten;
}

/**
 * The sweep of a data directory from before expiry keys: reads every answer
 * once, forgets the expired ones, gives the others their expiry key, then
 * marks the directory indexed. Answers stored meanwhile get theirs as they
 * are written.
 */
async function indexReplaysForgetting(db: Db, cutoff: string): Promise<number> {
  let forgotten = 0;
  for await (const page of inPages(db.iterator(K.idempotencyRange), PAGE)) {
    const ops: ({ type: "put"; key: Uint8Array; value: Uint8Array } | { type: "del"; key: Uint8Array })[] = [];
    for (const [key, value] of page) {
      const at = storedAt(value);
      if (at === undefined) continue; // never expires
      if (at < cutoff) {
        ops.push({ type: "del", key });
        forgotten++;
      } else ops.push({ type: "put", key: K.idempotencyExpiry(at, key), value: NO_VALUE });
    }
    if (ops.length > 0) await db.batch(ops);
  }
  await db.put(K.idempotencyIndexed, NO_VALUE, { sync: true });
  return forgotten;
}
