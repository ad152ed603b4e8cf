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
   * Every bundle asks for the records and they change a few times an hour, so
   * the list is kept until the next write; a read that overlapped a write does
   * not keep what it read.
   */
  private cached: AnchorRecord[] | null = null;
  private version = 0;

  constructor(private readonly db: Db) {}

  /** The records, oldest first (copies: callers may change them). */
  async list(): Promise<AnchorRecord[]> {
    if (!this.cached) {
      const version = this.version;
      const out: AnchorRecord[] = [];
      for await (const v of this.db.values(K.anchorRange)) out.push(JSON.parse(fromUtf8(v)) as AnchorRecord);
      if (version !== this.version) return out;
      this.cached = out;
    }
    return this.cached.map((a) => ({ ...a }));
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
