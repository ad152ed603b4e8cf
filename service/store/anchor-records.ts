/**
 * The service's own record of its anchors: written before a transaction is
 * sent (pending) and again once it is confirmed, so a restart knows what it
 * sent. The chain stays the authority; these records only say where to look.
 */
import { fromUtf8, utf8 } from "../core/bytes.js";
import { K } from "./keys.js";
import type { Db } from "./map-store.js";

export interface AnchorRecord {
  size: number;
  logRoot: string;
  mapRoot: string;
  chainId: number;
  contract: string;
  txHash: string | null;
  blockNumber: number | null;
  status: "pending" | "confirmed";
}

export class AnchorRecords {
  /**
   * Every bundle looks up an anchor, and the records change a few times an
   * hour while a log anchored every 30 s gathers about a million a year: the
   * records are kept, frozen and by size, until the next write, and looked up
   * by binary search. A read that overlapped a write does not keep what it read.
   */
  private cached: readonly Readonly<AnchorRecord>[] | null = null;
  private version = 0;

  constructor(private readonly db: Db) {}

  /** The records, by size (frozen: a caller that changes one makes a copy). */
  async list(): Promise<readonly Readonly<AnchorRecord>[]> {
    if (this.cached) return this.cached;
    const version = this.version;
    const out: Readonly<AnchorRecord>[] = [];
    for await (const v of this.db.values(K.anchorRange)) out.push(Object.freeze(JSON.parse(fromUtf8(v)) as AnchorRecord));
    Object.freeze(out);
    if (version === this.version) this.cached = out;
    return out;
  }

  /**
   * The newest confirmed anchor on `contract` with `after` < size <= `atMost`:
   * the one a bundle for a key whose newest event is at index `after` is
   * proved against, at a checkpoint no newer than `atMost`. Looks at the
   * records from `atMost` down, so newer ones cost nothing.
   */
  async newestConfirmed(contract: string, after: number, atMost: number): Promise<Readonly<AnchorRecord> | undefined> {
    const records = await this.list();
    // The first record above atMost.
    let lo = 0;
    let hi = records.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (records[mid]!.size <= atMost) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0 && records[i]!.size > after; i--) {
      const r = records[i]!;
      if (r.status === "confirmed" && r.contract === contract) return r;
    }
    return undefined;
  }

  /** Adds or replaces the record of `rec.size`, synced before it returns. */
  async put(rec: AnchorRecord): Promise<void> {
    await this.db.put(K.anchor(rec.size), utf8(JSON.stringify(rec)), { sync: true });
    this.changed();
  }

  async remove(size: number): Promise<void> {
    await this.db.del(K.anchor(size), { sync: true });
    this.changed();
  }

  /** Forgets the anchors of a contract the chain no longer has. */
  async removeContract(chainId: number, contract: string): Promise<void> {
    const gone = (await this.list()).filter((a) => a.chainId === chainId && a.contract.toLowerCase() === contract.toLowerCase());
    await this.db.batch(
      gone.map((a) => ({ type: "del" as const, key: K.anchor(a.size) })),
      { sync: true },
    );
    this.changed();
  }

  private changed(): void {
    this.version++;
    this.cached = null;
  }
}
