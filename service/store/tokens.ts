/**
 * API tokens, stored only as their SHA-256: a token is looked up by its hash,
 * and comparing hashes of a random token leaks nothing about it.
 */
import { LRUCache } from "lru-cache";
import { fromUtf8, toHex, utf8 } from "../core/bytes.js";
import { sha256 } from "../core/hash.js";
import { OPERATOR_ID } from "../core/ledger/schema.js";
import { K } from "./keys.js";
import { readOne } from "./reads.js";
import type { Db } from "./map-store.js";

export function tokenHash(token: string): Uint8Array {
  return sha256(utf8(token));
}

export class TokenIndex {
  /** Token hash (hex) -> participant id, for tokens seen before (see `participantId`). */
  private readonly known = new LRUCache<string, string>({ max: 10_000 });

  constructor(private readonly db: Db) {}

  /**
   * The participant a token was issued to. Every write request looks its token
   * up, and a binding never changes once stored, so known tokens are
   * remembered; unknown ones are not (a token may be issued a moment later,
   * and a flood of wrong tokens must not fill memory).
   */
  async participantId(token: string): Promise<string | undefined> {
    const hash = tokenHash(token);
    const id = toHex(hash);
    const known = this.known.get(id);
    if (known !== undefined) return known;
    const v = readOne(this.db, K.token(hash));
    if (!v) return undefined;
    const participantId = fromUtf8(v);
    this.known.set(id, participantId);
    return participantId;
  }

  /** Replacements one at a time: two at once could each miss the other's new token and leave both valid. */
  private replacing: Promise<unknown> = Promise.resolve();

  /**
   * Gives participant `id` the token `token` and revokes every token it had
   * (a leaked one): the old hashes are deleted in the same synced write that
   * stores the new one, and forgotten from memory once it is durable. A
   * lookup reads and remembers within one step of the event loop (a
   * synchronous read), so none can put an old token back after that.
   * Returns how many tokens were revoked.
   */
  replace(id: string, token: string): Promise<number> {
    const run = this.replacing.then(async () => {
      const batch = this.db.batch();
      let revoked = 0;
      try {
        for await (const [k, v] of this.db.iterator(K.tokenRange)) {
          if (fromUtf8(v) !== id) continue;
          batch.del(k);
          revoked++;
        }
        batch.put(K.token(tokenHash(token)), utf8(id));
        await batch.write({ sync: true });
      } finally {
        await batch.close().catch(() => undefined);
      }
      for (const [hash, who] of this.known.entries()) if (who === id) this.known.delete(hash);
      return revoked;
    });
    this.replacing = run.catch(() => undefined);
    return run;
  }

  /**
   * Makes `token` the operator's only token (start-up): one generated
   * earlier, or an earlier OPERATOR_TOKEN, is revoked, so changing
   * OPERATOR_TOKEN is how a leaked operator token is retired. The token
   * itself is never stored.
   */
  async bindOperator(token: string): Promise<void> {
    await this.replace(OPERATOR_ID, token);
  }

  async hasOperator(): Promise<boolean> {
    for await (const v of this.db.values(K.tokenRange)) if (fromUtf8(v) === OPERATOR_ID) return true;
    return false;
  }
}
