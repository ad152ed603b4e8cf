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

  /** Binds a token to the operator (start-up); the token itself is never stored. */
  async bindOperator(token: string): Promise<void> {
    await this.db.put(K.token(tokenHash(token)), utf8(OPERATOR_ID), { sync: true });
  }

  async hasOperator(): Promise<boolean> {
    for await (const v of this.db.values(K.tokenRange)) if (fromUtf8(v) === OPERATOR_ID) return true;
    return false;
  }
}
